"""The OpenAPI document is valid and true: real responses of every fixture validate against it."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pytest
from openapi_schema_validator import OAS30Validator, oas30_format_checker
from openapi_spec_validator import validate as validate_spec

from cdshooks.app import create_app
from cdshooks.services import SERVICES
from cdshooks.web.openapi import document
from tests import fixturekit as k

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
SCENARIOS = sorted(FIXTURES.glob("*/scenario.json"))


def schema_errors(name: str, instance) -> list[str]:
    """Problems of `instance` against components/schemas/<name>."""
    doc = document()
    validator = OAS30Validator({"$ref": f"#/components/schemas/{name}", "components": doc["components"]},
                               format_checker=oas30_format_checker)  # fmt: skip
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(instance)]


def response_schema(path: str, method: str, status: int) -> str:
    content = document()["paths"][path][method]["responses"][str(status)]["content"]
    return content["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]


def test_document_is_valid_openapi():
    validate_spec(document())


def test_served_at_openapi_json_without_auth(make_app):
    resp = make_app(auth_enabled=True).test_client().get("/openapi.json")
    assert resp.status_code == 200
    assert resp.get_json() == document()


def test_service_ids_are_the_real_ones():
    param = document()["paths"]["/cds-services/{serviceId}/feedback"]["post"]["parameters"][0]
    assert sorted(param["schema"]["enum"]) == sorted(SERVICES)
    for sid, service in SERVICES.items():
        body = document()["paths"][f"/cds-services/{sid}"]["post"]["requestBody"]
        assert body["content"]["application/json"]["schema"]["$ref"].endswith(f"/{service.hook}-request")


def test_every_route_is_documented(app):
    routes = set()
    for rule in app.url_map.iter_rules():
        if rule.rule == "/cds-services/<service_id>":  # one documented path per service: one request schema each
            routes |= {f"/cds-services/{sid}" for sid in SERVICES}
        elif rule.endpoint != "static":
            routes.add(rule.rule.replace("<service_id>", "{serviceId}"))
    assert routes == set(document()["paths"])


def test_discovery_matches(client):
    resp = client.get("/cds-services")
    assert schema_errors(response_schema("/cds-services", "get", 200), resp.get_json()) == []


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.parent.name)
def test_fixture_request_and_response_match(path: Path, settings):
    scenario = json.loads(path.read_text(encoding="utf-8"))
    assert schema_errors(f"{scenario['request']['hook']}-request", scenario["request"]) == []
    as_of = datetime.fromisoformat(scenario["asOf"].replace("Z", "+00:00"))
    client = create_app(replace(settings, now=as_of)).test_client()
    resp = client.post(f"/cds-services/{scenario['service']}", json=scenario["request"])
    assert resp.status_code == 200
    assert schema_errors(response_schema(f"/cds-services/{scenario['service']}", "post", 200), resp.get_json()) == []


def test_fixtures_produce_cards_with_suggestions_links_and_override_reasons(settings):
    """The card schema is exercised in full, not only on empty answers."""
    seen: set[str] = set()
    clients: dict[str, object] = {}
    for path in SCENARIOS:
        scenario = json.loads(path.read_text(encoding="utf-8"))
        as_of = scenario["asOf"]
        if as_of not in clients:
            now = datetime.fromisoformat(as_of.replace("Z", "+00:00"))
            clients[as_of] = create_app(replace(settings, now=now)).test_client()
        resp = clients[as_of].post(f"/cds-services/{scenario['service']}", json=scenario["request"])
        for card in resp.get_json()["cards"]:
            seen |= set(card) & {"suggestions", "links", "overrideReasons", "detail"}
    assert seen == {"suggestions", "links", "overrideReasons", "detail"}


@pytest.mark.parametrize(
    "body, status",
    [
        ({"hook": "patient-view"}, 400),
        ({**k.patient_view(), "prefetch": {"patient": None}}, 412),
    ],
)
def test_error_responses_are_operation_outcomes(client, body, status):
    resp = client.post("/cds-services/tofacitinib-patient-view", json=body)
    assert resp.status_code == status
    path = "/cds-services/tofacitinib-patient-view"
    assert schema_errors(response_schema(path, "post", status), resp.get_json()) == []


def test_unknown_service_is_an_operation_outcome(client):
    resp = client.post("/cds-services/nope", json=k.patient_view())
    assert resp.status_code == 404
    assert schema_errors("OperationOutcome", resp.get_json()) == []


def test_feedback_example_matches_and_is_accepted(client):
    body = {"feedback": [{"card": "9368d37b-283f-44a0-93ea-547cebab93ed", "outcome": "overridden",
                          "overrideReason": {"reason": {"system": "http://example.org", "code": "x"}, "userComment": "ok"},
                          "outcomeTimestamp": "2026-01-15T12:00:00Z"}]}  # fmt: skip
    assert schema_errors("Feedback", body) == []
    assert client.post("/cds-services/tofacitinib-patient-view/feedback", json=body).status_code == 200


def test_health_responses_match(client):
    assert schema_errors("Health", client.get("/healthz").get_json()) == []
    assert schema_errors("Readiness", client.get("/readyz").get_json()) == []


def test_schema_rejects_what_the_spec_forbids():
    card = {"summary": "x" * 140, "indicator": "urgent", "source": {}}
    assert len(schema_errors("Card", card)) == 3  # summary too long, indicator, source.label


# --- the document and the service agree on the edges ---------------------------------


def test_empty_selections_are_refused_by_both(client):
    """order-select fires when orders are selected: `selections` names at least one (CDS Hooks 2.0 forbids empty elements)."""
    req = k.order_select(drafts=[k.tofacitinib_draft()])
    req["context"]["selections"] = []
    assert schema_errors("order-select-request", req) != []
    assert client.post("/cds-services/tofacitinib-order-select", json=req).status_code == 400


def test_a_null_user_comment_is_refused_by_both(client):
    """overrideReason.userComment is a string (CDS Hooks 2.0 Feedback); JSON elements SHALL NOT be null."""
    entry = {"card": "9368d37b-283f-44a0-93ea-547cebab93ed", "outcome": "overridden",
             "overrideReason": {"reason": {"system": "http://example.org", "code": "x"}, "userComment": None},
             "outcomeTimestamp": "2026-01-15T12:00:00Z"}  # fmt: skip
    assert schema_errors("Feedback", {"feedback": [entry]}) != []
    assert client.post("/cds-services/tofacitinib-patient-view/feedback", json={"feedback": [entry]}).status_code == 400


_OVERRIDDEN = {"card": "c-1", "outcome": "overridden", "outcomeTimestamp": "2026-01-15T12:00:00Z"}
REFUSED_FEEDBACK = {
    "overrideReason a string": {**_OVERRIDDEN, "overrideReason": "already discussed"},
    "reason a string": {**_OVERRIDDEN, "overrideReason": {"reason": "x"}},
    "suggestion a bare id": {**_OVERRIDDEN, "outcome": "accepted", "acceptedSuggestions": ["s-1"]},
}


@pytest.mark.parametrize("case", sorted(REFUSED_FEEDBACK))
def test_feedback_shapes_outside_the_spec_are_refused_by_both(client, case):
    """CDS Hooks 2.0 Feedback: overrideReason is an OverrideReason object, reason a Coding, each accepted suggestion {id}."""
    body = {"feedback": [REFUSED_FEEDBACK[case]]}
    assert schema_errors("Feedback", body) != []
    assert client.post("/cds-services/tofacitinib-patient-view/feedback", json=body).status_code == 400


TIMESTAMPS = {
    "1985-04-12T23:20:50.52Z": 200,  # the spec's example
    "2020-12-11T00:00:00+01:00": 200,
    "1985-04-12t23:20:50z": 200,  # RFC 3339 letters are case-insensitive
    "2020-12-11": 400,  # a date is not a date-time
    "2020-12-11T00:00:00": 400,  # no zone
    "2020-12-11T00:00Z": 400,  # no seconds
    "2020-12-11 00:00:00Z": 400,
    "20201211T000000Z": 400,  # ISO 8601 basic format, not RFC 3339
    "2020-02-30T00:00:00Z": 400,
}


@pytest.mark.parametrize("stamp", sorted(TIMESTAMPS))
def test_outcome_timestamp_is_an_rfc3339_date_time_for_both(client, stamp):
    """CDS Hooks 2.0 Feedback: outcomeTimestamp "as profiled in section 5.6 of RFC3339" (format date-time)."""
    body = {"feedback": [{**_OVERRIDDEN, "outcomeTimestamp": stamp}]}
    validator = OAS30Validator({"$ref": "#/components/schemas/Feedback", "components": document()["components"]},
                               format_checker=oas30_format_checker)  # fmt: skip
    schema_ok = not list(validator.iter_errors(body))
    status = client.post("/cds-services/tofacitinib-patient-view/feedback", json=body).status_code
    assert (schema_ok, status) == (TIMESTAMPS[stamp] == 200, TIMESTAMPS[stamp])


def _urn_selected() -> dict:
    """A draft without an id, selected by its entry's fullUrl (accepted by the service)."""
    draft = k.tofacitinib_draft()
    draft.pop("id")
    req = k.order_select(drafts=[draft], selections=["urn:uuid:7f3c2a9e-1b2d-4c5e-8f90-a1b2c3d4e5f6"])
    req["context"]["draftOrders"]["entry"][0]["fullUrl"] = "urn:uuid:7f3c2a9e-1b2d-4c5e-8f90-a1b2c3d4e5f6"
    return req


