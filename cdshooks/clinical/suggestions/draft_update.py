"""The updated draft MedicationRequest a dose suggestion carries (a whole, valid R4 resource).

The draft keeps its id, status draft and everything else the EHR sent; the
medication switches product when the regimen needs another tablet (IR 10 mg ->
5 mg, XR -> IR), and `dosageInstruction` is replaced by the new regimen. Messy
drafts (an array field sent as one object, unknown fields) are normalized.
Validation is done where every emitted resource is validated, in cards.py:
the action carries a minimal copy as its fallback, for when the whole copy is
still not valid FHIR R4, and is optional: failing both, there is no suggestion
(the card's detail carries the advice).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from cdshooks.clinical.dosing.regimens import OrderDose, Regimen
from cdshooks.clinical.findings import Action, Phrase
from cdshooks.terminology import lookup
from cdshooks.terminology.lookup import RXNORM, UCUM

# MedicationRequest elements that are arrays in R4 (EHRs sometimes send one object).
_ARRAY_FIELDS = (
    "identifier", "instantiatesCanonical", "instantiatesUri", "basedOn", "category",
    "supportingInformation", "reasonCode", "reasonReference", "insurance", "note",
    "detectedIssue", "eventHistory", "contained", "extension", "modifierExtension",
    "dosageInstruction",
)
# What a minimal draft keeps when the full copy does not validate.
_MINIMAL_FIELDS = ("resourceType", "id", "status", "intent", "subject", "encounter", "authoredOn", "requester")
_MEDICATION_FIELDS = ("medicationCodeableConcept", "medicationReference")


def product_coding(regimen: Regimen, brand: bool) -> tuple[str, str] | None:
    """(RxNorm code, name) of the tablet for a regimen, from the tofacitinib value set."""
    form = "xr-tablet" if regimen.extended_release else "tablet"
    for m in lookup.load("tofacitinib").members:
        p = m.properties
        if p.get("form") == form and p.get("strength_mg") == regimen.dose_mg and bool(p.get("brand")) == brand:
            for system, code, _ in m.codes:
                if system == RXNORM:
                    return code, m.name
    return None


def dosage_instruction(regimen: Regimen, route: Any = None) -> dict[str, Any]:
    """One dosageInstruction for the regimen: text, timing.repeat and a dose in mg."""
    d: dict[str, Any] = {
        "text": regimen.sig,
        "timing": {"repeat": {"frequency": regimen.per_day, "period": 1, "periodUnit": "d"}},
        "doseAndRate": [
            {"doseQuantity": {"value": regimen.dose_mg, "unit": "mg", "system": UCUM, "code": "mg"}}
        ],
    }
    if isinstance(route, Mapping):
        d["route"] = dict(route)
    return d


def updated_draft(dose: OrderDose, regimen: Regimen, patient_id: str) -> dict[str, Any]:
    """The whole draft MedicationRequest with the new regimen (not yet validated)."""
    # JSON null is not FHIR: dropping it also spares the readers below a None where a list belongs.
    res = {k: v for k, v in copy.deepcopy(dict(dose.order.resource)).items() if v is not None}
    res["resourceType"] = "MedicationRequest"
    if dose.order.id:
        res["id"] = dose.order.id
    res["status"] = "draft"
    res.setdefault("intent", dose.order.intent or "order")
    if not isinstance(res.get("subject"), Mapping):
        res["subject"] = {"reference": f"Patient/{patient_id}"}
    for name in _ARRAY_FIELDS:
        if isinstance(res.get(name), Mapping):
            res[name] = [res[name]]
    old = [d for d in res.get("dosageInstruction", []) if isinstance(d, Mapping)]
    res["dosageInstruction"] = [dosage_instruction(regimen, old[0].get("route") if old else None)]
    if _needs_new_product(dose, regimen):
        coding = product_coding(regimen, brand=_is_brand(dose))
        if coding is not None:
            _set_medication(res, coding)
    return res


def update_action(dose: OrderDose, regimen: Regimen, patient_id: str) -> Action:
    """An optional `update` Action: the whole updated draft, and a minimal copy should it not be valid R4."""
    full = updated_draft(dose, regimen, patient_id)
    minimal = {k: full[k] for k in (*_MINIMAL_FIELDS, *_MEDICATION_FIELDS, "dosageInstruction") if k in full}
    if isinstance(full.get("medicationReference"), Mapping) and full.get("contained"):
        minimal["contained"] = full["contained"]
    return Action("update", Phrase("actions.change_draft", {"regimen": regimen.label}), resource=full,
                  fallback=minimal, optional=True)


def _needs_new_product(dose: OrderDose, regimen: Regimen) -> bool:
    p = dose.product
    if p.solution and not regimen.extended_release:
        return False  # the 1 mg/mL solution can give any IR dose
    if p.extended_release != regimen.extended_release:
        return True
    # An ingredient-level order (no strength) with a dose in mg stays as it is.
    return p.strength_mg is not None and p.strength_mg != regimen.dose_mg


def _is_brand(dose: OrderDose) -> bool:
    member = lookup.load("tofacitinib").match(dose.order.codings, ())
    if member is not None and "brand" in member.properties:
        return bool(member.properties["brand"])
    return any("xeljanz" in n.lower() for n in dose.order.names)


def _set_medication(res: dict[str, Any], coding: tuple[str, str]) -> None:
    code, name = coding
    ref = res.pop("medicationReference", None)
    if isinstance(ref, Mapping) and str(ref.get("reference", "")).startswith("#"):
        contained_id = str(ref["reference"])[1:]
        kept = [c for c in res.get("contained", []) if not (isinstance(c, Mapping) and c.get("id") == contained_id)]
        if kept:
            res["contained"] = kept
        else:
            res.pop("contained", None)
    res["medicationCodeableConcept"] = {
        "coding": [{"system": RXNORM, "code": code, "display": name}],
        "text": name,
    }


# Fields of an active order that belong to it, not to a new order replacing it.
_NOT_COPIED = ("id", "meta", "identifier", "text", "groupIdentifier", "priorPrescription", "statusReason",
               "eventHistory", "dispenseRequest", "substitution", "basedOn", "authoredOn")


def new_order(dose: OrderDose, regimen: Regimen, patient_id: str) -> dict[str, Any]:
    """A new draft MedicationRequest at `regimen`, copied from an active order and pointing back at it.

    clinical-rules.md, "Dose reductions": only drafts are updated; for an active,
    undrafted order the reduced regimen is a `create`, and the active order must be
    discontinued or replaced in the EHR. Not validated here (cards.py does):
    an action creating it is optional, left out when it is not valid R4.
    """
    res = updated_draft(dose, regimen, patient_id)
    for key in _NOT_COPIED:
        res.pop(key, None)
    res["status"] = "draft"
    res["intent"] = "order"
    if dose.order.reference:
        res["priorPrescription"] = {"reference": dose.order.reference}
    return res
