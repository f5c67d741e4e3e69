"""Building blocks for fixture scenarios (fixtures/<name>/scenario.json).

A scenario is self-contained JSON: a CDS Hooks request with full prefetch, the
evaluation time `asOf`, and the exact topics expected. This kit writes them
from a *fully worked-up* base patient, so that a scenario shows only the rule
it is about (false alarms are defects, and a scenario proves their absence).

    from tests import fixturekit as k
    req = k.order_select(drafts=[k.tofacitinib_draft()])
    k.write_scenario("dose-standard-5mg-bid", "5 mg BID new start", req, ["dose-guidance"])

Prefetch keys (must match cdshooks/services.py): patient, medications,
observations, conditions, immunizations, allergies, administrations.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

AS_OF = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
PATIENT_ID = "p-mda5"
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
ICD10 = "http://hl7.org/fhir/sid/icd-10-cm"
CVX = "http://hl7.org/fhir/sid/cvx"
UCUM = "http://unitsofmeasure.org"


def day(offset: float) -> str:
    """ISO timestamp `offset` days from AS_OF (negative = in the past)."""
    return (AS_OF + timedelta(days=offset)).isoformat().replace("+00:00", "Z")


def patient(birth_date: str = "1981-03-02", sex: str = "female", pid: str = PATIENT_ID) -> dict:
    return {
        "resourceType": "Patient",
        "id": pid,
        "name": [{"family": "Fixture", "given": ["Mara"]}],
        "gender": sex,
        "birthDate": birth_date,
    }


def observation(
    oid: str,
    loinc: str,
    value: float | None = None,
    unit: str | None = None,
    days_ago: float = 10,
    *,
    status: str = "final",
    code_text: str | None = None,
    value_string: str | None = None,
    value_concept: tuple[str, str, str] | None = None,  # (system, code, display)
    comparator: str | None = None,
    ucum: str | None = None,
    pid: str = PATIENT_ID,
) -> dict:
    """An Observation; `unit` is the human unit, `ucum` the UCUM code (defaults to unit)."""
    obs: dict[str, Any] = {
        "resourceType": "Observation",
        "id": oid,
        "status": status,
        "code": {"coding": [{"system": LOINC, "code": loinc}]},
        "subject": {"reference": f"Patient/{pid}"},
        "effectiveDateTime": day(-days_ago),
    }
    if code_text:
        obs["code"]["text"] = code_text
    if value is not None:
        q: dict[str, Any] = {"value": value}
        if unit:
            q["unit"] = unit
            q["system"] = UCUM
            q["code"] = ucum or unit
        if comparator:
            q["comparator"] = comparator
        obs["valueQuantity"] = q
    elif value_string is not None:
        obs["valueString"] = value_string
    elif value_concept is not None:
        system, code, display = value_concept
        obs["valueCodeableConcept"] = {
            "coding": [{"system": system, "code": code, "display": display}],
            "text": display,
        }
    return obs


NEGATIVE = (SNOMED, "260385009", "Negative")
POSITIVE = (SNOMED, "10828004", "Positive")
NOT_DETECTED = (SNOMED, "260415000", "Not detected")
DETECTED = (SNOMED, "260373001", "Detected")


def condition(
    cid: str,
    text: str,
    icd10: str | None = None,
    snomed: str | None = None,
    *,
    clinical: str | None = "active",
    verification: str | None = "confirmed",
    onset_days_ago: float = 60,
    pid: str = PATIENT_ID,
) -> dict:
    coding = []
    if icd10:
        coding.append({"system": ICD10, "code": icd10, "display": text})
    if snomed:
        coding.append({"system": SNOMED, "code": snomed, "display": text})
    c: dict[str, Any] = {
        "resourceType": "Condition",
        "id": cid,
        "code": {"coding": coding, "text": text} if coding else {"text": text},
        "subject": {"reference": f"Patient/{pid}"},
        "onsetDateTime": day(-onset_days_ago),
    }
    if clinical:
        c["clinicalStatus"] = {
            "coding": [
                {"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": clinical}
            ]
        }
    if verification:
        c["verificationStatus"] = {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
                    "code": verification,
                }
            ]
        }
    return c


def immunization(iid: str, cvx: str, display: str, days_ago: float, pid: str = PATIENT_ID) -> dict:
    return {
        "resourceType": "Immunization",
        "id": iid,
        "status": "completed",
        "vaccineCode": {"coding": [{"system": CVX, "code": cvx, "display": display}], "text": display},
        "patient": {"reference": f"Patient/{pid}"},
        "occurrenceDateTime": day(-days_ago),
    }


def allergy(
    aid: str,
    text: str,
    code: tuple[str, str] | None = None,  # (system, code)
    *,
    clinical: str | None = "active",
    verification: str | None = "confirmed",
    days_ago: float = 400,
    pid: str = PATIENT_ID,
) -> dict:
    """An AllergyIntolerance (patient, not subject: its search parameter is `patient`)."""
    concept: dict[str, Any] = {"text": text}
    if code:
        concept["coding"] = [{"system": code[0], "code": code[1], "display": text}]
    a: dict[str, Any] = {
        "resourceType": "AllergyIntolerance",
        "id": aid,
        "code": concept,
        "patient": {"reference": f"Patient/{pid}"},
        "recordedDate": day(-days_ago),
    }
    if clinical:
        a["clinicalStatus"] = {"coding": [
            {"system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical", "code": clinical}
        ]}
    if verification:
        a["verificationStatus"] = {"coding": [
            {"system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification", "code": verification}
        ]}
    return a


def administration(
    aid: str,
    name: str,
    rxnorm: str | None = None,
    days_ago: float = 120,
    *,
    status: str = "completed",
    pid: str = PATIENT_ID,
) -> dict:
    """A MedicationAdministration given `days_ago` (effectiveDateTime); `rxnorm=None`: text only."""
    concept: dict[str, Any] = {"text": name}
    if rxnorm:
        concept["coding"] = [{"system": RXNORM, "code": rxnorm, "display": name}]
    return {
        "resourceType": "MedicationAdministration",
        "id": aid,
        "status": status,
        "medicationCodeableConcept": concept,
        "subject": {"reference": f"Patient/{pid}"},
        "effectiveDateTime": day(-days_ago),
    }


def dosage(
    dose: float | None = None,
    unit: str = "mg",
    frequency: int | None = None,
    period: float = 1,
    period_unit: str = "d",
    *,
    text: str | None = None,
    timing_code: str | None = None,
) -> dict:
    """One dosageInstruction: e.g. dosage(5, "mg", 2) = 5 mg twice a day."""
    d: dict[str, Any] = {}
    if text:
        d["text"] = text
    timing: dict[str, Any] = {}
    if frequency is not None:
        timing["repeat"] = {"frequency": frequency, "period": period, "periodUnit": period_unit}
    if timing_code:
        timing["code"] = {
            "coding": [
                {"system": "http://terminology.hl7.org/CodeSystem/v3-GTSAbbreviation", "code": timing_code}
            ]
        }
    if timing:
        d["timing"] = timing
    if dose is not None:
        ucum = {"mg": "mg", "tablet": "{tbl}", "mL": "mL"}.get(unit, unit)
        d["doseAndRate"] = [
            {"doseQuantity": {"value": dose, "unit": unit, "system": UCUM, "code": ucum}}
        ]
    return d


def med_request(
    mid: str,
    name: str,
    rxnorm: str | None = None,
    *,
    status: str = "active",
    intent: str = "order",
    days_ago: float = 30,
    dosages: Iterable[dict] = (),
    pid: str = PATIENT_ID,
) -> dict:
    """A MedicationRequest; with `rxnorm=None` the medication is text only."""
    concept: dict[str, Any] = {"text": name}
    if rxnorm:
        concept["coding"] = [{"system": RXNORM, "code": rxnorm, "display": name}]
    mr: dict[str, Any] = {
        "resourceType": "MedicationRequest",
        "id": mid,
        "status": status,
        "intent": intent,
        "medicationCodeableConcept": concept,
        "subject": {"reference": f"Patient/{pid}"},
        "authoredOn": day(-days_ago),
    }
    dosages = list(dosages)
    if dosages:
        mr["dosageInstruction"] = dosages
    return mr


# RxNorm products from terminology.md (tofacitinib products).
TOFA_5MG = ("1357541", "tofacitinib 5 MG Oral Tablet")
TOFA_10MG = ("2048566", "tofacitinib 10 MG Oral Tablet")
TOFA_XR11 = ("1741046", "tofacitinib 11 MG 24HR Extended Release Oral Tablet")
TOFA_XR22 = ("2273113", "tofacitinib 22 MG 24HR Extended Release Oral Tablet")
TOFA_SOLUTION = ("2478433", "tofacitinib 1 MG/ML Oral Solution")


def tofacitinib_draft(
    mid: str = "draft-tofa",
    product: tuple[str, str] = TOFA_5MG,
    dosages: Iterable[dict] | None = None,
) -> dict:
    """A draft tofacitinib order (default 5 mg BID)."""
    if dosages is None:
        dosages = [dosage(5, "mg", 2)]
    return med_request(mid, product[1], product[0], status="draft", intent="order", days_ago=0, dosages=dosages)


def base_resources(*, on_tofacitinib: bool = False) -> list[dict]:
    """A 44-year-old woman with anti-MDA5 DM and ILD whose workup is complete.

    Nothing in it should fire a warning for a tofacitinib start: recent CBC,
    LFTs, renal function and lipids, negative IGRA, negative HBsAg, anti-HBc
    and anti-HCV, two doses of recombinant zoster vaccine, a CMV PCR not
    detected 5 days ago, prednisone 10 mg/day (below the PJP threshold),
    non-smoker, age < 50.
    With `on_tofacitinib`, an active 5 mg BID order started 120 days ago and
    every monitoring window met.
    """
    res: list[dict] = [
        patient(),
        condition("c-dm", "Dermatomyositis with respiratory involvement", "M33.11", "396230008"),
        condition("c-ild", "Interstitial lung disease", "J84.10", "233703007"),
        observation("o-weight", "29463-7", 62, "kg", 20),
        observation("o-creat", "2160-0", 0.7, "mg/dL", 10),
        observation("o-egfr", "98979-8", 105, "mL/min/1.73m2", 10, ucum="mL/min/{1.73_m2}"),
        observation("o-alc", "731-0", 1.4, "10*3/uL", 10),
        observation("o-anc", "751-8", 4.2, "10*3/uL", 10),
        observation("o-hb", "718-7", 12.8, "g/dL", 10),
        observation("o-wbc", "6690-2", 6.5, "10*3/uL", 10),
        observation("o-plt", "777-3", 250, "10*3/uL", 10),
        observation("o-alt", "1742-6", 24, "U/L", 10),
        observation("o-ast", "1920-8", 22, "U/L", 10),
        observation("o-chol", "2093-3", 190, "mg/dL", 40),
        observation("o-ldl", "13457-7", 110, "mg/dL", 40),
        observation("o-hdl", "2085-9", 55, "mg/dL", 40),
        observation("o-tg", "2571-8", 120, "mg/dL", 40),
        observation("o-igra", "71773-6", days_ago=60, value_concept=NEGATIVE),
        observation("o-hbsag", "5196-1", days_ago=60, value_concept=NEGATIVE),
        observation("o-antihbc", "16933-4", days_ago=60, value_concept=NEGATIVE),
        observation("o-antihcv", "16128-1", days_ago=60, value_concept=NEGATIVE),
        observation("o-cmv", "72493-0", days_ago=5, value_concept=NOT_DETECTED),
        observation("o-mda5", "82424-3", days_ago=90, value_concept=POSITIVE),
        observation(
            "o-smoking", "72166-2", days_ago=100, value_concept=(SNOMED, "266919005", "Never smoked tobacco")
        ),
        immunization("i-rzv-1", "187", "Zoster vaccine recombinant", 200),
        immunization("i-rzv-2", "187", "Zoster vaccine recombinant", 140),
        med_request(
            "m-pred", "prednisone 10 MG Oral Tablet", days_ago=60, dosages=[dosage(10, "mg", 1)]
        ),
    ]
    if on_tofacitinib:
        res.append(
            med_request("m-tofa", TOFA_5MG[1], TOFA_5MG[0], days_ago=120, dosages=[dosage(5, "mg", 2)])
        )
        # First monitoring window (day 28-56 after start) met at day 35;
        # the results 10 days ago keep the 90-day interval.
        res += [
            observation("o-alc-w5", "731-0", 1.2, "10*3/uL", 85),
            observation("o-anc-w5", "751-8", 3.9, "10*3/uL", 85),
            observation("o-hb-w5", "718-7", 12.5, "g/dL", 85),
            observation("o-alt-w5", "1742-6", 28, "U/L", 85),
            observation("o-ast-w5", "1920-8", 25, "U/L", 85),
            observation("o-ldl-w5", "13457-7", 118, "mg/dL", 85),
            observation("o-chol-w5", "2093-3", 198, "mg/dL", 85),
            observation("o-hb-pre", "718-7", 12.9, "g/dL", 125),
        ]
    return res


def bundle(resources: Iterable[dict]) -> dict:
    entries = [{"fullUrl": f"urn:uuid:{r['resourceType']}-{r['id']}", "resource": r} for r in resources]
    b: dict[str, Any] = {"resourceType": "Bundle", "type": "searchset", "total": len(entries)}
    if entries:  # FHIR JSON has no empty arrays (an empty search has no `entry`)
        b["entry"] = entries
    return b


def prefetch(resources: Iterable[dict]) -> dict:
    """Split resources into the service's prefetch keys."""
    resources = list(resources)
    by_type = lambda t: [r for r in resources if r["resourceType"] == t]  # noqa: E731
    pats = by_type("Patient")
    return {
        "patient": pats[0] if pats else None,
        "medications": bundle(by_type("MedicationRequest")),
        "observations": bundle(by_type("Observation")),
        "conditions": bundle(by_type("Condition")),
        "immunizations": bundle(by_type("Immunization")),
        "allergies": bundle(by_type("AllergyIntolerance")),
        "administrations": bundle(by_type("MedicationAdministration")),
    }


