"""The embedded store: feedback, the shown-card ledger and the `jti` cache in one SQLite file.

WAL mode lets gunicorn workers read while one writes; synchronous=FULL so that
a 200 for feedback means the entry survives a crash or restart. A connection
per thread, opened again after a fork: safe across threads and worker processes. The schema is brought to
the latest version on first use (`cdshooks db upgrade` does it ahead of time).
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cdshooks.security.jti_cache import token_key
from cdshooks.store.model import FeedbackRow, ShownCard, ShownIndex, StoreUnavailable, joined_feedback, newest_shown
from cdshooks.store.schema import (
    FEEDBACK_ROW_COLUMNS,
    SCHEMA_VERSION_TABLE,
    SHOWN_COLUMNS,
    SchemaError,
    latest_version,
    pending,
)

if TYPE_CHECKING:
    from cdshooks.feedback import FeedbackEntry

BACKEND = "sqlite"
BUSY_TIMEOUT_SECONDS = 10
# A client that retries a POST (a lost response, a timeout) sends the same entries
# again: an entry is one (card, outcome, outcomeTimestamp), stored once. Checked
# inside the write transaction (SQLite serializes writers), so it holds across
# gunicorn workers; a plain index, not a UNIQUE one, so a file written before
# this rule (which may hold such repeats) still opens.
_INSERT_FEEDBACK = (
    "INSERT INTO feedback (service_id, card_uuid, outcome, accepted_suggestions,"
    " override_system, override_code, override_display, override_comment,"
    " outcome_timestamp, received_at, entry_json)"
    " SELECT ?,?,?,?,?,?,?,?,?,?,? WHERE NOT EXISTS"
    " (SELECT 1 FROM feedback WHERE card_uuid = ? AND outcome = ? AND outcome_timestamp = ?)"
)
_INSERT_SHOWN = (
    "INSERT INTO shown_card (card_uuid, topic, indicator, patient_id, hook, service_id, shown_at)"
    " VALUES (?,?,?,?,?,?,?)"
)
# Insert, or take over a row whose token has expired; a live row wins (a replay).
_FIRST_USE = (
    "INSERT INTO used_jti (key, expires_at) VALUES (?, ?) "
    "ON CONFLICT(key) DO UPDATE SET expires_at = excluded.expires_at WHERE used_jti.expires_at <= ?"
)
_OUR_BUGS = (sqlite3.IntegrityError, sqlite3.ProgrammingError, sqlite3.InterfaceError)
_SQL_VARIABLES = 500  # uuids per IN (...) query, well under SQLite's limit


def stamp(moment: datetime) -> str:
    """A time as the store writes it: UTC, microseconds, so that text order is time order."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def parse_stamp(text: str) -> datetime:
    """A stored or client time (RFC 3339, any offset) as an aware datetime."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _chunks(values: Collection[str]) -> Iterator[list[str]]:
    items = list(dict.fromkeys(values))
    for i in range(0, len(items), _SQL_VARIABLES):
        yield items[i : i + _SQL_VARIABLES]


class SqliteStore:
    """The Store of one SQLite file (created with its folder on first use); ":memory:" for replays."""

    def __init__(self, path: str | Path, clock: Callable[[], float] = time.time):
        self.path = str(path)
        self._clock = clock  # for token expiry
        self._memory = self.path in ("", ":memory:")
        self._ready = False
        self._lock = threading.RLock()  # an in-memory store upgrades inside its first transaction
        self._shared: sqlite3.Connection | None = None  # the one connection of an in-memory store
        # A file's connection is kept per thread (and per process: never across gunicorn's fork). Opening
        # and closing one per call cost a checkpoint of the WAL (and its fsyncs) whenever it was the last.
        self._local = threading.local()

    # -- connections and schema

    def _open(self) -> sqlite3.Connection:
        if self._memory:
            if self._shared is None:
                self._shared = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
            return self._shared
        conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None)
        conn.execute("PRAGMA synchronous=FULL")
        return conn

    def _kept(self) -> sqlite3.Connection:
        """This thread's connection to the file (the in-memory store's one connection)."""
        if self._memory:
            return self._open()
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None or self._local.pid != os.getpid():
            conn = self._open()
            self._local.conn, self._local.pid = conn, os.getpid()
        return conn

    def _drop_kept(self) -> None:
        """Forget this thread's connection after an error: the next call opens a new one."""
        conn = getattr(self._local, "conn", None)
        self._local.conn = None
        if conn is not None and self._local.pid == os.getpid():
            with suppress(sqlite3.Error):
                conn.close()

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        if not self._ready:
            self.upgrade()
        try:
            conn = self._kept()
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"SQLite store {self._label()}: {exc}") from exc
        try:
            yield conn
        except _OUR_BUGS:
            raise  # a constraint we broke is a bug to see, not an outage to retry
        except sqlite3.Error as exc:
            if not self._memory:
                self._drop_kept()
            raise StoreUnavailable(f"SQLite store {self._label()}: {exc}") from exc

    @contextmanager
    def _transaction(self, durable: bool = True) -> Iterator[sqlite3.Connection]:
        """One write transaction; `durable=False` (the ledger) skips the fsync of the commit: WAL with
        synchronous=NORMAL keeps the file consistent and may lose the last rows on a power cut, which
        costs a repeated card, not a lost acknowledgement (feedback stays FULL)."""
        with self._lock if self._memory else _nothing(), self._connection() as conn:
            if not durable:
                conn.execute("PRAGMA synchronous=NORMAL")
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    yield conn
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
            finally:
                if not durable:
                    conn.execute("PRAGMA synchronous=FULL")  # the kept connection serves feedback too

    def _label(self) -> str:
        return ":memory:" if self._memory else Path(self.path).name

    def schema_version(self) -> int:
        """The version recorded in the file (0: none yet)."""
        conn = self._open()
        try:
            return _version(conn)
        finally:
            if not self._memory:
                conn.close()

    def upgrade(self) -> list[int]:
        """Apply the migrations the file still needs; returns the versions applied."""
        with self._lock:
            if self._ready:
                return []
            try:
                if not self._memory:
                    Path(self.path).parent.mkdir(parents=True, exist_ok=True)
                conn = self._open()
            except (OSError, sqlite3.Error) as exc:
                raise StoreUnavailable(f"SQLite store {self._label()}: {exc}") from exc
            try:
                # Only when not yet: switching the mode needs the file to itself, and another
                # process (a worker, `cdshooks report`) may hold it.
                if not self._memory and conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                    conn.execute("PRAGMA journal_mode=WAL")
                applied = _apply(conn)
            except sqlite3.Error as exc:
                raise StoreUnavailable(f"SQLite store {self._label()}: {exc}") from exc
            finally:
                if not self._memory:
                    conn.close()
            self._ready = True
            return applied

    def check(self) -> None:
        """Raise StoreUnavailable unless the file is writable and its schema current (readiness)."""
        if not self._ready:
            self.upgrade()
        try:
            conn = self._open()
            try:
                version = _version(conn)
                conn.execute("BEGIN IMMEDIATE")  # fails on a read-only file or folder, or a full disk
                conn.execute("ROLLBACK")
            finally:
                if not self._memory:
                    conn.close()
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"SQLite store {self._label()}: {exc}") from exc
        if version != latest_version(BACKEND):
            raise StoreUnavailable(
                f"SQLite store {self._label()} is at schema version {version}, not {latest_version(BACKEND)}: "
                "run `cdshooks db upgrade`"
            )

    # -- feedback

    def record_feedback(self, service_id: str, entries: Sequence[FeedbackEntry], received_at: datetime) -> int:
        """Store all entries in one transaction; returns how many were new (repeats are kept once)."""
        received = stamp(received_at)
        rows = [
            (
                service_id,
                e.card,
                e.outcome,
                json.dumps(list(e.accepted_suggestions)),
                e.override_reason.system if e.override_reason else None,
                e.override_reason.code if e.override_reason else None,
                e.override_reason.display if e.override_reason else None,
                e.override_reason.comment if e.override_reason else None,
                e.outcome_timestamp,
                received,
                json.dumps(e.raw, separators=(",", ":"), ensure_ascii=False),
                e.card,
                e.outcome,
                e.outcome_timestamp,
            )
            for e in entries
        ]
        with self._transaction() as conn:
            return sum(conn.execute(_INSERT_FEEDBACK, row).rowcount for row in rows)

    def entries(self, service_id: str | None = None) -> list[dict[str, Any]]:
        """Stored entries as rows, oldest first (for inspection and tests)."""
        if not self._memory and not Path(self.path).exists():
            return []
        sql = "SELECT * FROM feedback"
        args: tuple[str, ...] = ()
        if service_id is not None:
            sql, args = sql + " WHERE service_id = ?", (service_id,)
        with self._connection() as conn:
            conn.row_factory = sqlite3.Row
            rows = conn.execute(sql + " ORDER BY id", args).fetchall()
            conn.row_factory = None
        out = []
        for row in rows:
            d = dict(row)
            d["accepted_suggestions"] = json.loads(d["accepted_suggestions"])
            d["entry"] = json.loads(d.pop("entry_json"))
            out.append(d)
        return out

    def overridden_with_reason(self, uuids: Collection[str]) -> dict[str, datetime]:
        """For each of these card uuids overridden with a coded reason: the newest such outcomeTimestamp."""
        newest: dict[str, datetime] = {}
        with self._connection() as conn:
            for chunk in _chunks(uuids):
                marks = ",".join("?" * len(chunk))
                for card, when in conn.execute(
                    f"SELECT card_uuid, outcome_timestamp FROM feedback WHERE card_uuid IN ({marks})"
                    " AND outcome = 'overridden' AND override_code IS NOT NULL AND override_code != ''",
                    chunk,
                ):
                    moment = parse_stamp(when)
                    if card not in newest or moment > newest[card]:
                        newest[card] = moment
        return newest

    def feedback_since(self, since: datetime) -> list[FeedbackRow]:
        """Feedback received since then, each joined to the ledger row of its card, oldest first."""
        with self._connection() as conn:
            rows = conn.execute(
                f"SELECT {FEEDBACK_ROW_COLUMNS} FROM feedback WHERE received_at >= ? ORDER BY received_at, id",
                (stamp(since),),
            ).fetchall()
            shown = self._newest_shown(conn, {r[0] for r in rows})
        return [
            joined_feedback(card, service, outcome, json.loads(accepted), (system, code, display),
                            parse_stamp(outcome_at), parse_stamp(received), shown)
            for card, service, outcome, accepted, system, code, display, outcome_at, received in rows
        ]

    @staticmethod
    def _newest_shown(conn: sqlite3.Connection, uuids: Collection[str]) -> ShownIndex:
        """The newest ledger row of each uuid, per service and over all services (key service None)."""
        rows: list[tuple[Any, ...]] = []
        for chunk in _chunks(uuids):  # a uuid is in one chunk only, so the order within it is enough
            marks = ",".join("?" * len(chunk))
            rows.extend(conn.execute(
                f"SELECT {SHOWN_COLUMNS} FROM shown_card"
                f" WHERE card_uuid IN ({marks}) ORDER BY shown_at, id",
                chunk,
            ))
        return newest_shown(ShownCard(r[0], r[1], r[2], r[3], r[4], r[5], parse_stamp(r[6])) for r in rows)

    # -- the shown-card ledger

    def record_shown(self, cards: Sequence[ShownCard]) -> None:
        """Add cards to the ledger (a uuid shown again gets a new row)."""
        if not cards:
            return
        rows = [(c.uuid, c.topic, c.indicator, c.patient_id, c.hook, c.service_id, stamp(c.shown_at)) for c in cards]
        with self._transaction(durable=False) as conn:
            conn.executemany(_INSERT_SHOWN, rows)

    def shown_on(self, uuids: Collection[str], hook: str, since: datetime | None = None) -> set[str]:
        """Those of these card uuids that the ledger shows as returned on this hook (since then, if given)."""
        seen: set[str] = set()
        after = stamp(since) if since is not None else ""  # every stamp sorts after ""
        with self._connection() as conn:
            for chunk in _chunks(uuids):
                marks = ",".join("?" * len(chunk))
                seen.update(r[0] for r in conn.execute(
                    "SELECT DISTINCT card_uuid FROM shown_card WHERE hook = ? AND shown_at >= ?"
                    f" AND card_uuid IN ({marks})",
                    [hook, after, *chunk],
                ))
        return seen

    def shown_since(self, since: datetime) -> list[ShownCard]:
        """Ledger rows since then, oldest first."""
        with self._connection() as conn:
            rows = conn.execute(
                f"SELECT {SHOWN_COLUMNS} FROM shown_card"
                " WHERE shown_at >= ? ORDER BY shown_at, id",
                (stamp(since),),
            ).fetchall()
        return [ShownCard(r[0], r[1], r[2], r[3], r[4], r[5], parse_stamp(r[6])) for r in rows]

    def purge_shown(self, before: datetime) -> int:
        """Delete ledger rows older than the retention; returns how many went."""
        with self._transaction() as conn:
            return conn.execute("DELETE FROM shown_card WHERE shown_at < ?", (stamp(before),)).rowcount

    # -- the jti replay cache

    def first_use(self, iss: str, jti: str, expires_at: float) -> bool:
        """Record a token id; False when it was already used and has not expired (one atomic statement)."""
        now = self._clock()
        with self._connection() as conn:
            return conn.execute(_FIRST_USE, (token_key(iss, jti), expires_at, now)).rowcount == 1

    def purge_tokens(self, now: float) -> int:
        """Forget token ids whose tokens have expired."""
        with self._connection() as conn:
            return conn.execute("DELETE FROM used_jti WHERE expires_at <= ?", (now,)).rowcount

    # -- what the metrics need

    def topics_of(self, uuids: Collection[str]) -> dict[str, str]:
        """The topic of each of these card uuids the ledger knows (its newest row's)."""
        with self._connection() as conn:
            newest = self._newest_shown(conn, uuids)
        return {uuid: card.topic for (uuid, service), card in newest.items() if service is None}


