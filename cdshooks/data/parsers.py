"""One plain-dict FHIR resource -> one PatientRecord value, leniently.

Each reader returns the value, None when the resource is valid but filtered
out (an entered-in-error Observation, a resolved Condition), or raises
Unreadable when it carries nothing the rules could use (no code at all).
fhir.resources models are deliberately not used here (see README, "Data
gathering and FHIR fallback": strict validation is for what we emit).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from cdshooks.data.dates import parse_datetime, period_start
from cdshooks.data.elements import (
    codings,
    dicts,
    first,
    names,
    number,
    numeric_string,
    reference_id,
    status_codes,
    text,
)
from cdshooks.data.record import (
    ACTIVE_CLINICAL_STATUSES,
    DROPPED_ADMINISTRATION_STATUSES,
    DROPPED_IMMUNIZATION_STATUSES,
    DROPPED_OBSERVATION_STATUSES,
    DROPPED_VERIFICATION_STATUSES,
    INACTIVE_ALLERGY_STATUSES,
    Administration,
    Allergy,
    Coding,
    LabResult,
    MedicationOrder,
    Problem,
    Route,
    Vaccination,
)


class Unreadable(ValueError):
    """A resource with nothing usable in it; the reason names fields, never values."""


def _status(resource: Mapping[str, Any]) -> str | None:
    status = text(resource.get("status"))
    return status.lower() if status else None


def _id(resource: Mapping[str, Any]) -> str | None:
    rid = resource.get("id")
    return text(rid) if not isinstance(rid, (int, float)) else str(rid)


def _unique(values: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v for v in values if v))


def _medication_resource(
    order: Mapping[str, Any],
    ref: Any,
    medications: Mapping[str, Mapping[str, Any]],
) -> Mapping[str, Any] | None:
    """The Medication a medicationReference points to: contained (`#id`) or in any Bundle."""
    if not isinstance(ref, dict):
        return None
    target = text(ref.get("reference"))
    if target and target.startswith("#"):
        for contained in dicts(order.get("contained")):
            if contained.get("resourceType") == "Medication" and _id(contained) == target[1:]:
                return contained
        return None
    med_id = reference_id(ref, "Medication")
    return medications.get(med_id) if med_id else None


def _medication(
    resource: Mapping[str, Any],
    medications: Mapping[str, Mapping[str, Any]],
) -> tuple[tuple[Coding, ...], tuple[str, ...]]:
    """The codes and names of the medication of a MedicationRequest or MedicationAdministration:
    medicationCodeableConcept, medicationReference (its display, and a contained or bundled
    Medication's code and ingredients), or R5's CodeableReference `medication`."""
    concept = resource.get("medicationCodeableConcept")
    ref = resource.get("medicationReference")
    r5 = resource.get("medication")  # R5 CodeableReference, sent by some servers
    if isinstance(r5, dict):
        concept = concept or r5.get("concept")
        ref = ref or r5.get("reference")
    found_codings = list(codings(concept))
    found_names = names(concept)
    if isinstance(ref, dict) and (display := text(ref.get("display"))):
        found_names.append(display)
    med = _medication_resource(resource, ref, medications)
    if med is not None:
        found_codings.extend(codings(med.get("code")))
        found_names.extend(names(med.get("code")))
        for ingredient in dicts(med.get("ingredient")):
            item = ingredient.get("itemCodeableConcept")
            found_codings.extend(codings(item))
            found_names.extend(names(item))
            item_ref = ingredient.get("itemReference")
            if isinstance(item_ref, dict) and (item_display := text(item_ref.get("display"))):
                found_names.append(item_display)
    if not found_codings and not found_names:
        raise Unreadable("no medication code or name")
    return tuple(dict.fromkeys(found_codings)), _unique(found_names)


def read_routes(dosages: Sequence[Mapping[str, Any]]) -> tuple[tuple[str, ...], tuple[Route, ...]]:
    """The names of each instruction's route (its text, then its coding displays; EHRs send `"coding": null`
    or one coding object), and each route that is one CodeableConcept (a list or a string cannot be matched)."""
    found_names: list[str] = []
    routes: list[Route] = []
    for d in dosages:
        route = d.get("route")
        if route is None:
            continue
        if isinstance(route, dict):
            coded = codings(route)
            label = text(route.get("text"))
            routes.append(Route(codings=coded, text=label))
            own: list[str] = []
            for name in (label, *(c.display for c in coded)):
                if name and name not in own:
                    own.append(name)
            found_names += own
        else:
            found_names += names(route)
    return tuple(found_names), tuple(routes)


def _period_end(period: Any) -> datetime | None:
    return parse_datetime(period.get("end")) if type(period) is dict else None


def course_end(resource: Mapping[str, Any], dosages: Sequence[Mapping[str, Any]]) -> datetime | None:
    """The latest end of dispenseRequest.validityPeriod or of a dosageInstruction.timing.repeat.boundsPeriod."""
    # Parsed JSON holds plain dicts: `type(x) is dict` spares an ABC check per element of every order.
    ends: list[datetime] = []
    dispense = resource.get("dispenseRequest")
    if type(dispense) is dict and (end := _period_end(dispense.get("validityPeriod"))) is not None:
        ends.append(end)
    for d in dosages:
        timing = d.get("timing")
        repeat = timing.get("repeat") if type(timing) is dict else None
        if type(repeat) is dict and (end := _period_end(repeat.get("boundsPeriod"))) is not None:
            ends.append(end)
    return max(ends) if ends else None


def medication_order(
    resource: Mapping[str, Any],
    medications: Mapping[str, Mapping[str, Any]],
    *,
    is_draft: bool = False,
    selected: bool = True,
) -> MedicationOrder:
    """A MedicationRequest with its medication's codes and every name we can find."""
    found_codings, found_names = _medication(resource, medications)
    dosages = dicts(resource.get("dosageInstruction"))
    return MedicationOrder(
        id=_id(resource),
        status=_status(resource),
        intent=(text(resource.get("intent")) or "").lower() or None,
        authored_on=parse_datetime(resource.get("authoredOn")),
        codings=found_codings,
        names=found_names,
        dosage_instructions=tuple(dosages),
        is_draft=is_draft,
        selected=selected,
        resource=resource,
        do_not_perform=resource.get("doNotPerform") is True,
    )


