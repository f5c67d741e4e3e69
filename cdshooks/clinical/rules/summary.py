"""`safety-summary`: one compact overview on patient-view for a patient on tofacitinib."""

from __future__ import annotations

from typing import Iterable

from cdshooks.clinical import cmv, labs, tofacitinib
from cdshooks.clinical.card_text import table
from cdshooks.clinical.findings import Finding
from cdshooks.clinical.monitoring_plan import plan
from cdshooks.clinical.therapy_status import regimen, status
from cdshooks.clinical.thresholds import Thresholds
from cdshooks.data.record import PatientRecord
from cdshooks.engine import rule

SHOWN_TESTS = (
    ("CMV DNA", cmv.CMV_TESTS),
    ("Lymphocytes (ALC)", ("lymphocytes-absolute",)),
    ("Neutrophils (ANC)", ("neutrophils-absolute",)),
    ("Hemoglobin", ("hemoglobin",)),
    ("ALT", ("alt",)),
)


def _result_rows(record: PatientRecord) -> list[tuple[str, str, str]]:
    rows = []
    for name, tests in SHOWN_TESTS:
        found = labs.results_any(record, tests)
        if not found:
            rows.append((name, "none on record", ""))
            continue
        r = found[0]
        rows.append((name, r.value_label + (" (preliminary)" if r.preliminary else ""), r.when.date().isoformat()))
    return rows


def _due_rows(record: PatientRecord, th: Thresholds) -> list[tuple[str, str]]:
    pcr = cmv.pcr_schedule(record, th)
    rows = [("CMV PCR", ("overdue since " if pcr.overdue else "") + pcr.due.isoformat())]
    for p in plan(record, th) or []:
        if p.schedule.due is not None:
            rows.append((p.name, ("overdue since " if p.schedule.overdue else "") + p.schedule.due.isoformat()))
    return rows


@rule("patient-view")
def safety_summary(record: PatientRecord, th: Thresholds) -> Iterable[Finding]:
    """Regimen, start, newest safety labs and tests due next, for a patient on tofacitinib."""
    active = tofacitinib.active_orders(record)
    if not active:
        return
    therapy = status(record)
    due = _due_rows(record, th)
    next_due = min(due, key=lambda row: row[1].split()[-1])
    yield Finding(
        "safety-summary",
        facts={
            "regimen": "; ".join(regimen(o) for o in active),
            "since": (
                f"since {therapy.start.date().isoformat()} (day {therapy.days_on})"
                if therapy.start is not None
                else "start date not on record"
            ),
            "next_test": next_due[0],
            "next_date": next_due[1],
            "results_table": table(("Test", "Newest result", "Date"), _result_rows(record)),
            "due_table": table(("Test", "Due"), due),
        },
    )
