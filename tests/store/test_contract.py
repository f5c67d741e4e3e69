"""What every store backend does the same: run against SQLite and a real PostgreSQL server."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from cdshooks.store.model import Store
from cdshooks.store.schema import latest_version
from tests.store.conftest import BACKENDS
from tests.store.kit import SERVICE, T0, entries, overridden, shown


def test_a_migrated_store_is_at_the_latest_version_and_ready(store: Store):
    assert store.schema_version() == latest_version("sqlite") == latest_version("postgresql")
    assert store.upgrade() == []  # nothing left to apply
    store.check()


def test_feedback_is_stored_once_per_card_outcome_and_time(store: Store):
    assert store.record_feedback(SERVICE, entries(overridden("c1"), overridden("c2")), T0) == 2
    assert store.record_feedback(SERVICE, entries(overridden("c1")), T0) == 0
    assert store.record_feedback(SERVICE, entries(overridden("c1", at="2026-03-01T12:06:00Z")), T0) == 1
    assert [e["card_uuid"] for e in store.entries()] == ["c1", "c2", "c1"]  # type: ignore[attr-defined]


def test_stored_entries_keep_what_was_received(store: Store):
    raw = overridden("c1")
    store.record_feedback(SERVICE, entries(raw), T0)
    [row] = store.entries(SERVICE)  # type: ignore[attr-defined]
    assert row["entry"] == raw and row["accepted_suggestions"] == [] and row["override_code"] == "specialist-decision"
    assert store.entries("another-service") == []  # type: ignore[attr-defined]


def test_only_an_override_with_a_coded_reason_counts_and_the_newest_wins(store: Store):
    store.record_feedback(SERVICE, entries(
        overridden("c1", at="2026-03-01T12:05:00Z"),
        overridden("c1", at="2026-03-01T14:00:00+01:00"),  # 13:00 UTC
        overridden("c2", code=None),  # a plain dismissal
        {"card": "c3", "outcome": "accepted", "outcomeTimestamp": "2026-03-01T12:05:00Z",
         "acceptedSuggestions": [{"id": "s1"}]},
    ), T0)
    assert store.overridden_with_reason(["c1", "c2", "c3", "c4"]) == {"c1": datetime(2026, 3, 1, 13, tzinfo=UTC)}
    assert store.overridden_with_reason([]) == {}


def test_feedback_is_joined_to_the_ledger_row_of_its_card_and_unknown_cards_are_kept(store: Store):
    store.record_shown([shown("c1", hook="order-select"), shown("c1", hook="order-sign", at=T0 + timedelta(1))])
    store.record_feedback(SERVICE, entries(overridden("c1"), overridden("never-shown")), T0 + timedelta(2))
    rows = store.feedback_since(T0)
    assert [(r.card_uuid, r.topic, r.hook) for r in rows] == [
        ("c1", "lab-lymphopenia", "order-select"),  # the row of the service the feedback was posted to
        ("never-shown", None, None),
    ]
    assert rows[0].with_reason and rows[0].override_code == "specialist-decision"
    assert rows[0].received_at == T0 + timedelta(2) and rows[0].received_at.utcoffset() == timedelta(0)
    assert store.feedback_since(T0 + timedelta(3)) == []


def test_the_ledger_knows_which_hook_showed_a_card(store: Store):
    store.record_shown([shown("c1", hook="order-select"), shown("c2", hook="patient-view")])
    store.record_shown([])
    assert store.shown_on(["c1", "c2", "c3"], "order-select") == {"c1"}
    assert store.shown_on([], "order-select") == set()


def test_the_ledger_answers_for_a_recent_period_when_asked(store: Store):
    store.record_shown([shown("old", hook="order-select", at=T0 - timedelta(days=2)), shown("new", hook="order-select")])
    assert store.shown_on(["old", "new"], "order-select", since=T0 - timedelta(hours=24)) == {"new"}
    assert store.shown_on(["old", "new"], "order-select") == {"old", "new"}


def test_topics_of_is_the_newest_ledger_rows_topic(store: Store):
    store.record_shown([
        shown("c1", topic="lab-lymphopenia"),
        shown("c1", topic="boxed-cv-thrombosis", at=T0 + timedelta(1)),
        shown("c2", hook="patient-view", topic="lab-anemia"),
    ])
    assert store.topics_of(["c1", "c2", "never-shown"]) == {"c1": "boxed-cv-thrombosis", "c2": "lab-anemia"}
    assert store.topics_of([]) == {}


def test_ledger_rows_older_than_the_retention_are_purged(store: Store):
    store.record_shown([shown("old", at=T0 - timedelta(days=401)), shown("new", at=T0)])
    assert store.purge_shown(T0 - timedelta(days=400)) == 1
    assert [(c.uuid, c.shown_at) for c in store.shown_since(T0 - timedelta(days=1000))] == [("new", T0)]


def test_many_uuids_are_asked_at_once(store: Store):
    store.record_shown([shown(f"c{i}") for i in range(1200)])
    assert len(store.shown_on([f"c{i}" for i in range(1300)], "order-select")) == 1200


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_token_id_is_accepted_once_until_it_expires(make_store: Callable[..., Store], backend: str):
    now = [1000.0]
    store = make_store(backend, clock=lambda: now[0])
    assert store.first_use("iss", "j1", expires_at=1060.0)
    assert not store.first_use("iss", "j1", expires_at=1060.0)
    assert store.first_use("other-iss", "j1", expires_at=1060.0)
    now[0] = 1061.0
    assert store.first_use("iss", "j1", expires_at=1200.0)  # expired: the id may be reused
    assert store.purge_tokens(now=1100.0) == 1  # other-iss's


def test_a_nul_character_a_client_sent_does_not_cost_the_entry_or_the_ledger_row(store: Store):
    from dataclasses import replace

    raw = overridden("c1")
    raw["overrideReason"]["userComment"] = "see\x00note"
    raw["extra\x00key"] = "x"
    assert store.record_feedback(SERVICE, entries(raw), T0) == 1
    [row] = store.entries()  # type: ignore[attr-defined]
    assert row["entry"]["overrideReason"]["userComment"] in ("see\x00note", "see\ufffdnote")
    store.record_shown([replace(shown("c1"), patient_id="p\x001")])
    assert [r.uuid for r in store.shown_since(T0)] == ["c1"]