def _concept_text(concept: Any) -> str | None:
    return first(names(concept))


# value[x] other than valueQuantity: when none is present, a numeric Quantity is read directly.
_OTHER_VALUES = frozenset({"valueInteger", "valueDecimal", "valueString", "valueCodeableConcept", "valueBoolean"})


def _observation_value(resource: Mapping[str, Any]) -> dict[str, Any]:
    """LabResult value fields from value[x] (Quantity, numeric string, concept, ...)."""
    quantity = resource.get("valueQuantity")
    if isinstance(quantity, dict) and _OTHER_VALUES.isdisjoint(resource):
        # The shape nearly every lab result has: same reading as below, in fewer steps.
        raw = quantity.get("value")
        if isinstance(raw, (int, float)) and not isinstance(raw, bool):
            unit_code = text(quantity.get("code"))
            return {
                "value": float(raw),
                "comparator": text(quantity.get("comparator")),
                "unit_code": unit_code,
                "unit": text(quantity.get("unit")) or unit_code,
            }
    out: dict[str, Any] = {}
    if isinstance(quantity, dict):
        raw = quantity.get("value")
        parsed = numeric_string(raw) if isinstance(raw, str) else None
        out["value"] = number(raw) if parsed is None else parsed[1]
        out["comparator"] = text(quantity.get("comparator")) or (parsed[0] if parsed else None)
        out["unit_code"] = text(quantity.get("code"))
        out["unit"] = text(quantity.get("unit")) or out["unit_code"] or (parsed[2] if parsed else None)
    for key in ("valueInteger", "valueDecimal"):
        if key in resource and (n := number(resource[key])) is not None:
            out["value"] = n
    value_string = text(resource.get("valueString"))
    if value_string:
        parsed = numeric_string(value_string)
        if parsed:
            out["comparator"], out["value"], out["unit"] = parsed
        out["value_text"] = value_string.lower()
    concept = resource.get("valueCodeableConcept")
    if isinstance(concept, dict):
        value_codings = codings(concept)
        out["value_codings"] = value_codings
        words = [c.code for c in value_codings if c.code] + names(concept)
        out["value_text"] = "; ".join(dict.fromkeys(w.lower() for w in words)) or None
    if isinstance(resource.get("valueBoolean"), bool):
        out["value_text"] = "true" if resource["valueBoolean"] else "false"
    return out


