"""The cheap check of suggestion resources never accepts what the full validation rejects.

Soundness is the one property that matters: `ShapeCheck.fits` True must mean that
`validate_resource` (fhir.resources models + `code_problems`) accepts the resource;
fits False only sends it to that validation. The resources checked are those the
service emits on every fixture, then mutants of them (each element replaced by
values of the wrong form, removed, or joined by an unknown one), then random ones.
"""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cdshooks import fhir_shapes
from cdshooks.config import Settings
from cdshooks.fhir_shapes import PRIMITIVES, Element, Shape, ShapeCheck, ShapeError, default_check, validate_emitted
from cdshooks.fhir_validation import InvalidResource, validate_resource

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def _valid(resource: Any) -> bool:
    try:
        validate_resource(resource)
    except InvalidResource:
        return False
    return True


@pytest.fixture(scope="module")
def emitted(tmp_path_factory) -> list[tuple[str, dict[str, Any]]]:
    """(fixture, resource) for every suggestion resource the service validates while replaying the fixtures."""
    from cdshooks.app import create_app

    seen: list[tuple[str, dict[str, Any]]] = []
    current = [""]

    def spy(resource):
        seen.append((current[0], copy.deepcopy(dict(resource))))
        return validate_emitted(resource)

    base = Settings(auth_enabled=False, feedback_db=str(tmp_path_factory.mktemp("shapes") / "feedback.sqlite3"))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(fhir_shapes, "validate_emitted", spy)
        logging.disable(logging.INFO)  # a request log line per fixture says nothing here
        try:
            for path in sorted(FIXTURES.glob("*/scenario.json")):
                scenario = json.loads(path.read_text(encoding="utf-8"))
                current[0] = path.parent.name
                as_of = datetime.fromisoformat(scenario["asOf"].replace("Z", "+00:00"))
                client = create_app(replace(base, now=as_of)).test_client()
                resp = client.post(f"/cds-services/{scenario['service']}", json=scenario["request"])
                assert resp.status_code == 200, path.parent.name
        finally:
            logging.disable(logging.NOTSET)
    return seen


@pytest.fixture(scope="module")
def samples(emitted) -> list[dict[str, Any]]:
    """One fast-path resource per distinct structure (the set of element paths it has)."""
    check = default_check()
    out: dict[frozenset[str], dict[str, Any]] = {}
    for _, r in emitted:
        if check.fits(r):
            out.setdefault(frozenset(p for p, _ in _paths(r)), r)
    return list(out.values())


def test_every_emitted_resource_is_judged_alike_and_most_take_the_fast_path(emitted):
    check = default_check()
    assert len(emitted) >= 100, "the fixtures emit fewer suggestion resources than they did"
    fast = [(fx, r) for fx, r in emitted if check.fits(r)]
    wrong = [fx for fx, r in fast if not _valid(r)]
    assert wrong == [], "accepted by the shape check, rejected by the full validation"
    assert all(validate_emitted(r) == validate_resource(r) == r for _, r in fast)
    # A regression to "everything falls back" fails here: nearly all are the service's own shapes.
    assert len(fast) >= 0.9 * len(emitted), sorted({fx for fx, r in emitted if not check.fits(r)})
    assert all(check.fits(r) for _, r in emitted if r["resourceType"] == "ServiceRequest")
    assert {r["resourceType"] for _, r in fast} == {"ServiceRequest", "MedicationRequest"}


def test_a_client_element_outside_the_shapes_takes_the_full_validation(monkeypatch):
    judged = []
    monkeypatch.setattr(fhir_shapes, "validate_resource", lambda r: judged.append(r) or dict(r))
    order = {"resourceType": "ServiceRequest", "status": "draft", "intent": "order",
             "subject": {"reference": "Patient/p1"}}
    assert validate_emitted(order) == order and judged == []
    with_extension = {**order, "extension": [{"url": "http://example.org/x", "valueString": "y"}]}
    assert validate_emitted(with_extension) == with_extension and judged == [with_extension]


def test_an_invalid_resource_is_rejected_as_before():
    bad = {"resourceType": "ServiceRequest", "status": "ordered", "intent": "order",
           "subject": {"reference": "Patient/p1"}}
    with pytest.raises(InvalidResource, match="ordered"):
        validate_emitted(bad)


