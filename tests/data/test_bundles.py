"""Reading the shape of prefetch values: which Bundles are failed queries."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cdshooks.data.bundles import failed_answer, only_outcomes, resources_of, usable_resources

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


# usable_resources must read every value exactly as failed_answer + resources_of do, in one pass.

_severity = st.sampled_from(["error", "fatal", "warning", "information", "Information ", None, 3])
_issue = st.one_of(st.fixed_dictionaries({"severity": _severity}), st.none(), st.just("junk"))
_outcome = st.builds(
    lambda issues: {"resourceType": "OperationOutcome", "issue": issues},
    st.one_of(st.lists(_issue, max_size=3), _issue),
)
_resource = st.one_of(_outcome, st.just(LAB), st.just({"resourceType": "Condition"}), st.just({"id": "x"}),
                      st.none(), st.just("text"), st.just([LAB]))
_entry = st.one_of(st.fixed_dictionaries({"resource": _resource}), st.just({}), st.none(), st.just("junk"))
_bundle = st.builds(
    lambda entries: {"resourceType": "Bundle", "type": "searchset", "entry": entries},
    st.one_of(st.lists(_entry, max_size=6), _entry),
)
_value = st.one_of(_bundle, _outcome, st.just(LAB), st.just({"resourceType": "Bundle"}))


@settings(max_examples=400, deadline=None)
@given(_value, st.booleans())
def test_usable_resources_reads_as_the_failure_rule_and_the_entry_reader_do(value, search):
    expected = None if failed_answer(value, search=search) else resources_of(value)
    assert usable_resources(value, search=search) == expected


def test_the_equivalence_test_can_fail():
    # A Bundle with an error outcome beside results is a failure: a reader that only looked for
    # results (resources_of) would disagree, and the property above would catch it.
    value = bundle({"resource": LAB}, {"resource": OUTCOME})
    assert usable_resources(value) is None
    assert resources_of(value) == [LAB]
