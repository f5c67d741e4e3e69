"""Feedback (CDS Hooks 2.0 §Feedback): validation and durable storage in SQLite.

One transaction per request: every entry of a body is stored, or none. WAL mode
lets gunicorn workers write concurrently; synchronous=FULL so that a 200 means
the entry survives a crash or restart.
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeGuard

from cdshooks.protocol import InvalidRequest

OUTCOMES = ("accepted", "overridden")
# outcomeTimestamp: a date-time "as profiled in section 5.6 of RFC3339" (CDS Hooks 2.0
# Feedback): date, T, time with seconds, Z or an offset; letters in either case.
_RFC3339 = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?(?:[Zz]|[+-][0-9]{2}:[0-9]{2})"
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id                   INTEGER PRIMARY KEY,
    service_id           TEXT NOT NULL,
    card_uuid            TEXT NOT NULL,
    outcome              TEXT NOT NULL,
    accepted_suggestions TEXT NOT NULL,  -- JSON array of suggestion uuids
    override_system      TEXT,
    override_code        TEXT,
    override_display     TEXT,
    override_comment     TEXT,
    outcome_timestamp    TEXT NOT NULL,
    received_at          TEXT NOT NULL,
    entry_json           TEXT NOT NULL   -- the entry as received
);
CREATE INDEX IF NOT EXISTS feedback_card ON feedback (card_uuid);
CREATE INDEX IF NOT EXISTS feedback_identity ON feedback (card_uuid, outcome, outcome_timestamp);
"""
# A client that retries a POST (a lost response, a timeout) sends the same entries
# again: an entry is one (card, outcome, outcomeTimestamp), stored once. Checked
# inside the write transaction (SQLite serializes writers), so it holds across
# gunicorn workers; a plain index, not a UNIQUE one, so a file written before
# this rule (which may hold such repeats) still opens.
_INSERT = (
    "INSERT INTO feedback (service_id, card_uuid, outcome, accepted_suggestions,"
    " override_system, override_code, override_display, override_comment,"
    " outcome_timestamp, received_at, entry_json)"
    " SELECT ?,?,?,?,?,?,?,?,?,?,? WHERE NOT EXISTS"
    " (SELECT 1 FROM feedback WHERE card_uuid = ? AND outcome = ? AND outcome_timestamp = ?)"
)


@dataclass(frozen=True)
class OverrideReason:
    system: str | None = None
    code: str | None = None
    display: str | None = None
    comment: str | None = None


@dataclass(frozen=True)
class FeedbackEntry:
    """One validated feedback entry."""

    card: str
    outcome: str
    accepted_suggestions: tuple[str, ...]
    override_reason: OverrideReason | None
    outcome_timestamp: str
    raw: Mapping[str, Any]


_NULL = "must not be null: leave an optional field out (CDS Hooks 2.0: JSON elements SHALL NOT be null)."


def _optional(obj: Mapping[str, Any], key: str, where: str) -> Any:
    """obj[key], or None when absent; a JSON null is refused (the spec says leave the field out)."""
    if key in obj and obj[key] is None:
        raise InvalidRequest(f"{where}.{key} {_NULL}", f"{where}.{key}")
    return obj.get(key)


def _coding(value: Mapping[str, Any], where: str) -> OverrideReason:
    parts = {}
    for key in ("system", "code", "display"):
        v = _optional(value, key, where)
        if v is not None and not isinstance(v, str):
            raise InvalidRequest(f"{where}.{key} must be a string.", f"{where}.{key}")
        parts[key] = v
    return OverrideReason(**parts)


