"""Authentication and limits through the real app (`create_app`): which endpoints need a token."""

from __future__ import annotations

import logging

import pytest

from tests import fixturekit as k
from tests.jwt_kit import BASE_URL, assert_no_token_material, bearer, claims, sign

SELECT = "/cds-services/tofacitinib-order-select"


@pytest.fixture
def secured(make_app, auth_settings):
    """The real app with auth on (static ES384 issuer, in-memory jti cache) and the test clock."""
    return lambda: make_app(
        auth_enabled=True,
        public_base_url=BASE_URL,
        trusted_issuers_file=auth_settings.trusted_issuers_file,
        jti_cache="memory",
    )


def test_service_call_with_a_valid_token(secured, es384, caplog):
    caplog.set_level(logging.INFO)
    token = sign(es384, claims(aud=BASE_URL + SELECT))
    resp = secured().test_client().post(SELECT, json=k.order_select(drafts=[k.tofacitinib_draft()]), headers=bearer(token))
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert_no_token_material(token, caplog.text, resp.get_data(as_text=True))
    line = [r.getMessage() for r in caplog.records if r.name == "cdshooks.requests"][-1]
    assert '"auth":"ok"' in line and '"service":"tofacitinib-order-select"' in line


@pytest.mark.parametrize(
    "method, path",
    [("GET", "/cds-services"), ("POST", SELECT), ("POST", SELECT + "/feedback"), ("POST", "/cds-services/nope")],
)
def test_every_cds_endpoint_refuses_without_a_token(secured, method, path):
    resp = secured().test_client().open(path, method=method, json={}, headers={"Origin": "https://ehr.example.org"})
    assert resp.status_code == 401
    assert resp.headers["WWW-Authenticate"] == "Bearer"
    assert resp.get_data() == b""
    assert resp.headers.get("Access-Control-Allow-Origin")  # the browser can still read the 401


def test_discovery_and_feedback_with_tokens_for_their_urls(secured, es384):
    client = secured().test_client()
    token = sign(es384, claims(aud=BASE_URL + "/cds-services"))
    assert client.get("/cds-services", headers=bearer(token)).status_code == 200
    token = sign(es384, claims(aud=BASE_URL + SELECT + "/feedback"))
    feedback = {"feedback": [{"card": "4e0a3a1e-3283-4575-ab82-028d55fe2719", "outcome": "overridden",
                              "outcomeTimestamp": "2026-01-15T12:00:00Z"}]}
    assert client.post(SELECT + "/feedback", json=feedback, headers=bearer(token)).status_code == 200


def test_preflight_and_health_are_open(secured):
    client = secured().test_client()
    pre = client.options(SELECT, headers={"Origin": "https://ehr.example.org", "Access-Control-Request-Method": "POST"})
    assert pre.status_code in (200, 204)
    assert client.get("/healthz").status_code == 200


def test_input_limits_answer_400_with_an_operation_outcome(make_app):
    client = make_app(max_json_depth=8, max_id_length=40).test_client()
    deep: object = {}
    for _ in range(20):
        deep = {"a": deep}
    req = k.order_select(drafts=[k.tofacitinib_draft()])
    for body in ({**req, "extension": deep}, {**req, "hookInstance": "h" * 41}):
        resp = client.post(SELECT, json=body)
        assert resp.status_code == 400
        assert resp.get_json()["resourceType"] == "OperationOutcome"
