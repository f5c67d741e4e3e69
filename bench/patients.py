"""Realistic hook requests of a given size: the fixture base patient plus a year of labs.

The extra resources are clinically quiet (normal values, inactive medications,
resolved conditions), so the benchmark measures the service doing its normal
work, not an unusual path.

Two shapes of the same patient:
- "ehr": resources as EHR FHIR APIs return them (US Core lab Observations with
  meta, identifier, category, encounter, issued, performer and referenceRange;
  MedicationRequests with requester, category, route and dispenseRequest; ...),
  about 1 KB per resource. This is what a production hook call carries.
- "skeletal": only the elements the fixtures need (~400 bytes per resource):
  the same clinical content in the fewest bytes, so the JSON floor is lowest
  and the service's per-resource work weighs most (a worst case for the ratio).
"""

from __future__ import annotations

import random
from typing import Any

from tests import fixturekit as k

# (LOINC, UCUM unit, low, high) for routine results spread over the past year.
_ROUTINE_LABS = [
    ("731-0", "10*3/uL", 1.0, 2.5),
    ("751-8", "10*3/uL", 2.5, 6.0),
    ("718-7", "g/dL", 11.5, 14.5),
    ("6690-2", "10*3/uL", 4.5, 9.0),
    ("777-3", "10*3/uL", 180, 350),
    ("1742-6", "U/L", 12, 35),
    ("1920-8", "U/L", 12, 35),
    ("2160-0", "mg/dL", 0.6, 0.9),
    ("2276-4", "ng/mL", 80, 300),
    ("2157-6", "U/L", 40, 150),
]


