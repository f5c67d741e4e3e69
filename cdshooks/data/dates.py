"""Lenient FHIR date / dateTime / instant parsing into timezone-aware values.

EHR data carries partial dates ("1980", "1980-05"), date-only timestamps and
the odd naive dateTime; none of that may crash a hook call. Anything that
cannot be read becomes None and the caller decides what that means.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

# FHIR dateTime: YYYY, YYYY-MM, YYYY-MM-DD, or a full timestamp.
_PARTIAL = re.compile(r"^(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?$")
# Python 3.11 fromisoformat keeps at most 6 fractional digits; FHIR allows more.
_LONG_FRACTION = re.compile(r"(\.\d{6})\d+")

DatePrecision = str  # "year" | "month" | "day"


def parse_partial_date(value: Any) -> tuple[date, DatePrecision] | None:
    """A FHIR date ("1980", "1980-05", "1980-05-17") as (first possible day, precision)."""
    if not isinstance(value, str):
        return None
    m = _PARTIAL.match(value.strip())
    if not m:
        # A birthDate sent as a full dateTime: keep the date part.
        dt = parse_datetime(value)
        return (dt.date(), "day") if dt else None
    year, month, day = m.groups()
    try:
        d = date(int(year), int(month or 1), int(day or 1))
    except ValueError:
        return None
    precision = "day" if day else "month" if month else "year"
    return d, precision


def parse_datetime(value: Any) -> datetime | None:
    """A FHIR date, dateTime or instant as an aware datetime (UTC when no offset is given).

    Partial dates map to their first moment ("2024-05" -> 2024-05-01T00:00Z).
    """
    if not isinstance(value, str):
        return None
    # Fast path for the usual well-formed value; whatever fromisoformat accepts
    # as is, the lenient path below reads the same way.
    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        pass
    else:
        return dt if dt.tzinfo is not None else dt.replace(tzinfo=UTC)
    text = value.strip()
    if not text:
        return None
    m = _PARTIAL.match(text)
    if m:
        year, month, day = m.groups()
        try:
            return datetime(int(year), int(month or 1), int(day or 1), tzinfo=UTC)
        except ValueError:
            return None
    text = _LONG_FRACTION.sub(r"\1", text)
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        return None
    if dt.tzinfo is None:
        # FHIR requires an offset when a time is given; a naive time is most
        # likely the server's local time, which we cannot know: read it as UTC.
        dt = dt.replace(tzinfo=UTC)
    return dt


def period_start(period: Any) -> datetime | None:
    """Period.start, else Period.end (a period lab is dated by its start)."""
    if not isinstance(period, dict):
        return None
    return parse_datetime(period.get("start")) or parse_datetime(period.get("end"))