def test_the_shapes_agree_with_the_models():
    assert default_check().codes[("MedicationRequest", "status")] >= {"draft", "active"}
    assert "d" in default_check().codes[("TimingRepeat", "periodUnit")]


@pytest.mark.parametrize("shape, message", [
    (Shape("ServiceRequest", {"status": Element("code", required=True), "intent": Element("code", required=True),
                              "subject": Element(Shape("Reference", {"colour": Element("string")}), required=True)}),
     "Reference.colour is not an element"),
    (Shape("ServiceRequest", {"status": Element("code", required=True), "intent": Element("code", required=True),
                              "subject": Element(Shape("Reference", {}), required=True, many=True)}),
     "one value or a list"),
    (Shape("ServiceRequest", {"status": Element("code", required=True), "intent": Element("code", required=True),
                              "subject": Element(Shape("Reference", {}), required=True),
                              "authoredOn": Element("string")}),
     "authoredOn is a dateTime in the model"),
    (Shape("ServiceRequest", {"status": Element("code", required=True), "intent": Element("code"),
                              "subject": Element(Shape("Reference", {}), required=True)}),
     "intent is required by the model"),
    (Shape("MedicationRequest", {"status": Element("code", required=True), "intent": Element("code", required=True),
                                 "subject": Element(Shape("Reference", {}), required=True),
                                 "medicationCodeableConcept": Element(Shape("CodeableConcept", {})),
                                 "medicationReference": Element(Shape("Reference", {}))}),
     "a choice of exactly one"),
])
def test_a_shape_unlike_its_model_is_refused(shape, message):
    with pytest.raises(ShapeError, match=message):
        ShapeCheck({shape.type_name: shape})


# --- mutations -------------------------------------------------------------------------------------------

# Values of the wrong form for one element or another: empty and blank strings, whitespace a code may
# not have, lone surrogates (no Unicode text), impossible or zone-less dates, numbers out of range,
# booleans, nulls, empty and wrong containers.
WRONG = (
    "", " ", "\t", "a  b", " lead", "trail ", "line\nbreak", "not a code!", "x" * 65, "Patient/ p1", "#contained",
    "2026-02-30", "2026-13-01", "2026-01-15T12:00:00", "2026-01-15T24:00:00Z", "2026-01-15T12:00Z",
    "a\ud800b", "\udfff", "2026-01-15T12:00:60Z", "2026-01-15T12:00:00+15:00", "0000-01-01", "2026-1-5",
    "26-01-15", "5", "abc",
    0, -1, 1.5, 2**31, 10**400, True, False, None, [], {}, [""], [None], {"text": "x"}, {"coding": "x"},
    {"reference": 5}, [{"text": ""}], float("inf"),
)


