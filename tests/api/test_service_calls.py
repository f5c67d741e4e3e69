"""POST /cds-services/{id}: status codes and OperationOutcome bodies for every error path."""

from __future__ import annotations

import copy
import io
from datetime import UTC

import orjson
import pytest

from cdshooks.web import limits
from tests import fixturekit as k
from tests.conformance import check_response

SELECT = "/cds-services/tofacitinib-order-select"
SIGN = "/cds-services/tofacitinib-order-sign"
VIEW = "/cds-services/tofacitinib-patient-view"


def outcome(resp, status: int) -> dict:
    """Assert the status and an OperationOutcome body; return its first issue."""
    assert resp.status_code == status, resp.get_data(as_text=True)
    body = resp.get_json()
    assert body["resourceType"] == "OperationOutcome"
    issue = body["issue"][0]
    assert issue["severity"] in {"error", "fatal"}
    assert isinstance(issue["code"], str) and issue["diagnostics"]
    assert "Traceback" not in issue["diagnostics"]
    return issue


def select_request() -> dict:
    return k.order_select(drafts=[k.tofacitinib_draft()])


# --- success paths -----------------------------------------------------------


@pytest.mark.parametrize(
    "url, request_factory",
    [
        (SELECT, select_request),
        (SIGN, lambda: k.order_sign(drafts=[k.tofacitinib_draft()])),
        (VIEW, lambda: k.patient_view()),
    ],
)
def test_valid_calls_answer_200_with_conformant_cards(client, url, request_factory):
    resp = client.post(url, json=request_factory())
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert check_response(resp.get_json()) == []


def test_sloppy_but_real_client_shapes_are_accepted(client):
    """Sandbox-style: order-sign without selections, odd draft fields, no medication yet."""
    odd = k.tofacitinib_draft(mid="odd")
    odd["reasonCode"] = {"text": "ILD"}  # a single object where FHIR wants a list
    odd["category"] = {"text": "outpatient"}
    bare = {"resourceType": "MedicationRequest", "id": "bare", "status": "draft"}
    diet = {"resourceType": "NutritionOrder", "id": "diet", "status": "draft"}
    req = k.order_select(drafts=[bare, odd, diet], selections=["MedicationRequest/bare", "NutritionOrder/diet"])
    assert client.post(SELECT, json=req).status_code == 200
    sign = k.order_sign(drafts=[bare, odd])
    assert "selections" not in sign["context"]
    assert client.post(SIGN, json=sign).status_code == 200


def test_json_nulls_for_optional_fields_count_as_absent(client):
    req = select_request()
    req["fhirServer"] = None
    req["context"]["encounterId"] = None
    assert client.post(SELECT, json=req).status_code == 200


# --- 400 ---------------------------------------------------------------------


def test_malformed_json_is_400(client):
    resp = client.post(SELECT, data=b'{"hook": "order-select",', content_type="application/json")
    assert "not valid JSON" in outcome(resp, 400)["diagnostics"]


def test_empty_body_is_400(client):
    outcome(client.post(SELECT, data=b"", content_type="application/json"), 400)


def test_body_that_is_not_an_object_is_400(client):
    outcome(client.post(SELECT, json=[select_request()]), 400)


def test_wrong_hook_for_the_service_is_400(client):
    issue = outcome(client.post(VIEW, json=select_request()), 400)
    assert issue["expression"] == ["hook"]


def _mutated(mutate) -> dict:
    req = copy.deepcopy(select_request())
    mutate(req)
    return req


BAD_REQUESTS = {
    "no hook": (lambda r: r.pop("hook"), "hook"),
    "hook not a string": (lambda r: r.update(hook=7), "hook"),
    "no hookInstance": (lambda r: r.pop("hookInstance"), "hookInstance"),
    "no context": (lambda r: r.pop("context"), "context"),
    "context not an object": (lambda r: r.update(context=["x"]), "context"),
    "no userId": (lambda r: r["context"].pop("userId"), "context.userId"),
    "userId not Type/id": (lambda r: r["context"].update(userId="dr-fixture"), "context.userId"),
    "userId of a wrong type": (lambda r: r["context"].update(userId="Device/1"), "context.userId"),
    "no patientId": (lambda r: r["context"].pop("patientId"), "context.patientId"),
    "patientId a number": (lambda r: r["context"].update(patientId=12), "context.patientId"),
    "encounterId a number": (lambda r: r["context"].update(encounterId=3), "context.encounterId"),
    "no selections": (lambda r: r["context"].pop("selections"), "context.selections"),
    "empty selections": (lambda r: r["context"].update(selections=[]), "context.selections"),
    "selection not Type/id": (lambda r: r["context"].update(selections=["draft-tofa"]), "context.selections[0]"),
    "selection not a string": (lambda r: r["context"].update(selections=[{"id": 1}]), "context.selections[0]"),
    "selection not in draftOrders": (
        lambda r: r["context"].update(selections=["MedicationRequest/elsewhere"]),
        "context.selections[0]",
    ),
    "no draftOrders": (lambda r: r["context"].pop("draftOrders"), "context.draftOrders"),
    "draftOrders not a Bundle": (
        lambda r: r["context"].update(draftOrders={"resourceType": "MedicationRequest"}),
        "context.draftOrders.resourceType",
    ),
    "draftOrders entry not a list": (
        lambda r: r["context"]["draftOrders"].update(entry={"resource": {}}),
        "context.draftOrders.entry",
    ),
    "draft resource without resourceType": (
        lambda r: r["context"]["draftOrders"]["entry"][0].update(resource={"id": "x"}),
        "context.draftOrders.entry[0].resource",
    ),
    "prefetch not an object": (lambda r: r.update(prefetch=[1]), "prefetch"),
    "prefetch value a string": (lambda r: r["prefetch"].update(patient="Patient/1"), "prefetch.patient"),
    "fhirServer a number": (lambda r: r.update(fhirServer=8080), "fhirServer"),
    "fhirAuthorization a string": (lambda r: r.update(fhirAuthorization="Bearer x"), "fhirAuthorization"),
}


