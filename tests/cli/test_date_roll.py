"""Date rolling: fixtures replay at any time with the same cards."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from cdshooks.cli import commands as cli
from cdshooks.cli.date_roll import calendar_days, roll_dates, roll_string, roll_to

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
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
    later = (datetime.now(UTC) + timedelta(days=400)).isoformat()
    assert _topics(["replay", str(scenario), "--json"], capsys) == expected
    assert _topics(["replay", str(scenario), "--json", "--now", later], capsys) == expected


def test_date_only_values_move_by_the_calendar_shift_of_now():
    # asOf at noon, now at 09:00 45 calendar days later: now - asOf is 44 days 21 hours,
    # but "yesterday" must stay yesterday.
    as_of = datetime(2026, 1, 15, 12, tzinfo=UTC)
    now = datetime(2026, 3, 1, 9, tzinfo=UTC)
    rolled = roll_to({"birthDate": "1961-01-16", "date": "2026-01-14", "at": "2026-01-14T12:00:00Z"}, as_of, now)
    assert rolled == {"birthDate": "1961-03-02", "date": "2026-02-28", "at": "2026-02-28T09:00:00Z"}
    assert calendar_days(as_of, now) == 45
    assert calendar_days(as_of, datetime(2026, 1, 15, 23, 59, tzinfo=timezone(timedelta(hours=-5)))) == 1  # UTC dates


def test_a_birthday_tomorrow_stays_tomorrow_whatever_the_time_of_day(capsys):
    scenario = FIXTURES / "age-infection-risk-near-miss-64-turning-65-tomorrow" / "scenario.json"
    expected = sorted(json.loads(scenario.read_text())["expect"]["topics"])
    for hour in (0, 9, 11, 13, 23):
        now = datetime(2027, 6, 1, hour, 30, tzinfo=UTC).isoformat()
        assert _topics(["replay", str(scenario), "--json", "--now", now], capsys) == expected, now


@pytest.mark.parametrize("now", ["2027-06-01T00:30:00Z", "2027-06-01T23:30:00Z"])
def test_every_fixture_keeps_its_cards_when_rolled(now):
    from cdshooks.app import create_app
    from cdshooks.cli.replay import card_topics, load_scenario
    from cdshooks.config import Settings

    when = datetime.fromisoformat(now.replace("Z", "+00:00"))
    changed = []
    for path in sorted(FIXTURES.glob("*/scenario.json")):
        s = load_scenario(path)
        # An app (and an empty shown-card ledger) per scenario: scenarios of one patient are separate
        # stories, and a shared ledger would hold back an order-sign card as a repeat of another's order-select.
        client = create_app(Settings(now=when, auth_enabled=False, feedback_db=":memory:")).test_client()
        body = client.post(f"/cds-services/{s.service}", json=roll_to(s.request, s.as_of, when)).get_json()
        if card_topics(body) != sorted(s.expect["topics"]):
            changed.append((s.name, card_topics(body)))
    assert changed == []
