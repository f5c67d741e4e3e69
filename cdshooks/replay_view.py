"""Terminal presentation for `cdshooks replay`: cards grouped by indicator, colour on a TTY.

`--color auto` (the default) colours only when writing to a terminal, and
never with NO_COLOR set to a non-empty value (https://no-color.org: an empty
NO_COLOR is the same as unset) or TERM=dumb: piped output stays plain text.
`--color always` / `never` decide regardless of all that.
"""

from __future__ import annotations

import os
from typing import Any, Callable, Mapping, TextIO

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