def _with_context(build, **fields):
    def make() -> dict:
        req = build()
        req["context"].update(fields)
        return req
    return make


ACCEPTED_CALLS = {
    "selection by a draft's fullUrl": ("order-select", _urn_selected),
    "stray selections on order-sign": (
        "order-sign", _with_context(lambda: k.order_sign(drafts=[k.tofacitinib_draft()]), selections="x")),
    "stray draftOrders on patient-view": (
        "patient-view", _with_context(k.patient_view, draftOrders="x", selections=[1])),
}


@pytest.mark.parametrize("case", sorted(ACCEPTED_CALLS))
def test_calls_the_service_answers_are_valid_for_the_document(client, case):
    hook, build = ACCEPTED_CALLS[case]
    req = build()
    assert client.post(f"/cds-services/tofacitinib-{hook}", json=req).status_code == 200
    assert schema_errors(f"{hook}-request", req) == []


def test_every_messy_call_the_service_answers_is_valid_for_the_document(client):
    """Real clients' messiness (tests/api/test_conformance_review.py) that gets cards is within the document."""
    from tests.api.test_conformance_review import MESSY

    checked = 0
    for case, (url, build) in sorted(MESSY.items()):
        req = build()
        if client.post(url, json=req).status_code == 200:
            assert schema_errors(f"{req['hook']}-request", req) == [], case
            checked += 1
    assert checked >= len(MESSY) - 2


