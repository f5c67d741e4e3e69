"""Terminal presentation for `cdshooks replay`: cards grouped by indicator, colour on a TTY.

`--color auto` (the default) colours only when writing to a terminal, and
never with NO_COLOR set to a non-empty value (https://no-color.org: an empty
NO_COLOR is the same as unset) or TERM=dumb: piped output stays plain text.
`--color always` / `never` decide regardless of all that.
"""

from __future__ import annotations

import os
import re
import textwrap
from collections.abc import Callable, Mapping
from typing import Any, TextIO

ORDER = ("critical", "warning", "info")
_COLOURS = {"critical": "1;31", "warning": "1;33", "info": "36", "ok": "32", "bad": "1;31"}


COLOR_MODES = ("auto", "always", "never")


def use_colour(stream: TextIO, env: Mapping[str, str] | None = None, mode: str = "auto") -> bool:
    if mode not in COLOR_MODES:
        raise ValueError(f"colour mode {mode!r}: one of {', '.join(COLOR_MODES)}")
    if mode != "auto":
        return mode == "always"
    env = os.environ if env is None else env
    if env.get("NO_COLOR") or env.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def paint(text: str, style: str, colour: bool) -> str:
    return f"\033[{_COLOURS[style]}m{text}\033[0m" if colour and style in _COLOURS else text


def grouped_cards(cards: list[dict[str, Any]], format_card: Callable[[dict[str, Any]], str], colour: bool) -> str:
    """The cards under one heading per indicator, most severe first."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for card in cards:
        groups.setdefault(card.get("indicator", "?"), []).append(card)
    order = [i for i in ORDER if i in groups] + sorted(set(groups) - set(ORDER))
    blocks = []
    for indicator in order:
        members = groups[indicator]
        heading = paint(f"== {indicator.upper()} ({len(members)}) ==", indicator, colour)
        texts = []
        for card in members:
            first, _, rest = format_card(card).partition("\n")
            texts.append(paint(first, indicator, colour) + ("\n" + rest if rest else ""))
        blocks.append("\n".join([heading, *texts]))
    return "\n".join(blocks)



_ITEM = re.compile(r"^(\s*)([-*+]|\d{1,3}[.)])\s+")
_FENCE = ("```", "~~~")


def wrap_markdown(text: str, width: int, indent: str = "") -> str:
    """Card detail Markdown re-wrapped to `width` columns, each line starting with `indent`.

    Soft line breaks inside a paragraph or list item are joined (as a Markdown
    renderer would) and the text re-filled; list items keep a hanging indent;
    hard breaks (two trailing spaces or a backslash), headings, tables and
    fenced code keep their lines. The Markdown itself (`**bold**`, links) is
    shown as written.
    """
    out: list[str] = []
    block: list[str] | None = None  # [first-line prefix, later-lines prefix, text]
    resume: str | None = None  # after a hard break: the prefix the next line continues with

    def flush() -> None:
        nonlocal block
        if block is not None:
            first, later, body = block
            fill = max(width, len(later) + 20)  # never squeeze text into a sliver
            out.extend(
                textwrap.wrap(body, fill, initial_indent=first, subsequent_indent=later,
                              break_long_words=False, break_on_hyphens=False)
            )
            block = None

    fenced = False
    for line in text.splitlines():
        stripped = line.strip()
        if fenced or stripped.startswith(_FENCE):
            flush()
            resume = None
            out.append(indent + line)
            if stripped.startswith(_FENCE):
                fenced = not fenced
            continue
        if not stripped or stripped.startswith(("|", "#")):
            flush()
            resume = None
            if stripped:
                out.append(indent + stripped)
            elif out and out[-1] != "":
                out.append("")  # one blank line between blocks
            continue
        hard_break = line.endswith(("  ", "\\"))
        content = stripped.removesuffix("\\").rstrip()
        item = _ITEM.match(line)
        if item:
            flush()
            marker = indent + item.group(1) + item.group(2) + " "
            block = [marker, " " * len(marker), content[item.end() - (len(line) - len(line.lstrip())):]]
        elif block is None:
            prefix = indent if resume is None else resume
            block = [prefix, prefix, content]
        else:
            block[2] += " " + content
        resume = None
        if hard_break:
            resume = block[1]
            flush()
    flush()
    while out and out[-1] == "":
        out.pop()
    return "\n".join(out)
