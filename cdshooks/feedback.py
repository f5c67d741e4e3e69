"""Feedback (CDS Hooks 2.0 §Feedback): validating a body into entries.

Storing them is the store's (`cdshooks.store`): one transaction per request,
every entry of a body or none, each (card, outcome, outcomeTimestamp) once.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeGuard

from cdshooks.protocol import InvalidRequest

OUTCOMES = ("accepted", "overridden")
# outcomeTimestamp: a date-time "as profiled in section 5.6 of RFC3339" (CDS Hooks 2.0
# Feedback): date, T, time with seconds, Z or an offset; letters in either case.
_RFC3339 = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?(?:[Zz]|[+-][0-9]{2}:[0-9]{2})"
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
