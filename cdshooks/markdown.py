"""Markdown for card details: escaping values from input data, and small pieces (lists, tables) built from facts."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence


class Markdown(str):
    """Markdown built by trusted code (already escaped); inserted unescaped."""


# What can open raw HTML or an autolink in CommonMark: "<" before a letter, "/", "!" or "?"
# (written as the entity, so that no tag start is left even for a client that renders HTML).
# A bare "<" before a digit or a space ("<35 IU/mL", "< 5") cannot, and is shown as written.
_TAG_OPEN = re.compile(r"<(?=[A-Za-z/!?])")
# A character reference ("&lt;", "&#60;") would be decoded by a Markdown client.
_ENTITY = re.compile(r"&(?=#?[A-Za-z0-9]+;)")


def escape_markdown(text: str) -> str:
    """Neutralize HTML (and Markdown link/image syntax) in a value from input data.

    Lab values keep their "<" and "&": a client that shows `detail` as plain
    text would otherwise print "&lt;35" for a below-limit result. Only what
    could open a tag or name an entity is escaped.
    """
    # Backslash first: a value's own `\[` must not turn our `\[` back into a live `[`.
    escaped = text
    for ch in "\\[]`*_|":
        escaped = escaped.replace(ch, "\\" + ch)
    escaped = _ENTITY.sub(r"\\&", escaped)  # the input's own "&lt;" stays text
    escaped = _TAG_OPEN.sub("&lt;", escaped)
    if escaped.startswith(">"):
        escaped = "\\" + escaped  # not a block quote
    return escaped


def bullets(items: Iterable[str]) -> Markdown:
    """A Markdown bullet list ("" when empty, so a template line disappears)."""
    lines = [f"- {escape_markdown(i)}" for i in items if i]
    return Markdown("\n".join(lines))


def table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> Markdown:
    """A Markdown table with escaped cells ("" when there are no rows)."""
    rows = list(rows)
    if not rows:
        return Markdown("")
    out = ["| " + " | ".join(escape_markdown(h) for h in headers) + " |", "|" + "---|" * len(headers)]
    out += ["| " + " | ".join(escape_markdown(c or "") for c in row) + " |" for row in rows]
    return Markdown("\n".join(out))


def sentence(text: str | None) -> Markdown:
    """An optional escaped sentence ("" when None)."""
    return Markdown(escape_markdown(text) if text else "")