def test_json_nulls_that_count_as_absent_are_valid_for_the_document(client):
    """A hook call reads null as absent (tests/api/test_service_calls.py); the document says nullable."""
    req = k.order_select(drafts=[k.tofacitinib_draft()])
    req.update(fhirServer=None, fhirAuthorization=None)
    req["context"]["encounterId"] = None
    req["context"]["draftOrders"]["entry"].append({"resource": None})
    req["prefetch"]["immunizations"] = None
    assert client.post("/cds-services/tofacitinib-order-select", json=req).status_code == 200
    assert schema_errors("order-select-request", req) == []


def test_a_draft_with_an_empty_resource_type_is_refused_by_both(client):
    req = k.order_select(drafts=[k.tofacitinib_draft()])
    req["context"]["draftOrders"]["entry"].append({"resource": {"resourceType": ""}})
    assert schema_errors("order-select-request", req) != []
    assert client.post("/cds-services/tofacitinib-order-select", json=req).status_code == 400


# --- patterns: one whitespace class for the service and every regex engine ----------


def test_the_whitespace_class_is_what_str_strip_removes():
    """protocol.WHITESPACE spells out str.isspace(): the service's blank check and the document's patterns agree."""
    import re
    import sys

    from cdshooks.protocol import WHITESPACE

    cls = re.compile(f"[{WHITESPACE}]")
    chars = (chr(c) for c in range(sys.maxunicode + 1) if not 0xD800 <= c < 0xE000)
    assert [c for c in chars if (cls.fullmatch(c) is not None) != c.isspace()] == []


def test_the_document_patterns_are_built_from_the_protocol():
    from cdshooks.protocol import USER_TYPES, WHITESPACE

    schemas = document()["components"]["schemas"]
    context = schemas["HookContext"]["properties"]
    assert context["userId"]["pattern"] == f"^({'|'.join(USER_TYPES)})/[^/{WHITESPACE}]{{1,200}}$"
    assert context["patientId"]["pattern"] == schemas["HookRequest"]["properties"]["hookInstance"]["pattern"]
    assert context["patientId"]["pattern"] == f"[^{WHITESPACE}]"


EDGE_IDS = {
    "userId": ["Practitioner/x\n", "Practitioner/\x1c", "Practitioner/a\x85b", "Practitioner/\u3000", "Practitioner/" + "x" * 201,
               "Practitioner/ok", "Practitioner/a\ufeffb", "Practitioner/" + "x" * 200],
    "patientId": ["\x1c", "\x85", " \n", "Patient/", "Patient/\x1f", "p\x1c", "Patient/\ufeff", "\ufeff"],
}


