"""The PostgreSQL store's own behaviour, on a real server: several instances, outages, migrations, the CLI."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import psycopg
import pytest

from cdshooks.store.model import StoreUnavailable
from cdshooks.store.postgres import PostgresStore, redact_url
from cdshooks.store.schema import latest_version, migrations
from tests.store.kit import SERVICE, T0, entries, overridden

EVERY_VERSION = list(range(1, latest_version("postgresql") + 1))


@pytest.fixture
def stores(pg_url):
    """PostgresStore instances on one fresh database, closed after the test: stores(n) or stores(n, **options)."""
    made: list[PostgresStore] = []

    def build(n: int = 1, **options) -> list[PostgresStore]:
        options.setdefault("connect_timeout", 2)
        made.extend(PostgresStore(pg_url, **options) for _ in range(n))
        return made[-n:]

    yield build
    for store in made:
        store.close()


def test_migrations_are_recorded_in_the_schema_version_table(pg_url, stores):
    [store] = stores()
    assert store.schema_version() == 0
    assert store.upgrade() == EVERY_VERSION
    with psycopg.connect(pg_url) as conn:
        rows = conn.execute("SELECT version, name FROM schema_version ORDER BY version").fetchall()
    assert rows == [(m.version, m.name) for m in migrations("postgresql")]
    assert store.upgrade() == []


def test_instances_upgrading_at_once_apply_each_migration_once(stores):
    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(lambda s: s.upgrade(), stores(6)))
    assert sorted(v for r in results for v in r) == EVERY_VERSION


def test_a_database_not_upgraded_is_refused_with_what_to_run(stores):
    [store] = stores()
    with pytest.raises(StoreUnavailable, match="schema version 0, not 3: run `cdshooks db upgrade`"):
        store.record_feedback(SERVICE, entries(overridden("c1")), T0)
    with pytest.raises(StoreUnavailable, match="cdshooks db upgrade"):
        store.check()


def test_upgrade_on_start_migrates_on_first_use(stores):
    [store] = stores(auto_upgrade=True)
    assert store.record_feedback(SERVICE, entries(overridden("c1")), T0) == 1
    assert store.schema_version() == latest_version("postgresql")


def test_a_database_newer_than_the_service_is_not_ready(pg_url, stores):
    [store] = stores()
    store.upgrade()
    with psycopg.connect(pg_url) as conn:
        conn.execute("INSERT INTO schema_version VALUES (99, 'future', now())")
    with pytest.raises(StoreUnavailable, match="schema version 99"):
        store.check()


def test_the_same_token_id_is_accepted_once_across_threads_and_instances(stores):
    instances = stores(4, max_size=4)
    instances[0].upgrade()
    barrier = threading.Barrier(8)

    def take(i: int) -> bool:
        barrier.wait()
        return instances[i % 4].first_use("iss", "same-jti", time.time() + 60)

    with ThreadPoolExecutor(8) as pool:
        assert sorted(pool.map(take, range(8))) == [False] * 7 + [True]


def _take_in_a_process(url: str, start: float, results) -> None:
    store = PostgresStore(url, connect_timeout=2)
    time.sleep(max(0.0, start - time.time()))
    results.put(store.first_use("iss", "cross-process", time.time() + 60))
    store.close()


def test_the_same_token_id_is_accepted_once_across_processes(pg_url, stores):
    stores()[0].upgrade()
    context = multiprocessing.get_context("spawn")  # no state shared with this process
    results = context.Queue()
    start = time.time() + 1.5  # both past their imports, then at once
    procs = [context.Process(target=_take_in_a_process, args=(pg_url, start, results)) for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(30)
    assert sorted(results.get(timeout=5) for _ in procs) == [False, True]


def test_feedback_is_stored_once_across_instances(stores):
    a, b = stores(2)
    a.upgrade()
    same = entries(overridden("c1"), overridden("c2"))
    with ThreadPoolExecutor(2) as pool:
        counts = list(pool.map(lambda s: s.record_feedback(SERVICE, same, T0), [a, b] * 4))
    assert sum(counts) == 2
    assert sorted(e["card_uuid"] for e in b.entries()) == ["c1", "c2"]


def test_a_failed_post_stores_none_of_its_entries(stores):
    [store] = stores()
    store.upgrade()
    good, broken = entries(overridden("c1"), overridden("c2"))
    with pytest.raises(psycopg.errors.NotNullViolation):  # our own bug: not an outage, and not half stored
        store.record_feedback(SERVICE, [good, replace(broken, outcome=None)], T0)
    assert store.entries() == []


def test_a_slow_statement_is_cancelled_by_the_statement_timeout(pg_url, stores):
    [store] = stores(statement_timeout_ms=200)
    store.upgrade()
    with psycopg.connect(pg_url) as blocker:
        blocker.execute("LOCK TABLE used_jti IN ACCESS EXCLUSIVE MODE")  # held until this block ends
        started = time.monotonic()
        with pytest.raises(StoreUnavailable, match="statement timeout"):
            store.first_use("iss", "j1", time.time() + 60)
        assert time.monotonic() - started < 2


def test_a_stopped_server_is_unavailable_in_bounded_time_and_the_same_store_recovers(pg_server, stores):
    [store] = stores(connect_timeout=2)
    store.upgrade()
    assert store.first_use("iss", "before", time.time() + 60)
    pg_server.stop()
    try:
        for call in (lambda: store.first_use("iss", "during", time.time() + 60),
                     lambda: store.record_feedback(SERVICE, entries(overridden("c1")), T0), store.check):
            started = time.monotonic()
            with pytest.raises(StoreUnavailable):
                call()
            assert time.monotonic() - started < 6  # the connect timeout, not a hang
    finally:
        pg_server.start()
    assert store.record_feedback(SERVICE, entries(overridden("c1")), T0) == 1  # the same object, no re-creation
    assert not store.first_use("iss", "before", time.time() + 60)
    store.check()


def _use_in_child(store: PostgresStore, out) -> None:
    out.put(store.first_use("iss", f"child-{os.getpid()}", time.time() + 60))


def test_a_forked_worker_opens_its_own_pool_and_leaves_the_parents_alone(stores):
    [store] = stores()
    store.upgrade()
    assert store.first_use("iss", "parent-1", time.time() + 60)  # the parent's pool is open
    context = multiprocessing.get_context("fork")
    out = context.Queue()
    child = context.Process(target=_use_in_child, args=(store, out))
    child.start()
    child.join(30)
    assert child.exitcode == 0 and out.get(timeout=5) is True
    assert store.first_use("iss", "parent-2", time.time() + 60)  # the parent's connections still work


def test_the_password_never_appears_in_messages():
    url = "postgresql://cds:s3cret-pw@127.0.0.1:1/cds"
    assert redact_url(url) == "postgresql://cds:***@127.0.0.1:1/cds"
    assert redact_url("postgresql://cds@db/cds") == "postgresql://cds@db/cds"
    store = PostgresStore(url, connect_timeout=2)
    with pytest.raises(StoreUnavailable) as caught:
        store.check()
    assert "s3cret-pw" not in str(caught.value) and "***" in str(caught.value)
    store.close()


def _cli(*args: str, url: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "CDSHOOKS_DATABASE_URL": url}
    return subprocess.run([sys.executable, "-m", "cdshooks.cli", "db", *args], env=env,
                          capture_output=True, text=True, timeout=60, check=False)


def test_db_upgrade_and_check_end_to_end(pg_url):
    before = _cli("check", url=pg_url)
    assert before.returncode == 1 and "run `cdshooks db upgrade`" in before.stderr
    assert len(before.stderr.strip().splitlines()) == 1
    up = _cli("upgrade", url=pg_url)
    assert up.returncode == 0, up.stderr
    assert up.stdout.strip() == "applied 0001, 0002, 0003; schema version 3"
    assert _cli("upgrade", url=pg_url).stdout.strip() == "up to date; schema version 3"
    after = _cli("check", url=pg_url)
    assert after.returncode == 0 and after.stdout.strip() == "ok; schema version 3"
