"""The README's fixture examples exist, and what it says of them (cards, description) is what they hold."""

from __future__ import annotations

import json
import re
from pathlib import Path

from cdshooks.services import SERVICES

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
FIXTURES = ROOT / "fixtures"

_NAME = r"[a-z0-9][a-z0-9.-]*[a-z0-9]"
# How the README names a fixture: a path, a sandbox patientId, a patientId in a request.
MENTIONS = [
    re.compile(rf"fixtures/({_NAME})"),
    re.compile(rf"patientId=({_NAME})"),
    re.compile(rf'"patientId": "({_NAME})"'),
]
# A list of cards a sentence gives for the fixture named last before it.
CARD_LIST = re.compile(r"cards \(((?:`[a-z0-9-]+`(?:, )?)+)\)")


def scenario(name: str) -> dict:
    return json.loads((FIXTURES / name / "scenario.json").read_text(encoding="utf-8"))


TABLE_HEADER = "| fixture | hook | cards | description |"


def mentions(text: str = README) -> list[tuple[int, str]]:
    """(position, fixture name) of every mention in the text, in order (the example table's rows included)."""
    found = [(m.start(), m.group(1)) for pattern in MENTIONS for m in pattern.finditer(text)]
    found += [(pos, name) for pos, name, _ in _table_rows(text)]
    return sorted(found)


def _table_rows(text: str) -> list[tuple[int, str, str]]:
    """(position, fixture, the rest of the row) of the example table (the lines after its header)."""
    start = text.find(TABLE_HEADER)
    assert start >= 0, f"no {TABLE_HEADER!r} table in the README"
    rows, pos = [], start
    for line in text[start:].splitlines(keepends=True)[2:]:  # past the header and |---|
        pos_line = text.find(line, pos)
        m = re.match(rf"^\| `({_NAME})` \| (.+) \|$", line.rstrip("\n"))
        if not m:
            break
        rows.append((pos_line, m.group(1), m.group(2)))
        pos = pos_line + len(line)
    return rows


def table(text: str = README) -> dict[str, dict[str, str]]:
    """The example table: fixture -> its hook, cards and description as the README gives them."""
    rows = {}
    for _, name, rest in _table_rows(text):
        cells = [cell.strip().replace("\\|", "|") for cell in re.split(r"(?<!\\) \| ", rest)]
        assert len(cells) == 3, f"{name}: a row needs hook | cards | description"
        rows[name] = dict(zip(("hook", "cards", "description"), cells))
    return rows


def cards_cell(topics: list[str]) -> str:
    return ", ".join(f"`{t}`" for t in sorted(topics)) or "none"


def test_every_fixture_the_readme_names_exists_and_is_in_its_table():
    named = {name for _, name in mentions()}
    assert named, "the README names no fixture: remove this test, or the patterns are wrong"
    assert sorted(n for n in named if not (FIXTURES / n / "scenario.json").is_file()) == []
    assert sorted(named - set(table())) == []  # what each one shows is written down (and checked) once


def test_the_table_matches_each_fixtures_hook_cards_and_description():
    wrong = []
    for name, row in table().items():
        doc = scenario(name)
        actual = {
            "hook": SERVICES[doc["service"]].hook,
            "cards": cards_cell(doc["expect"]["topics"]),
            "description": doc["description"],
        }
        wrong += [f"{name} {key}: README {row[key]!r}, fixture {actual[key]!r}" for key in row if row[key] != actual[key]]
    assert wrong == []


def test_cards_the_prose_gives_for_a_fixture_are_its_expected_topics():
    checked = 0
    for m in CARD_LIST.finditer(README):
        before = [name for pos, name in mentions() if pos < m.start()]
        if not before:
            continue
        listed = re.findall(r"`([a-z0-9-]+)`", m.group(1))
        assert sorted(listed) == sorted(scenario(before[-1])["expect"]["topics"]), (before[-1], m.group(0))
        checked += 1
    assert checked  # the README's "the answer holds the scenario's two cards (...)" is one


def test_the_checks_catch_a_wrong_readme():
    wrong = README.replace("| `dose-standard-5mg-bid` | order-select | `dose-guidance` |", "| `dose-standard-5mg-bid` | order-select | none |")
    assert table(wrong)["dose-standard-5mg-bid"]["cards"] == "none" != cards_cell(scenario("dose-standard-5mg-bid")["expect"]["topics"])
    assert "no-such-fixture" in {n for _, n in mentions(README + "\ncdshooks replay fixtures/no-such-fixture\n")}
