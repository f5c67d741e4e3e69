"""The benchmark's patients: both shapes carry the same clinical content."""

from __future__ import annotations

import pytest

from bench import inprocess, patients
from cdshooks.app import create_app
from cdshooks.config import Settings
from tests.conformance import check_response


def _answer(hook: str, shape: str) -> list[str]:
    app = create_app(Settings(auth_enabled=False, now=patients.AS_OF, feedback_db=":memory:"))
    body = patients.request(hook, 120, shape=shape)
    resp = app.test_client().post(f"/cds-services/{patients.SERVICE[hook]}", json=body)
    assert resp.status_code == 200, resp.data
    assert check_response(resp.get_json()) == []
    return sorted(c["summary"] for c in resp.get_json()["cards"])


@pytest.mark.parametrize("hook", ["order-select", "order-sign", "patient-view"])
def test_ehr_shaped_and_skeletal_patients_get_the_same_cards(hook):
    cards = _answer(hook, "ehr")
    assert cards  # the quiet patient still gets its one card (dose guidance / safety summary)
    assert cards == _answer(hook, "skeletal")


def test_ehr_shape_adds_what_ehrs_send_and_keeps_the_clinical_elements():
    skeletal = patients.request("order-select", 60, shape="skeletal")["prefetch"]["observations"]["entry"]
    ehr = patients.request("order-select", 60, shape="ehr")["prefetch"]["observations"]["entry"]
    for s, e in zip(skeletal, ehr):
        s, e = s["resource"], e["resource"]
        assert {"meta", "identifier", "category", "encounter", "performer"} <= set(e)
        for key in ("id", "status", "effectiveDateTime", "valueQuantity", "valueString", "valueCodeableConcept"):
            assert e.get(key) == s.get(key)
        assert [c["code"] for c in e["code"]["coding"]] == [c["code"] for c in s["code"]["coding"]]


def test_the_in_process_benchmark_measures_an_answered_call():
    result = inprocess.measure("order-select", 50, iterations=3, shape="ehr")
    assert result.cards >= 1 and result.p50_ms > 0 and result.json_loads_p50_ms > 0


def test_ehr_shaped_resources_carry_no_nulls_or_empty_arrays():
    """FHIR JSON has neither: the realistic shape must not add them."""

    def bad(value, path="$"):
        if value is None:
            yield path
        elif isinstance(value, list):
            if not value:
                yield path
            for i, v in enumerate(value):
                yield from bad(v, f"{path}[{i}]")
        elif isinstance(value, dict):
            for k, v in value.items():
                yield from bad(v, f"{path}.{k}")

    for hook in ("order-select", "patient-view"):
        prefetch = patients.request(hook, 120, shape="ehr")["prefetch"]
        assert list(bad(prefetch)) == []
