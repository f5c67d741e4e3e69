"""`jti` replay cache: a token id is accepted once until its token expires.

The SQLite cache is shared by every worker process on the host (the default,
beside the feedback database); the in-memory one serves a single process
(tests, `--no-auth` demos). Only a SHA-256 of issuer and `jti` is stored,
never the token.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from typing import Protocol

PURGE_EVERY = 500  # insertions between deletions of expired rows


class ReplayCache(Protocol):
    def first_use(self, iss: str, jti: str, expires_at: float) -> bool:
        """Record the token id; False when it was already used and has not expired."""


def token_key(iss: str, jti: str) -> str:
    """A stable digest of the token id (no token material is stored)."""
    return hashlib.sha256(f"{iss}\x00{jti}".encode("utf-8", "surrogatepass")).hexdigest()


class MemoryReplayCache:
    """Thread-safe, single-process replay cache."""

    def __init__(self, clock: Callable[[], float] = time.time):
        self._clock = clock
        self._seen: dict[str, float] = {}
        self._lock = threading.Lock()
        self._adds = 0

    def first_use(self, iss: str, jti: str, expires_at: float) -> bool:
        key, now = token_key(iss, jti), self._clock()
        with self._lock:
            if self._seen.get(key, 0.0) > now:
                return False
            self._seen[key] = expires_at
            self._adds += 1
            if self._adds % PURGE_EVERY == 0:
                self._seen = {k: exp for k, exp in self._seen.items() if exp > now}
            return True


class SqliteReplayCache:
    """Replay cache in a SQLite file, safe across threads and worker processes."""

    def __init__(self, path: str, clock: Callable[[], float] = time.time):
        self.path = path
        self._clock = clock
        self._local = threading.local()
        self._adds = 0
        parent = os.path.dirname(os.path.abspath(path))
        os.makedirs(parent, exist_ok=True)
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("CREATE TABLE IF NOT EXISTS used_jti (key TEXT PRIMARY KEY, expires_at REAL NOT NULL)")

    def _connect(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            # autocommit: each statement is its own transaction, atomic across processes.
            db = sqlite3.connect(self.path, timeout=5.0, isolation_level=None)
            self._local.db = db
        return db

    def first_use(self, iss: str, jti: str, expires_at: float) -> bool:
        key, now = token_key(iss, jti), self._clock()
        db = self._connect()
        # Insert, or take over a row whose token has expired; a live row wins (replay).
        cur = db.execute(
            "INSERT INTO used_jti (key, expires_at) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET expires_at = excluded.expires_at "
            "WHERE used_jti.expires_at <= ?",
            (key, expires_at, now),
        )
        self._adds += 1
        if self._adds % PURGE_EVERY == 0:
            db.execute("DELETE FROM used_jti WHERE expires_at <= ?", (now,))
        return cur.rowcount == 1


def replay_cache_for(setting: str | None, feedback_db: str) -> ReplayCache:
    """The cache named by `Settings.jti_cache` (None: SQLite beside the feedback DB)."""
    if setting == "memory" or (setting is None and feedback_db in ("", ":memory:")):
        return MemoryReplayCache()
    if setting is None:
        # A feedback database URL (sqlite:///path, postgresql://...) is not a file path.
        path = feedback_db.removeprefix("sqlite:///")
        directory = "var" if "://" in path else os.path.dirname(path) or "."
        setting = os.path.join(directory, "jti-replay.sqlite3")
    return SqliteReplayCache(setting)