def observation_counts(resource: Mapping[str, Any]) -> bool:
    """False for an Observation whose status says it does not count (entered in error, cancelled, registered)."""
    if resource.get("status") == "final":  # nearly every result: no need to read the status leniently
        return True
    return _status(resource) not in DROPPED_OBSERVATION_STATUSES


def observation_time(resource: Mapping[str, Any]) -> datetime | None:
    """effectiveDateTime, else effectivePeriod.start/end, else effectiveInstant, else issued."""
    return (
        parse_datetime(resource.get("effectiveDateTime"))
        or period_start(resource.get("effectivePeriod"))
        or parse_datetime(resource.get("effectiveInstant"))
        or parse_datetime(resource.get("issued"))
    )


def lab_result(resource: Mapping[str, Any]) -> LabResult | None:
    """One Observation read on its own, or None when its status says it does not count.

    A built record reads the same lazily (`data.observations.ObservationIndex`).
    """
    if not observation_counts(resource):
        return None
    code = resource.get("code")
    code_codings = codings(code)
    code_text = text(code.get("text")) if isinstance(code, dict) else None  # = _concept_text when set
    if not code_codings and not code_text:
        raise Unreadable("Observation has no code")
    return read_lab(resource, code_codings, code_text, observation_time(resource))


def read_lab(
    resource: Mapping[str, Any], code_codings: tuple[Coding, ...], code_text: str | None, effective: datetime | None
) -> LabResult:
    """The LabResult of an Observation whose code and date are already read (see data.observations)."""
    return LabResult(
        id=_id(resource),
        codings=code_codings,
        status=_status(resource),
        effective=effective,
        interpretation=codings(resource.get("interpretation")),
        text=code_text,
        **_observation_value(resource),
        **_reference_high(resource.get("referenceRange")),
    )


# referenceRange.type codes that are not the normal range (HL7 referencerange-meaning).
_NOT_NORMAL_RANGES = frozenset({"therapeutic", "treatment", "pre-puberty", "follicular", "midcycle", "luteal",
                                "postmenopausal", "endocrine", "recommended"})


def _reference_high(ranges: Any) -> dict[str, Any]:
    """The first normal range's upper limit (`high`), leniently: one object or a list, no type = normal."""
    if not ranges:  # nearly every call: no range, or none sent
        return {}
    for r in dicts(ranges):
        kinds = {c.code for c in codings(r.get("type")) if c.code}
        if kinds & _NOT_NORMAL_RANGES:
            continue
        high = r.get("high")
        if isinstance(high, dict) and (value := number(high.get("value"))) is not None:
            unit = text(high.get("code")) or text(high.get("unit"))
            return {"reference_high": value, "reference_high_unit": unit}
    return {}


def problem(resource: Mapping[str, Any]) -> Problem | None:
    """A Condition if it is clinically active (or unstated) and not refuted."""
    p = any_problem(resource)
    return p if p is not None and not p.inactive else None


def any_problem(resource: Mapping[str, Any]) -> Problem | None:
    """A Condition whatever its clinicalStatus (a history), unless refuted or entered in error."""
    clinical = status_codes(resource.get("clinicalStatus"))
    verification = status_codes(resource.get("verificationStatus"))
    if verification & DROPPED_VERIFICATION_STATUSES:
        return None
    code = resource.get("code")
    code_codings = codings(code)
    if not code_codings and not names(code):
        raise Unreadable("Condition has no code")
    return Problem(
        id=_id(resource),
        codings=code_codings,
        text=_concept_text(code),
        clinical_status=first(sorted(clinical & ACTIVE_CLINICAL_STATUSES)),
        inactive=bool(clinical) and not clinical & ACTIVE_CLINICAL_STATUSES,
        verification_status=first(sorted(verification)),
        onset=parse_datetime(resource.get("onsetDateTime")) or period_start(resource.get("onsetPeriod")),
        recorded=parse_datetime(resource.get("recordedDate")),
    )


