"""Replay output: grouped by indicator, colour only on a terminal without NO_COLOR."""

from __future__ import annotations

import io

from cdshooks.cli.replay import format_card
from cdshooks.cli.replay_view import grouped_cards, use_colour


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def card(indicator: str, summary: str) -> dict:
    return {"summary": summary, "indicator": indicator, "source": {"label": "S", "topic": {"code": "t"}}}


def test_groups_most_severe_first():
    text = grouped_cards([card("info", "a"), card("critical", "b"), card("info", "c")], format_card, colour=False)
    lines = text.splitlines()
    assert lines[0] == "== CRITICAL (1) =="
    assert "[CRITICAL] b" in lines[1]
    assert lines.index("== INFO (2) ==") > lines.index("[CRITICAL] b")
    assert "\033[" not in text


def test_colour_marks_headings_and_summaries():
    text = grouped_cards([card("warning", "w")], format_card, colour=True)
    assert text.startswith("\033[1;33m== WARNING (1) ==\033[0m")
    assert "\033[1;33m[WARNING] w\033[0m" in text


def test_colour_only_on_a_terminal_without_no_color():
    assert use_colour(Tty(), env={}) is True
    assert use_colour(io.StringIO(), env={}) is False
    assert use_colour(Tty(), env={"NO_COLOR": "1"}) is False
    assert use_colour(Tty(), env={"TERM": "dumb"}) is False


def test_an_empty_no_color_does_not_disable_colour():
    # no-color.org: "when present and not an empty string"
    assert use_colour(Tty(), env={"NO_COLOR": ""}) is True


def test_color_option_overrides_the_terminal_and_no_color():
    assert use_colour(io.StringIO(), env={}, mode="always") is True
    assert use_colour(Tty(), env={"NO_COLOR": "1"}, mode="always") is True
    assert use_colour(Tty(), env={}, mode="never") is False
    assert use_colour(Tty(), env={"NO_COLOR": "1"}, mode="auto") is False
