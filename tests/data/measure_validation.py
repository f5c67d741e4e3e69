"""Measure strict fhir.resources validation against the lenient builder (not a test).

    .venv/bin/python -m tests.data.measure_validation [--repeat 200]

Prints milliseconds per resource for each path, on the fixture kit's fully
worked-up patient (on tofacitinib). The numbers justify keeping strict
validation off the request path (README, "Data gathering and FHIR fallback").
"""

from __future__ import annotations

import argparse
import time

from cdshooks.data.builder import build_record
from cdshooks.data.gather import Gathered
from cdshooks.fhir_validation import validate_resource
from tests import fixturekit as kit


def _per_resource_ms(fn, resources: list[dict], repeat: int) -> float:
    fn()  # warm up (imports, model construction)
    started = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - started) * 1000 / (repeat * len(resources))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()

    resources = kit.base_resources(on_tofacitinib=True)
    drafts = [kit.tofacitinib_draft()]
    gathered = Gathered(resources={k: v for k, v in _by_key(resources).items()})

    def strict() -> None:
        for r in resources + drafts:
            validate_resource(r)

    def lenient() -> None:
        build_record(gathered, patient_id=kit.PATIENT_ID, draft_orders=drafts, selections=None, now=kit.AS_OF)

    n = len(resources) + len(drafts)
    started = time.perf_counter()
    strict()  # first call: imports fhir.resources and builds the models
    print(f"{n} resources, {args.repeat} rounds; first strict pass {1000 * (time.perf_counter() - started):.0f} ms")
    print(f"fhir.resources R4B validation: {_per_resource_ms(strict, resources + drafts, args.repeat):.3f} ms/resource")
    print(f"lenient build_record:          {_per_resource_ms(lenient, resources + drafts, args.repeat):.3f} ms/resource")


def _by_key(resources: list[dict]) -> dict[str, list[dict]]:
    keys = {"Patient": "patient", "MedicationRequest": "medications", "Observation": "observations",
            "Condition": "conditions", "Immunization": "immunizations"}
    out: dict[str, list[dict]] = {}
    for r in resources:
        out.setdefault(keys[r["resourceType"]], []).append(r)
    return out


if __name__ == "__main__":
    main()
