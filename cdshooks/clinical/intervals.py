"""Monitoring schedules: windows after the tofacitinib start and repeat intervals.

clinical-rules.md, "Monitoring windows": a result between day 28 and day 56
after start, then at least every 90 days (CBC, ALT/AST), every 365 days
(lipids). A test is overdue only after its window has closed without a
result. Days are calendar days (UTC dates); day 0 is the start day.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from cdshooks.clinical.labs import Result, days_between


@dataclass(frozen=True)
class Schedule:
    """Where one test stands: when it is (or was) due and the result it rests on."""

    due: date | None  # None: nothing further due (a one-off test done)
    overdue: bool
    last: Result | None  # newest result that counts for the schedule
    first_window_missed: bool  # overdue because the first window closed empty


def monitoring_schedule(
    results: Iterable[Result],
    start: datetime,
    now: datetime,
    first_day: int,
    last_day: int,
    repeat_days: int | None,
) -> Schedule:
    """The schedule of one test from its results newest first; `repeat_days=None` for a test needed only once."""
    last = _newest_counted(results, start, now, first_day)
    window_closes = start.date() + timedelta(days=last_day)
    today = now.date()
    if last is None:
        return Schedule(window_closes, today > window_closes, None, today > window_closes)
    if repeat_days is None:
        return Schedule(None, False, last, False)
    due = max(last.when.date() + timedelta(days=repeat_days), window_closes)
    return Schedule(due, today > due, last, False)


def _newest_counted(results: Iterable[Result], start: datetime, now: datetime, first_day: int) -> Result | None:
    """The newest result from day `first_day` of therapy on and not after `now`.

    Newest first, so the first result before that day ends the search: every
    one after it is older still (only as many results are read as that takes).
    """
    for r in results:
        if r.when > now:
            continue
        return r if days_between(start, r.when) >= first_day else None
    return None


def interval_due(last: Result | None, now: datetime, interval_days: int) -> tuple[bool, date]:
    """(overdue, due date) for a test repeated every `interval_days` (CMV PCR)."""
    if last is None:
        return True, now.date()
    due = last.when.date() + timedelta(days=interval_days)
    return now.date() > due, due


def months_as_days(months: int) -> int:
    """Screening windows given in months, as days (a month = 365.25/12 days)."""
    return round(months * 365.25 / 12)
