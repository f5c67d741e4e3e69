"""A new tofacitinib order at the reduced regimen, for when tofacitinib is active and not drafted.

clinical-rules.md, "Dose reductions": only drafts are updated; when the
interacting drug is the draft (or on patient-view) the reduced regimen is a
`create` of a new MedicationRequest, and the active order must be discontinued
or replaced in the EHR (the card says so). It points at the active order with
`priorPrescription`.
"""

from __future__ import annotations

from cdshooks.clinical import regimens
from cdshooks.clinical.draft_update import updated_draft
from cdshooks.clinical.findings import Action, Suggestion
from cdshooks.clinical.interacting_drugs import DrugHit
from cdshooks.data.record import MedicationOrder
from cdshooks.fhir_validation import InvalidResource, validate_resource
from cdshooks.terminology import lookup

SUGGESTION_KEY = "new-reduced-order"
# Fields of the active order that belong to it, not to a new order.
_NOT_COPIED = ("id", "meta", "identifier", "text", "groupIdentifier", "priorPrescription", "statusReason",
               "eventHistory", "dispenseRequest", "substitution", "basedOn", "authoredOn")


ANTI_INFECTIVE = frozenset({"antifungal", "antibiotic", "antiviral"})


def agent_class(hits: list[DrugHit]) -> str:
    """"antifungal", "antibiotic", "antiviral", "anti-infective" (several of them) or "other",
    from the `agent_class` of each drug in its value set, for the card's wording.

    "other" (fluvoxamine, diltiazem with fluoxetine, nefazodone) means that no anti-infective is
    among them: there is no course of treatment of an infection to speak of.
    """
    classes = set()
    for h in hits:
        vs = lookup.load(h.value_set) if h.value_set else None
        member = next((m for m in vs.members if m.name == h.ingredient), None) if vs else None
        classes.add(member.properties.get("agent_class", "other") if member else "other")
    anti = sorted(classes & ANTI_INFECTIVE)
    if not anti:
        return "other"
    return anti[0] if len(anti) == 1 else "anti-infective"


def reduced_tofacitinib_orders(active: tuple[MedicationOrder, ...], patient_id: str) -> tuple[Suggestion, ...]:
    """One `create` per active order whose dose can be reduced (none when unread or already reduced)."""
    out = []
    for order in active:
        dose = regimens.read(order)
        if dose is None or not dose.reading.readable:
            continue
        target = regimens.reduced(dose)
        if target is None:
            continue
        res = updated_draft(dose, target, patient_id)
        for key in _NOT_COPIED:
            res.pop(key, None)
        res["status"] = "draft"
        res["intent"] = "order"
        if order.reference:
            res["priorPrescription"] = {"reference": order.reference}
        try:
            resource = validate_resource(res)
        except InvalidResource:
            continue  # the card's text carries the advice
        action = Action("create", f"Order tofacitinib {target.label}; discontinue the active {dose.regimen_label} order",
                        resource=resource)
        out.append(Suggestion(SUGGESTION_KEY, (action,), is_recommended=True,
                              facts={"suggested": target.label, "current": dose.regimen_label}))
    return tuple(out)
