"""`cdshooks report`: the figures of a seeded ledger against hand-computed numbers, and the command end to end."""

from __future__ import annotations

import json
import sys
from datetime import UTC, date, datetime, timedelta

import pytest

from cdshooks.cli import main
from cdshooks.cli.report import ReportError, period
from cdshooks.cli.report_figures import ReasonCount, WeekFigures, compute_report, rate, week_of
from cdshooks.cli.report_text import percent
from tests.cli.report_ledger import NO_ALTERNATIVE, NOW, REASONS, SPECIALIST, TOPIC_A, TOPIC_B, TOPIC_C, fill, seed

SINCE = NOW - timedelta(days=21)  # 2026-11-05 12:00 UTC
NOW_ARG = "2026-11-26T12:00:00Z"
MON_09, MON_16, MON_23 = date(2026, 11, 9), date(2026, 11, 16), date(2026, 11, 23)


@pytest.fixture
def store(tmp_path):
    return seed(tmp_path / "feedback.sqlite3")


@pytest.fixture
def report(store):
    # Read back through the store's own queries, as the command does.
    return compute_report(store.shown_since(SINCE), store.feedback_since(SINCE), SINCE, NOW)


@pytest.fixture
def db(tmp_path, monkeypatch):
    path = tmp_path / "feedback.sqlite3"
    seed(path)
    monkeypatch.setenv("CDSHOOKS_FEEDBACK_DB", str(path))
    monkeypatch.delenv("CDSHOOKS_NOW", raising=False)
    return path


def by_topic(report):
    return {t.topic: t for t in report.topics}


def test_topics_in_the_period_only(report):
    # a5 (age-infection-risk) was shown only before the period; all three topics have a card inside it.
    assert [t.topic for t in report.topics] == [TOPIC_A, TOPIC_B, TOPIC_C]


def test_topic_a_figures(report):
    a = by_topic(report)[TOPIC_A]
    assert a.shown == 4  # a1, a2, a3, a4 (a5: before the period)
    assert a.returned == 6  # a1 x3 (11-10, 11-12, 11-17; not 11-02) + a2 + a3 + a4
    assert a.patients == 3  # p1 (a1, a3), p2, p3
    assert a.accepted == 1  # a2
    assert a.overridden == 2  # a1 (newest: no-alternative on 11-17, over the 11-12 dismissal), a3
    assert a.dismissed == 0
    assert a.unanswered == 1  # a4: its only feedback arrives after NOW
    assert a.override_rate == 0.5  # (2 + 0) / 4
    assert a.acceptance_rate == 0.25  # 1 / 4
    assert a.reasons == (ReasonCount(REASONS, "no-alternative", NO_ALTERNATIVE.display, 2),)  # a1, a3


def test_topic_b_figures_newest_outcome_wins(report):
    b = by_topic(report)[TOPIC_B]
    assert (b.shown, b.returned, b.patients) == (3, 4, 2)  # b1 b2 b3; b3 twice; p4, p5
    # b1: accepted (outcome 11-11, received 11-14) and dismissed (outcome 11-13): dismissed is newer.
    assert (b.accepted, b.overridden, b.dismissed, b.unanswered) == (0, 1, 1, 1)  # -, b2, b1, b3
    assert b.override_rate == pytest.approx(2 / 3)  # (1 + 1) / 3
    assert b.acceptance_rate == 0.0  # 0 / 3: a rate, not "no cards"
    assert b.reasons == (ReasonCount(REASONS, "specialist-decision", SPECIALIST.display, 1),)


def test_topic_c_figures(report):
    c = by_topic(report)[TOPIC_C]
    assert (c.shown, c.returned, c.patients, c.accepted, c.unanswered) == (1, 1, 1, 1, 0)
    assert (c.override_rate, c.acceptance_rate) == (0.0, 1.0)  # 0 / 1, 1 / 1
    assert c.reasons == ()


