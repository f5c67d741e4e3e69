"""FHIR R4 resources the infection / screening / monitoring cards suggest creating.

ServiceRequests carry the LOINC code of the lab-tests value set; the PJP
prophylaxis MedicationRequest is text-only (terminology.md lists no code for
TMP-SMX, and a code is never invented).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

from cdshooks.clinical.findings import Action, Suggestion
from cdshooks.data.record import PatientRecord
from cdshooks.terminology import lookup


@dataclass(frozen=True)
class _CatalogEntry:
    code: str  # first LOINC code: the one ordered
    title: str  # "Lymphocytes, absolute count"
    short: str  # "ALC", for card summaries


@lru_cache(maxsize=1)
def _lab_catalog() -> dict[str, _CatalogEntry]:
    """Test key -> what to order and how to name it, from the lab-tests value set."""
    text = resources.files("cdshooks.terminology").joinpath("valuesets", "lab-tests.json").read_text("utf-8")
    out = {}
    for m in json.loads(text)["members"]:
        codes = [c["code"] for c in m.get("codes", []) if c.get("system") == lookup.LOINC]
        if codes:
            title = m.get("title", m["name"])
            out[m["name"]] = _CatalogEntry(codes[0], title, m.get("properties", {}).get("short") or title)
    return out


def lab_title(test: str) -> str:
    """The lab test's display name ("Lymphocytes, absolute count")."""
    entry = _lab_catalog().get(test)
    return entry.title if entry else test


def lab_short(test: str) -> str:
    """The test's short name for card summaries ("ALC"), else its display name."""
    entry = _lab_catalog().get(test)
    return entry.short if entry else test


def short_list(tests: list[str], lipid_tests: tuple[str, ...]) -> str:
    """Short names for a summary; a whole missing lipid panel reads as "lipids"."""
    whole_panel = set(lipid_tests) <= set(tests)
    names = [lab_short(t) for t in tests if not (whole_panel and t in lipid_tests)]
    return ", ".join(names + (["lipids"] if whole_panel else []))


def service_request(record: PatientRecord, test: str, reason: str) -> dict[str, Any]:
    """A draft lab order for `test` for this patient."""
    entry = _lab_catalog()[test]
    code, title = entry.code, entry.title
    return {
        "resourceType": "ServiceRequest",
        "status": "draft",
        "intent": "order",
        "code": {"coding": [{"system": lookup.LOINC, "code": code}], "text": title},
        "subject": {"reference": f"Patient/{record.patient_id}"},
        "authoredOn": record.now.isoformat(),
        "reasonCode": [{"text": reason}],
    }


def order_labs(key: str, record: PatientRecord, tests: list[str], reason: str, **facts: Any) -> Suggestion:
    """One suggestion creating a ServiceRequest per test."""
    actions = tuple(
        Action("create", f"Order {lab_title(t)}", service_request(record, t, reason)) for t in tests
    )
    return Suggestion(key, actions, is_recommended=True, facts=facts)


def tmp_smx_request(record: PatientRecord, *, three_times_weekly: bool = False) -> dict[str, Any]:
    """TMP-SMX for PJP prophylaxis: 80/400 mg daily, or 160/800 mg three times weekly."""
    if three_times_weekly:
        name = "sulfamethoxazole 800 mg / trimethoprim 160 mg oral tablet"
        text = "1 tablet (trimethoprim 160 mg / sulfamethoxazole 800 mg) by mouth three times weekly"
        repeat = {"frequency": 3, "period": 1, "periodUnit": "wk"}
    else:
        name = "sulfamethoxazole 400 mg / trimethoprim 80 mg oral tablet"
        text = "1 tablet (trimethoprim 80 mg / sulfamethoxazole 400 mg) by mouth once daily"
        repeat = {"frequency": 1, "period": 1, "periodUnit": "d"}
    return {
        "resourceType": "MedicationRequest",
        "status": "draft",
        "intent": "order",
        "medicationCodeableConcept": {"text": name},
        "subject": {"reference": f"Patient/{record.patient_id}"},
        "authoredOn": record.now.isoformat(),
        "reasonCode": [{"text": "Pneumocystis jirovecii pneumonia prophylaxis"}],
        "dosageInstruction": [
            {
                "text": text,
                "timing": {"repeat": repeat},
                "route": {"text": "oral"},
                "doseAndRate": [
                    {
                        "doseQuantity": {
                            "value": 1,
                            "unit": "tablet",
                            "system": "http://unitsofmeasure.org",
                            "code": "{tbl}",
                        }
                    }
                ],
            }
        ],
    }
