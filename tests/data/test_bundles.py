"""Reading the shape of prefetch values: which Bundles are failed queries."""

from __future__ import annotations

import pytest

from cdshooks.data.bundles import only_outcomes

OUTCOME = {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "timeout"}]}
LAB = {"resourceType": "Observation", "id": "o1"}


def bundle(*entries):
    return {"resourceType": "Bundle", "type": "searchset", "entry": list(entries)}


@pytest.mark.parametrize(
    "value",
    [
        OUTCOME,
        bundle({"resource": OUTCOME}),
        bundle({"resource": OUTCOME}, {"resource": OUTCOME}),
        bundle({"resource": OUTCOME}, "not an entry", None),  # junk entries do not count either way
        {"resourceType": "Bundle", "entry": {"resource": OUTCOME}},  # one entry sent as an object
    ],
)
def test_a_failed_query_is_only_outcomes(value):
    assert only_outcomes(value) is True


@pytest.mark.parametrize(
    "value",
    [
        LAB,
        bundle({"resource": LAB}),
        bundle({"resource": OUTCOME}, {"resource": LAB}),  # a search warning before the results
        bundle({"resource": LAB}, {"resource": OUTCOME}),
        bundle({"fullUrl": "urn:uuid:1"}),  # an entry without a resource is not an outcome
        bundle(),  # no matches: an empty result, not a failure
        {"resourceType": "Bundle"},
        {"resourceType": "Bundle", "entry": ["junk"]},
        None,
        "OperationOutcome",
    ],
)
def test_results_or_an_empty_search_are_not_only_outcomes(value):
    assert only_outcomes(value) is False


def test_it_stops_at_the_first_clinical_resource():
    """A prefetch Bundle holds thousands of entries; the first result settles it."""

    class Counting(list):
        read = 0

        def __iter__(self):
            for item in super().__iter__():
                Counting.read += 1
                yield item

    entries = Counting([{"resource": LAB}] * 1000)
    assert only_outcomes({"resourceType": "Bundle", "entry": entries}) is False
    assert Counting.read == 1
