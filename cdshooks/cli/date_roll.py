"""Shift every FHIR date in a request, so a fixture written for `asOf` replays at any time.

`cdshooks replay --now WHEN` moves each dateTime by (WHEN - asOf), and each
date-only value by the calendar days from asOf's date to WHEN's date (UTC, the
dates the service counts days in): a lab ten days old at `asOf` is ten days
old at WHEN, a patient turning 65 tomorrow still turns 65 tomorrow, and so the
cards stay the same. (Moving a date by the whole days of WHEN - asOf would be a
day short whenever WHEN's time of day is earlier than asOf's.) Only whole
strings shaped like FHIR dates are touched; partial dates (`1981`, `1981-03`)
keep their precision and are left alone.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$")


def calendar_days(as_of: datetime, now: datetime) -> int:
    """Calendar days from as_of's date to now's date, both in UTC."""
    return (now.astimezone(UTC).date() - as_of.astimezone(UTC).date()).days


def roll_string(value: str, delta: timedelta, days: int | None = None) -> str:
    """The value moved when it is a FHIR date (by `days`, default delta's whole days) or dateTime (by delta)."""
    if _DATE.match(value):
        try:
            return (date.fromisoformat(value) + timedelta(days=delta.days if days is None else days)).isoformat()
        except ValueError:  # 2026-02-30: not a date after all
            return value
    if _DATETIME.match(value):
        try:
            moved = datetime.fromisoformat(value.replace("Z", "+00:00")) + delta
        except ValueError:
            return value
        text = moved.isoformat()
        return text.replace("+00:00", "Z") if value.endswith("Z") else text
    return value


def roll_dates(node: Any, delta: timedelta, days: int | None = None) -> Any:
    """A copy of the JSON value with every dateTime string moved by delta, every date by `days`."""
    if isinstance(node, dict):
        return {k: roll_dates(v, delta, days) for k, v in node.items()}
    if isinstance(node, list):
        return [roll_dates(v, delta, days) for v in node]
    if isinstance(node, str):
        return roll_string(node, delta, days)
    return node


def roll_to(node: Any, as_of: datetime, now: datetime) -> Any:
    """A copy of a request written for `as_of` whose dates keep their distance to `now`."""
    return roll_dates(node, now - as_of, calendar_days(as_of, now))