def _context(pid: str) -> dict:
    return {"userId": "Practitioner/dr-fixture", "patientId": pid, "encounterId": "enc-1"}


def order_select(
    drafts: list[dict],
    resources: list[dict] | None = None,
    selections: list[str] | None = None,
    pid: str = PATIENT_ID,
) -> dict:
    """An order-select request; by default every draft is selected."""
    resources = base_resources() if resources is None else resources
    ctx = _context(pid)
    ctx["selections"] = selections or [f"MedicationRequest/{d['id']}" for d in drafts]
    ctx["draftOrders"] = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": d} for d in drafts]}
    return {
        "hook": "order-select",
        "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
        "context": ctx,
        "prefetch": prefetch(resources),
    }


def order_sign(drafts: list[dict], resources: list[dict] | None = None, pid: str = PATIENT_ID) -> dict:
    resources = base_resources() if resources is None else resources
    ctx = _context(pid)
    ctx["draftOrders"] = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": d} for d in drafts]}
    return {
        "hook": "order-sign",
        "hookInstance": "0b6f1f1c-5c1e-4b0e-9f0a-4b8e2f8f2b11",
        "context": ctx,
        "prefetch": prefetch(resources),
    }


def patient_view(resources: list[dict] | None = None, pid: str = PATIENT_ID) -> dict:
    resources = base_resources(on_tofacitinib=True) if resources is None else resources
    return {
        "hook": "patient-view",
        "hookInstance": "5f2c6a7e-3d4b-4f6e-8a1b-9c0d1e2f3a4b",
        "context": _context(pid),
        "prefetch": prefetch(resources),
    }


