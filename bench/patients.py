"""Realistic hook requests of a given size: the fixture base patient plus a year of labs.

The extra resources are clinically quiet (normal values, inactive medications,
resolved conditions), so the benchmark measures the service doing its normal
work, not an unusual path.
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


def request(hook: str, total_resources: int, seed: int = 7) -> dict[str, Any]:
    """A hook request whose prefetch holds about `total_resources` resources."""
    rng = random.Random(seed)
    on_tofa = hook == "patient-view"
    base = k.base_resources(on_tofacitinib=on_tofa)
    resources = base + _quiet_resources(max(0, total_resources - len(base)), rng)
    if hook == "order-select":
        return k.order_select([k.tofacitinib_draft()], resources)
    if hook == "order-sign":
        return k.order_sign([k.tofacitinib_draft()], resources)
    return k.patient_view(resources)


SERVICE = k.SERVICE_FOR_HOOK
AS_OF = k.AS_OF