def test_weekly_trend_by_week_of_first_shown_in_the_period(report):
    t = by_topic(report)
    # a1's first row in the period is 11-10 (week of 11-09), not 11-02; a3, a4 share the week of 11-23.
    assert t[TOPIC_A].weeks == (
        WeekFigures(MON_09, 1, 1, 1.0),  # a1 overridden: 1 / 1
        WeekFigures(MON_16, 1, 0, 0.0),  # a2 accepted: 0 / 1
        WeekFigures(MON_23, 2, 1, 0.5),  # a3 overridden, a4 unanswered: 1 / 2
    )
    assert t[TOPIC_B].weeks == (
        WeekFigures(MON_09, 1, 1, 1.0),  # b1 dismissed: 1 / 1
        WeekFigures(MON_16, 2, 1, 0.5),  # b2 overridden, b3 unanswered: 1 / 2
    )
    assert t[TOPIC_C].weeks == (WeekFigures(MON_23, 1, 0, 0.0),)


def test_unknown_uuids_are_counted_not_dropped(report):
    u = report.unknown
    # u1 dismissed; u2 accepted then overridden with a reason (newest): 2 cards from 3 entries.
    assert (u.cards, u.entries, u.accepted, u.overridden, u.dismissed) == (2, 3, 0, 1, 1)


def test_rates_of_no_cards_are_none():
    assert rate(0, 0) is None
    assert percent(None) == "-"
    assert percent(2 / 3) == "67%"


def test_weeks_start_on_monday_utc():
    # Sunday 23:30 at UTC-5 is Monday 04:30 UTC: the UTC week counts.
    sunday_late = datetime.fromisoformat("2026-11-22T23:30:00-05:00")
    assert week_of(sunday_late) == MON_23
    assert week_of(datetime(2026, 11, 22, 23, 59, tzinfo=UTC)) == MON_16


@pytest.mark.parametrize(
    ("since", "start"),
    [
        ("30d", NOW - timedelta(days=30)),
        ("12w", NOW - timedelta(weeks=12)),
        ("24h", NOW - timedelta(hours=24)),
        ("2026-11-01", datetime(2026, 11, 1, tzinfo=UTC)),
        ("2026-11-01T06:00:00+01:00", datetime(2026, 11, 1, 5, tzinfo=UTC)),
    ],
)
def test_period(since, start):
    window = period(since, NOW)
    assert (window.since, window.until) == (start, NOW)


@pytest.mark.parametrize("since", ["30", "30x", "0d", "-3d", "yesterday", "2026-13-01", "2026-12-01"])
def test_bad_period(since):
    with pytest.raises(ReportError, match="--since"):
        period(since, NOW)


