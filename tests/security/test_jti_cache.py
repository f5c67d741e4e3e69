"""The jti replay cache: once per token lifetime, shared across workers, no token stored."""

from __future__ import annotations

import sqlite3
import threading

import pytest

from cdshooks.security.jti_cache import MemoryReplayCache, SqliteReplayCache, replay_cache_for


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["memory", "sqlite"])
def make_cache(request, tmp_path):
    def build(clock):
        if request.param == "memory":
            return MemoryReplayCache(clock)
        return SqliteReplayCache(str(tmp_path / "jti.sqlite3"), clock)

    return build


def test_second_use_is_a_replay_until_expiry(make_cache):
    clock = Clock()
    cache = make_cache(clock)
    assert cache.first_use("iss", "jti-1", expires_at=1300)
    assert not cache.first_use("iss", "jti-1", expires_at=1300)
    assert cache.first_use("other-iss", "jti-1", expires_at=1300)  # ids are per issuer
    clock.now = 1301
    assert cache.first_use("iss", "jti-1", expires_at=1600)  # the old token has expired anyway
    assert not cache.first_use("iss", "jti-1", expires_at=1600)


def test_concurrent_uses_accept_exactly_one(make_cache):
    cache = make_cache(Clock())
    results: list[bool] = []
    lock = threading.Lock()

    def use():
        ok = cache.first_use("iss", "contested", expires_at=2000)
        with lock:
            results.append(ok)

    threads = [threading.Thread(target=use) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False] * 7 + [True]


def test_sqlite_cache_is_shared_between_workers_and_stores_no_jti(tmp_path):
    path = str(tmp_path / "jti.sqlite3")
    worker_a, worker_b = SqliteReplayCache(path, Clock()), SqliteReplayCache(path, Clock())
    assert worker_a.first_use("iss", "secret-jti-value", expires_at=2000)
    assert not worker_b.first_use("iss", "secret-jti-value", expires_at=2000)
    assert b"secret-jti-value" not in (tmp_path / "jti.sqlite3").read_bytes()
    rows = sqlite3.connect(path).execute("SELECT key FROM used_jti").fetchall()
    assert len(rows) == 1 and len(rows[0][0]) == 64


def test_cache_choice_from_settings(tmp_path):
    assert isinstance(replay_cache_for("memory", "var/feedback.sqlite3"), MemoryReplayCache)
    assert isinstance(replay_cache_for(None, ":memory:"), MemoryReplayCache)
    beside = replay_cache_for(None, str(tmp_path / "db" / "feedback.sqlite3"))
    assert isinstance(beside, SqliteReplayCache)
    assert beside.path == str(tmp_path / "db" / "jti-replay.sqlite3")
    named = replay_cache_for(str(tmp_path / "x.sqlite3"), "postgresql://db/feedback")
    assert named.path == str(tmp_path / "x.sqlite3")
