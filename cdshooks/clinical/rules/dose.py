"""Dosing rules for a tofacitinib draft (order-select: selected drafts; order-sign: all drafts).

Topics: dose-guidance, dose-escalation, dose-above-max, dose-unverified,
dose-renal, dose-hepatic (clinical-rules.md, Dosing). dose-cyp-inhibitor lives
with the interactions. The postprocessors here give every dose card of one
draft the same labelled choices and drop dose-guidance when another dose-* card fires.
"""

from __future__ import annotations

from collections.abc import Iterator

from cdshooks.clinical import hepatic, renal
from cdshooks.clinical import tofacitinib as tofa
from cdshooks.clinical.dosing import regimens
from cdshooks.clinical.dosing.regimens import OrderDose
from cdshooks.clinical.engine import postprocessor, rule
from cdshooks.clinical.findings import Bullets, Finding, Phrase, Series
from cdshooks.clinical.interacting_drugs import counts
from cdshooks.clinical.suggestions.dose_choices import offer_choices, order_facts, reduction_finding, suppress_guidance
from cdshooks.clinical.thresholds import Thresholds
from cdshooks.data.record import PatientRecord

# Prior orders that show a trial of the standard dose (a draft or an error does not).
_PRIOR_STATUSES = frozenset({"active", "completed", "on-hold", "stopped"})


def draft_doses(record: PatientRecord) -> list[OrderDose]:
    """The tofacitinib drafts being worked on, with their daily dose read."""
    out = []
    for d in tofa.selected_drafts(record):
        if counts(d):
            dose = regimens.read(d, record.now)
            if dose is not None:
                out.append(dose)
    return out


@rule("order-select", "order-sign")
def dose_band(record: PatientRecord, t: Thresholds) -> Iterator[Finding]:
    """dose-guidance / dose-escalation / dose-above-max by IR-equivalent daily dose, or dose-unverified."""
    for dose in draft_doses(record):
        facts = order_facts(dose)
        ir = dose.ir_equivalent_mg_day
        if ir is None:
            facts["problem"] = dose.reading.problem or Phrase("unread")
            yield Finding("dose-unverified", facts, order_id=dose.order.id)
            continue
        band = regimens.band(ir, t)
        facts.update(guidance_max=t.dose_guidance_max_mg_day, escalation_max=t.dose_escalation_max_mg_day)
        if band == "guidance":
            variant = "reduced" if ir < t.dose_guidance_max_mg_day else "default"
            yield Finding("dose-guidance", facts, variant=variant, order_id=dose.order.id)
        elif band == "escalation":
            facts["prior_trial"] = _prior_trial(record, t)
            yield Finding("dose-escalation", facts, order_id=dose.order.id)
        else:
            yield Finding("dose-above-max", facts, order_id=dose.order.id)


def _prior_trial(record: PatientRecord, t: Thresholds) -> Phrase:
    for o in tofa.record_orders(record):
        if o.status not in _PRIOR_STATUSES:
            continue
        prior = regimens.read(o)
        ir = prior.ir_equivalent_mg_day if prior else None
        if prior is not None and ir is not None and ir >= t.dose_guidance_max_mg_day:
            when = o.authored_on.date() if o.authored_on else Phrase("date_not_recorded")
            return Phrase("prior_trial", {"prior_regimen": prior.regimen_label, "status": o.status, "when": when})
    return Phrase("no_prior_trial")


@rule("order-select", "order-sign")
def dose_renal(record: PatientRecord, t: Thresholds) -> Iterator[Finding]:
    """dose-renal: CLcr (or eGFR approximation) <= 50 mL/min, or CKD 4/5 / ESRD / dialysis."""
    doses = draft_doses(record)
    if not doses:
        return
    rf = renal.assess(record, t)
    if not rf.impaired(t):
        return
    facts = _renal_facts(rf, t)
    for dose in doses:
        yield reduction_finding("dose-renal", dose, facts)