@pytest.mark.parametrize("field, value", [(f, v) for f, values in EDGE_IDS.items() for v in values])
def test_ids_at_the_whitespace_edges_get_the_same_verdict_everywhere(client, field, value):
    """The service and the document read as ECMA 262 (OpenAPI's regex dialect; the Rust engine the fuzzer validates
    with) agree. Python's jsonschema is checked too except for a final newline: its `$` also matches before one."""
    import jsonschema_rs

    req = k.patient_view()
    req["context"][field] = value
    if field == "patientId":  # keep the prefetch consistent, so an accepted id gets a 200 rather than a 412
        req["prefetch"]["patient"]["id"] = value.removeprefix("Patient/")
    service_ok = client.post("/cds-services/tofacitinib-patient-view", json=req).status_code == 200
    python_ok = schema_errors("patient-view-request", req) == []
    schema = document()["components"]["schemas"]["HookContext"]["properties"][field]
    rust_ok = jsonschema_rs.validator_for({k_: v for k_, v in schema.items() if k_ not in ("example", "description")}).is_valid(value)
    assert service_ok == rust_ok, (service_ok, rust_ok)
    if not value.endswith("\n"):
        assert python_ok == service_ok


# --- limits: the document states the default ones ----------------------------------


def test_the_document_states_the_default_limits():
    from cdshooks.config import Settings
    from cdshooks.web.limits import MAX_COMMENT_LENGTH

    s, schemas = Settings(), document()["components"]["schemas"]
    ids = [schemas["HookRequest"]["properties"]["hookInstance"],
           *(schemas["HookContext"]["properties"][f] for f in ("userId", "patientId", "encounterId")),
           schemas["DraftOrders"]["properties"]["entry"]["items"]["properties"]["resource"]["properties"]["id"],
           schemas["FeedbackEntry"]["properties"]["card"],
           schemas["FeedbackEntry"]["properties"]["acceptedSuggestions"]["items"]["properties"]["id"]]  # fmt: skip
    assert {i["maxLength"] for i in ids} == {s.max_id_length}
    assert schemas["DraftOrders"]["properties"]["entry"]["maxItems"] == s.max_draft_orders
    assert schemas["Feedback"]["properties"]["feedback"]["maxItems"] == s.max_feedback_entries
    assert schemas["OverrideReason"]["properties"]["userComment"]["maxLength"] == MAX_COMMENT_LENGTH


def _long_hook_instance(n: int) -> dict:
    return {**k.patient_view(), "hookInstance": "h" * n}


def _long_card(n: int) -> dict:
    return {"feedback": [{**_OVERRIDDEN, "card": "c" * n}]}


def _long_comment(n: int) -> dict:
    return {"feedback": [{**_OVERRIDDEN, "overrideReason": {"userComment": "c" * n}}]}


AT_THE_LIMIT = {
    "hookInstance": ("/cds-services/tofacitinib-patient-view", "patient-view-request", _long_hook_instance, 256),
    "feedback card": ("/cds-services/tofacitinib-patient-view/feedback", "Feedback", _long_card, 256),
    "userComment": ("/cds-services/tofacitinib-patient-view/feedback", "Feedback", _long_comment, 4000),
}


@pytest.mark.parametrize("case", sorted(AT_THE_LIMIT))
def test_at_a_limit_both_accept_and_one_over_both_refuse(client, case):
    url, name, build, limit = AT_THE_LIMIT[case]
    assert schema_errors(name, build(limit)) == []
    assert client.post(url, json=build(limit)).status_code == 200
    assert schema_errors(name, build(limit + 1)) != []
    assert client.post(url, json=build(limit + 1)).status_code == 400


# --- media types: the document says application/json and 415 --------------------

MEDIA_TYPES = {
    "text/plain": 415,
    "multipart/form-data": 415,
    "application/x-www-form-urlencoded": 415,  # curl -d without -H
    "application/json; charset=utf-8": 200,
    "application/fhir+json": 200,
    None: 200,  # no Content-Type: read as JSON
}


@pytest.mark.parametrize("media_type", list(MEDIA_TYPES), ids=str)
@pytest.mark.parametrize("path", ["/cds-services/tofacitinib-patient-view", "/cds-services/tofacitinib-patient-view/feedback"])
def test_a_body_declared_as_not_json_is_a_documented_415(client, path, media_type):
    body = k.patient_view() if path.endswith("view") else {"feedback": [_OVERRIDDEN]}
    headers = {} if media_type is None else {"Content-Type": media_type}
    resp = client.post(path, data=json.dumps(body), headers=headers)
    assert resp.status_code == MEDIA_TYPES[media_type]
    if resp.status_code == 415:
        assert schema_errors(response_schema(path if path.endswith("view") else "/cds-services/{serviceId}/feedback",
                                             "post", 415), resp.get_json()) == []  # fmt: skip
