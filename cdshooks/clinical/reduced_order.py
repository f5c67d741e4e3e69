"""A new tofacitinib order at the reduced regimen, for when tofacitinib is active and not drafted.

clinical-rules.md, "Dose reductions": only drafts are updated; when the
interacting drug is the draft (or on patient-view) the reduced regimen is a
`create` of a new MedicationRequest, and the active order must be discontinued
or replaced in the EHR (the card says so). It points at the active order with
`priorPrescription`.
"""

from __future__ import annotations

from datetime import datetime

from cdshooks.clinical import regimens
from cdshooks.clinical.dose_findings import choice_name
from cdshooks.clinical.draft_update import updated_draft
from cdshooks.clinical.findings import Action, Suggestion
from cdshooks.clinical.interacting_drugs import DrugHit
from cdshooks.clinical.regimens import OrderDose, Regimen
from cdshooks.clinical.thresholds import Thresholds
from cdshooks.data.record import MedicationOrder
from cdshooks.fhir_validation import InvalidResource, validate_resource
from cdshooks.terminology import lookup

SUGGESTION_KEY = "new-reduced-order"
# Fields of the active order that belong to it, not to a new order.
_NOT_COPIED = ("id", "meta", "identifier", "text", "groupIdentifier", "priorPrescription", "statusReason",
               "eventHistory", "dispenseRequest", "substitution", "basedOn", "authoredOn")


def agent_class(hits: list[DrugHit]) -> str:
    """"antifungal", "antibiotic", "antiviral" or "CYP3A4 inhibitor" for the card's wording."""
    classes = set()
    for h in hits:
        for name in ("strong-cyp3a4-inhibitors", "fluconazole"):
            for m in lookup.load(name).members:
                if m.name == h.ingredient:
                    classes.add(m.properties.get("agent_class", "other"))
    named = sorted(c for c in classes if c != "other")
    if len(named) == 1 and "other" not in classes:
        return named[0]
    return "CYP3A4 inhibitor"


def reduced_tofacitinib_orders(active: tuple[MedicationOrder, ...], patient_id: str, reductions: int,
                               t: Thresholds, now: datetime) -> tuple[Suggestion, ...]:
    """One `create` per choice per active order whose dose can be reduced (none when unread or already reduced).

    `reductions`: how many reasons to reduce apply (renal, hepatic B, CYP); they
    stack. An escalated order gets the same two labelled choices a draft gets.
    """
    out = []
    for order in active:
        dose = regimens.read(order, now)
        if dose is None or not dose.reading.readable:
            continue
        offered = regimens.choices(dose, reductions, t)
        for n, choice in enumerate(offered):
            resource = _new_order(order, dose, choice.regimen, patient_id)
            if resource is None:
                continue  # the card's text carries the advice
            target = choice.regimen.label
            action = Action("create", f"Order tofacitinib {target}; discontinue the active {dose.regimen_label} order",
                            resource=resource)
            out.append(Suggestion(SUGGESTION_KEY, (action,), is_recommended=n == len(offered) - 1,
                                  facts={"suggested": target, "current": dose.regimen_label,
                                         "choice": choice_name(choice)}))
    return tuple(out)


def _new_order(order: MedicationOrder, dose: OrderDose, target: Regimen, patient_id: str) -> dict | None:
    """A draft MedicationRequest at `target`, copied from the active order, pointing back at it."""
    res = updated_draft(dose, target, patient_id)
    for key in _NOT_COPIED:
        res.pop(key, None)
    res["status"] = "draft"
    res["intent"] = "order"
    if order.reference:
        res["priorPrescription"] = {"reference": order.reference}
    try:
        return validate_resource(res)
    except InvalidResource:
        return None
