"""The store's housekeeping: ledger rows past the retention and expired token ids go, off the request path."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

from cdshooks.housekeeping import Purger
from cdshooks.store.model import ShownCard, StoreUnavailable
from cdshooks.store.sqlite import SqliteStore

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)


def shown(uuid: str, at: datetime) -> ShownCard:
    return ShownCard(uuid, "age-infection-risk", "warning", "p1", "patient-view", "svc", at)


def test_a_round_removes_the_rows_past_the_retention_and_expired_tokens(tmp_path):
    store = SqliteStore(tmp_path / "s.sqlite3", clock=lambda: NOW.timestamp() - 100)
    store.record_shown([shown("old", NOW - timedelta(days=401)), shown("kept", NOW - timedelta(days=399))])
    assert store.first_use("iss", "expired", NOW.timestamp() - 10)
    assert store.first_use("iss", "live", NOW.timestamp() + 10)
    assert Purger(store, timedelta(days=400), clock=lambda: NOW).run_once() == 2
    assert [r.uuid for r in store.shown_since(NOW - timedelta(days=1000))] == ["kept"]
    assert not store.first_use("iss", "live", NOW.timestamp() + 10)  # still remembered: a replay


def test_a_store_that_fails_skips_the_round(tmp_path, monkeypatch, caplog):
    store = SqliteStore(tmp_path / "s.sqlite3")

    def down(before):
        raise StoreUnavailable("down")

    monkeypatch.setattr(store, "purge_shown", down)
    assert Purger(store, timedelta(days=400)).run_once() == 0
    assert "housekeeping skipped" in caplog.text


def test_the_thread_starts_once_per_process_and_runs_in_the_background(tmp_path):
    store = SqliteStore(tmp_path / "s.sqlite3")
    ran = threading.Event()
    purger = Purger(store, timedelta(days=400), interval=timedelta(hours=1), first_round_after=timedelta(0))
    purger.run_once = lambda: ran.set() or 0  # type: ignore[method-assign]
    before = threading.active_count()
    purger.ensure_started()
    purger.ensure_started()
    assert ran.wait(5)
    assert threading.active_count() == before + 1
    purger.stop()
    deadline = time.monotonic() + 5
    while threading.active_count() > before and time.monotonic() < deadline:
        time.sleep(0.01)
    assert threading.active_count() == before


def test_a_request_starts_the_housekeeping_thread_of_its_app(client):
    def purgers() -> int:
        return sum(t.name == "cdshooks-purge" for t in threading.enumerate())

    before = purgers()
    client.get("/cds-services")
    client.get("/cds-services")
    assert purgers() == before + 1
