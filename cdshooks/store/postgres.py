"""The shared store: feedback, the shown-card ledger and the `jti` cache in PostgreSQL.

Several instances share one database (`CDSHOOKS_DATABASE_URL`), so every rule
that SQLite gets from serialized writers is a constraint here: a UNIQUE index
keeps each feedback entry once, `INSERT ... ON CONFLICT` takes a token id in
one atomic statement. The connection pool is opened in the process that first
uses it (never inherited across gunicorn's fork); every connection carries a
statement timeout, so a slow database is an error, not a hung worker.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
import psycopg_pool
from psycopg.types.json import Jsonb

from cdshooks.security.jti_cache import token_key
from cdshooks.store.model import FeedbackRow, ShownCard, ShownIndex, StoreUnavailable, joined_feedback, newest_shown
from cdshooks.store.schema import FEEDBACK_ROW_COLUMNS, SCHEMA_VERSION_TABLE, SHOWN_COLUMNS, latest_version, pending
from cdshooks.store.sqlite import parse_stamp

if TYPE_CHECKING:
    from cdshooks.feedback import FeedbackEntry

BACKEND = "postgresql"
log = logging.getLogger("cdshooks.store")

# Any constant of our own: every instance upgrading at once waits on the same lock.
_MIGRATION_LOCK = 0x0CD5_0017
PURGE_EVERY_SECONDS = 300.0  # expired token ids are deleted at most this often, off the request path

_INSERT_FEEDBACK = (
    "INSERT INTO feedback (service_id, card_uuid, outcome, accepted_suggestions,"
    " override_system, override_code, override_display, override_comment,"
    " outcome_timestamp, received_at, entry_json)"
    " VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)"
    " ON CONFLICT (card_uuid, outcome, outcome_timestamp) DO NOTHING"
)
_INSERT_SHOWN = (
    "INSERT INTO shown_card (card_uuid, topic, indicator, patient_id, hook, service_id, shown_at)"
    " VALUES (%s,%s,%s,%s,%s,%s,%s)"
)
# Insert, or take over a row whose token has expired; a live row wins (a replay). One statement:
# concurrent callers with the same key are serialized by the primary key, exactly one writes.
_FIRST_USE = (
    "INSERT INTO used_jti (key, expires_at) VALUES (%s, %s)"
    " ON CONFLICT (key) DO UPDATE SET expires_at = EXCLUDED.expires_at WHERE used_jti.expires_at <= %s"
)
# The database is down, restarting, refusing us, or too slow: an outage, not our bug.
_UNAVAILABLE = (psycopg.OperationalError, psycopg_pool.PoolTimeout, psycopg_pool.PoolClosed)


def redact_url(url: str) -> str:
    """The URL with its password replaced, for logs and messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{parts.username or ''}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def _shown(row: tuple[Any, ...]) -> ShownCard:
    return ShownCard(row[0], row[1], row[2], row[3], row[4], row[5], row[6].astimezone(UTC))


