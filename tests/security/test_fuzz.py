"""Fuzz: malformed hook and feedback requests never produce a 500; every 4xx is an OperationOutcome."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from tests import fixturekit as k

SERVICES = ["tofacitinib-order-select", "tofacitinib-order-sign", "tofacitinib-patient-view"]

scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30)
json_values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=25,
)


def deep(depth: int) -> object:
    value: object = 1
    for _ in range(depth):
        value = [value]
    return value


@st.composite
def mutated_request(draw) -> dict:
    """A real hook request with one part replaced by something wrong."""
    req = draw(st.sampled_from([
        k.order_select(drafts=[k.tofacitinib_draft()]),
        k.order_sign(drafts=[k.tofacitinib_draft()]),
        k.patient_view(),
    ]))
    target = draw(st.sampled_from([
        ("hook",), ("hookInstance",), ("context",), ("prefetch",), ("fhirServer",), ("fhirAuthorization",),
        ("context", "patientId"), ("context", "draftOrders"), ("context", "selections"), ("context", "userId"),
    ]))
    value = draw(json_values | st.sampled_from([
        "x" * 100_000, deep(70), deep(500), {"resourceType": "Bundle", "entry": "nope"},
        {"resourceType": "Bundle", "entry": [None, 1, {"resource": []}]}, "http://169.254.169.254/",
    ]))
    node = req
    for key in target[:-1]:
        node = node.setdefault(key, {}) if isinstance(node.get(key), dict) else node.setdefault(key, {})
    if isinstance(node, dict):
        node[target[-1]] = value
    return req


bodies = (
    st.binary(max_size=200)
    | json_values.map(lambda v: json.dumps(v).encode())
    | mutated_request().map(lambda r: json.dumps(r).encode())
    | st.just(b"[" * 5000 + b"]" * 5000)
    | st.integers(60, 3000).map(lambda n: b'{"hook": "order-select", "context": ' + b"[" * n + b"]" * n + b"}")
    | st.just(b'{"hook": "' + b"\xff\xfe" * 10 + b'"}')
)


@pytest.fixture(scope="module")
def fuzz_client(tmp_path_factory):
    from cdshooks.app import create_app
    from cdshooks.config import Settings
    from tests.conftest import TEST_NOW

    db = tmp_path_factory.mktemp("fuzz") / "feedback.sqlite3"
    app = create_app(Settings(now=TEST_NOW, auth_enabled=False, feedback_db=str(db), fhir_allowlist=()))
    app.testing = False  # exercise the real error handlers
    return app.test_client()


@hsettings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow, HealthCheck.data_too_large])
@given(service=st.sampled_from(SERVICES), feedback=st.booleans(), body=bodies)
def test_no_500_and_outcome_for_every_4xx(fuzz_client, service, feedback, body):
    path = f"/cds-services/{service}" + ("/feedback" if feedback else "")
    resp = fuzz_client.post(path, data=body, content_type="application/json")
    assert resp.status_code < 500, resp.get_data(as_text=True)[:500]
    if resp.status_code >= 400:
        outcome = json.loads(resp.get_data())
        assert outcome["resourceType"] == "OperationOutcome"
        assert outcome["issue"] and outcome["issue"][0]["diagnostics"]