def _renal_facts(rf: renal.RenalFunction, t: Thresholds) -> dict[str, object]:
    """The value, its date and the method used (or the conditions), for the dose-renal card."""
    lines: list[Phrase] = []
    if rf.value is not None:
        lines.append(Phrase("renal_value", {"method": rf.method, "value": rf.value, "unit": rf.unit,
                                            "max": t.renal_clcr_max_ml_min}))
        lines += [Phrase("renal_input", {"input": i}) for i in rf.inputs]
        if rf.missing:
            lines.append(Phrase("renal_cg_missing", {"missing": Series(tuple(rf.missing), "comma")}))
    for p in rf.conditions:
        codes = tuple(c.code for c in p.codings if c.code)
        condition = p.text or Phrase("renal_condition")
        lines.append(Phrase("renal_condition_coded", {"condition": condition, "codes": Series(codes, "comma")})
                     if codes else Phrase("renal_condition_line", {"condition": condition}))
    by_value = rf.value is not None and rf.value <= t.renal_clcr_max_ml_min
    short: Phrase | Series
    if by_value and rf.method == renal.COCKCROFT_GAULT:
        short = Phrase("renal_short_cg", {"value": rf.value})
    elif by_value:
        short = Phrase("renal_short_egfr", {"value": rf.value})
    else:
        short = Series(tuple(rf.condition_names), "comma")
    return {
        "renal_summary": short,
        "renal_method": rf.method if by_value else Phrase("renal_by_conditions"),
        "renal_basis": Bullets(tuple(lines)),
        "dialysis_note": Phrase("dialysis") if rf.dialysis else None,
    }


@rule("order-select", "order-sign")
def dose_hepatic(record: PatientRecord, t: Thresholds) -> Iterator[Finding]:
    """dose-hepatic: Child-Pugh B / cirrhosis (reduce) or Child-Pugh C / hepatic failure (not recommended)."""
    doses = draft_doses(record)
    if not doses:
        return
    hi = hepatic.assess(record)
    if hi is None:
        return
    facts = {"child_pugh": hi.child_pugh, "hepatic_basis": Bullets(tuple(hi.basis))}
    for dose in doses:
        if hi.severe:
            yield Finding("dose-hepatic", {**order_facts(dose), **facts}, variant="severe", order_id=dose.order.id)
        else:
            yield reduction_finding("dose-hepatic", dose, facts)


def reducible_active_doses(record: PatientRecord) -> list[OrderDose]:
    """Active tofacitinib orders whose regimen is above the adjusted one (patient-view: nothing is drafted)."""
    out = []
    for o in tofa.active_orders(record):
        dose = regimens.read(o, record.now) if counts(o) else None
        if dose is not None and dose.reading.readable and regimens.reduced(dose) is not None:
            out.append(dose)
    return out


@rule("patient-view")
def dose_on_chart(record: PatientRecord, t: Thresholds) -> Iterator[Finding]:
    """dose-renal / dose-hepatic on patient-view when the active regimen is above the adjusted one.

    Renal function often falls on calcineurin inhibitors, TMP-SMX or IVIG; the
    reduced regimen is offered as a new order (`offer_choices`), never an update.
    """
    doses = reducible_active_doses(record)
    if not doses:
        return
    rf = renal.assess(record, t)
    hi = hepatic.assess(record)
    for dose in doses:
        if rf.impaired(t):
            yield Finding("dose-renal", {**order_facts(dose), **_renal_facts(rf, t)}, variant="on-therapy",
                          order_id=dose.order.id)
        if hi is not None and not hi.severe:
            facts = {"child_pugh": hi.child_pugh, "hepatic_basis": Bullets(tuple(hi.basis))}
            yield Finding("dose-hepatic", {**order_facts(dose), **facts}, variant="on-therapy", order_id=dose.order.id)


@postprocessor
def one_set_of_choices(findings: list[Finding], record: PatientRecord, t: Thresholds) -> list[Finding]:
    """Every dose card of a draft offers the same labelled regimens, reductions stacked."""
    return offer_choices(findings, record, t)


@postprocessor
def guidance_only_alone(findings: list[Finding], record: PatientRecord, t: Thresholds) -> list[Finding]:
    """dose-guidance is suppressed when another dose-* topic fires for the same order."""
    return suppress_guidance(findings)
