"""The on-therapy lab plan: which tests are due when (monitoring and the summary card).

clinical-rules.md, "Monitoring windows": CBC (ALC, ANC, Hb) and ALT/AST in
day 28-56 after start, then at least every 90 days; lipids in day 28-56, then
every 365 days (revision 2: "then every 12 months").
"""

from __future__ import annotations

from dataclasses import dataclass

from cdshooks.clinical import labs, tofacitinib
from cdshooks.clinical.intervals import Schedule, monitoring_schedule
from cdshooks.clinical.thresholds import Thresholds
from cdshooks.data.record import PatientRecord

LIPID_TESTS = ("cholesterol-total", "ldl", "hdl", "triglycerides")


@dataclass(frozen=True)
class PlannedTest:
    name: str  # shown on cards ("CBC: absolute lymphocytes")
    tests: tuple[str, ...]  # lab-tests keys that satisfy it (any one)
    order: tuple[str, ...]  # lab-tests keys to order when overdue
    repeat_days: int | None  # None: needed once
    schedule: Schedule


def plan(record: PatientRecord, th: Thresholds) -> list[PlannedTest] | None:
    """Every monitored test with its schedule; None when the start date is unknown."""
    start = tofacitinib.start_date(record)
    if start is None or tofacitinib.is_new_start(record):
        return None
    first, last = th.monitor_first_window_start_day, th.monitor_first_window_end_day
    groups = [
        ("CBC: absolute lymphocytes", ("lymphocytes-absolute",), th.monitor_cbc_interval_days),
        ("CBC: absolute neutrophils", ("neutrophils-absolute",), th.monitor_cbc_interval_days),
        ("CBC: hemoglobin", ("hemoglobin",), th.monitor_cbc_interval_days),
        ("ALT", ("alt",), th.monitor_lft_interval_days),
        ("AST", ("ast",), th.monitor_lft_interval_days),
        ("Lipids", LIPID_TESTS, th.monitor_lipid_interval_days),
    ]
    out = []
    for name, tests, repeat in groups:
        results = labs.newest_first_any(record, tests)  # read back only to the result the schedule rests on
        schedule = monitoring_schedule(results, start, record.now, first, last, repeat)
        order = tests if len(tests) == 1 else LIPID_TESTS
        out.append(PlannedTest(name, tests, order, repeat, schedule))
    return out
