"""The builder drops every status of the record's status vocabularies (data/record.py).

The clinical modules rely on it and do not filter these statuses again: labs reads no
entered-in-error, cancelled or registered result; problem_list, hepatic and renal see
no refuted Condition, and no inactive one outside `condition_history`.
"""

from __future__ import annotations

import pytest

from cdshooks.clinical import labs
from cdshooks.data.record import (
    ACTIVE_CLINICAL_STATUSES,
    DROPPED_ADMINISTRATION_STATUSES,
    DROPPED_IMMUNIZATION_STATUSES,
    DROPPED_OBSERVATION_STATUSES,
    DROPPED_VERIFICATION_STATUSES,
    INACTIVE_ALLERGY_STATUSES,
)
from tests.clinical.records import administration, allergy, build, lab, problem, vaccination

VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"


@pytest.mark.parametrize("status", sorted(DROPPED_OBSERVATION_STATUSES))
@pytest.mark.parametrize("spelled", [str.lower, str.title])
def test_an_observation_with_a_dropped_status_never_reaches_the_record(status, spelled):
    rec = build([lab("731-0", 2, 0.2, "10*3/uL", status=spelled(status), oid="gone"),
                 lab("731-0", 5, 1.3, "10*3/uL", oid="kept")])
    assert [o.id for o in rec.observations] == ["kept"]
    assert [r.lab.id for r in labs.results(rec, "lymphocytes-absolute")] == ["kept"]


@pytest.mark.parametrize("status", sorted(DROPPED_VERIFICATION_STATUSES))
def test_a_condition_or_allergy_with_a_dropped_verification_status_is_gone(status):
    rec = build([problem("A41.9", "Sepsis", verification=status), problem("I10", "Hypertension"),
                 allergy("a1", ["Sulfa drugs"], verification=status)])
    assert [p.id for p in rec.conditions] == [p.id for p in rec.condition_history] == ["Hypertension"]
    assert rec.allergies == ()


@pytest.mark.parametrize("status", sorted(DROPPED_VERIFICATION_STATUSES))
def test_one_dropped_verification_code_among_several_drops_the_condition(status):
    sepsis = problem("A41.9", "Sepsis")
    sepsis["verificationStatus"] = {"coding": [{"system": VERIFICATION, "code": "confirmed"},
                                               {"system": VERIFICATION, "code": status}]}
    rec = build([sepsis])
    assert rec.conditions == rec.condition_history == ()


@pytest.mark.parametrize("status", [*sorted(ACTIVE_CLINICAL_STATUSES), None])
def test_active_or_unstated_conditions_are_current(status):
    rec = build([problem("A41.9", "Sepsis", clinical=status)])
    (p,) = rec.conditions
    assert p.clinical_status == status and rec.condition_history == rec.conditions


@pytest.mark.parametrize("status", ["inactive", "resolved", "remission"])
def test_inactive_conditions_are_history_only(status):
    rec = build([problem("A41.9", "Sepsis", clinical=status)])
    assert rec.conditions == ()
    assert [p.id for p in rec.condition_history] == ["Sepsis"]


def test_every_current_condition_reads_as_active_and_unrefuted():
    statuses = [*ACTIVE_CLINICAL_STATUSES, "inactive", "resolved", "remission", None]
    verifications = [*DROPPED_VERIFICATION_STATUSES, "confirmed", "provisional", "unconfirmed", None]
    rec = build([problem(None, f"{c}-{v}", clinical=c, verification=v) for c in statuses for v in verifications])
    assert rec.conditions
    for p in rec.conditions:
        assert p.clinical_status in (*ACTIVE_CLINICAL_STATUSES, None)
    for p in rec.condition_history:
        assert p.verification_status not in DROPPED_VERIFICATION_STATUSES


@pytest.mark.parametrize("status", sorted(DROPPED_IMMUNIZATION_STATUSES))
def test_an_immunization_not_given_is_gone(status):
    rec = build([vaccination("187", 100, status=status), vaccination("187", 50, oid="v2")])
    assert [v.id for v in rec.immunizations] == ["v2"]


@pytest.mark.parametrize("status", sorted(DROPPED_ADMINISTRATION_STATUSES))
def test_an_administration_not_given_is_gone(status):
    rec = build([administration("a1", "rituximab 1000 mg", 30, status=status),
                 administration("a2", "rituximab 1000 mg", 20)])
    assert [a.id for a in rec.administrations] == ["a2"]


@pytest.mark.parametrize("status", sorted(INACTIVE_ALLERGY_STATUSES))
def test_an_allergy_that_no_longer_applies_is_gone(status):
    rec = build([allergy("a1", ["Sulfa drugs"], clinical=status), allergy("a2", ["Penicillin"], clinical=None)])
    assert [a.id for a in rec.allergies] == ["a2"]