class PostgresStore:
    """The Store of one PostgreSQL database; its pool opens lazily in each process that uses it."""

    def __init__(
        self,
        url: str,
        *,
        min_size: int = 1,
        max_size: int = 4,
        statement_timeout_ms: int = 2000,
        connect_timeout: int = 3,
        auto_upgrade: bool = False,
        clock: Callable[[], float] = time.time,
    ):
        self.url = url
        self.min_size, self.max_size = min_size, max_size
        self.statement_timeout_ms = statement_timeout_ms
        self.connect_timeout = max(connect_timeout, 2)  # libpq treats 1 as 2
        self.auto_upgrade = auto_upgrade  # CDSHOOKS_DB_UPGRADE_ON_START: migrate on first use, else refuse
        self._clock = clock  # for token expiry
        self._lock = threading.Lock()
        self._pool: psycopg_pool.ConnectionPool | None = None
        self._pid: int | None = None
        # A forked child must not close (or let the garbage collector close) the parent's
        # connections: libpq would end the parent's sessions. The inherited pool is kept here.
        self._inherited: list[psycopg_pool.ConnectionPool] = []
        self._ready = False
        self._outage = False  # the last checkout found the database away: try it directly first
        self._next_purge = 0.0

    def _label(self) -> str:
        return f"PostgreSQL store {redact_url(self.url)}"

    def _unavailable(self, exc: BaseException) -> StoreUnavailable:
        # One line (libpq's messages carry hints on further lines); libpq never quotes the password.
        return StoreUnavailable(f"{self._label()}: {' '.join(str(exc).split())}")

    # -- connections and schema

    def _options(self, statement_timeout_ms: int) -> dict[str, Any]:
        # Sent in the start-up packet: no extra round trip. UTC so stored times read back as UTC.
        return {
            "connect_timeout": self.connect_timeout,
            "options": f"-c statement_timeout={statement_timeout_ms} -c TimeZone=UTC",
            "application_name": "cdshooks",
        }

    def _get_pool(self) -> psycopg_pool.ConnectionPool:
        with self._lock:
            if self._pool is not None and self._pid == os.getpid():
                return self._pool
            if self._pool is not None:
                self._inherited.append(self._pool)
            pool = psycopg_pool.ConnectionPool(
                self.url,
                min_size=self.min_size,
                max_size=self.max_size,
                kwargs={**self._options(self.statement_timeout_ms), "autocommit": True},
                # A connection a restarted server closed is replaced before use (an empty query),
                # so the first call after a restart does not fail.
                check=psycopg_pool.ConnectionPool.check_connection,
                timeout=self.connect_timeout,  # waiting for a free or new connection
                open=False,
                name="cdshooks-store",
            )
            pool.open(wait=False)  # a database down at start is an outage to report per call, not a crash
            self._pool, self._pid = pool, os.getpid()
            return pool

    @contextmanager
    def _connection(self) -> Iterator[psycopg.Connection[Any]]:
        if not self._ready:
            self._ensure_schema()
        with self._connection_as_is() as conn:
            yield conn

    @contextmanager
    def _connection_as_is(self) -> Iterator[psycopg.Connection[Any]]:
        """A pooled connection whatever the schema (readiness reads the version through it)."""
        try:
            pool, conn = self._checkout()
        except _UNAVAILABLE as exc:
            raise self._unavailable(exc) from exc
        try:
            yield conn
        except _UNAVAILABLE as exc:
            raise self._unavailable(exc) from exc
        finally:
            pool.putconn(conn)  # a broken connection is discarded, a transaction left open rolled back

    def _checkout(self) -> tuple[psycopg_pool.ConnectionPool, psycopg.Connection[Any]]:
        """A pooled connection; after an outage, a new pool rather than waiting out the old one's backoff."""
        if self._outage:
            # While the database is away, every call waiting out the pool's timeout would make a hook
            # call (jti, suppression, ledger) take several of them; a refused connection fails at once.
            self._direct().close()
            self._outage = False
            stale = self._pool
            if stale is not None and self._pid == os.getpid():
                self._drop_pool(stale)  # still backing off between reconnects: a new pool answers now
        pool = self._get_pool()
        try:
            return pool, pool.getconn()
        except psycopg_pool.PoolTimeout:
            pass
        # The pool only says it waited: a connection of our own says why (StoreUnavailable) if the
        # database is still away. If it is back, the pool may be sleeping between reconnect attempts.
        try:
            self._direct().close()
        except StoreUnavailable:
            self._outage = True
            raise
        self._drop_pool(pool)
        pool = self._get_pool()
        return pool, pool.getconn()  # nothing was sent yet: this second try repeats no statement

    def _drop_pool(self, pool: psycopg_pool.ConnectionPool) -> None:
        """Forget this pool (the next call opens a new one) and close it off the request path."""
        with self._lock:
            if self._pool is pool:
                self._pool = None
        threading.Thread(target=pool.close, name="cdshooks-pool-close", daemon=True).start()

    @contextmanager
    def _transaction(self) -> Iterator[psycopg.Connection[Any]]:
        with self._connection() as conn, conn.transaction():
            yield conn

    def _direct(self) -> psycopg.Connection[Any]:
        """A connection outside the pool, closed by the caller: migrations and readiness in any process."""
        try:
            return psycopg.connect(self.url, autocommit=True, **self._options(0))
        except _UNAVAILABLE as exc:
            raise self._unavailable(exc) from exc

    def close(self) -> None:
        """Close this process's pool (tests; a worker's pool ends with the worker)."""
        with self._lock:
            if self._pool is not None and self._pid == os.getpid():
                self._pool.close()
            self._pool = None

    def schema_version(self) -> int:
        """The version recorded in the database (0: none yet)."""
        with self._direct() as conn:
            try:
                return _version(conn)
            except _UNAVAILABLE as exc:
                raise self._unavailable(exc) from exc

    def upgrade(self) -> list[int]:
        """Apply the migrations the database still needs; returns the versions applied."""
        with self._direct() as conn:
            try:
                applied = _apply(conn)
            except _UNAVAILABLE as exc:
                raise self._unavailable(exc) from exc
        self._ready = True
        return applied

    def _ensure_schema(self) -> None:
        """Once per store: migrate (when asked to) or refuse to run on an older schema."""
        if self.auto_upgrade:
            self.upgrade()
            return
        version = self.schema_version()
        if version != latest_version(BACKEND):
            raise StoreUnavailable(
                f"{self._label()} is at schema version {version}, not {latest_version(BACKEND)}: "
                "run `cdshooks db upgrade`"
            )
        self._ready = True

    def check(self) -> None:
        """Raise StoreUnavailable unless the database answers, takes writes and its schema is current."""
        if self.auto_upgrade and not self._ready:
            self.upgrade()
        with self._connection_as_is() as conn:
            version = _version(conn)
            row = conn.execute("SELECT current_setting('transaction_read_only')").fetchone()
        if row is None or row[0] != "off":
            raise StoreUnavailable(f"{self._label()} is read-only (a standby?)")
        if version != latest_version(BACKEND):
            raise StoreUnavailable(
                f"{self._label()} is at schema version {version}, not {latest_version(BACKEND)}: "
                "run `cdshooks db upgrade`"
            )

    # -- feedback

    def record_feedback(self, service_id: str, entries: Sequence[FeedbackEntry], received_at: datetime) -> int:
        """Store all entries in one transaction; returns how many were new (repeats are kept once).

        PostgreSQL text and JSONB cannot hold a NUL character, which JSON allows: each is stored as
        U+FFFD (the entry is kept, as on SQLite, rather than refused)."""
        rows = [
            _without_nul((
                service_id,
                e.card,
                e.outcome,
                list(e.accepted_suggestions),
                e.override_reason.system if e.override_reason else None,
                e.override_reason.code if e.override_reason else None,
                e.override_reason.display if e.override_reason else None,
                e.override_reason.comment if e.override_reason else None,
                parse_stamp(e.outcome_timestamp),
                received_at,
                e.raw,
            ))
            for e in entries
        ]
        rows = [(*r[:3], Jsonb(r[3]), *r[4:10], Jsonb(r[10])) for r in rows]
        with self._transaction() as conn, conn.cursor() as cur:
            new = 0
            for row in rows:
                cur.execute(_INSERT_FEEDBACK, row)
                new += cur.rowcount
            return new

    def entries(self, service_id: str | None = None) -> list[dict[str, Any]]:
        """Stored entries as rows, oldest first (for inspection and tests)."""
        sql = (
            "SELECT id, service_id, card_uuid, outcome, accepted_suggestions, override_system, override_code,"
            " override_display, override_comment, outcome_timestamp, received_at, entry_json FROM feedback"
        )
        args: tuple[str, ...] = ()
        if service_id is not None:
            sql, args = sql + " WHERE service_id = %s", (service_id,)
        with self._connection() as conn, conn.cursor() as cur:
            cur.execute(sql + " ORDER BY id", args)
            names = [d.name for d in cur.description or ()]
            rows = cur.fetchall()
        out = []
        for row in rows:
            d = dict(zip(names, row, strict=True))
            d["entry"] = d.pop("entry_json")
            out.append(d)
        return out

    def overridden_with_reason(self, uuids: Collection[str]) -> dict[str, datetime]:
        """For each of these card uuids overridden with a coded reason: the newest such outcomeTimestamp."""
        if not uuids:
            return {}
        with self._connection() as conn:
            rows = conn.execute(
                "SELECT card_uuid, MAX(outcome_timestamp) FROM feedback WHERE card_uuid = ANY(%s)"
                " AND outcome = 'overridden' AND override_code IS NOT NULL AND override_code != ''"
                " GROUP BY card_uuid",
                (list(set(uuids)),),
            ).fetchall()
        return {card: when.astimezone(UTC) for card, when in rows}

    def feedback_since(self, since: datetime) -> list[FeedbackRow]:
        """Feedback received since then, each joined to the ledger row of its card, oldest first."""
        with self._connection() as conn:
            rows = conn.execute(
                f"SELECT {FEEDBACK_ROW_COLUMNS} FROM feedback WHERE received_at >= %s ORDER BY received_at, id",
                (since,),
            ).fetchall()
            shown = _newest_shown(conn, {r[0] for r in rows})
        return [
            joined_feedback(card, service, outcome, accepted, (system, code, display),
                            outcome_at.astimezone(UTC), received.astimezone(UTC), shown)
            for card, service, outcome, accepted, system, code, display, outcome_at, received in rows
        ]

    # -- the shown-card ledger

    def record_shown(self, cards: Sequence[ShownCard]) -> None:
        """Add cards to the ledger (a uuid shown again gets a new row)."""
        if not cards:
            return
        # PostgreSQL text cannot hold a NUL, which a client's patient id may: the ledger only counts and
        # joins by it, so a replacement character keeps the row (and the hook call) going.
        rows = [_without_nul((c.uuid, c.topic, c.indicator, c.patient_id, c.hook, c.service_id, c.shown_at))
                for c in cards]
        with self._transaction() as conn, conn.cursor() as cur:
            # A lost ledger row costs a repeated card, never an acknowledgement: no wait for the WAL flush.
            cur.execute("SET LOCAL synchronous_commit = off")
            cur.executemany(_INSERT_SHOWN, rows)

    def shown_on(self, uuids: Collection[str], hook: str, since: datetime | None = None) -> set[str]:
        """Those of these card uuids that the ledger shows as returned on this hook (since then, if given)."""
        if not uuids:
            return set()
        with self._connection() as conn:
            rows = conn.execute(
                "SELECT DISTINCT card_uuid FROM shown_card WHERE hook = %s AND card_uuid = ANY(%s)"
                " AND (%s::timestamptz IS NULL OR shown_at >= %s::timestamptz)",
                (hook, list(set(uuids)), since, since),
            ).fetchall()
        return {r[0] for r in rows}

    def topics_of(self, uuids: Collection[str]) -> dict[str, str]:
        """The topic of each of these card uuids the ledger knows (its newest row's)."""
        if not uuids:
            return {}
        with self._connection() as conn:
            rows = conn.execute(
                "SELECT DISTINCT ON (card_uuid) card_uuid, topic FROM shown_card WHERE card_uuid = ANY(%s)"
                " ORDER BY card_uuid, shown_at DESC, id DESC",
                (list(set(uuids)),),
            ).fetchall()
        return {r[0]: r[1] for r in rows}

    def shown_since(self, since: datetime) -> list[ShownCard]:
        """Ledger rows since then, oldest first."""
        with self._connection() as conn:
            rows = conn.execute(
                f"SELECT {SHOWN_COLUMNS} FROM shown_card WHERE shown_at >= %s ORDER BY shown_at, id", (since,)
            ).fetchall()
        return [_shown(r) for r in rows]

    def purge_shown(self, before: datetime) -> int:
        """Delete ledger rows older than the retention; returns how many went."""
        with self._connection() as conn:
            return conn.execute("DELETE FROM shown_card WHERE shown_at < %s", (before,)).rowcount

    # -- the jti replay cache

    def first_use(self, iss: str, jti: str, expires_at: float) -> bool:
        """Record a token id; False when it was already used and has not expired (one atomic statement)."""
        now = self._clock()
        with self._connection() as conn:
            written = conn.execute(_FIRST_USE, (token_key(iss, jti), expires_at, now)).rowcount == 1
        self._purge_later(now)
        return written

    def purge_tokens(self, now: float) -> int:
        """Forget token ids whose tokens have expired."""
        with self._connection() as conn:
            return conn.execute("DELETE FROM used_jti WHERE expires_at <= %s", (now,)).rowcount

    def _purge_later(self, now: float) -> None:
        """Now and then, delete expired token ids in a thread of their own (never on the request path)."""
        with self._lock:
            if now < self._next_purge:
                return
            self._next_purge = now + PURGE_EVERY_SECONDS
        threading.Thread(target=self._purge_quietly, args=(now,), name="cdshooks-jti-purge", daemon=True).start()

    def _purge_quietly(self, now: float) -> None:
        try:
            self.purge_tokens(now)
        except StoreUnavailable as exc:  # the next purge tries again; a request never sees this
            log.warning("expired token ids not purged: %s", exc)