def drafted_vaccine(resource: Mapping[str, Any], *, selected: bool) -> MedicationOrder | None:
    """An Immunization in draftOrders, read as a vaccine order (None if entered in error)."""
    if _status(resource) == "entered-in-error":
        return None
    code = resource.get("vaccineCode")
    code_codings = codings(code)
    vaccine_names = _unique(names(code))
    if not code_codings and not vaccine_names:
        raise Unreadable("Immunization has no vaccineCode")
    return MedicationOrder(
        id=_id(resource),
        status="draft",  # Immunization has no draft status; being in draftOrders makes it one
        intent="order",
        authored_on=parse_datetime(resource.get("recorded")) or parse_datetime(resource.get("occurrenceDateTime")),
        codings=code_codings,
        names=vaccine_names,
        dosage_instructions=(),
        is_draft=True,
        selected=selected,
        resource=resource,
        resource_type="Immunization",
    )


def vaccination(resource: Mapping[str, Any]) -> Vaccination | None:
    """An Immunization that was given (not entered-in-error, not not-done)."""
    status = _status(resource)
    if status in DROPPED_IMMUNIZATION_STATUSES:
        return None
    code = resource.get("vaccineCode")
    code_codings: tuple[Coding, ...] = codings(code)
    if not code_codings and not names(code):
        raise Unreadable("Immunization has no vaccineCode")
    return Vaccination(
        id=_id(resource),
        codings=code_codings,
        status=status,
        occurrence=parse_datetime(resource.get("occurrenceDateTime"))
        or parse_datetime(resource.get("date")),  # STU3
        text=_concept_text(code),
    )


def allergy(resource: Mapping[str, Any]) -> Allergy | None:
    """An AllergyIntolerance unless it is inactive / resolved, refuted or entered in error."""
    clinical = status_codes(resource.get("clinicalStatus"))
    verification = status_codes(resource.get("verificationStatus"))
    if clinical & INACTIVE_ALLERGY_STATUSES and "active" not in clinical:
        return None
    if verification & DROPPED_VERIFICATION_STATUSES:
        return None
    code = resource.get("code")
    found_codings = list(codings(code))
    found_texts = names(code)
    for reaction in dicts(resource.get("reaction")):
        substance = reaction.get("substance")
        found_codings.extend(codings(substance))
        found_texts.extend(names(substance))
    if not found_codings and not found_texts:
        raise Unreadable("AllergyIntolerance has no code or text")
    return Allergy(
        id=_id(resource),
        codings=tuple(dict.fromkeys(found_codings)),
        texts=_unique(found_texts),
        clinical_status=first(sorted(clinical)),
        verification_status=first(sorted(verification)),
        criticality=text(resource.get("criticality")),
        recorded=parse_datetime(resource.get("recordedDate")),
    )


def _latest(*times: datetime | None) -> datetime | None:
    found = [t for t in times if t is not None]
    return max(found) if found else None


def administration_time(resource: Mapping[str, Any]) -> datetime | None:
    """When a MedicationAdministration was given: effectiveDateTime, else the end of
    effectivePeriod, else its start (still running). R5 spells it `occurence[x]`."""
    for prefix in ("effective", "occurence", "occurrence"):
        when = parse_datetime(resource.get(f"{prefix}DateTime"))
        if when is not None:
            return when
        period = resource.get(f"{prefix}Period")
        if isinstance(period, dict):
            when = _latest(parse_datetime(period.get("start")), parse_datetime(period.get("end")))
            if when is not None:
                return when
    return None


def medication_administration(
    resource: Mapping[str, Any],
    medications: Mapping[str, Mapping[str, Any]],
) -> Administration | None:
    """A MedicationAdministration, or None when it was not given (not-done, entered-in-error).

    Unreadable without a medication code or name, or without a date (given when is what
    the rules ask).
    """
    status = _status(resource)
    if status in DROPPED_ADMINISTRATION_STATUSES:
        return None
    found_codings, found_names = _medication(resource, medications)
    given = administration_time(resource)
    if given is None:
        raise Unreadable("MedicationAdministration has no effective time")
    return Administration(
        id=_id(resource),
        status=status,
        given=given,
        codings=found_codings,
        names=found_names,
        dosage_instructions=tuple(dicts(resource.get("dosage")))[:1],
    )
