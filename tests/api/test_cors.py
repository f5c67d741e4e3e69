"""CORS headers on every response, and preflights answered without authentication."""

from __future__ import annotations

import pytest

from tests import fixturekit as k

SELECT = "/cds-services/tofacitinib-order-select"


def assert_cors(resp, origin: str = "*") -> None:
    assert resp.headers["Access-Control-Allow-Origin"] == origin
    assert "authorization" in resp.headers["Access-Control-Allow-Headers"].lower()
    assert "content-type" in resp.headers["Access-Control-Allow-Headers"].lower()
    methods = {m.strip() for m in resp.headers["Access-Control-Allow-Methods"].split(",")}
    assert methods == {"GET", "POST", "OPTIONS"}


def test_cors_on_discovery(client):
    assert_cors(client.get("/cds-services", headers={"Origin": "https://sandbox.cds-hooks.org"}))


def test_cors_on_a_400(client):
    resp = client.post(SELECT, data=b"{", content_type="application/json")
    assert resp.status_code == 400
    assert_cors(resp)


def test_cors_on_a_404(client):
    resp = client.get("/no-such-thing")
    assert resp.status_code == 404
    assert_cors(resp)


def test_cors_on_a_500(client, monkeypatch):
    monkeypatch.setattr("cdshooks.web.hooks.run_hook", lambda *a, **kw: 1 / 0)
    resp = client.post(SELECT, json=k.order_select(drafts=[k.tofacitinib_draft()]))
    assert resp.status_code == 500
    assert_cors(resp)


@pytest.mark.parametrize("path", ["/cds-services", SELECT, f"{SELECT}/feedback"])
def test_preflight_is_answered_without_authentication(make_app, path):
    client = make_app(auth_enabled=True).test_client()
    resp = client.options(
        path,
        headers={
            "Origin": "https://sandbox.cds-hooks.org",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert resp.status_code in (200, 204)
    assert_cors(resp)
    assert resp.headers["Access-Control-Max-Age"]


def test_configured_origins_are_reflected_and_others_refused(make_app):
    client = make_app(cors_origins=("https://ehr.example.org",)).test_client()
    ok = client.get("/cds-services", headers={"Origin": "https://ehr.example.org"})
    assert_cors(ok, "https://ehr.example.org")
    assert "Origin" in ok.headers["Vary"]
    other = client.get("/cds-services", headers={"Origin": "https://evil.example.com"})
    assert "Access-Control-Allow-Origin" not in other.headers


@pytest.mark.parametrize("auth_enabled", [True, False])
def test_preflight_is_logged_as_auth_not_required(make_app, caplog, auth_enabled):
    import json
    import logging

    caplog.set_level(logging.INFO, logger="cdshooks.requests")
    client = make_app(auth_enabled=auth_enabled, trust_sandbox=True).test_client()
    resp = client.options(SELECT, headers={"Origin": "https://sandbox.cds-hooks.org",
                                           "Access-Control-Request-Method": "POST"})
    assert resp.status_code == 204
    (line,) = [json.loads(r.getMessage()) for r in caplog.records if r.name == "cdshooks.requests"]
    assert (line["method"], line["status"], line["auth"]) == ("OPTIONS", 204, "not-required")
