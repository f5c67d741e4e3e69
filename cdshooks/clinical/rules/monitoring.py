"""Monitoring on therapy (patient-view; order-select / order-sign when renewing)."""

from __future__ import annotations

from collections.abc import Iterable

from cdshooks.clinical import tofacitinib
from cdshooks.clinical.engine import rule
from cdshooks.clinical.findings import Finding, Phrase, Table
from cdshooks.clinical.monitoring_plan import LIPID_TESTS, plan
from cdshooks.clinical.suggestions.new_orders import order_labs, order_names, short_names
from cdshooks.clinical.therapy_status import is_renewal, status
from cdshooks.clinical.thresholds import Thresholds
from cdshooks.data.record import PatientRecord


def monitoring_applies(record: PatientRecord, hook_is_patient_view: bool) -> bool:
    if hook_is_patient_view:
        return bool(tofacitinib.active_orders(record))
    return is_renewal(record)


def _monitor(record: PatientRecord, th: Thresholds) -> Iterable[Finding]:
    planned = plan(record, th)
    if not planned:
        return
    overdue = [p for p in planned if p.schedule.overdue]
    if not overdue:
        return
    # An overdue test always has a due date (Schedule.due is None only when nothing is due).
    dues = [p.schedule.due for p in overdue if p.schedule.due is not None]
    rows = []
    for p in overdue:
        due = p.schedule.due
        if due is None:
            continue
        last = p.schedule.last
        basis = (
            Phrase("basis_window_missed")
            if p.schedule.first_window_missed
            else Phrase("basis_last", {"last_date": last.when, "interval": p.repeat_days})
            if last
            else Phrase("basis_no_result")
        )
        rows.append((p.name, due, basis))
    to_order = list(dict.fromkeys(t for p in overdue for t in p.order))
    since = min(dues)
    yield Finding(
        "monitor-labs-due",
        facts={
            "tests": tuple(p.name for p in overdue),
            "tests_short": short_names([t for p in overdue for t in p.tests], LIPID_TESTS),
            "since": since,
            "overdue_table": Table("overdue", tuple(rows)),
            "orders": tuple(order_names(to_order)),
            "therapy": status(record).text,
            "first_day": th.monitor_first_window_start_day,
            "last_day": th.monitor_first_window_end_day,
            "cbc_days": th.monitor_cbc_interval_days,
            "lft_days": th.monitor_lft_interval_days,
            "lipid_days": th.monitor_lipid_interval_days,
        },
        suggestions=(order_labs("order-overdue", record, to_order, "Tofacitinib on-therapy monitoring"),),
    )


@rule("patient-view")
def monitor_labs_due_patient_view(record: PatientRecord, th: Thresholds) -> Iterable[Finding]:
    """On tofacitinib and a monitoring window closed without a result."""
    if monitoring_applies(record, True):
        yield from _monitor(record, th)


@rule("order-select", "order-sign")
def monitor_labs_due_renewal(record: PatientRecord, th: Thresholds) -> Iterable[Finding]:
    """The same check when a tofacitinib order is renewed."""
    if monitoring_applies(record, False):
        yield from _monitor(record, th)
