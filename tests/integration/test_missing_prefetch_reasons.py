"""A 412 says, per missing prefetch key, why it could not be had: in the OperationOutcome and the log line.

The service fetches from real HTTP servers on loopback: a scripted one
(`loopback_server.py`) for error statuses and slow answers, a bound but not
listening port for a refused connection, and the in-memory FHIR server for a
read of a patient it does not hold.
"""

from __future__ import annotations

import json
import logging

import pytest

from tests import fixturekit as k
from tests.integration.loopback_server import Answer, LoopbackServer, refused_port

SELECT = "/cds-services/tofacitinib-order-select"
TOKEN = "fhir-access-token-must-not-be-logged"
REQUIRED = ("patient", "medications", "observations", "conditions")


@pytest.fixture
def server():
    srv = LoopbackServer().start()
    try:
        yield srv
    finally:
        srv.stop()


def request(fhir_server: str, *missing: str, token: str | None = TOKEN) -> dict:
    """An order-select call whose prefetch lacks `missing`, pointing at `fhir_server`."""
    req = k.order_select(drafts=[k.tofacitinib_draft()])
    for key in missing:
        del req["prefetch"][key]
    req["fhirServer"] = fhir_server
    if token:
        req["fhirAuthorization"] = {"access_token": token, "token_type": "Bearer",
                                    "scope": "patient/*.read", "expires_in": 300, "subject": "cds"}
    return req


def call(make_app, req: dict, caplog, **settings) -> tuple[dict[str, dict], dict]:
    """POST the call; its 412 issues by the key they name, and its request log line."""
    caplog.set_level(logging.INFO, logger="cdshooks.requests")
    resp = make_app(**settings).test_client().post(SELECT, json=req)
    text = resp.get_data(as_text=True)
    assert resp.status_code == 412, text
    assert TOKEN not in text + caplog.text
    outcome = resp.get_json()
    assert outcome["resourceType"] == "OperationOutcome"
    by_key: dict[str, dict] = {}
    for issue in outcome["issue"]:
        (expression,) = issue["expression"]
        assert expression.startswith("prefetch.")
        by_key[expression.removeprefix("prefetch.")] = issue
    (line,) = [json.loads(r.getMessage()) for r in caplog.records if r.name == "cdshooks.requests"]
    assert line["status"] == 412
    return by_key, line


def test_each_key_gets_its_own_reason(make_app, server, caplog):
    server.answers = {
        "/fhir/Patient/": Answer(404, {"resourceType": "OperationOutcome",
                                       "issue": [{"severity": "error", "code": "not-found"}]}),
        "/fhir/Observation": Answer(503, {"resourceType": "OperationOutcome",
                                          "issue": [{"severity": "error", "code": "transient"}]}),
        "/fhir/Condition": Answer(200, k.bundle([]), delay_seconds=5),
    }
    req = request(server.base_url, "patient", "observations", "conditions")
    issues, line = call(make_app, req, caplog, fhir_allowlist=(server.origin,), fetch_budget_seconds=0.5)

    assert set(issues) == {"patient", "observations", "conditions"}
    assert all(i["severity"] == "error" and i["code"] == "incomplete" for i in issues.values())
    assert issues["patient"]["diagnostics"] == (
        "Required prefetch key 'patient' unavailable: not prefetched; fetch failed: not found (HTTP 404)."
    )
    assert "fetch failed: HTTP 503" in issues["observations"]["diagnostics"]
    assert "fetch failed: time budget spent" in issues["conditions"]["diagnostics"]
    assert line["missingPrefetch"] == {
        "patient": "not prefetched; fetch failed: not found (HTTP 404)",
        "observations": "not prefetched; fetch failed: HTTP 503",
        "conditions": issues["conditions"]["diagnostics"].split(": ", 1)[1].rstrip("."),
    }
    assert "0.5 s" in line["missingPrefetch"]["conditions"]  # the budget that was spent


def test_connection_refused(make_app, caplog):
    with refused_port() as port:
        base = f"http://127.0.0.1:{port}/fhir"
        issues, line = call(make_app, request(base, "observations"), caplog, fhir_allowlist=(base,))
    assert set(issues) == {"observations"}
    assert issues["observations"]["diagnostics"].endswith("not prefetched; fetch failed: connection refused.")
    assert line["missingPrefetch"] == {"observations": "not prefetched; fetch failed: connection refused"}


def test_server_not_on_the_allowlist_is_named_and_not_called(make_app, server, caplog):
    req = request(server.base_url, "medications", "conditions")
    issues, line = call(make_app, req, caplog, fhir_allowlist=("https://fhir.example.org",))
    assert server.requests == []
    for key in ("medications", "conditions"):
        assert issues[key]["diagnostics"] == (
            f"Required prefetch key '{key}' unavailable: not prefetched; "
            "not fetched: fhirServer is not on the allowlist."
        )
    assert line["missingPrefetch"] == {
        "medications": "not prefetched; not fetched: fhirServer is not on the allowlist",
        "conditions": "not prefetched; not fetched: fhirServer is not on the allowlist",
    }


def test_unauthorized_fhir_server_without_fhir_authorization_says_so(make_app, server, caplog):
    server.answers = {"/fhir/": Answer(401, {"resourceType": "OperationOutcome",
                                            "issue": [{"severity": "error", "code": "login"}]})}
    req = request(server.base_url, "conditions", token=None)
    issues, line = call(make_app, req, caplog, fhir_allowlist=(server.origin,))
    assert server.requests and not any(auth for _, auth in server.requests)
    assert line["missingPrefetch"] == {
        "conditions": "not prefetched; fetch failed: HTTP 401 (the request has no fhirAuthorization)"
    }
    assert set(issues) == {"conditions"}


def test_optional_keys_are_named_as_warnings(make_app, server, caplog):
    req = request(server.base_url, "observations", "allergies")
    server.answers = {"/fhir/Observation": Answer(500, {})}
    issues, line = call(make_app, req, caplog, fhir_allowlist=(server.origin,))
    assert issues["observations"]["severity"] == "error"
    assert issues["allergies"]["severity"] == "warning"
    assert issues["allergies"]["diagnostics"] == (
        "Optional prefetch key 'allergies' unavailable: not prefetched; fetch failed: not found (HTTP 404)."
    )
    assert line["missingPrefetch"] == {"observations": "not prefetched; fetch failed: HTTP 500"}
    assert line["missingOptionalPrefetch"] == {"allergies": "not prefetched; fetch failed: not found (HTTP 404)"}


@pytest.mark.integration
def test_patient_the_fhir_server_does_not_hold(make_app, fhir_server, caplog):
    req = request(fhir_server.base_url, "patient")
    req["context"]["patientId"] = "no-such-patient-on-this-server"
    for key in ("medications", "observations", "conditions", "immunizations", "allergies"):
        req["prefetch"][key] = None  # nothing else to fetch
    issues, line = call(make_app, req, caplog, fhir_allowlist=(fhir_server.base_url,), fetch_budget_seconds=20.0)
    assert set(issues) == {"patient"}
    assert line["missingPrefetch"] == {"patient": "not prefetched; fetch failed: not found (HTTP 404)"}