def _paths(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    """(path, value) of every element and list item below the root."""
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, value in items:
        yield (*path, key), value
        yield from _paths(value, (*path, key))


def _set(resource: dict[str, Any], path: tuple[Any, ...], value: Any, delete: bool = False) -> dict[str, Any]:
    out = copy.deepcopy(resource)
    node = out
    for key in path[:-1]:
        node = node[key]
    if delete:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return out


def mutants(resource: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(what was done, mutant): each element replaced, wrapped, unwrapped, removed; unknown ones added."""
    for path, value in list(_paths(resource)):
        where = ".".join(map(str, path))
        for wrong in WRONG:
            yield f"{where} = {wrong!r}", _set(resource, path, wrong)
        yield f"{where} wrapped in a list", _set(resource, path, [value])
        if isinstance(value, list) and value:
            yield f"{where} unwrapped", _set(resource, path, value[0])
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            yield f"{where} as a string", _set(resource, path, str(value))
        yield f"{where} removed", _set(resource, path, None, delete=True)
        if isinstance(value, dict):
            for key, added in (("colour", "red"), ("_status", {"id": "x"}), ("extension", [{"url": "x"}])):
                yield f"{where}.{key} added", _set(resource, (*path, key), added)
    for key, added in (("colour", "red"), ("resourceType", "Observation"), ("fhir_comments", "x")):
        yield f"{key} = {added!r}", {**resource, key: added}


def counterexamples(check: ShapeCheck, resources: list[dict[str, Any]], limit: int = 3) -> list[str]:
    """Mutants the check accepts and the full validation rejects (empty: the check is sound on them)."""
    found = []
    for resource in resources:
        for what, mutant in mutants(resource):
            if check.fits(mutant) and not _valid(mutant):
                found.append(f"{resource['resourceType']}: {what}")
                if len(found) >= limit:
                    return found
    return found


def test_no_mutant_is_accepted_that_the_full_validation_rejects(samples):
    assert len(samples) >= 4, "too few distinct resources to mutate"
    assert counterexamples(default_check(), samples) == []


def test_some_mutants_still_take_the_fast_path(samples):
    # Otherwise the test above would pass for a check that accepts nothing.
    check = default_check()
    accepted = sum(check.fits(m) for r in samples for _, m in mutants(r))
    assert accepted >= 50


class _NoRequired(ShapeCheck):
    def has_required(self, node, shape):
        return True


class _NoValueSets(ShapeCheck):
    def __init__(self) -> None:
        super().__init__()
        self.codes = {}


class _NoUnknownElements(ShapeCheck):
    def fits_object(self, node, shape, resource=False):
        return super().fits_object({k: v for k, v in node.items() if k in shape.elements or k == "resourceType"},
                                   shape, resource)


def _lenient(**forms: Callable[[Any], bool]) -> Callable[[], ShapeCheck]:
    return lambda: ShapeCheck(primitives={**PRIMITIVES, **forms})


@pytest.mark.parametrize("make", [
    _lenient(code=lambda v: isinstance(v, str)),
    _lenient(dateTime=lambda v: isinstance(v, str)),
    _lenient(dateTime=lambda v: isinstance(v, str) and fhir_shapes._DATE_TIME.fullmatch(v) is not None),
    _lenient(string=lambda v: isinstance(v, str)),
    _lenient(string=lambda v: isinstance(v, str) and fhir_shapes._GRAPHIC.search(v) is not None),
    _lenient(decimal=lambda v: isinstance(v, (int, float, str))),
    _lenient(positiveInt=lambda v: isinstance(v, int)),
    _lenient(id=lambda v: isinstance(v, str)),
    _NoRequired,
    _NoValueSets,
    _NoUnknownElements,
], ids=["code", "dateTime", "dateTime-calendar", "string", "string-unicode", "decimal", "positiveInt", "id",
        "required", "value-sets", "unknown-elements"])
def test_a_too_lenient_check_is_caught(make, samples):
    assert counterexamples(make(), samples, limit=1) != []


# --- random values ----------------------------------------------------------------------------------------

_OFFSETS = st.integers(min_value=-14 * 60, max_value=14 * 60).map(lambda m: timezone(timedelta(minutes=m)))
_DATE_TIMES = st.builds(
    lambda d, tz, spec: d.replace(tzinfo=tz).isoformat(timespec=spec).replace("+00:00", "Z"),
    st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 30)), _OFFSETS,
    st.sampled_from(["seconds", "milliseconds", "microseconds", "minutes"]),
)
_STRINGS = st.one_of(
    st.text(max_size=8), st.sampled_from([w for w in WRONG if isinstance(w, str)]), _DATE_TIMES, st.dates().map(str),
    st.sampled_from(["draft", "order", "d", "wk", "mg", "Patient/p-1", "é", "ü\ud83d"]),
    st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=4),  # lone surrogates too
)
_JSON = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), _STRINGS),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.sampled_from(["text", "coding", "code", "system", "value", "reference", "repeat", "x"]), inner, max_size=3),
    max_leaves=6,
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_random_value_anywhere_is_never_accepted_wrongly(samples, data):
    resource = data.draw(st.sampled_from(samples))
    path, _ = data.draw(st.sampled_from(list(_paths(resource))))
    mutant = _set(resource, path, data.draw(_JSON))
    if default_check().fits(mutant):
        assert _valid(mutant), (path, mutant)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(when=_DATE_TIMES)
def test_a_date_time_the_check_accepts_the_models_accept(samples, when):
    order = next(r for r in samples if "authoredOn" in r)
    mutant = {**order, "authoredOn": when}
    if default_check().fits(mutant):
        assert _valid(mutant), when


def test_the_service_s_own_date_times_take_the_fast_path(samples):
    order = next(r for r in samples if "authoredOn" in r)
    now = datetime(2026, 1, 15, 12, 0, 0, 123456, tzinfo=UTC)
    for stamp in (now.isoformat(), now.replace(microsecond=0).isoformat(), "2026-01-15T12:00:00Z", "2026-01-15"):
        assert default_check().fits({**order, "authoredOn": stamp}), stamp
