"""The SQLite store's own behaviour: files, schema versions, workers upgrading at once (shared: test_contract)."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from cdshooks.store.model import StoreUnavailable
from cdshooks.store.schema import latest_version, migrations
from cdshooks.store.sqlite import SqliteStore
from tests.store.kit import SERVICE, T0, entries, overridden


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









def test_an_in_memory_store_works_for_replays():
    store = SqliteStore(":memory:")
    store.record_feedback(SERVICE, entries(overridden("c1")), T0)
    assert store.overridden_with_reason(["c1"])
    store.check()
