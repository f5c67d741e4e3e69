"""Draft orders shaped exactly as the CDS Hooks sandbox's Rx View sends them.

The sandbox (cds-hooks/sandbox, createFhirResource for R4) writes the dose as a
tablet count in UCUM annotation `{pill}` with no `unit`, a `timing.repeat` with
`boundsPeriod` dates, no `intent` in older builds, and `category` as a single
object rather than an array.
"""

from __future__ import annotations

from tests import fixturekit as k


def sandbox_draft(rxnorm: str, name: str, pills: float, per_day: int, mid: str = "request-123") -> dict:
    return {
        "resourceType": "MedicationRequest",
        "id": mid,
        "status": "draft",
        "subject": {"reference": f"Patient/{k.PATIENT_ID}"},
        "authoredOn": k.day(0)[:10],
        "category": {
            "coding": [
                {"system": "http://terminology.hl7.org/CodeSystem/medicationrequest-category", "code": "community"}
            ]
        },
        "dosageInstruction": [
            {
                "timing": {
                    "repeat": {
                        "frequency": per_day,
                        "period": 1,
                        "periodUnit": "d",
                        "boundsPeriod": {"start": k.day(0)[:10], "end": k.day(30)[:10]},
                    }
                },
                "doseAndRate": [
                    {"doseQuantity": {"value": pills, "system": "http://unitsofmeasure.org", "code": "{pill}"}}
                ],
            }
        ],
        "dispenseRequest": {
            "expectedSupplyDuration": {"value": 30, "unit": "days", "system": "http://unitsofmeasure.org", "code": "d"}
        },
        "medicationCodeableConcept": {"text": name, "coding": [{"display": name, "system": k.RXNORM, "code": rxnorm}]},
    }
