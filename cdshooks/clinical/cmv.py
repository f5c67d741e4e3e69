"""CMV DNA results: reactivation above threshold, low-level rise, PCR schedule.

clinical-rules.md, "CMV results": not-detected and below-limit results are
results (they satisfy the PCR schedule, never fire viremia). Rising = the two
newest quantified results within the window, both in IU/mL, newer > older; or
a quantified result whose previous result was not detected. Copies/mL results
are shown but never compared with IU thresholds; detected without an amount in
IU/mL (copies/mL, qualitative "Detected") raises its own warning, and a newer
copies/mL or qualitative result never hides an older IU result above the
threshold. "Test not performed" and pending results are not results (labs).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from cdshooks.clinical import labs, tofacitinib
from cdshooks.clinical.intervals import interval_due
from cdshooks.clinical.labs import Result
from cdshooks.clinical.thresholds import Thresholds
from cdshooks.data.record import PatientRecord
from cdshooks.terminology.units import IU_ML

CMV_TESTS = ("cmv-dna-quant", "cmv-dna-copies", "cmv-dna-presence")
TREND_LENGTH = 5


def cmv_results(record: PatientRecord) -> list[Result]:
    """Every CMV DNA result (IU, copies, presence), newest first."""
    return labs.results_any(record, CMV_TESTS)


def in_iu(r: Result) -> bool:
    return r.measurement is not None and r.measurement.unit == IU_ML


def places_against_threshold(r: Result) -> bool:
    """A result of the IU/mL assay (an amount in IU/mL, or not detected on the quantitative IU test):
    the only kind that says where the virus stands against the IU threshold.

    clinical-rules.md: a newer non-IU or qualitative result never hides an older IU result
    above the threshold, "not detected" in copies/mL or on 4996-5 included (different assays).
    """
    if in_iu(r):
        return r.quantified or r.not_detected
    return r.not_detected and r.test == "cmv-dna-quant"


def detected_not_in_iu(r: Result) -> bool:
    """CMV DNA detected without an amount in IU/mL: copies/mL above the assay's limit, a qualitative
    "Detected" (4996-5, or text), a number whose unit cannot be converted."""
    if r.not_detected or in_iu(r):
        return False
    return r.detected or (r.unconvertible and r.lab.value is not None and r.lab.value > 0)


@dataclass(frozen=True)
class Viremia:
    """A CMV finding: `level` is "above-threshold", "rising" or "not-in-iu" (detected, not comparable).

    `newer`: the results after `newest` in the lookback that cannot be compared with the
    threshold (copies/mL, qualitative, indeterminate): shown, but they never hide it.
    """

    level: str
    newest: Result
    previous: Result | None
    trend: tuple[Result, ...]
    newer: tuple[Result, ...] = ()


def _older_than(everything: list[Result], r: Result) -> list[Result]:
    at = next(i for i, x in enumerate(everything) if x is r)
    return everything[at + 1:]


def viremia(record: PatientRecord, th: Thresholds) -> Viremia | None:
    """CMV reactivation (IU result > threshold, FAN2022: "> 500 IU/mL"), a low-level rise, or CMV DNA
    detected without an amount in IU/mL; else None.

    The result judged is the newest that places the virus against the threshold (a result of the
    IU/mL assay): a newer IU result supersedes an older positive, but a newer copies/mL or
    qualitative result, detected or not, never hides an older IU result above the threshold.
    Short of that, CMV DNA detected after it without an IU amount is "not-in-iu": a detected
    virus is never silent.
    """
    everything = cmv_results(record)
    recent = labs.within(everything, record.now, th.cmv_lookback_days)
    at = next((i for i, r in enumerate(recent) if places_against_threshold(r)), None)
    newest, newer = (recent[at], tuple(recent[:at])) if at is not None else (None, tuple(recent))
    trend = tuple(everything[:TREND_LENGTH])
    # A detected result that places the virus against the threshold is quantified in IU/mL: it has a measurement.
    if (
        newest is not None
        and not newest.not_detected
        and newest.measurement is not None
        and newest.measurement.value > th.cmv_viremia_iu_ml
    ):
        others = _older_than(everything, newest)
        return Viremia("above-threshold", newest, others[0] if others else None, trend, newer)
    detected = next((i for i, r in enumerate(newer) if detected_not_in_iu(r)), None)
    if detected is not None:
        others = _older_than(everything, newer[detected])
        return Viremia("not-in-iu", newer[detected], others[0] if others else None, trend, newer[:detected])
    if newest is None or newest.not_detected:
        return None  # nothing detected since the newest negative (or nothing at all)
    others = _older_than(everything, newest)
    window = labs.within(others, record.now, th.cmv_rising_window_days)
    if not window or labs.days_between(newest.when, record.now) > th.cmv_rising_window_days:
        return None
    if window[0].not_detected:
        return Viremia("rising", newest, window[0], trend, newer)  # newly detectable
    older = next((r for r in window if r.quantified), None)
    if (
        older is not None
        and in_iu(older)
        and newest.measurement is not None
        and older.measurement is not None
        and newest.measurement.value > older.measurement.value
    ):
        return Viremia("rising", newest, older, trend, newer)
    return None


@dataclass(frozen=True)
class PcrSchedule:
    """Is a CMV PCR due, and why (the interval that applies today)."""

    overdue: bool
    due: date
    interval_days: int
    phase: str  # "baseline" | "early" | "late" | "unknown-start"
    last: Result | None
    days_on_therapy: int | None


def pcr_schedule(record: PatientRecord, th: Thresholds) -> PcrSchedule:
    """Every 14 days in the first 12 weeks, every 30 days after; baseline within 14 days."""
    results = cmv_results(record)
    last = results[0] if results else None
    start = tofacitinib.start_date(record)
    days_on = labs.days_between(start, record.now) if start else None
    if tofacitinib.is_new_start(record):
        phase, interval = "baseline", th.cmv_baseline_lookback_days
    elif days_on is None:
        phase, interval = "unknown-start", th.cmv_pcr_interval_late_days
    elif days_on <= th.cmv_early_phase_weeks * 7:  # days 0-84 early, from day 85 late (clinical-rules.md)
        phase, interval = "early", th.cmv_pcr_interval_early_days
    else:
        phase, interval = "late", th.cmv_pcr_interval_late_days
    overdue, due = interval_due(last, record.now, interval)
    return PcrSchedule(overdue, due, interval, phase, last, days_on)