def _newest_shown(conn: psycopg.Connection[Any], uuids: Collection[str]) -> ShownIndex:
    """The newest ledger row of each uuid, per service and over all services (key service None)."""
    if not uuids:
        return {}
    rows = conn.execute(
        f"SELECT {SHOWN_COLUMNS} FROM shown_card WHERE card_uuid = ANY(%s) ORDER BY shown_at, id", (list(uuids),)
    ).fetchall()
    return newest_shown(_shown(r) for r in rows)


def _version(conn: psycopg.Connection[Any]) -> int:
    row = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (SCHEMA_VERSION_TABLE,)).fetchone()
    if not row or not row[0]:
        return 0
    found = conn.execute(f"SELECT MAX(version) FROM {SCHEMA_VERSION_TABLE}").fetchone()
    return int(found[0] or 0) if found else 0


def _apply(conn: psycopg.Connection[Any]) -> list[int]:
    """Bring a database to the latest schema; each migration and its version row in one transaction."""
    applied: list[int] = []
    while True:
        with conn.transaction():
            # Another instance may be upgrading: wait for it, then re-read the version inside.
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
            conn.execute(
                f"CREATE TABLE IF NOT EXISTS {SCHEMA_VERSION_TABLE}"
                " (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL)"
            )
            todo = pending(BACKEND, _version(conn))
            if not todo:
                return applied
            migration = todo[0]
            for statement in migration.statements():
                conn.execute(statement)  # type: ignore[arg-type]  # our own file, not user input
            conn.execute(
                f"INSERT INTO {SCHEMA_VERSION_TABLE} (version, name, applied_at) VALUES (%s, %s, now())",
                (migration.version, migration.name),
            )
        applied.append(migration.version)
        log.info("store schema: applied migration %04d_%s", migration.version, migration.name)


__all__ = ["PostgresStore", "redact_url"]


def _without_nul(value: Any) -> Any:
    """The value with every NUL in its strings (keys included) replaced by U+FFFD."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, dict):
        return {_without_nul(k): _without_nul(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_without_nul(v) for v in value)
    return value