def _quiet_resources(count: int, rng: random.Random) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    n_meds = max(1, count // 12)
    n_conditions = max(1, count // 20)
    n_labs = max(0, count - n_meds - n_conditions)
    for i in range(n_meds):
        out.append(
            k.med_request(
                f"bm-med-{i}",
                rng.choice(["acetaminophen 500 MG Oral Tablet", "omeprazole 20 MG Capsule", "calcium carbonate 500 MG"]),
                status="completed",
                days_ago=rng.randint(40, 365),
                dosages=[k.dosage(1, "tablet", 2)],
            )
        )
    for i in range(n_conditions):
        out.append(
            k.condition(f"bm-cond-{i}", "Gastro-oesophageal reflux", clinical="resolved", onset_days_ago=rng.randint(100, 900))
        )
    for i in range(n_labs):
        loinc, unit, low, high = _ROUTINE_LABS[i % len(_ROUTINE_LABS)]
        out.append(k.observation(f"bm-obs-{i}", loinc, round(rng.uniform(low, high), 2), unit, rng.randint(11, 365)))
    return out


_CATEGORY = {
    "Observation": {"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "laboratory",
                    "display": "Laboratory"},
    "MedicationRequest": {"system": "http://terminology.hl7.org/CodeSystem/medicationrequest-category",
                          "code": "outpatient", "display": "Outpatient"},
    "Condition": {"system": "http://terminology.hl7.org/CodeSystem/condition-category",
                  "code": "problem-list-item", "display": "Problem List Item"},
}
_PROFILE = {
    "Observation": "http://hl7.org/fhir/us/core/StructureDefinition/us-core-observation-lab",
    "MedicationRequest": "http://hl7.org/fhir/us/core/StructureDefinition/us-core-medicationrequest",
    "Condition": "http://hl7.org/fhir/us/core/StructureDefinition/us-core-condition-problems-health-concerns",
}
# LOINC long common names of the routine labs, as EHRs send them in code.coding.display.
_LAB_NAMES = {
    "731-0": "Lymphocytes [#/volume] in Blood by Automated count",
    "751-8": "Neutrophils [#/volume] in Blood by Automated count",
    "718-7": "Hemoglobin [Mass/volume] in Blood",
    "6690-2": "Leukocytes [#/volume] in Blood by Automated count",
    "777-3": "Platelets [#/volume] in Blood by Automated count",
    "1742-6": "Alanine aminotransferase [Enzymatic activity/volume] in Serum or Plasma",
    "1920-8": "Aspartate aminotransferase [Enzymatic activity/volume] in Serum or Plasma",
    "2160-0": "Creatinine [Mass/volume] in Serum or Plasma",
    "2276-4": "Ferritin [Mass/volume] in Serum or Plasma",
    "2157-6": "Creatine kinase [Enzymatic activity/volume] in Serum or Plasma",
}
# (low, high) reference ranges of the routine labs, as a lab system reports them.
_RANGES = {loinc: (low, high) for loinc, _, low, high in _ROUTINE_LABS}


def _as_from_an_ehr(resource: dict[str, Any], i: int) -> dict[str, Any]:
    """The resource with the elements an EHR's FHIR API adds (none changes what it means clinically)."""
    rtype = resource["resourceType"]
    if rtype not in _CATEGORY:
        return resource
    out = {
        "resourceType": rtype,
        "id": resource["id"],
        "meta": {"versionId": "1", "lastUpdated": "2026-01-14T08:00:00Z", "profile": [_PROFILE[rtype]]},
        "identifier": [{"use": "usual", "system": "urn:oid:1.2.840.114350.1.13.0.1.7.2.798268",
                        "value": f"{900000 + i}"}],
        **resource,
        "category": [{"coding": [_CATEGORY[rtype]], "text": _CATEGORY[rtype]["display"]}],
        "encounter": {"reference": f"Encounter/enc-{i % 40}", "display": "Office Visit"},
    }
    out["subject"] = {**resource.get("subject", {}), "display": "Fixture, Mara"}
    if rtype == "Observation":
        if resource.get("effectiveDateTime"):
            out["issued"] = resource["effectiveDateTime"]
        out["performer"] = [{"reference": "Organization/lab-1", "display": "Main Hospital Laboratory"}]
        coding = out["code"]["coding"][0]
        name = _LAB_NAMES.get(coding["code"])
        if name and "display" not in coding:  # the quiet routine labs; the scenario's own stay as they are
            out["code"] = {"coding": [{**coding, "display": name}], "text": name, **out["code"]}
            out["code"]["coding"] = [{**coding, "display": name}]
        quantity = resource.get("valueQuantity")
        if quantity and coding["code"] in _RANGES:
            low, high = _RANGES[coding["code"]]
            unit = {"unit": quantity.get("unit"), "system": "http://unitsofmeasure.org", "code": quantity.get("code")}
            out["referenceRange"] = [{"low": {"value": low, **unit}, "high": {"value": high, **unit},
                                      "text": f"{low}-{high} {quantity.get('unit')}"}]
    elif rtype == "MedicationRequest":
        out["requester"] = {"reference": "Practitioner/pr-1", "display": "Rheumatology, Attending"}
        out["reportedBoolean"] = False
        out["dispenseRequest"] = {"numberOfRepeatsAllowed": 3, "quantity": {"value": 60, "unit": "tablet"},
                                  "expectedSupplyDuration": {"value": 30, "unit": "days",
                                                             "system": "http://unitsofmeasure.org", "code": "d"}}
        if resource.get("dosageInstruction"):
            out["dosageInstruction"] = [
                {**d, "route": {"coding": [{"system": "http://snomed.info/sct", "code": "26643006",
                                            "display": "Oral route"}], "text": "oral"}}
                for d in resource["dosageInstruction"]
            ]
    elif rtype == "Condition":
        if resource.get("onsetDateTime"):
            out["recordedDate"] = resource["onsetDateTime"]
        out["recorder"] = {"reference": "Practitioner/pr-1", "display": "Rheumatology, Attending"}
    return out


SHAPES = ("ehr", "skeletal")


def request(hook: str, total_resources: int, seed: int = 7, shape: str = "ehr") -> dict[str, Any]:
    """A hook request whose prefetch holds about `total_resources` resources of this shape."""
    rng = random.Random(seed)
    on_tofa = hook == "patient-view"
    base = k.base_resources(on_tofacitinib=on_tofa)
    resources = base + _quiet_resources(max(0, total_resources - len(base)), rng)
    if shape == "ehr":
        resources = [_as_from_an_ehr(r, i) for i, r in enumerate(resources)]
    elif shape != "skeletal":
        raise ValueError(f"shape must be one of {SHAPES}")
    if hook == "order-select":
        return k.order_select([k.tofacitinib_draft()], resources)
    if hook == "order-sign":
        return k.order_sign([k.tofacitinib_draft()], resources)
    return k.patient_view(resources)


SERVICE = k.SERVICE_FOR_HOOK
AS_OF = k.AS_OF
