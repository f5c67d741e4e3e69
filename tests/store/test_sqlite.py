"""The SQLite store: schema versions, feedback, the shown-card ledger and token ids, on real files."""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cdshooks.feedback import parse_feedback
from cdshooks.store.model import ShownCard, StoreUnavailable
from cdshooks.store.schema import latest_version, migrations
from cdshooks.store.sqlite import SqliteStore

T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)
SERVICE = "tofacitinib-order-select"


def entries(*items: dict) -> list:
    return parse_feedback({"feedback": list(items)})


def overridden(card: str, at: str = "2026-03-01T12:05:00Z", code: str | None = "specialist-decision") -> dict:
    entry: dict = {"card": card, "outcome": "overridden", "outcomeTimestamp": at}
    if code is not None:
        entry["overrideReason"] = {"reason": {"system": "urn:x", "code": code, "display": "Specialist decision"}}
    return entry


def shown(uuid: str, *, hook: str = "order-select", at: datetime = T0, topic: str = "lab-lymphopenia") -> ShownCard:
    return ShownCard(uuid, topic, "critical", "p1", hook, f"tofacitinib-{hook}", at)


@pytest.fixture
def store(tmp_path: Path) -> SqliteStore:
    return SqliteStore(tmp_path / "var" / "store.sqlite3")


def test_a_new_file_gets_every_migration_in_order(store: SqliteStore):
    assert store.upgrade() == list(range(1, latest_version("sqlite") + 1))
    assert store.schema_version() == latest_version("sqlite") == len(migrations("sqlite"))
    store.check()


def test_a_feedback_file_from_before_schema_versions_keeps_its_rows(tmp_path: Path):
    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as conn:  # the schema the service wrote before versions were recorded
        conn.executescript(migrations("sqlite")[0].sql)
        conn.execute(
            "INSERT INTO feedback (service_id, card_uuid, outcome, accepted_suggestions, outcome_timestamp,"
            " received_at, entry_json) VALUES ('s', 'c1', 'accepted', '[]', '2026-01-01T00:00:00Z',"
            " '2026-01-01T00:00:01+00:00', '{}')"
        )
    store = SqliteStore(path)
    assert store.upgrade() == list(range(1, latest_version("sqlite") + 1))
    assert [e["card_uuid"] for e in store.entries()] == ["c1"]


