"""The tofacitinib regimen to resume after an interruption (lab-neutropenia): the one the patient was on.

clinical-rules.md, `lab-neutropenia` and "Dose reductions": resume the label's
5 mg BID (XR: XR 11 mg once daily), or the regimen interrupted when it was lower,
reduced where a renal, hepatic (Child-Pugh B) or CYP reduction applies; reductions
for different reasons stack, never below 5 mg once daily; never a dose above the
one interrupted (an escalated 10 mg BID resumes at 5 mg BID). A label-wide "5 mg twice
daily" would double the dose of a patient on 5 mg once daily for CKD.
"""

from __future__ import annotations

from dataclasses import dataclass

from cdshooks.clinical import hepatic, renal, tofacitinib
from cdshooks.clinical.dosing import regimens
from cdshooks.clinical.dosing.regimens import Regimen
from cdshooks.clinical.interacting_drugs import drug_names, find_class
from cdshooks.clinical.thresholds import Thresholds
from cdshooks.data.record import PatientRecord


@dataclass(frozen=True)
class Resume:
    """What to resume, per active order: `regimen` is None when the active dose could not be read."""

    interrupted: str  # "5 mg once daily", or the order's label when unread
    regimen: str | None
    reasons: tuple[str, ...]  # the reductions that apply, named
    escalated: bool = False  # the interrupted regimen was above the label's 5 mg BID (XR 11)


def reduction_reasons(record: PatientRecord, th: Thresholds) -> tuple[str, ...]:
    """The dose reductions that apply to this patient, named for the card."""
    reasons = []
    if renal.assess(record, th).impaired(th):
        reasons.append("renal impairment")
    hi = hepatic.assess(record)
    if hi is not None and not hi.severe:
        reasons.append("moderate hepatic impairment")
    hits = find_class(record, "dose-cyp-inhibitor", th)
    if hits:
        reasons.append(f"CYP3A4 inhibition ({drug_names(hits)})")
    return tuple(reasons)


def resume(record: PatientRecord, th: Thresholds) -> tuple[Resume, ...]:
    """For each active tofacitinib order: the regimen to resume, and why it is lower than the one interrupted."""
    reasons = reduction_reasons(record, th)
    out = []
    for order in tofacitinib.active_orders(record):
        dose = regimens.read(order, record.now)
        r = dose.reading if dose else None
        if dose is None or r is None or r.dose_mg is None or r.per_day is None or not float(r.per_day).is_integer():
            out.append(Resume(order.label, None, reasons))
            continue
        current = Regimen(r.dose_mg, int(r.per_day), dose.product.extended_release)
        # The label's 5 mg BID (XR: XR 11) or the dose interrupted if lower; an escalation is not resumed
        standard = regimens.standard(dose)
        base = current if current.ir_equivalent_mg_day <= standard.ir_equivalent_mg_day else standard
        target = regimens.stacked(base, len(reasons))  # reductions for different reasons stack
        if target.ir_equivalent_mg_day > current.ir_equivalent_mg_day:
            target = current  # never above the interrupted dose
        out.append(Resume(current.label, target.label, reasons, escalated=base != current))
    return tuple(out)


def describe(items: tuple[Resume, ...]) -> str:
    """"5 mg once daily (the regimen interrupted, already the reduced dose for renal impairment)" for the card."""
    parts = []
    for item in items:
        why = f"; {', '.join(item.reasons)}" if item.reasons else ""
        if item.regimen is None:
            parts.append(f"the regimen of {item.interrupted} (its dose could not be read: never a higher dose{why})")
        elif item.regimen == item.interrupted and item.reasons:
            # a reduction applies but the patient is already on it (or below): say so, naming the reason
            parts.append(f"{item.regimen} (the regimen interrupted, already the reduced dose for "
                         f"{', '.join(item.reasons)})")
        elif item.regimen == item.interrupted:
            parts.append(f"{item.regimen} (the regimen interrupted)")
        elif item.escalated:
            reduced = f", reduced for {', '.join(item.reasons)}" + (", stacked" if len(item.reasons) > 1 else "")
            parts.append(f"{item.regimen} (the label's dose{reduced if item.reasons else ''}; "
                         f"the escalation {item.interrupted} is not resumed)")
        else:
            parts.append(f"{item.regimen} (reduced from {item.interrupted} for {', '.join(item.reasons)}, stacked)"
                         if len(item.reasons) > 1 else
                         f"{item.regimen} (reduced from {item.interrupted} for {item.reasons[0]})")
    return "; ".join(parts) or "the regimen the patient was on (no active order read), never a higher dose"