@contextmanager
def _nothing() -> Iterator[None]:
    yield


def _version(conn: sqlite3.Connection) -> int:
    has_table = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (SCHEMA_VERSION_TABLE,)
    ).fetchone()
    if not has_table:
        return 0
    row = conn.execute(f"SELECT MAX(version) FROM {SCHEMA_VERSION_TABLE}").fetchone()
    return int(row[0] or 0)


def _apply(conn: sqlite3.Connection) -> list[int]:
    """Bring a database to the latest schema; each migration and its version row in one transaction."""
    applied: list[int] = []
    while True:
        conn.execute("BEGIN IMMEDIATE")  # another worker may be upgrading: re-read the version inside
        try:
            conn.execute(
                f"CREATE TABLE IF NOT EXISTS {SCHEMA_VERSION_TABLE}"
                " (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
            )
            todo = pending(BACKEND, _version(conn))
            if not todo:
                conn.execute("COMMIT")
                return applied
            migration = todo[0]
            for statement in migration.statements():
                conn.execute(statement)
            conn.execute(
                f"INSERT INTO {SCHEMA_VERSION_TABLE} (version, name, applied_at) VALUES (?, ?, ?)",
                (migration.version, migration.name, stamp(datetime.now(UTC))),
            )
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        applied.append(migration.version)


__all__ = ["SchemaError", "SqliteStore", "parse_stamp", "stamp"]
