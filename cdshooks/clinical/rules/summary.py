"""`safety-summary`: one compact overview on patient-view for a patient on tofacitinib.

clinical-rules.md, safety-summary: regimen and start, the newest CMV PCR / ALC /
ANC / Hb / ALT / AST / creatinine (with CLcr or eGFR) with dates, and the tests
due next. A test whose newest result is critical (CMV above the threshold,
ALC or ANC below 500/uL) reads "repeat now (see the critical card)" instead of
its routine date weeks away. The standing risks (rules/hook_scope.py: age, boxed-
warning factors, ALC 500-899, triple therapy, recent rituximab) are lines of the
summary on patient-view, each the summary of the card it would have been.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import date
from typing import Any

from cdshooks.clinical import cmv, labs, renal, tofacitinib
from cdshooks.clinical.engine import postprocessor, rule
from cdshooks.clinical.findings import Bullets, Finding, Phrase, Series, SummaryOf, Table
from cdshooks.clinical.monitoring_plan import plan
from cdshooks.clinical.rules.hook_scope import is_standing_risk
from cdshooks.clinical.therapy_status import regimen_described, status
from cdshooks.clinical.thresholds import Thresholds
from cdshooks.data.record import PatientRecord
from cdshooks.terminology.units import cells_per_ul

SHOWN_TESTS = (
    ("CMV DNA", cmv.CMV_TESTS),
    ("Lymphocytes (ALC)", ("lymphocytes-absolute",)),
    ("Neutrophils (ANC)", ("neutrophils-absolute",)),
    ("Hemoglobin", ("hemoglobin",)),
    ("ALT", ("alt",)),
    ("AST", ("ast",)),
    ("Creatinine", ("creatinine",)),
)
CMV_ROW = "CMV PCR"
# The monitored CBC rows a critical count belongs to (monitoring_plan names).
CRITICAL_COUNT_ROWS = {
    "lymphocytes-absolute": "CBC: absolute lymphocytes",
    "neutrophils-absolute": "CBC: absolute neutrophils",
}


def _renal_row(record: PatientRecord, th: Thresholds) -> tuple[Any, ...]:
    rf = renal.assess(record, th)
    if rf.value is None or rf.measured is None:
        return (Phrase("row_renal"), Phrase("not_computable"), None)
    name = Phrase("row_clcr") if rf.method == renal.COCKCROFT_GAULT else Phrase("row_egfr")
    return (name, f"{rf.value:g} {rf.unit}", rf.measured)


def _result_rows(record: PatientRecord, th: Thresholds) -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = []
    for name, tests in SHOWN_TESTS:
        r = next(labs.newest_first_any(record, tests), None)  # the newest only: read no further back
        if r is None:
            rows.append((name, Phrase("none_on_record"), None))
        else:
            value = Phrase("preliminary_value", {"value": r.value_label}) if r.preliminary else r.value_label
            rows.append((name, value, r.when))
        if tests == ("creatinine",):
            rows.append(_renal_row(record, th))
    return rows


def critical_rows(record: PatientRecord, th: Thresholds) -> set[str]:
    """Due-table rows whose newest result is critical (a critical card shows on patient-view)."""
    out = set()
    v = cmv.viremia(record, th)
    if v is not None and v.level == "above-threshold":
        out.add(CMV_ROW)
    limits = {"lymphocytes-absolute": th.alc_critical_below, "neutrophils-absolute": th.anc_critical_below}
    for test, below in limits.items():
        r = labs.latest(record, test, within_days=th.lab_lookback_days)
        cells = cells_per_ul(r.measurement) if r is not None else None
        if cells is not None and cells < below:
            out.add(CRITICAL_COUNT_ROWS[test])
    return out


def _due_rows(record: PatientRecord, th: Thresholds) -> list[tuple[str, Phrase | date, date]]:
    """(test, what is due, sort date); a critical test sorts first and reads "repeat now"."""
    critical = critical_rows(record, th)
    now = record.now.date()
    entries: list[tuple[str, bool, date]] = []
    pcr = cmv.pcr_schedule(record, th)
    entries.append((CMV_ROW, pcr.overdue, pcr.due))
    for p in plan(record, th) or []:
        if p.schedule.due is not None or p.name in critical:
            entries.append((p.name, p.schedule.overdue, p.schedule.due or now))
    named = {name for name, _, _ in entries}
    entries += [(name, False, now) for name in sorted(critical - named)]  # start date unknown: no plan rows
    rows: list[tuple[str, Phrase | date, date]] = []
    for name, overdue, due in entries:
        if name in critical:
            rows.append((name, Phrase("repeat_now"), date.min))
        else:
            rows.append((name, Phrase("overdue_since", {"due": due}) if overdue else due, due))
    return rows


@rule("patient-view")
def safety_summary(record: PatientRecord, th: Thresholds) -> Iterable[Finding]:
    """Regimen, start, newest safety labs and tests due next, for a patient on tofacitinib."""
    active = tofacitinib.active_orders(record)
    if not active:
        return
    therapy = status(record)
    due = _due_rows(record, th)
    next_due = min(due, key=lambda row: row[2])
    yield Finding(
        "safety-summary",
        facts={
            "regimen": Series(tuple(regimen_described(o) for o in active), "semicolon"),
            "since": (
                Phrase("since", {"start": therapy.start, "days_on": therapy.days_on})
                if therapy.start is not None
                else Phrase("no_start")
            ),
            "next_test": next_due[0],
            "next_date": next_due[1],
            "results_table": Table("results", tuple(_result_rows(record, th))),
            "due_table": Table("due", tuple((name, text) for name, text, _ in due)),
            "standing_risks": None,  # filled by standing_risks_in_summary
        },
    )


@postprocessor
def standing_risks_in_summary(findings: list[Finding], record: PatientRecord, th: Thresholds) -> list[Finding]:
    """The standing risks become lines of the safety summary (patient-view: the only call that has one)."""
    summary = next((f for f in findings if f.topic == "safety-summary"), None)
    standing = tuple(SummaryOf(f) for f in findings if is_standing_risk(f))
    if summary is None or not standing:
        return findings
    risks = Phrase("standing_risks", {"risks": Bullets(standing)})
    folded = replace(summary, facts={**summary.facts, "standing_risks": risks})
    return [folded if f is summary else f for f in findings if not is_standing_risk(f)]
