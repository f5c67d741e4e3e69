"""The per-record lab index answers exactly what a scan of the observations would."""

from __future__ import annotations

import random
from datetime import timedelta

from cdshooks.clinical import labs
from cdshooks.data.record import Coding, LabResult, PatientRecord
from tests.clinical.records import LOINC, NOW

# Tests the index must tell apart, plus a code that is no lab test of ours.
_CODES = ["731-0", "751-8", "718-7", "2160-0", "5195-3", "00000-0"]


def _scan(record: PatientRecord, test: str) -> list[labs.Result]:
    """The index-free reading: every observation of `test`, usable, newest first."""
    found = []
    for lab in record.observations:
        if labs.lab_test_key(lab) == test and lab.effective is not None and lab.status not in labs.UNUSABLE_STATUSES:
            found.append(lab)
    found.sort(key=lambda lab: lab.effective, reverse=True)
    return found


def _random_record(seed: int) -> PatientRecord:
    rng = random.Random(seed)
    observations = []
    for i in range(60):
        observations.append(
            LabResult(
                id=f"o{i}",
                codings=(Coding(LOINC, rng.choice(_CODES)),),
                status=rng.choice(["final", "final", "preliminary", "cancelled", "entered-in-error"]),
                # Some results share a date (order among them must be kept), some have none.
                effective=None if rng.random() < 0.1 else NOW - timedelta(days=rng.randint(0, 20)),
                value=round(rng.uniform(0.5, 9), 1),
                unit="10*3/uL",
            )
        )
    return PatientRecord(patient_id="p1", now=NOW, observations=tuple(observations))


def test_indexed_results_equal_a_scan_newest_first():
    for seed in range(5):
        record = _random_record(seed)
        seen = 0
        for test in ("lymphocytes-absolute", "neutrophils-absolute", "hemoglobin", "creatinine", "hbsag"):
            expected = _scan(record, test)
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

    record = PatientRecord(patient_id="p1", now=NOW)
    assert record.derived(compute) == 1
    assert record.derived(compute) == 1
    other = PatientRecord(patient_id="p2", now=NOW)
    assert other.derived(compute) == 2
    assert calls == ["p1", "p2"]
    assert record == PatientRecord(patient_id="p1", now=NOW)  # the memo is not part of the value
