"""Small PatientRecords for rule tests, built the way a hook call builds them.

The helpers (`lab`, `med`, `tofa`, `problem`, ...) return FHIR R4 JSON resources, and
`record()` / `build()` hand them to the production builder (`data.builder.build_record`):
a test reads the PatientRecord a hook call would, with its observations in the
`ObservationIndex`, its Conditions split into `conditions` and `condition_history`, and
the statuses the builder drops already gone. No HTTP, no prefetch keys.

`read_order(resource)` is one MedicationRequest read by the same builder, for the tests that
ask a function about a single order.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from cdshooks.data.builder import build_record
from cdshooks.data.gather import Gathered
from cdshooks.data.record import MedicationOrder, PatientRecord
from tests import fixturekit as k

NOW = datetime(2026, 1, 15, 12, tzinfo=UTC)
PATIENT_ID = "p1"
LOINC = "http://loinc.org"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
ICD10 = "http://hl7.org/fhir/sid/icd-10-cm"
CVX = "http://hl7.org/fhir/sid/cvx"
_SUBJECT = {"reference": f"Patient/{PATIENT_ID}"}


def ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


def when(days_ago: float, now: datetime = NOW) -> str:
    """The FHIR dateTime `days_ago` days before now."""
    return (now - timedelta(days=days_ago)).isoformat().replace("+00:00", "Z")


def build(
    resources: Iterable[dict] = (),
    drafts: Iterable[dict] = (),
    *,
    selected: Collection[str] | None = None,
    unavailable: Collection[str] = (),
    now: datetime = NOW,
    patient_id: str = PATIENT_ID,
) -> PatientRecord:
    """The PatientRecord the builder makes of these resources and draftOrders.

    selected: the ids of the drafts in `selections` (order-select); None: every draft.
    unavailable: prefetch keys that could not be had.
    Two resources of one type with one id are refused: the builder would keep only the first.
    """
    resources, drafts = list(resources), list(drafts)
    seen: set[tuple[str, str]] = set()
    for r in resources + drafts:
        key = (r["resourceType"], r.get("id"))
        if key[1] is not None and key in seen:
            raise ValueError(f"two {key[0]} resources with id {key[1]!r}: the builder keeps only the first")
        seen.add(key)
    return build_record(
        Gathered(resources={"resources": resources}, unavailable=frozenset(unavailable)),
        patient_id=patient_id,
        draft_orders=drafts,
        selections=None if selected is None else sorted(selected),
        now=now,
    )


def record(
    *,
    meds: Iterable[dict] = (),
    drafts: Iterable[dict] = (),
    labs: Iterable[dict] = (),
    conditions: Iterable[dict] = (),
    immunizations: Iterable[dict] = (),
    allergies: Iterable[dict] = (),
    administrations: Iterable[dict] = (),
    birth: date | None = date(1981, 3, 2),
    sex: str | None = "female",
    unavailable: Collection[str] = (),
    now: datetime = NOW,
) -> PatientRecord:
    """A woman born 1981-03-02 (by default) with these resources, built by the production builder."""
    resources = [patient(birth, sex), *meds, *labs, *conditions, *immunizations, *allergies, *administrations]
    return build(resources, drafts, unavailable=unavailable, now=now)


def read_order(resource: dict) -> MedicationOrder:
    """One MedicationRequest as the builder reads it: a draft order when its status is draft."""
    if resource.get("status") == "draft":
        (found,) = build(drafts=[resource]).drafts
    else:
        (found,) = build([resource]).medications
    return found


def patient(birth: date | None = date(1981, 3, 2), sex: str | None = "female") -> dict:
    p: dict[str, Any] = {"resourceType": "Patient", "id": PATIENT_ID}
    if birth is not None:
        p["birthDate"] = birth.isoformat()
    if sex is not None:
        p["gender"] = sex
    return p


def observation(
    oid: str | None,
    codes: Iterable[tuple[str, str]],
    days_ago: float | None,
    value: float | None = None,
    unit: str | None = None,
    *,
    status: str | None = "final",
    comparator: str | None = None,
    value_string: str | None = None,
    value_codings: Iterable[tuple[str | None, str | None, str | None]] = (),
    interpretation: Iterable[tuple[str | None, str | None, str | None]] = (),
    code_text: str | None = None,
    now: datetime = NOW,
    **elements: Any,
) -> dict:
    """An Observation: `codes` (system, code) pairs, dated `days_ago` (None: undated).

    value/unit: valueQuantity (the unit also its code); value_string: valueString;
    value_codings: valueCodeableConcept codings (system, code, display); interpretation:
    one CodeableConcept per (system, code, display); `elements` are set as given.
    """
    code: dict[str, Any] = {}
    coding = [{"system": s, "code": c} for s, c in codes]
    if coding:
        code["coding"] = coding
    if code_text:
        code["text"] = code_text
    obs: dict[str, Any] = {"resourceType": "Observation", "code": code, "subject": _SUBJECT}
    if oid is not None:
        obs["id"] = oid
    if status is not None:
        obs["status"] = status
    if days_ago is not None:
        obs["effectiveDateTime"] = when(days_ago, now)
    if value is not None or unit is not None or comparator is not None:
        quantity: dict[str, Any] = {}
        if value is not None:
            quantity["value"] = value
        if unit is not None:
            quantity["unit"] = unit
            quantity["code"] = unit
        if comparator is not None:
            quantity["comparator"] = comparator
        obs["valueQuantity"] = quantity
    if value_string is not None:
        obs["valueString"] = value_string
    value_codings = list(value_codings)
    if value_codings:
        obs["valueCodeableConcept"] = {"coding": [_coding(*c) for c in value_codings]}
    interpretation = list(interpretation)
    if interpretation:
        obs["interpretation"] = [{"coding": [_coding(*c)]} for c in interpretation]
    obs.update(elements)
    return obs


def _coding(system: str | None, code: str | None, display: str | None = None) -> dict:
    return {key: v for key, v in (("system", system), ("code", code), ("display", display)) if v is not None}


def lab(loinc: str, days_ago: float, value=None, unit=None, *, comparator=None, text=None, status="final", oid=None):
    """A LOINC-coded Observation: a quantity (`value`, `unit`), or a text answer (`text`: valueString)."""
    return observation(oid or f"{loinc}-{days_ago}", [(LOINC, loinc)], days_ago, value, unit,
                       comparator=comparator, value_string=text, status=status)


def code_of(resource: dict) -> str | None:
    """The first code of a resource's `code` (an Observation's LOINC)."""
    return resource["code"]["coding"][0]["code"]


def with_range(observation: dict, high: float, unit: str | None = None) -> dict:
    """The Observation with a normal range whose upper limit is `high` (in `unit`, else the value's unit)."""
    unit = unit or observation.get("valueQuantity", {}).get("unit")
    limit: dict[str, Any] = {"value": high}
    if unit is not None:
        limit["unit"] = unit
        limit["code"] = unit
    return {**observation, "referenceRange": [{"high": limit}]}


def med(name: str, days_ago: float, dose_mg: float | None = None, per_day: int = 1, *, status="active",
        rxnorm: str | None = None, draft=False, oid=None, dosages: Iterable[dict] | None = None):
    """A MedicationRequest for `name` (RxNorm-coded with `rxnorm`), `dose_mg` mg `per_day` times a day.

    draft: a draftOrders entry (status draft; pass it in `drafts`). dosages: the dosageInstruction
    as given, instead of the one built from dose_mg.
    """
    if dosages is None:
        dosages = []
        if dose_mg is not None:
            dosages = [{
                "doseAndRate": [{"doseQuantity": {"value": dose_mg, "unit": "mg", "code": "mg"}}],
                "timing": {"repeat": {"frequency": per_day, "period": 1, "periodUnit": "d"}},
            }]
    concept: dict[str, Any] = {"text": name}
    if rxnorm:
        concept["coding"] = [{"system": RXNORM, "code": rxnorm, "display": name}]
    request: dict[str, Any] = {
        "resourceType": "MedicationRequest",
        "id": oid or name.split()[0] + str(days_ago),
        "status": "draft" if draft else status,
        "intent": "order",
        "medicationCodeableConcept": concept,
        "subject": _SUBJECT,
        "authoredOn": when(days_ago),
    }
    dosages = list(dosages)
    if dosages:
        request["dosageInstruction"] = dosages
    return request


def tofa(days_ago: float = 120, *, draft=False, oid=None):
    return med("tofacitinib 5 MG Oral Tablet", days_ago, 5, 2, rxnorm="1357541", draft=draft, oid=oid)


def problem(code: str | None, text: str, clinical="active", *, onset_days_ago: float | None = None,
            codings: Iterable[tuple[str, str, str]] | None = None, verification="confirmed"):
    """A Condition `text`, ICD-10-CM `code` (or these (system, code, display) codings), id = text."""
    coding = [_coding(*c) for c in codings] if codings is not None else (
        [{"system": ICD10, "code": code, "display": text}] if code else [])
    c: dict[str, Any] = {
        "resourceType": "Condition",
        "id": text,
        "code": {"coding": coding, "text": text} if coding else {"text": text},
        "subject": _SUBJECT,
    }
    if clinical:
        c["clinicalStatus"] = {"coding": [
            {"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": clinical}]}
    if verification:
        c["verificationStatus"] = {"coding": [
            {"system": "http://terminology.hl7.org/CodeSystem/condition-ver-status", "code": verification}]}
    if onset_days_ago is not None:
        c["onsetDateTime"] = when(onset_days_ago)
    return c


def vaccination(cvx: str, days_ago: float, *, oid="v1", status="completed"):
    """An Immunization with a CVX code (no display, no text), given `days_ago`."""
    return {
        "resourceType": "Immunization",
        "id": oid,
        "status": status,
        "vaccineCode": {"coding": [{"system": CVX, "code": cvx}]},
        "patient": _SUBJECT,
        "occurrenceDateTime": when(days_ago),
    }


def allergy(aid: str, texts: Iterable[str] = (), codings: Iterable[tuple[str | None, str | None, str | None]] = (),
            *, clinical: str | None = "active", verification: str | None = "confirmed"):
    """An AllergyIntolerance: code.text the first of `texts`, the others reaction substances."""
    texts = list(texts)
    code: dict[str, Any] = {}
    coding = [_coding(*c) for c in codings]
    if coding:
        code["coding"] = coding
    if texts:
        code["text"] = texts[0]
    a: dict[str, Any] = {"resourceType": "AllergyIntolerance", "id": aid, "code": code, "patient": _SUBJECT}
    if texts[1:]:
        a["reaction"] = [{"substance": {"text": t}} for t in texts[1:]]
    if clinical:
        a["clinicalStatus"] = {"coding": [
            {"system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical", "code": clinical}]}
    if verification:
        a["verificationStatus"] = {"coding": [
            {"system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification", "code": verification}]}
    return a


def administration(aid: str, name: str, days_ago: float, *, status="completed"):
    """A MedicationAdministration of `name` (text only), given `days_ago`."""
    return k.administration(aid, name, None, days_ago, status=status, pid=PATIENT_ID)


def count_lab_reads(monkeypatch: Any) -> list[str]:
    """The ids of the Observations read into LabResults from now on, in reading order (the index reads lazily)."""
    from cdshooks.data import observations

    read: list[str] = []
    original = observations.read_lab

    def counting(resource: dict[str, Any], *args: Any) -> Any:
        read.append(resource["id"])
        return original(resource, *args)

    monkeypatch.setattr(observations, "read_lab", counting)
    return read