def run(capsys, *args):
    code = main(["report", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_text(db, capsys):
    code, out, err = run(capsys, "--since", "21d", "--now", NOW_ARG)
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == "Override report 2026-11-05T12:00:00Z .. 2026-11-26T12:00:00Z"
    header = lines[2]
    row = next(line for line in lines if line.startswith(TOPIC_B))
    assert row.split() == [TOPIC_B, "3", "4", "2", "0", "1", "1", "1", "67%", "0%"]
    # Counts are right-aligned under their header: the row's "3" ends where "shown" ends.
    assert row.index(" 3 ") + 2 == header.index("shown") + len("shown")
    assert "Feedback on unknown card uuids: 2 cards (3 entries): accepted 0, overridden 1, dismissed 1" in out
    assert "patient-" not in out


def test_cli_json_with_now_from_the_environment(db, capsys, monkeypatch):
    monkeypatch.setenv("CDSHOOKS_NOW", NOW_ARG)
    code, out, _ = run(capsys, "--since", "21d", "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert list(data) == ["since", "until", "topics", "unknown"]
    assert (data["since"], data["until"]) == ("2026-11-05T12:00:00Z", NOW_ARG)
    a = data["topics"][0]
    assert list(a) == [
        "topic", "shown", "returned", "patients", "accepted", "overridden", "dismissed", "unanswered",
        "override_rate", "acceptance_rate", "reasons", "weeks",
    ]
    assert (a["topic"], a["shown"], a["override_rate"], a["acceptance_rate"]) == (TOPIC_A, 4, 0.5, 0.25)
    assert a["reasons"] == [
        {"system": REASONS, "code": "no-alternative", "display": NO_ALTERNATIVE.display, "cards": 2}
    ]
    assert a["weeks"][2] == {"week": "2026-11-23", "shown": 2, "overridden": 1, "override_rate": 0.5}
    assert data["unknown"] == {"cards": 2, "entries": 3, "accepted": 0, "overridden": 1, "dismissed": 1}
    assert "patient-" not in out


def test_cli_reads_postgresql_when_the_database_url_is_set(db, pg_url, capsys, monkeypatch):
    from cdshooks.store.postgres import PostgresStore

    shared = PostgresStore(pg_url, connect_timeout=2)
    shared.upgrade()
    fill(shared)
    shared.close()
    # The SQLite file is emptied, so figures that match can only come from PostgreSQL.
    db.unlink()
    monkeypatch.setenv("CDSHOOKS_DATABASE_URL", pg_url)
    code, out, err = run(capsys, "--since", "21d", "--now", NOW_ARG, "--format", "json")
    assert (code, err) == (0, "")
    data = json.loads(out)
    assert [t["topic"] for t in data["topics"]][0] == TOPIC_A
    assert (data["topics"][0]["shown"], data["unknown"]["entries"]) == (4, 3)


def test_cli_html_to_a_file(db, capsys, tmp_path):
    target = tmp_path / "report.html"
    code, out, _ = run(capsys, "--since", "21d", "--now", NOW_ARG, "--format", "html", "--out", str(target))
    assert (code, out) == (0, "")
    page = target.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    assert page.count("<svg") == 2
    assert 'id="chart-override-rate"' in page and 'id="chart-weekly-trend"' in page
    assert '<td class="n">67%</td>' in page  # hepatitis-b-screening's override rate in the table
    assert "patient-" not in page
    # Self-contained: no script and nothing loaded by URL (only in-page #references).
    assert "<script" not in page and "<link" not in page
    assert "url(http" not in page and 'href="http' not in page and 'src="' not in page


def test_cli_out_writes_text_too(db, capsys, tmp_path):
    target = tmp_path / "report.txt"
    code, out, _ = run(capsys, "--since", "21d", "--now", NOW_ARG, "--out", str(target))
    assert (code, out) == (0, "")
    assert target.read_text(encoding="utf-8").startswith("Override report 2026-11-05T12:00:00Z")


def test_cli_empty_period(db, capsys):
    code, out, _ = run(capsys, "--since", "2h", "--now", NOW_ARG)
    assert code == 0
    assert "No cards shown in the period." in out


def test_cli_bad_since_is_a_one_line_error(db, capsys):
    code, out, err = run(capsys, "--since", "30x", "--now", NOW_ARG)
    assert code == 2
    assert out == ""
    assert err.startswith("cdshooks report: --since '30x':") and err.count("\n") == 1


def test_cli_missing_store_is_an_error_not_a_new_file(tmp_path, monkeypatch, capsys):
    missing = tmp_path / "typo.sqlite3"
    monkeypatch.setenv("CDSHOOKS_FEEDBACK_DB", str(missing))
    code, _, err = run(capsys, "--now", NOW_ARG)
    assert code == 2
    assert "no feedback store at" in err
    assert not missing.exists()


def test_cli_html_without_matplotlib_names_the_extra(db, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as if the report extra were not installed
    monkeypatch.delitem(sys.modules, "cdshooks.cli.report_html", raising=False)
    code, out, err = run(capsys, "--since", "21d", "--now", NOW_ARG, "--format", "html")
    assert (code, out) == (2, "")
    assert "pip install 'cdshooks-tofacitinib[report]'" in err and err.count("\n") == 1


def test_cli_unreadable_store_is_a_one_line_error(tmp_path, monkeypatch, capsys):
    bad = tmp_path / "feedback.sqlite3"
    bad.write_text("not a database", encoding="utf-8")
    monkeypatch.setenv("CDSHOOKS_FEEDBACK_DB", str(bad))
    code, _, err = run(capsys, "--now", NOW_ARG)
    assert code == 2
    assert err.startswith("cdshooks report: SQLite store") and err.count("\n") == 1