@pytest.mark.parametrize("case", sorted(BAD_REQUESTS))
def test_missing_or_ill_typed_fields_are_400(client, case):
    mutate, expression = BAD_REQUESTS[case]
    issue = outcome(client.post(SELECT, json=_mutated(mutate)), 400)
    assert issue["expression"] == [expression]


def test_order_sign_requires_draft_orders(client):
    req = k.order_sign(drafts=[k.tofacitinib_draft()])
    del req["context"]["draftOrders"]
    assert outcome(client.post(SIGN, json=req), 400)["expression"] == ["context.draftOrders"]


def test_too_many_draft_orders_is_400(make_app):
    client = make_app(max_draft_orders=2).test_client()
    drafts = [k.tofacitinib_draft(mid=f"d{i}") for i in range(3)]
    outcome(client.post(SELECT, json=k.order_select(drafts=drafts)), 400)


def test_patient_view_accepts_patient_users(client):
    req = k.patient_view()
    req["context"]["userId"] = "Patient/p-mda5"
    assert client.post(VIEW, json=req).status_code == 200


# --- 404, 405, 413, 412, 500 -------------------------------------------------


def test_unknown_service_is_404(client):
    issue = outcome(client.post("/cds-services/no-such-service", json=select_request()), 404)
    assert "no-such-service" in issue["diagnostics"]


def test_unknown_path_is_404_operation_outcome(client):
    outcome(client.get("/nothing-here"), 404)


def test_get_on_a_service_is_405(client):
    resp = client.get(SELECT)
    outcome(resp, 405)
    assert "POST" in resp.headers["Allow"]


def test_body_over_the_limit_is_413_by_content_length(make_app):
    client = make_app(max_body_bytes=1000).test_client()
    body = orjson.dumps(select_request())
    assert len(body) > 1000
    outcome(client.post(SELECT, data=body, content_type="application/json"), 413)


def test_body_over_the_limit_is_413_without_content_length(make_app):
    """A chunked body declares no length: the bytes actually read are counted."""
    client = make_app(max_body_bytes=1000).test_client()
    body = orjson.dumps(select_request())
    resp = client.post(
        SELECT,
        input_stream=io.BytesIO(body),
        content_type="application/json",
        headers={"Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},  # as gunicorn sets it
    )
    outcome(resp, 413)


def test_body_at_the_limit_is_accepted(make_app):
    body = orjson.dumps(select_request())
    client = make_app(max_body_bytes=len(body)).test_client()
    assert client.post(SELECT, data=body, content_type="application/json").status_code == 200


def test_required_data_unavailable_is_412(client):
    req = select_request()
    del req["prefetch"]["observations"]  # not prefetched, and no fhirServer to fetch it from
    issue = outcome(client.post(SELECT, json=req), 412)
    assert "observations" in issue["diagnostics"]


def test_a_bug_is_a_500_operation_outcome_without_stack_trace(client, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr("cdshooks.web.hooks.run_hook", broken)
    issue = outcome(client.post(SELECT, json=select_request()), 500)
    assert "secret internals" not in issue["diagnostics"]


def test_the_body_is_parsed_once(client, monkeypatch):
    calls = []
    parse = limits.loads_within_depth
    monkeypatch.setattr("cdshooks.web.body.loads_within_depth", lambda b, depth: calls.append(1) or parse(b, depth))
    assert client.post(SELECT, json=select_request()).status_code == 200
    assert len(calls) == 1


def test_a_body_shorter_than_its_content_length_is_a_4xx(client):
    """The client declared more bytes than it sent (a dropped connection): an OperationOutcome, no hang, no 500."""
    body = orjson.dumps(select_request())
    resp = client.post(
        SELECT,
        input_stream=io.BytesIO(body[: len(body) // 2]),
        content_type="application/json",
        environ_overrides={"CONTENT_LENGTH": str(len(body))},  # the test client would count the stream
    )
    assert 400 <= resp.status_code < 500
    assert resp.get_json()["resourceType"] == "OperationOutcome"


def test_a_body_longer_than_its_content_length_is_read_to_the_declared_length(client):
    """Bytes past Content-Length are not part of the request: here they would make the JSON invalid."""
    body = orjson.dumps(select_request())
    resp = client.post(
        SELECT,
        input_stream=io.BytesIO(body + b"trailing garbage"),
        content_type="application/json",
        environ_overrides={"CONTENT_LENGTH": str(len(body))},
    )
    assert resp.status_code == 200, resp.get_data(as_text=True)


def test_a_hook_response_reports_its_evaluation_time(client, make_app):
    from datetime import datetime

    from cdshooks.protocol import EVALUATION_TIME_HEADER

    resp = client.post(VIEW, json=k.patient_view())
    assert resp.status_code == 200
    assert resp.headers[EVALUATION_TIME_HEADER] == "2026-01-15T12:00:00Z"  # the test settings' now
    cors = client.post(VIEW, json=k.patient_view(), headers={"Origin": "https://sandbox.cds-hooks.org"})
    assert "x-cds-evaluation-time" in cors.headers["Access-Control-Expose-Headers"]  # a browser may read it
    before = datetime.now(UTC).replace(microsecond=0)
    on_the_clock = make_app(now=None).test_client().post(VIEW, json=k.patient_view())
    evaluated = datetime.fromisoformat(on_the_clock.headers[EVALUATION_TIME_HEADER].replace("Z", "+00:00"))
    assert before <= evaluated <= datetime.now(UTC)