def test_workers_upgrading_at_once_apply_each_migration_once(tmp_path: Path):
    path = tmp_path / "race.sqlite3"
    results: list[list[int]] = []
    threads = [threading.Thread(target=lambda: results.append(SqliteStore(path).upgrade())) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    applied = sorted(v for r in results for v in r)
    assert applied == list(range(1, latest_version("sqlite") + 1))


def test_a_database_newer_than_the_service_is_not_ready(store: SqliteStore):
    store.upgrade()
    with sqlite3.connect(store.path) as conn:
        conn.execute("INSERT INTO schema_version VALUES (99, 'future', '2030-01-01')")
    with pytest.raises(StoreUnavailable, match="schema version 99"):
        store.check()


def test_an_unwritable_location_is_unavailable(tmp_path: Path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StoreUnavailable):
        SqliteStore(blocker / "store.sqlite3").record_feedback(SERVICE, entries(overridden("c1")), T0)


def test_feedback_is_stored_once_per_card_outcome_and_time(store: SqliteStore):
    assert store.record_feedback(SERVICE, entries(overridden("c1"), overridden("c2")), T0) == 2
    assert store.record_feedback(SERVICE, entries(overridden("c1")), T0) == 0
    assert store.record_feedback(SERVICE, entries(overridden("c1", at="2026-03-01T12:06:00Z")), T0) == 1
    assert [e["card_uuid"] for e in store.entries()] == ["c1", "c2", "c1"]


def test_only_an_override_with_a_coded_reason_counts_and_the_newest_wins(store: SqliteStore):
    store.record_feedback(SERVICE, entries(
        overridden("c1", at="2026-03-01T12:05:00Z"),
        overridden("c1", at="2026-03-01T14:00:00+01:00"),  # 13:00 UTC
        overridden("c2", code=None),  # a plain dismissal
        {"card": "c3", "outcome": "accepted", "outcomeTimestamp": "2026-03-01T12:05:00Z",
         "acceptedSuggestions": [{"id": "s1"}]},
    ), T0)
    assert store.overridden_with_reason(["c1", "c2", "c3", "c4"]) == {"c1": datetime(2026, 3, 1, 13, tzinfo=UTC)}


def test_feedback_is_joined_to_the_ledger_row_of_its_card_and_unknown_cards_are_kept(store: SqliteStore):
    store.record_shown([shown("c1", hook="order-select"), shown("c1", hook="order-sign", at=T0 + timedelta(1))])
    store.record_feedback(SERVICE, entries(overridden("c1"), overridden("never-shown")), T0 + timedelta(2))
    rows = store.feedback_since(T0)
    assert [(r.card_uuid, r.topic, r.hook) for r in rows] == [
        ("c1", "lab-lymphopenia", "order-select"),  # the row of the service the feedback was posted to
        ("never-shown", None, None),
    ]
    assert rows[0].with_reason and rows[0].override_code == "specialist-decision"
    assert store.feedback_since(T0 + timedelta(3)) == []


def test_the_ledger_knows_which_hook_showed_a_card(store: SqliteStore):
    store.record_shown([shown("c1", hook="order-select"), shown("c2", hook="patient-view")])
    assert store.shown_on(["c1", "c2", "c3"], "order-select") == {"c1"}
    assert store.shown_on([], "order-select") == set()


def test_the_ledger_answers_for_a_recent_period_when_asked(store: SqliteStore):
    store.record_shown([shown("old", hook="order-select", at=T0 - timedelta(days=2)), shown("new", hook="order-select")])
    assert store.shown_on(["old", "new"], "order-select", since=T0 - timedelta(hours=24)) == {"new"}
    assert store.shown_on(["old", "new"], "order-select") == {"old", "new"}


def test_ledger_rows_older_than_the_retention_are_purged(store: SqliteStore):
    store.record_shown([shown("old", at=T0 - timedelta(days=401)), shown("new", at=T0)])
    assert store.purge_shown(T0 - timedelta(days=400)) == 1
    assert [c.uuid for c in store.shown_since(T0 - timedelta(days=1000))] == ["new"]


def test_many_uuids_are_asked_in_chunks(store: SqliteStore):
    store.record_shown([shown(f"c{i}") for i in range(1200)])
    assert len(store.shown_on([f"c{i}" for i in range(1300)], "order-select")) == 1200


def test_a_token_id_is_accepted_once_until_it_expires(tmp_path: Path):
    now = [1000.0]
    store = SqliteStore(tmp_path / "s.sqlite3", clock=lambda: now[0])
    assert store.first_use("iss", "j1", expires_at=1060.0)
    assert not store.first_use("iss", "j1", expires_at=1060.0)
    assert store.first_use("other-iss", "j1", expires_at=1060.0)
    now[0] = 1061.0
    assert store.first_use("iss", "j1", expires_at=1200.0)  # expired: the id may be reused
    assert store.purge_tokens(now=1100.0) == 1  # other-iss's


def test_an_in_memory_store_works_for_replays():
    store = SqliteStore(":memory:")
    store.record_feedback(SERVICE, entries(overridden("c1")), T0)
    assert store.overridden_with_reason(["c1"])
    store.check()


def test_topics_of_is_the_newest_ledger_rows_topic(store):
    store.record_shown([
        shown("c1", topic="lab-lymphopenia"),
        shown("c1", topic="boxed-cv-thrombosis", at=T0 + timedelta(1)),
        shown("c2", hook="patient-view", topic="lab-anemia"),
    ])
    assert store.topics_of(["c1", "c2", "never-shown"]) == {"c1": "boxed-cv-thrombosis", "c2": "lab-anemia"}
    assert store.topics_of([]) == {}
