"""Date rolling: fixtures replay at any time with the same cards."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from cdshooks import cli
from cdshooks.date_roll import roll_dates, roll_string

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
DELTA = timedelta(days=310, hours=13)


@pytest.mark.parametrize(
    "before, after",
    [
        ("2026-01-05T12:00:00Z", "2026-11-12T01:00:00Z"),
        ("2026-01-05T12:00:00+02:00", "2026-11-12T01:00:00+02:00"),
        ("2026-01-05T12:00:00.250Z", "2026-11-12T01:00:00.250000Z"),
        ("1981-03-02", "1982-01-06"),  # date-only: whole days
        ("1981", "1981"),  # partial dates keep their precision
        ("1981-03", "1981-03"),
        ("2026-02-30", "2026-02-30"),  # not a date
        ("Patient/2026-01-05", "Patient/2026-01-05"),
        ("5 mg twice daily", "5 mg twice daily"),
    ],
)
def test_roll_string(before, after):
    assert roll_string(before, DELTA) == after


def test_roll_dates_walks_everything_and_copies():
    doc = {"a": [{"effectiveDateTime": "2026-01-05T12:00:00Z", "value": 3}], "birthDate": "1981-03-02"}
    rolled = roll_dates(doc, timedelta(days=1))
    assert rolled == {"a": [{"effectiveDateTime": "2026-01-06T12:00:00Z", "value": 3}], "birthDate": "1981-03-03"}
    assert doc["birthDate"] == "1981-03-02"


def _topics(argv: list[str], capsys) -> list[str]:
    assert cli.main(argv) == 0
    return sorted(c["source"]["topic"]["code"] for c in json.loads(capsys.readouterr().out)["cards"])


def test_replay_now_keeps_the_cards_of_a_scenario_with_cards(capsys):
    scenario = next(
        p for p in sorted(FIXTURES.glob("*/scenario.json")) if json.loads(p.read_text())["expect"]["topics"]
    )
    expected = sorted(json.loads(scenario.read_text())["expect"]["topics"])
    later = (datetime.now(timezone.utc) + timedelta(days=400)).isoformat()
    assert _topics(["replay", str(scenario), "--json"], capsys) == expected
    assert _topics(["replay", str(scenario), "--json", "--now", later], capsys) == expected
