"""The lazy Observation index reads exactly what reading every Observation up front would."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from cdshooks.clinical import labs
from cdshooks.data import observations as observations_module
from cdshooks.data.builder import build_record
from cdshooks.data.gather import Gathered
from cdshooks.data.observations import ObservationIndex, group_key, group_of
from cdshooks.data.parsers import Unreadable, lab_result, read_lab
from cdshooks.terminology import lookup

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
LOINC = "http://loinc.org"
SUBJECT = {"reference": "Patient/p1"}


def _record(resources: list[dict]):
    gathered = Gathered(resources={"observations": resources})
    return build_record(gathered, patient_id="p1", draft_orders=[], selections=None, now=NOW)


def _eager(resources: list[dict]):
    """The reading before the index: every Observation read, newest first, undated last."""
    read = []
    for r in resources:
        try:
            lab = lab_result(r)
        except Unreadable:
            continue
        if lab is not None:
            read.append(lab)
    dated = sorted((lab for lab in read if lab.effective), key=lambda lab: lab.effective, reverse=True)
    return tuple(dated + [lab for lab in read if not lab.effective])


# Code shapes real EHRs send, tidy and messy, several reading the same.
_CODES = [
    {"coding": [{"system": LOINC, "code": "731-0", "display": "Lymphocytes [#/volume] in Blood"}]},
    {"coding": [{"system": LOINC, "code": "731-0"}]},
    {"coding": [{"system": " http://loinc.org ", "code": " 731-0 "}]},  # same reading, other raw key
    {"coding": {"system": LOINC, "code": "751-8"}},  # one object where an array belongs
    {"coding": [{"system": LOINC, "code": "718-7"}, {"system": "urn:local", "code": "HGB"}]},
    {"coding": [{"system": LOINC, "code": "2160-0", "extension": [{"url": "x"}]}], "text": "Creatinine"},
    {"coding": [{"system": LOINC, "code": {"odd": "object"}, "display": "CMV DNA"}]},  # unhashable raw value
    {"coding": [None, "junk", {"system": LOINC, "code": "5195-3"}]},
    {"text": "PPD"},
    {"coding": None, "text": "  "},  # no code at all: unreadable
    None,
    "731-0",
]
_DATES = [
    {"effectiveDateTime": "2026-01-10T08:00:00Z"},
    {"effectiveDateTime": "2026-01-10T08:00:00Z"},  # ties keep arrival order
    {"effectiveDateTime": "2026-01"},
    {"effectiveDateTime": "not a date", "issued": "2026-01-12T00:00:00+01:00"},
    {"effectivePeriod": {"start": "2025-12-24"}},
    {"effectiveInstant": "2025-11-02T10:00:00.1234567Z"},
    {},
]
_STATUSES = ["final", "Final", "preliminary", "cancelled", "Entered-In-Error", None, 7, {"x": 1}]
_VALUES = [
    {"valueQuantity": {"value": 1.2, "unit": "10*3/uL"}},
    {"valueQuantity": {"value": "<35", "unit": "IU/mL"}},
    {"valueString": "Not detected"},
    {"valueCodeableConcept": {"coding": [{"code": "260373001", "display": "Detected"}]}},
    {"dataAbsentReason": {"text": "not performed"}},
]


def _random_observations(seed: int, count: int = 80) -> list[dict]:
    rng = random.Random(seed)
    out = []
    for i in range(count):
        resource = {"resourceType": "Observation", "id": f"o{i}", "subject": SUBJECT, "code": rng.choice(_CODES)}
        status = rng.choice(_STATUSES)
        if status is not None:
            resource["status"] = status
        resource.update(rng.choice(_DATES))
        resource.update(rng.choice(_VALUES))
        out.append(resource)
    return out


@pytest.mark.parametrize("seed", range(8))
def test_index_reads_the_same_observations_in_the_same_order(seed):
    resources = _random_observations(seed)
    record = _record(resources)
    assert isinstance(record.observations, ObservationIndex)
    assert tuple(record.observations) == _eager(resources)
    assert record.observations == _eager(resources)  # and compares equal to the plain tuple
    assert len(record.observations) == len(_eager(resources))


def _test_of(codings, text) -> str | None:
    member = lookup.load("lab-tests").match(codings, (text,))
    return member.name if member else None


@pytest.mark.parametrize("seed", range(8))
def test_lab_results_from_the_index_equal_those_read_up_front(seed):
    resources = _random_observations(seed)
    built = _record(resources)
    seen = 0
    for test in ("lymphocytes-absolute", "neutrophils-absolute", "hemoglobin", "creatinine", "tst"):
        eager = [lab for lab in _eager(resources) if lab.effective and _test_of(lab.codings, lab.text) == test]
        keys = [key for key, g in built.observations.groups().items() if _test_of(g.codings, g.text) == test]
        assert list(built.observations.newest_first(keys)) == eager
        # labs reads its results from exactly these, in this order (leaving out those without a value)
        got = [r.lab for r in labs.results(built, test)]
        assert got == [lab for lab in eager if lab in set(got)]
        newest = labs.latest(built, test)
        assert (newest and newest.lab) == (got[0] if got else None)
        seen += len(got)
    assert seen > 0


def test_observations_without_any_code_are_skipped_when_built():
    record = _record([{"resourceType": "Observation", "id": "x", "status": "final", "subject": SUBJECT,
                       "code": {"text": " "}, "effectiveDateTime": "2026-01-01"}])
    assert [(s.id, s.reason) for s in record.skipped] == [("x", "Observation has no code")]
    assert tuple(record.observations) == ()


_MORE_CODES = [
    {"coding": [{"code": {"x": 1}}]},
    {"coding": [{"code": {"x": 2}}]},
    {"coding": [{"code": "1"}], "text": "a"},
    {"coding": [{"code": "1"}], "text": "b"},
    {"coding": [{"code": 1}]},
    {"coding": [{"code": True}]},
    {"coding": ({"code": "1"},)},
    {},
]


def test_equal_group_keys_mean_the_same_reading():
    codes = _CODES + _MORE_CODES
    for a in codes:
        for b in codes:
            if group_key(a) == group_key(b):
                assert group_of(a) == group_of(b), (a, b)


def test_the_usual_shape_groups_by_its_values():
    assert group_key({"coding": [{"system": LOINC, "code": "731-0"}]}) == group_key(
        {"coding": [{"system": LOINC, "code": "731-0"}], "id": "ignored"})
    assert group_key({"coding": [{"system": LOINC, "code": "731-0"}]}) != group_key(
        {"coding": [{"system": LOINC, "code": "751-8"}]})


def _count_reads(monkeypatch) -> list[str]:
    read: list[str] = []

    def counting(resource, *args):
        read.append(resource["id"])
        return read_lab(resource, *args)

    monkeypatch.setattr(observations_module, "read_lab", counting)
    return read


def _series(code: str, days: list[int], prefix: str) -> list[dict]:
    return [
        {"resourceType": "Observation", "id": f"{prefix}{d}", "status": "final", "subject": SUBJECT,
         "code": {"coding": [{"system": LOINC, "code": code}]},
         "effectiveDateTime": f"2026-01-{d:02d}", "valueQuantity": {"value": 1.5, "unit": "10*3/uL"}}
        for d in days
    ]


def test_latest_reads_only_the_newest_result_and_other_tests_are_not_read(monkeypatch):
    read = _count_reads(monkeypatch)
    record = _record(_series("731-0", [3, 9, 5], "alc") + _series("751-8", [4, 8], "anc"))
    assert read == []  # building the record reads no result
    assert labs.latest(record, "lymphocytes-absolute").lab.id == "alc9"
    assert read == ["alc9"]
    assert [r.lab.id for r in labs.results(record, "lymphocytes-absolute")] == ["alc9", "alc5", "alc3"]
    assert read == ["alc9", "alc5", "alc3"]  # each read once; the ANC results never


def test_latest_skips_a_newest_result_with_nothing_measured(monkeypatch):
    read = _count_reads(monkeypatch)
    resources = _series("731-0", [3, 9], "alc")
    del resources[1]["valueQuantity"]  # the newest (day 9) carries no value
    record = _record(resources)
    assert labs.latest(record, "lymphocytes-absolute").lab.id == "alc3"
    assert read == ["alc9", "alc3"]


def test_a_result_that_fails_to_read_is_left_out_and_noted(monkeypatch):
    def failing(resource, *args):
        if resource["id"] == "alc9":
            raise TypeError("odd value")
        return read_lab(resource, *args)

    monkeypatch.setattr(observations_module, "read_lab", failing)
    record = _record(_series("731-0", [3, 9], "alc"))
    assert labs.latest(record, "lymphocytes-absolute").lab.id == "alc3"
    assert record.observations.unreadable == [("alc9", "unreadable (TypeError)")]
