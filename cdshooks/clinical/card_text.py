"""Small Markdown pieces built from facts (tables, lists), escaped for the card detail."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from cdshooks.cards import Markdown, escape_markdown


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
