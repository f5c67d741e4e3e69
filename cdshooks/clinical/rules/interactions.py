"""Drug interactions with tofacitinib, in both directions, one card per drug class.

order-select / order-sign: fires when a draft being worked on is part of the
pair (tofacitinib drafted with the other drug active or drafted, or the other
drug drafted while tofacitinib is active or drafted). patient-view: both
active. Topics and classes: `interacting_drugs.CLASSES` (clinical-rules.md,
Interactions); dose-cyp-inhibitor is also a dose-* card for the draft.
"""

from __future__ import annotations

from datetime import datetime
from typing import Iterator

from cdshooks.cards import Markdown, escape_markdown, phrases
from cdshooks.clinical import regimens
from cdshooks.clinical.dose_findings import and_list, bullet_list, describe, order_facts, reduction_finding
from cdshooks.clinical.findings import Action, Finding, Suggestion
from cdshooks.clinical.interacting_drugs import (
    CLASSES, DrugHit, TofacitinibOrders, drug_names, find, raises_card, tofacitinib_orders,
)
from cdshooks.clinical.problem_list import matching
from cdshooks.clinical.reduced_order import agent_class, reduced_tofacitinib_orders
from cdshooks.clinical.resume_regimen import reduction_reasons
from cdshooks.clinical.thresholds import Thresholds
from cdshooks.data.record import MedicationOrder, PatientRecord
from cdshooks.engine import rule

# Classes whose drafted drug the card offers to remove (the catalog's "remove the draft").
# Never dose-cyp-inhibitor: an azole, macrolide or boosted antiviral is usually the
# treatment of an infection (clinical-rules.md: no card suggests deleting an anti-infective).
_REMOVE_DRAFTED = frozenset({"ddi-jak-duplicate", "ddi-live-vaccine"})


def _tofacitinib_label(orders: tuple[MedicationOrder, ...], now: datetime) -> str:
    labels = []
    for o in orders:
        dose = regimens.read(o, now)
        labels.append(f"{o.label} ({dose.regimen_label if dose else 'dose not read'})")
    return "; ".join(labels)


def _facts(hits: list[DrugHit], tofa_orders: tuple[MedicationOrder, ...], direction: str, now: datetime) -> dict:
    return {
        "drugs": drug_names(hits),
        "drug_list": bullet_list([h.label for h in hits]),
        "tofacitinib": _tofacitinib_label(tofa_orders, now) or "tofacitinib",
        "direction": direction,
    }


def _remove(order: MedicationOrder, what: str) -> Suggestion | None:
    if not order.reference:
        return None
    action = Action("delete", f"Remove the draft order for {what}", resource_id=order.reference)
    return Suggestion("remove-draft", (action,), facts={"removed": what})


@rule("order-select", "order-sign")
def interactions_on_orders(record: PatientRecord, t: Thresholds) -> Iterator[Finding]:
    """A card per class when a draft being worked on forms a pair with tofacitinib."""
    tofa = tofacitinib_orders(record)
    for topic, value_sets in CLASSES.items():
        hits = find(record, value_sets, t)
        if not raises_card(hits, value_sets) or not _pair_involves_selected_draft(tofa, hits):
            continue  # no hits, or only drugs that are named on the card but never raise it (IVIG)
        if topic == "dose-cyp-inhibitor":
            yield from _cyp_inhibitor(record, tofa, hits, t)
            continue
        if tofa.drafts:
            direction = "Tofacitinib is being ordered while the patient has an order for the drug(s) below."
        else:
            direction = "The drug(s) below are being ordered while the patient is on tofacitinib."
        suggestions: list[Suggestion] = []
        if topic in _REMOVE_DRAFTED:
            suggestions += [s for h in hits if h.drafted if (s := _remove(h.order, h.ingredient))]
            if topic == "ddi-jak-duplicate":
                suggestions += [s for d in tofa.drafts if (s := _remove(d, "tofacitinib"))]
        facts = _facts(hits, tofa.drafts or tofa.active, direction, record.now)
        yield Finding(topic, facts, variant=_variant(topic, hits), suggestions=tuple(suggestions))


def _variant(topic: str, hits: list[DrugHit]) -> str:
    """The triple-therapy card with IVIG among the agents says what IVIG adds (clinical-rules.md)."""
    if topic == "ddi-triple-therapy" and any(h.ingredient == "IVIG" for h in hits):
        return "with-ivig"
    return "default"


def _pair_involves_selected_draft(tofa: TofacitinibOrders, hits: list[DrugHit]) -> bool:
    tofa_selected = any(d.selected for d in tofa.drafts)
    other_selected = any(h.drafted and h.order.selected for h in hits)
    return tofa_selected or (other_selected and bool(tofa.drafts or tofa.active))