SERVICE_FOR_HOOK = {
    "order-select": "tofacitinib-order-select",
    "order-sign": "tofacitinib-order-sign",
    "patient-view": "tofacitinib-patient-view",
}


def write_scenario(
    name: str,
    description: str,
    request: dict,
    topics: list[str],
    *,
    indicators: dict[str, str] | None = None,
    suggestions: dict[str, list[str]] | None = None,
    as_of: datetime = AS_OF,
) -> Path:
    """Write fixtures/<name>/scenario.json; `topics` is the exact list of card topics expected.

    `suggestions`: topic -> the labels its card(s) must offer, in order.
    """
    folder = FIXTURES / name
    folder.mkdir(parents=True, exist_ok=True)
    expect: dict[str, Any] = {"topics": sorted(topics)}
    if indicators:
        expect["indicators"] = indicators
    if suggestions:
        expect["suggestions"] = suggestions
    doc = {
        "description": description,
        "service": SERVICE_FOR_HOOK[request["hook"]],
        "asOf": as_of.isoformat().replace("+00:00", "Z"),
        "expect": expect,
        "request": request,
    }
    path = folder / "scenario.json"
    path.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    return path


def without(resources: list[dict], *ids: str) -> list[dict]:
    """The resources minus those with the given ids."""
    return [r for r in resources if r.get("id") not in ids]
