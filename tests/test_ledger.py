"""ledger.record: every returned card is a ledger row; a store that fails costs the row, not the call."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from cdshooks import ledger
from cdshooks.store.model import StoreUnavailable
from cdshooks.store.sqlite import SqliteStore

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
CARDS = [
    {"uuid": "c1", "indicator": "warning", "summary": "Age 70", "source": {"topic": {"code": "age-infection-risk"}}},
    {"uuid": "c2", "indicator": "info", "summary": "On tofacitinib", "source": {"topic": {"code": "safety-summary"}}},
]


def test_each_card_is_a_row_with_topic_hook_patient_and_time(tmp_path):
    store = SqliteStore(tmp_path / "s.sqlite3")
    assert ledger.record(store, CARDS, hook="patient-view", patient_id="p1", service_id="svc", now=NOW)
    rows = store.shown_since(NOW)
    assert [(r.uuid, r.topic, r.indicator, r.hook, r.patient_id, r.service_id, r.shown_at) for r in rows] == [
        ("c1", "age-infection-risk", "warning", "patient-view", "p1", "svc", NOW),
        ("c2", "safety-summary", "info", "patient-view", "p1", "svc", NOW),
    ]


def test_a_store_that_fails_is_logged_without_patient_data(tmp_path, monkeypatch, caplog):
    store = SqliteStore(tmp_path / "s.sqlite3")

    def down(rows):
        raise StoreUnavailable("SQLite store s.sqlite3: database is locked")

    monkeypatch.setattr(store, "record_shown", down)
    with caplog.at_level(logging.WARNING):
        assert not ledger.record(store, CARDS, hook="order-select", patient_id="p-secret", service_id="s", now=NOW)
    assert "ledger not written (2 cards)" in caplog.text
    assert "p-secret" not in caplog.text and "Age 70" not in caplog.text
