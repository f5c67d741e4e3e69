"""The per-record lab index answers exactly what a scan of the observations would."""

from __future__ import annotations

import random

from cdshooks.clinical import labs
from cdshooks.data.parsers import lab_result
from cdshooks.data.record import PatientRecord
from cdshooks.terminology import lookup
from tests.clinical.records import LOINC, build, observation

# Tests the index must tell apart, plus a code that is no lab test of ours.
_CODES = ["731-0", "751-8", "718-7", "2160-0", "5195-3", "00000-0"]


def _scan(resources: list[dict], test: str) -> list:
    """The index-free reading: each Observation read on its own, those of `test` that count, newest first."""
    found = []
    for resource in resources:
        lab = lab_result(resource)  # None: a status that does not count
        member = lookup.load("lab-tests").match(lab.codings, (lab.text,)) if lab is not None else None
        if member is not None and member.name == test and lab.effective is not None:
            found.append(lab)
    found.sort(key=lambda lab: lab.effective, reverse=True)
    return found


def _random_observations(seed: int) -> list[dict]:
    rng = random.Random(seed)
    return [
        observation(
            f"o{i}",
            [(LOINC, rng.choice(_CODES))],
            # Some results share a date (order among them must be kept), some have none.
            None if rng.random() < 0.1 else rng.randint(0, 20),
            round(rng.uniform(0.5, 9), 1),
            "10*3/uL",
            status=rng.choice(["final", "final", "preliminary", "cancelled", "entered-in-error"]),
        )
        for i in range(60)
    ]


def _random_record(seed: int) -> PatientRecord:
    return build(_random_observations(seed))


def test_indexed_results_equal_a_scan_newest_first():
    for seed in range(5):
        resources = _random_observations(seed)
        record = build(resources)
        seen = 0
        for test in ("lymphocytes-absolute", "neutrophils-absolute", "hemoglobin", "creatinine", "hbsag"):
            expected = _scan(resources, test)
            got = [r.lab for r in labs.results(record, test)]
            assert got == expected
            assert all(a.effective >= b.effective for a, b in zip(got, got[1:]))
            seen += len(got)
        assert seen > 0  # the random record did exercise the index


def test_results_list_is_the_callers_own():
    record = _random_record(1)
    first = labs.results(record, "lymphocytes-absolute")
    assert first
    first.clear()
    assert labs.results(record, "lymphocytes-absolute")


def test_derived_value_is_computed_once_per_record():
    calls = []

    def compute(record: PatientRecord) -> int:
        calls.append(record.patient_id)
        return len(calls)

    record = build(patient_id="p1")
    assert record.derived(compute) == 1
    assert record.derived(compute) == 1
    other = build(patient_id="p2")
    assert other.derived(compute) == 2
    assert calls == ["p1", "p2"]
    assert record == build(patient_id="p1")  # the memo is not part of the value
