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
from cdshooks.clinical.findings import Phrase, Series
from cdshooks.clinical.interacting_drugs import drug_names, find_class
from cdshooks.clinical.rules.topics import DOSE_CYP_INHIBITOR
from cdshooks.clinical.thresholds import Thresholds
from cdshooks.data.record import PatientRecord


@dataclass(frozen=True)
class Resume:
    """What to resume, per active order: `regimen` is None when the active dose could not be read."""

    interrupted: str  # "5 mg once daily", or the order's label when unread
    regimen: str | None
    reasons: tuple[Phrase, ...]  # the reductions that apply, named
    escalated: bool = False  # the interrupted regimen was above the label's 5 mg BID (XR 11)


def reduction_reasons(record: PatientRecord, th: Thresholds) -> tuple[Phrase, ...]:
    """The dose reductions that apply to this patient, named for the card (cards/_phrases.toml, [dose_reasons])."""
    reasons = []
    if renal.assess(record, th).impaired(th):
        reasons.append(Phrase("dose_reasons.renal"))
    hi = hepatic.assess(record)
    if hi is not None and not hi.severe:
        reasons.append(Phrase("dose_reasons.hepatic"))
    hits = find_class(record, DOSE_CYP_INHIBITOR, th)
    if hits:
        reasons.append(Phrase("dose_reasons.cyp_drugs", {"drugs": drug_names(hits)}))
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


def describe(items: tuple[Resume, ...]) -> Series | Phrase:
    """"5 mg once daily (the regimen interrupted, already the reduced dose for renal impairment)" for the card
    (cards/_phrases.toml, [resume])."""
    parts = []
    for item in items:
        reasons = Series(item.reasons, "comma")
        facts = {"regimen": item.regimen, "interrupted": item.interrupted, "reasons": reasons}
        if item.regimen is None:
            why = Phrase("resume.why", {"reasons": reasons}) if item.reasons else None
            parts.append(Phrase("resume.unread", {**facts, "why": why}))
        elif item.regimen == item.interrupted and item.reasons:
            # a reduction applies but the patient is already on it (or below): say so, naming the reason
            parts.append(Phrase("resume.already_reduced", facts))
        elif item.regimen == item.interrupted:
            parts.append(Phrase("resume.interrupted", facts))
        elif item.escalated:
            reduced = (Phrase("resume.reduced_for_stacked" if len(item.reasons) > 1 else "resume.reduced_for", facts)
                       if item.reasons else None)
            parts.append(Phrase("resume.not_escalated", {**facts, "reduced": reduced}))
        else:
            parts.append(Phrase("resume.reduced_stacked" if len(item.reasons) > 1 else "resume.reduced", facts))
    return Series(tuple(parts), "semicolon") if parts else Phrase("resume.no_order")
