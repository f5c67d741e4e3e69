"""Prefetch Bundles that carry an OperationOutcome (clinical-rules.md Definitions).

Epic answers a search with no results with a searchset Bundle whose only entry
is an OperationOutcome (search.mode "outcome", severity information). That is
an empty result: no fallback fetch, no 412. Only error/fatal issues make a key
unavailable.
"""

from __future__ import annotations

import pytest

from cdshooks.data.bundles import benign_outcome, failed_answer
from cdshooks.data.gather import DataUnavailable
from tests.data.test_gather import BASE, FULL_PREFETCH, MED, PATIENT, bundle, run


def epic_outcome(severity: str = "information", code: str = "informational") -> dict:
    return {
        "resourceType": "OperationOutcome",
        "issue": [{
            "severity": severity,
            "code": code,
            "details": {
                "coding": [{"system": "urn:oid:1.2.840.114350.1.13.0.1.7.2.657369", "code": "4101",
                            "display": "Resource request returns no results."}],
                "text": "No results found",
            },
        }],
    }


def epic_empty(severity: str = "information", code: str = "informational") -> dict:
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": 0,
        "link": [{"relation": "self", "url": f"{BASE}/MedicationRequest?patient=p1"}],
        "entry": [{
            "fullUrl": "urn:uuid:5b2c0b9a-0000-0000-0000-000000000000",
            "resource": epic_outcome(severity, code),
            "search": {"mode": "outcome"},
        }],
    }


@pytest.mark.parametrize("severity,code", [("information", "informational"), ("information", "processing"),
                                           ("warning", "processing"), ("Information", "informational")])
def test_epic_empty_search_is_an_empty_result_not_fetched(rsps, severity, code):
    got = run({**FULL_PREFETCH, "medications": epic_empty(severity, code)}, required={"medications"})
    assert got.resources["medications"] == []
    assert got.unavailable == frozenset()
    assert len(rsps.calls) == 0


def test_epic_empty_search_without_server_is_not_unavailable(rsps):
    got = run({**FULL_PREFETCH, "medications": epic_empty()}, server=None, required={"medications"})
    assert got.resources["medications"] == [] and "medications" not in got.unavailable


@pytest.mark.parametrize("severity", ["error", "fatal"])
def test_error_or_fatal_issue_makes_the_key_unavailable(rsps, severity):
    with pytest.raises(DataUnavailable):
        run({**FULL_PREFETCH, "medications": epic_empty(severity, "exception")}, server=None,
            required={"medications"})
    got = run({**FULL_PREFETCH, "medications": epic_empty(severity, "exception")}, server=None)
    assert "medications" in got.unavailable


def test_one_error_among_information_issues_is_a_failure():
    outcome = epic_outcome()
    outcome["issue"].append({"severity": "error", "code": "timeout"})
    assert failed_answer(bundle(outcome)) is True
    assert failed_answer(bundle(epic_outcome(), outcome)) is True


def test_an_outcome_without_issues_or_severity_is_a_failure():
    assert benign_outcome({"resourceType": "OperationOutcome", "issue": []}) is False
    assert failed_answer(bundle({"resourceType": "OperationOutcome", "issue": [{"code": "processing"}]})) is True


def test_a_bare_information_outcome_is_an_empty_search_but_a_failed_read(rsps):
    got = run({**FULL_PREFETCH, "medications": epic_outcome()})
    assert got.resources["medications"] == [] and len(rsps.calls) == 0
    rsps.get(f"{BASE}/Patient/p1", json=PATIENT)
    got = run({**FULL_PREFETCH, "patient": epic_outcome()})
    assert got.resources["patient"] == [PATIENT]  # the read was fetched instead
    assert failed_answer(epic_outcome(), search=False) is True


def test_a_fetched_epic_empty_search_is_an_empty_result(rsps):
    rsps.get(f"{BASE}/MedicationRequest", json=epic_empty())
    prefetch = {k: v for k, v in FULL_PREFETCH.items() if k != "medications"}
    got = run(prefetch, required={"medications"})
    assert got.resources["medications"] == [] and got.unavailable == frozenset()
    assert len(rsps.calls) == 1


def test_results_next_to_an_information_outcome_are_read():
    got = run({**FULL_PREFETCH, "medications": bundle(MED, epic_outcome())})
    assert got.resources["medications"] == [MED]


@pytest.mark.parametrize("severity", ["error", "fatal"])
def test_an_error_outcome_beside_results_makes_the_key_unavailable(severity):
    # clinical-rules.md: only error/fatal issues make the key unavailable, results beside them included
    # (a partial answer: an immunizations Bundle with a flu vaccine and an error must not fire screen-zoster)
    got = run({**FULL_PREFETCH, "medications": bundle(MED, epic_empty(severity, "exception")["entry"][0]["resource"])},
              server=None)
    assert "medications" in got.unavailable
