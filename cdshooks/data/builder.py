"""Gathered resources + hook context -> PatientRecord (the only view rules read).

Resources are sorted by their own `resourceType`, whatever prefetch key they
came in, deduplicated by type and id, and read by `cdshooks.data.parsers`.
A resource that cannot be read is skipped and listed in `PatientRecord.skipped`;
nothing here raises on bad data. Observations are only indexed here and read
when a rule asks for them (`cdshooks.data.observations`); one that fails only
then is logged and listed in `record.observations.unreadable` instead.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from cdshooks.data.bundles import is_bundle, resources_of
from cdshooks.data.dates import parse_partial_date
from cdshooks.data.elements import reference_id, text
from cdshooks.data.gather import Gathered
from cdshooks.data.observations import ObservationIndex
from cdshooks.data.parsers import (
    Unreadable,
    allergy,
    any_problem,
    drafted_vaccine,
    medication_administration,
    medication_order,
    vaccination,
)
from cdshooks.data.record import MedicationOrder, PatientRecord, SkippedResource

log = logging.getLogger(__name__)



def _flatten(resources: Iterable[Any], skipped: list[SkippedResource]) -> list[dict[str, Any]]:
    """Unwrap nested Bundles; drop (and record) what is not a resource at all."""
    out: list[dict[str, Any]] = []
    for r in resources:
        rtype = r.get("resourceType") if isinstance(r, dict) else None
        if rtype == "Bundle":
            out.extend(x for x in resources_of(r) if not is_bundle(x))
        elif isinstance(rtype, str):
            out.append(r)
        else:
            rid = text(r.get("id")) if isinstance(r, dict) else None
            skipped.append(SkippedResource(None, rid, "not a FHIR resource (no resourceType)"))
    return out


def _by_type(gathered: Gathered, skipped: list[SkippedResource]) -> dict[str, list[dict[str, Any]]]:
    """All gathered resources grouped by resourceType, first occurrence of each id kept."""
    grouped: dict[str, list[dict[str, Any]]] = {}
    seen: dict[str, set[str]] = {}  # ids met, by type (no (type, id) tuple per resource)
    for key in gathered.resources:
        for r in _flatten(gathered.resources[key], skipped):
            rtype, rid = r["resourceType"], r.get("id")
            group = grouped.get(rtype)
            if group is None:
                group, ids = grouped[rtype], seen[rtype] = [], set()
            else:
                ids = seen[rtype]
            if isinstance(rid, str) and rid:
                if rid in ids:
                    continue
                ids.add(rid)
            group.append(r)
    return grouped


def _read_all(
    resources: Iterable[dict[str, Any]],
    reader: Callable[[dict[str, Any]], Any],
    patient_id: str | None,
    skipped: list[SkippedResource],
    subject_field: str = "subject",  # where these resources name their patient
) -> list[Any]:
    """Apply a parser to each resource of this patient (any patient if None), recording failures."""
    out = []
    own_reference = f"Patient/{patient_id}"
    for r in resources:
        subject = r.get(subject_field)
        # Nearly always the plain local reference to the context patient: no parsing needed.
        if patient_id is not None and not (isinstance(subject, dict) and subject.get("reference") == own_reference):
            owner = reference_id(subject, "Patient")
            if owner is not None and owner != patient_id:
                skipped.append(SkippedResource(r["resourceType"], text(r.get("id")), "belongs to another patient"))
                continue
        try:
            value = reader(r)
        except Unreadable as exc:
            skipped.append(SkippedResource(r["resourceType"], text(r.get("id")), str(exc)))
            continue
        except Exception as exc:  # noqa: BLE001 - lenient by contract: one odd resource never fails the call
            log.info("skipped unreadable %s: %s", r["resourceType"], type(exc).__name__)
            skipped.append(SkippedResource(r["resourceType"], text(r.get("id")), f"unreadable ({type(exc).__name__})"))
            continue
        if value is not None:
            out.append(value)
    return out


def _is_selected(resource: Mapping[str, Any], selections: Sequence[str] | None) -> bool:
    """order-select: is this draft named in `selections`? (order-sign / no id: yes)."""
    if selections is None:
        return True
    rid = text(resource.get("id"))
    if rid is None:
        return True
    ref = f"{resource.get('resourceType')}/{rid}"
    return any(s in (ref, rid) or s.endswith("/" + ref) for s in selections if isinstance(s, str))


def _drafts(
    draft_resources: list[dict[str, Any]],
    selections: Sequence[str] | None,
    medications: Mapping[str, Mapping[str, Any]],
    skipped: list[SkippedResource],
) -> list[MedicationOrder]:
    """The MedicationRequests and drafted Immunizations among draftOrders (other types are not ours)."""
    requests = [r for r in draft_resources if r["resourceType"] in ("MedicationRequest", "Immunization")]

    def read(r: dict[str, Any]) -> MedicationOrder | None:
        selected = _is_selected(r, selections)
        if r["resourceType"] == "Immunization":
            return drafted_vaccine(r, selected=selected)
        return medication_order(r, medications, is_draft=True, selected=selected)

    # Drafts are not checked against the patient: a card about them must not vanish.
    return _read_all(requests, read, None, skipped)


def _not_counting_dropped(orders: list[MedicationOrder], skipped: list[SkippedResource]) -> list[MedicationOrder]:
    """Record orders minus those that are not orders to give the drug (clinical-rules.md,
    "Orders that do not count"): doNotPerform, or intent plan / proposal. No rule sees them:
    they are neither a current drug, nor tofacitinib context, nor a start date."""
    kept = []
    for o in orders:
        if o.counts_as_order:
            kept.append(o)
        else:
            why = "doNotPerform" if o.do_not_perform else f"intent {o.intent}"
            skipped.append(SkippedResource("MedicationRequest", o.id, f"{why}: not an order to give the drug"))
    return kept


def _demographics(patients: list[dict[str, Any]], patient_id: str, skipped: list[SkippedResource]) -> dict[str, Any]:
    for p in patients:
        if text(p.get("id")) != patient_id:
            skipped.append(SkippedResource("Patient", text(p.get("id")), "not the context patient"))
            continue
        born = parse_partial_date(p.get("birthDate"))
        gender = text(p.get("gender"))
        return {
            "birth_date": born[0] if born else None,
            "birth_date_precision": born[1] if born else None,
            "sex": gender.lower() if gender else None,
        }
    return {}


def build_record(
    gathered: Gathered,
    *,
    patient_id: str,
    draft_orders: Sequence[dict[str, Any]],
    selections: Sequence[str] | None,
    now: datetime,
) -> PatientRecord:
    """The PatientRecord for one hook call, built from whatever arrived."""
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    skipped: list[SkippedResource] = []
    by_type = _by_type(gathered, skipped)
    draft_resources = _flatten(draft_orders or [], skipped)
    medications = {
        med_id: m
        for m in by_type.get("Medication", []) + draft_resources
        if m.get("resourceType") == "Medication" and (med_id := text(m.get("id")))
    }

    drafts = _drafts(draft_resources, selections, medications, skipped)
    draft_ids = {d.id for d in drafts if d.id}
    # The order being signed may also come back from the record query: count it once.
    record_requests = [r for r in by_type.get("MedicationRequest", []) if text(r.get("id")) not in draft_ids]

    def read_med(r: dict[str, Any]) -> MedicationOrder:
        return medication_order(r, medications)

    demographics = _demographics(by_type.get("Patient", []), patient_id, skipped)
    medication_orders = _not_counting_dropped(_read_all(record_requests, read_med, patient_id, skipped), skipped)
    observations = ObservationIndex()  # read into LabResults only as rules ask (see data.observations)
    _read_all(by_type.get("Observation", []), observations.add, patient_id, skipped)
    history = _read_all(by_type.get("Condition", []), any_problem, patient_id, skipped)
    conditions = [p for p in history if not p.inactive]
    immunizations = _read_all(by_type.get("Immunization", []), vaccination, patient_id, skipped, "patient")
    allergies = _read_all(by_type.get("AllergyIntolerance", []), allergy, patient_id, skipped, "patient")
    administrations = _read_all(
        by_type.get("MedicationAdministration", []), lambda r: medication_administration(r, medications),
        patient_id, skipped,
    )
    return PatientRecord(
        patient_id=patient_id,
        now=now,
        medications=tuple(medication_orders),
        drafts=tuple(drafts),
        observations=observations,
        conditions=tuple(conditions),
        condition_history=tuple(history),
        immunizations=tuple(immunizations),
        allergies=tuple(allergies),
        administrations=tuple(administrations),
        skipped=tuple(skipped),
        unavailable=frozenset(gathered.unavailable),
        **demographics,
    )