def _cyp_inhibitor(record: PatientRecord, tofa: TofacitinibOrders, hits: list[DrugHit],
                   t: Thresholds) -> Iterator[Finding]:
    """Tofacitinib drafted: reduce the draft. Inhibitor drafted on active tofacitinib: a reduced new order."""
    if tofa.drafts:
        for draft in tofa.drafts:
            dose = regimens.read(draft, record.now)
            if dose is not None:
                facts = _facts(hits, (draft,), "Tofacitinib is being ordered with a CYP3A4 inhibitor.", record.now)
                facts["escalation_note"] = _escalation_adjusted_note(dose)
                yield reduction_finding("dose-cyp-inhibitor", dose, facts)
        return
    reasons = reduction_reasons(record, t)
    facts = _facts(hits, tofa.active, "The inhibitor is being ordered while the patient is on tofacitinib.", record.now)
    facts["reduction"] = _active_reduction(tofa.active, reasons, t, record.now)
    facts["stacked_note"] = (phrases()["dose_notes"]["stacked"].format(reasons=and_list(reasons))
                             if len(reasons) > 1 else "")
    facts["agent_class"] = agent_class(hits)
    facts["infection_note"] = (
        "An active serious infection is on record (see that card): hold tofacitinib for the course."
        if _serious_infection(record) else ""
    )
    yield Finding("dose-cyp-inhibitor", facts, variant="inhibitor-drafted",
                  suggestions=reduced_tofacitinib_orders(tofa.active, record.patient_id, len(reasons), t,
                                                         record.now))


def _escalation_adjusted_note(dose: regimens.OrderDose) -> str:
    """5 mg BID (XR 11) with the inhibitor may be an escalation already adjusted: say how to record that."""
    if dose.ir_equivalent_mg_day is not None and abs(dose.ir_equivalent_mg_day - regimens.IR_5_BID.mg_per_day) < 0.01:
        return ("If this order is the escalation (10 mg BID) adjusted for the inhibitor, it gives the exposure of "
                "10 mg BID: record that with the override reason \"Escalation adjusted for the inhibitor\".")
    return ""


def _active_reduction(active: tuple[MedicationOrder, ...], reasons: tuple[str, ...], t: Thresholds,
                      now: datetime) -> Markdown:
    """What the active tofacitinib regimen must become if the inhibitor is given (the reductions stacked)."""
    parts = []
    for o in active:
        dose = regimens.read(o, now)
        if dose is None or not dose.reading.readable:
            parts.append(escape_markdown(f"{o.label}: dose not readable; the reduced dose is 5 mg once daily "
                                         "(5 mg BID from 10 mg BID)"))
            continue
        offered = regimens.choices(dose, len(reasons), t)
        if not offered:
            parts.append(escape_markdown(f"{dose.regimen_label}: already at the reduced dose, no change needed"))
        else:
            parts.append(f"{escape_markdown(dose.regimen_label)} must be reduced to {describe(offered)}")
    return Markdown("; ".join(parts))


@rule("patient-view")
def interactions_on_chart(record: PatientRecord, t: Thresholds) -> Iterator[Finding]:
    """patient-view: active tofacitinib with an active interacting drug (CYP: new orders, never an update)."""
    tofa = tofacitinib_orders(record)
    if not tofa.active:
        return
    for topic, value_sets in CLASSES.items():
        hits = [h for h in find(record, value_sets, t) if not h.drafted]
        if not raises_card(hits, value_sets):
            continue
        facts = _facts(hits, tofa.active, "The patient is on tofacitinib and on the drug(s) below.", record.now)
        variant, order_id = _variant(topic, hits), None
        if topic == "dose-cyp-inhibitor":
            facts["reduction"] = _active_reduction(tofa.active, reduction_reasons(record, t), t, record.now)
            variant = "on-therapy"
            facts["consensus_note"] = ""  # set by offer_choices when the card is about one readable order
            dose = regimens.read(tofa.active[0], record.now) if len(tofa.active) == 1 else None
            if dose is not None and dose.reading.readable:
                # the card is about this order: it offers the same new orders as dose-renal / dose-hepatic
                facts, order_id = {**order_facts(dose), **facts}, dose.order.id
        yield Finding(topic, facts, variant=variant, order_id=order_id)


def _serious_infection(record: PatientRecord) -> bool:
    """An active serious infection Condition (the `infection-active` value set)."""
    return bool(matching(record, "serious-infections"))