def _override_reason(value: Any, where: str) -> OverrideReason | None:
    """An OverrideReason `{reason: Coding, userComment}`; a Coding sent in its place is read as the reason."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise InvalidRequest(f"{where} must be a JSON object (an OverrideReason).", where)
    comment = _optional(value, "userComment", where)
    if comment is not None and not isinstance(comment, str):
        raise InvalidRequest(f"{where}.userComment must be a string.", f"{where}.userComment")
    reason = _optional(value, "reason", where)
    if reason is None:
        coded = _coding(value, where)  # a Coding sent in place of the OverrideReason (still an object)
    elif isinstance(reason, dict):
        coded = _coding(reason, f"{where}.reason")
    else:
        raise InvalidRequest(f"{where}.reason must be a Coding (a JSON object).", f"{where}.reason")
    return OverrideReason(coded.system, coded.code, coded.display, comment)


def _accepted(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise InvalidRequest(f"{where} must be a JSON array.", where)
    ids = []
    for i, item in enumerate(value):
        if not isinstance(item, dict):
            raise InvalidRequest(f'{where}[{i}] must be a JSON object {{"id": suggestion uuid}}.', f"{where}[{i}]")
        sid = item.get("id")
        if not isinstance(sid, str) or not sid:
            raise InvalidRequest(f"{where}[{i}].id must be a non-empty string.", f"{where}[{i}].id")
        ids.append(sid)
    return tuple(ids)


def _is_rfc3339(stamp: Any) -> TypeGuard[str]:
    """An RFC 3339 date-time that names a real instant (no 30 February, no hour 24)."""
    if not isinstance(stamp, str) or not _RFC3339.fullmatch(stamp):
        return False
    try:
        datetime.fromisoformat(stamp.upper())
    except ValueError:
        return False
    return True


def _entry(raw: Any, where: str) -> FeedbackEntry:
    if not isinstance(raw, dict):
        raise InvalidRequest(f"{where} must be a JSON object.", where)
    card = raw.get("card")
    if not isinstance(card, str) or not card:
        raise InvalidRequest(f"{where}.card must be the card uuid (a string).", f"{where}.card")
    outcome = raw.get("outcome")
    if outcome not in OUTCOMES:
        raise InvalidRequest(f"{where}.outcome must be one of {', '.join(OUTCOMES)}.", f"{where}.outcome")
    stamp = raw.get("outcomeTimestamp")
    if not _is_rfc3339(stamp):
        raise InvalidRequest(
            f"{where}.outcomeTimestamp must be an RFC 3339 date-time with seconds and a zone"
            " (e.g. 1985-04-12T23:20:50.52Z).",
            f"{where}.outcomeTimestamp",
        )
    return FeedbackEntry(
        card=card,
        outcome=outcome,
        accepted_suggestions=_accepted(_optional(raw, "acceptedSuggestions", where), f"{where}.acceptedSuggestions"),
        override_reason=_override_reason(_optional(raw, "overrideReason", where), f"{where}.overrideReason"),
        outcome_timestamp=stamp,
        raw=raw,
    )


class TooManyEntries(InvalidRequest):
    """More feedback entries in one body than the service accepts (nothing is stored)."""


def parse_feedback(body: Any, max_entries: int | None = None) -> list[FeedbackEntry]:
    """Validate a feedback body; raises InvalidRequest on the first bad entry."""
    if not isinstance(body, dict) or not isinstance(body.get("feedback"), list):
        raise InvalidRequest("The body must be a JSON object with a 'feedback' array.", "feedback")
    if max_entries is not None and len(body["feedback"]) > max_entries:
        raise TooManyEntries(
            f"{len(body['feedback'])} feedback entries in one request; at most {max_entries} are accepted"
            " (send them in several requests). Nothing was stored.",
            "feedback",
        )
    return [_entry(raw, f"feedback[{i}]") for i, raw in enumerate(body["feedback"])]


class FeedbackStore:
    """Feedback entries in a SQLite file (created with its folder on first use)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._ready = False
        self._lock = threading.Lock()

    def _connect(self) -> sqlite3.Connection:
        if not self._ready:
            with self._lock:
                if not self._ready:
                    self.path.parent.mkdir(parents=True, exist_ok=True)
                    with sqlite3.connect(self.path) as conn:
                        conn.execute("PRAGMA journal_mode=WAL")
                        conn.executescript(_SCHEMA)
                    self._ready = True
        # A connection per call: safe across threads and gunicorn workers.
        conn = sqlite3.connect(self.path, timeout=10, isolation_level=None)
        conn.execute("PRAGMA synchronous=FULL")
        return conn

    def record(self, service_id: str, entries: Iterable[FeedbackEntry], received_at: datetime) -> int:
        """Store all entries in one transaction; returns how many were new (repeats are kept once)."""
        received = received_at.isoformat()
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
        conn = self._connect()
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                stored = sum(conn.execute(_INSERT, row).rowcount for row in rows)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        finally:
            conn.close()
        return stored

    def entries(self, service_id: str | None = None) -> list[dict[str, Any]]:
        """Stored entries, oldest first (for inspection and tests)."""
        if not self.path.exists():
            return []
        conn = self._connect()
        conn.row_factory = sqlite3.Row
        try:
            sql = "SELECT * FROM feedback"
            args: tuple[Any, ...] = ()
            if service_id is not None:
                sql, args = sql + " WHERE service_id = ?", (service_id,)
            rows = conn.execute(sql + " ORDER BY id", args).fetchall()
        finally:
            conn.close()
        out = []
        for row in rows:
            d = dict(row)
            d["accepted_suggestions"] = json.loads(d["accepted_suggestions"])
            d["entry"] = json.loads(d.pop("entry_json"))
            out.append(d)
        return out
