"""The three CDS services: id, hook, discovery text and prefetch templates.

Prefetch keys are a contract (tests/fixturekit.py, cdshooks/data/gather.py,
cdshooks/openapi.json): patient, medications, observations, conditions,
immunizations, allergies, administrations. `immunizations`, `allergies` and
`administrations` are optional: when neither prefetched nor fetchable, the
rules that read them say what they could not check (`allergies`: the PJP
card's sulfonamide-allergy check; `administrations`: the triple-therapy card's
cyclophosphamide / IVIG given without an order) or stay silent. The
Observation query names every exact LOINC code of the lab-test value set, so a
code added there is prefetched without touching this file. CDS Hooks 2.0
prefetch tokens cannot express relative dates, so the lab query is bounded by
`_sort=-date&_count=500` (the newest 500 results); each rule then applies its
own lookback window (90 days for lab thresholds; a positive IGRA/TST counts at any
time, so an old one is seen only if it is among those 500). The same holds for
MedicationAdministration: no `effective-time=ge<12 months ago>` is possible, so
the query asks for the given ones (completed, in-progress) newest first, and
the recent-exposure windows are applied in code.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from cdshooks.protocol import ORDER_SELECT, ORDER_SIGN, PATIENT_VIEW
from cdshooks.terminology.lookup import LOINC, load

PATIENT = "{{context.patientId}}"


@lru_cache(maxsize=1)
def observation_codes() -> tuple[str, ...]:
    """`http://loinc.org|CODE` for every exact LOINC code in the lab-test value set."""
    seen: dict[str, None] = {}
    for member in load("lab-tests").members:
        for system, code, is_prefix in member.codes:
            if system == LOINC and not is_prefix:
                seen.setdefault(f"{LOINC}|{code}", None)
    return tuple(seen)


@lru_cache(maxsize=1)
def prefetch_templates() -> Mapping[str, str]:
    """The prefetch templates, identical for the three services."""
    return {
        "patient": f"Patient/{PATIENT}",
        # completed / on-hold orders give the tofacitinib start date and past LTBI treatment
        "medications": f"MedicationRequest?subject=Patient/{PATIENT}&status=active,on-hold,completed&_count=200",
        "observations": (
            f"Observation?subject=Patient/{PATIENT}&code={','.join(observation_codes())}"
            "&_sort=-date&_count=500"
        ),
        "conditions": f"Condition?subject=Patient/{PATIENT}&_count=200",
        "immunizations": f"Immunization?patient=Patient/{PATIENT}&_count=100",
        # AllergyIntolerance's patient search parameter is `patient` (it has no `subject`).
        "allergies": f"AllergyIntolerance?patient={PATIENT}&_count=100",
        # Recent exposure (rituximab 12 months, cyclophosphamide / IVIG 30 days): dates filtered in code.
        "administrations": (
            f"MedicationAdministration?patient=Patient/{PATIENT}&status=completed,in-progress"
            "&_sort=-effective-time&_count=500"
        ),
    }


# Without these the service cannot judge safely: 412 when neither prefetched nor fetchable.
REQUIRED_PREFETCH = frozenset({"patient", "medications", "observations", "conditions"})

_USAGE = (
    "Send the prefetch (or a fhirServer on the service's allowlist with fhirAuthorization "
    "granting read access to Patient, MedicationRequest, Observation, Condition, Immunization, "
    "AllergyIntolerance and MedicationAdministration; the last three are optional). "
    "Requests must carry a CDS Hooks JWT unless the operator disabled authentication. "
    "Off-label use of tofacitinib: guidance is for specialists."
)


@dataclass(frozen=True)
class Service:
    """One CDS service as announced in discovery."""

    id: str
    hook: str
    title: str
    description: str
    usage_requirements: str = _USAGE

    @property
    def prefetch(self) -> Mapping[str, str]:
        return prefetch_templates()

    @property
    def required_prefetch(self) -> frozenset[str]:
        return REQUIRED_PREFETCH

    def discovery(self) -> dict[str, Any]:
        """This service's entry in the discovery response."""
        return {
            "hook": self.hook,
            "id": self.id,
            "title": self.title,
            "description": self.description,
            "usageRequirements": self.usage_requirements,
            "prefetch": dict(self.prefetch),
        }


SERVICES: Mapping[str, Service] = {
    s.id: s
    for s in (
        Service(
            id="tofacitinib-order-select",
            hook=ORDER_SELECT,
            title="Tofacitinib in myositis ILD: order check",
            description=(
                "When tofacitinib (or a drug interacting with it) is selected: dose, renal and "
                "hepatic adjustment, interactions, infection (CMV, TB, hepatitis B and C, zoster) and lab safety "
                "checks for anti-MDA5 dermatomyositis with interstitial lung disease."
            ),
        ),
        Service(
            id="tofacitinib-order-sign",
            hook=ORDER_SIGN,
            title="Tofacitinib in myositis ILD: signing check",
            description=(
                "Before a tofacitinib order (or an interacting order) is signed: the same safety "
                "checks as at selection, on the final draft orders."
            ),
        ),
        Service(
            id="tofacitinib-patient-view",
            hook=PATIENT_VIEW,
            title="Tofacitinib in myositis ILD: on-therapy monitoring",
            description=(
                "When the chart of a patient on tofacitinib opens: overdue CMV PCR and safety labs, "
                "abnormal results, interactions and screening gaps."
            ),
        ),
    )
}


def discovery_document() -> dict[str, Any]:
    """The body of GET /cds-services."""
    return {"services": [s.discovery() for s in SERVICES.values()]}
