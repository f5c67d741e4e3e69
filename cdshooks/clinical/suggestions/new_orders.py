"""FHIR R4 resources the infection / screening / monitoring cards suggest creating.

Lab orders are panels: a test that belongs to a panel of the lab-panels value
set (CBC with differential, hepatic function panel, creatinine, lipid panel) is
ordered as that panel, one ServiceRequest per panel however many of its parts
are missing (clinical-rules.md, screen-baseline-labs); other tests (IGRA,
HBsAg, CMV PCR) carry the LOINC code of the lab-tests value set. The PJP
prophylaxis MedicationRequests are text-only (terminology.md lists no code for
TMP-SMX or atovaquone, and a code is never invented).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

from cdshooks.clinical.findings import Action, Phrase, Series, Suggestion
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


@dataclass(frozen=True)
class Panel:
    name: str  # "cbc-with-differential"
    code: str  # the LOINC code ordered
    title: str  # "CBC with automated differential"
    short: str  # "CBC with differential"
    components: tuple[str, ...]  # lab-tests keys the panel reports


@lru_cache(maxsize=1)
def _panels() -> dict[str, Panel]:
    """Lab-tests key -> the panel that orders it, from the lab-panels value set."""
    text = resources.files("cdshooks.terminology").joinpath("valuesets", "lab-panels.json").read_text("utf-8")
    out: dict[str, Panel] = {}
    for m in json.loads(text)["members"]:
        props = m.get("properties", {})
        code = next(c["code"] for c in m["codes"] if c.get("system") == lookup.LOINC)
        panel = Panel(m["name"], code, m.get("title", m["name"]), props.get("short") or m["name"],
                      tuple(props.get("components", ())))
        for test in panel.components:
            out.setdefault(test, panel)
    return out


def panel_of(test: str) -> Panel | None:
    """The panel ordered for this test, or None when it is ordered on its own."""
    return _panels().get(test)


def orders_for(tests: list[str]) -> list[Panel | str]:
    """What to order for these tests: each panel once (first-seen order), else the test itself."""
    out: dict[str, Panel | str] = {}
    for t in tests:
        panel = panel_of(t)
        out.setdefault(panel.name if panel else t, panel or t)
    return list(out.values())


def order_names(tests: list[str]) -> list[str]:
    """The display names of what `order_labs` would order for these tests."""
    return [o.title if isinstance(o, Panel) else lab_title(o) for o in orders_for(tests)]


def lab_title(test: str) -> str:
    """The lab test's display name ("Lymphocytes, absolute count")."""
    entry = _lab_catalog().get(test)
    return entry.title if entry else test


def lab_short(test: str) -> str:
    """The test's short name for card summaries ("ALC"), else its display name."""
    entry = _lab_catalog().get(test)
    return entry.short if entry else test


def short_names(tests: list[str], lipid_tests: tuple[str, ...]) -> Series:
    """Short names for a summary; a whole missing lipid panel reads as "lipids" (cards/_phrases.toml, [labs])."""
    whole_panel = set(lipid_tests) <= set(tests)
    names: list[str | Phrase] = [lab_short(t) for t in tests if not (whole_panel and t in lipid_tests)]
    return Series(tuple(names + ([Phrase("labs.lipids")] if whole_panel else [])), "comma")


def service_request(record: PatientRecord, test: str | Panel, reason: str) -> dict[str, Any]:
    """A draft lab order for a panel, or for a test that belongs to no panel, for this patient."""
    if isinstance(test, Panel):
        code, title = test.code, test.title
    else:
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
    """One suggestion creating a ServiceRequest per panel with a missing part (never one per component),
    and one per test that belongs to no panel."""
    actions = tuple(
        Action("create", Phrase("actions.order_lab", {"order": o.title if isinstance(o, Panel) else lab_title(o)}),
               service_request(record, o, reason))
        for o in orders_for(tests)
    )
    return Suggestion(key, actions, is_recommended=True, facts=facts)


def atovaquone_request(record: PatientRecord) -> dict[str, Any]:
    """Atovaquone 1500 mg once daily for PJP prophylaxis (a sulfonamide allergy rules out TMP-SMX)."""
    return {
        "resourceType": "MedicationRequest",
        "status": "draft",
        "intent": "order",
        "medicationCodeableConcept": {"text": "atovaquone 750 mg/5 mL oral suspension"},
        "subject": {"reference": f"Patient/{record.patient_id}"},
        "authoredOn": record.now.isoformat(),
        "reasonCode": [{"text": "Pneumocystis jirovecii pneumonia prophylaxis (sulfonamide allergy)"}],
        "dosageInstruction": [
            {
                "text": "1500 mg (10 mL) by mouth once daily with food",
                "timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d"}},
                "route": {"text": "oral"},
                "doseAndRate": [
                    {"doseQuantity": {"value": 1500, "unit": "mg", "system": "http://unitsofmeasure.org", "code": "mg"}}
                ],
            }
        ],
    }


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
