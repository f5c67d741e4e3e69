"""Security review, black-box: `cdshooks serve` as shipped, JWT audience, logs, outbound fetches, card HTML."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
import responses

from tests import fixturekit as k
from tests.jwt_kit import BASE_URL, ISS, assert_no_token_material, bearer, claims, sign, write_issuers

SELECT = "/cds-services/tofacitinib-order-select"
HTML = re.compile(r"<\s*/?\s*[a-zA-Z]")  # the start of any HTML tag


@pytest.fixture
def secured(make_app, auth_settings):
    def build(**overrides):
        return make_app(**{"auth_enabled": True, "public_base_url": BASE_URL, "jti_cache": "memory",
                           "trusted_issuers_file": auth_settings.trusted_issuers_file, **overrides})
    return build


# --- JWT audience: the configured public URL, not what the request claims ---


def test_aud_is_checked_against_the_public_base_url_not_the_host_header(secured, es384):
    """A token minted for another service URL must not pass by sending that service's Host header."""
    client = secured().test_client()
    other = "https://other-cds.example.net" + SELECT
    token = sign(es384, claims(aud=other))
    resp = client.post(SELECT, json=k.order_select(drafts=[k.tofacitinib_draft()]), headers={
        **bearer(token), "Host": "other-cds.example.net", "X-Forwarded-Host": "other-cds.example.net"},
        base_url="https://other-cds.example.net")
    assert resp.status_code == 401


@pytest.mark.parametrize("aud", [BASE_URL + SELECT, BASE_URL + SELECT + "/", [BASE_URL + SELECT, "https://x.example"]])
def test_aud_for_the_public_url_passes_with_or_without_trailing_slash(secured, es384, aud):
    resp = secured().test_client().post(SELECT, json=k.order_select(drafts=[k.tofacitinib_draft()]),
                                        headers=bearer(sign(es384, claims(aud=aud))))
    assert resp.status_code == 200


def test_public_base_url_with_a_path_prefix_is_the_audience(secured, es384):
    """Behind a reverse proxy that strips `/cds`, the token names the public URL with the prefix."""
    client = secured(public_base_url="https://ehr-gw.example.org/cds/").test_client()
    ok = sign(es384, claims(aud="https://ehr-gw.example.org/cds" + SELECT))
    assert client.post(SELECT, json=k.order_select(drafts=[k.tofacitinib_draft()]), headers=bearer(ok)).status_code == 200
    no_prefix = sign(es384, claims(aud="https://ehr-gw.example.org" + SELECT))
    assert client.post(SELECT, json=k.order_select(drafts=[k.tofacitinib_draft()]), headers=bearer(no_prefix)).status_code == 401


def test_jku_off_the_issuer_allowlist_is_refused_without_fetching_it(secured, es384):
    with responses.RequestsMock() as rsps:  # any outbound call would fail the test
        token = sign(es384, claims(aud=BASE_URL + SELECT), jku="https://attacker.example/jwks.json")
        resp = secured().test_client().post(SELECT, json={}, headers=bearer(token))
        assert len(rsps.calls) == 0
    assert resp.status_code == 401 and resp.get_data() == b""


def test_401_says_nothing_about_why(secured, es384):
    """Expired, wrong audience, bad signature, unknown key: identical bodies and headers."""
    now = int(time.time())
    tokens = [
        sign(es384, claims(aud=BASE_URL + SELECT, iat=now - 900, exp=now - 600)),
        sign(es384, claims(aud="https://elsewhere.example" + SELECT)),
        sign(es384, claims(aud=BASE_URL + SELECT))[:-6] + "AAAAAA",
        sign(es384, claims(aud=BASE_URL + SELECT), kid="unknown-kid"),
    ]
    client = secured().test_client()
    answers = set()
    for token in tokens:
        resp = client.post(SELECT, json={}, headers=bearer(token))
        assert resp.status_code == 401
        headers = {h: v for h, v in resp.headers.items() if h.lower() not in ("date", "content-length")}
        answers.add((resp.get_data(), json.dumps(headers, sort_keys=True)))
        assert_no_token_material(token, resp.get_data(as_text=True), json.dumps(headers))
    assert len(answers) == 1
    body, headers = answers.pop()
    assert body == b"" and "error" not in headers.lower()


# --- outbound FHIR requests ---------------------------------------------------


@pytest.mark.parametrize("server", [
    "http://169.254.169.254/latest/meta-data/",
    "http://[fd00:ec2::254]/",
    "http://metadata.google.internal/computeMetadata/v1/",
    "https://fhir.example.org/r4",
])
def test_no_prefetch_and_a_server_off_the_allowlist_is_412_with_no_call(make_app, server):
    req = k.order_select(drafts=[k.tofacitinib_draft()])
    del req["prefetch"]
    req.update(fhirServer=server, fhirAuthorization={"access_token": "tok-1", "token_type": "Bearer", "expires_in": 300, "subject": "cds"})
    with responses.RequestsMock() as rsps:
        resp = make_app().test_client().post(SELECT, json=req)
        assert len(rsps.calls) == 0
    assert resp.status_code == 412


def test_redirect_from_the_fhir_server_is_not_followed_and_the_token_stays_home(make_app):
    server = "http://127.0.0.1:8089/fhir"
    req = k.order_select(drafts=[k.tofacitinib_draft()])
    del req["prefetch"]["medications"]
    req.update(fhirServer=server, fhirAuthorization={"access_token": "tok-redirect", "token_type": "Bearer", "expires_in": 300, "subject": "cds"})
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.get(re.compile(r"http://127\.0\.0\.1:8089/fhir/MedicationRequest.*"), status=302,
                 headers={"Location": "https://collector.example.net/steal"})
        trap = rsps.get(re.compile(r"https://collector\.example\.net/.*"), json={})
        resp = make_app().test_client().post(SELECT, json=req)
        assert trap.call_count == 0
        assert len(rsps.calls) == 1
    assert resp.status_code == 412


# --- card detail never carries HTML from input data --------------------------

POISON = "<script>alert(1)</script><img src=x onerror=alert(2)>"


def _poisoned(scenario: str) -> tuple[str, dict]:
    doc = json.loads((k.FIXTURES / scenario / "scenario.json").read_text(encoding="utf-8"))
    req = doc["request"]
    for entry in req["context"].get("draftOrders", {}).get("entry", []):
        concept = entry["resource"].get("medicationCodeableConcept", {})
        concept["text"] = POISON + " " + concept.get("text", "")
        for coding in concept.get("coding", []):
            coding["display"] = POISON + " " + coding.get("display", "")
    for value in req["prefetch"].values():
        for entry in (value or {}).get("entry", []):
            concept = entry["resource"].get("medicationCodeableConcept") or entry["resource"].get("code") or {}
            if "text" in concept:
                concept["text"] = POISON + " " + concept["text"]
    return doc["service"], req


@pytest.mark.parametrize("scenario", [
    "ddi-jak-duplicate-upadacitinib-drafted", "dose-cyp-fluconazole", "dose-text-only",
    "ddi-patient-view-cyclosporine", "screen-tb-latent-tb-condition",
])
def test_card_text_never_carries_html_from_input(make_app, scenario):
    service, req = _poisoned(scenario)
    resp = make_app(now=k.AS_OF).test_client().post(f"/cds-services/{service}", json=req)
    assert resp.status_code == 200
    cards = resp.get_json()["cards"]
    assert cards, "the poisoned scenario should still give its cards"
    texts = [c["summary"] for c in cards] + [c.get("detail", "") for c in cards]
    texts += [s["label"] for c in cards for s in c.get("suggestions", [])]
    assert [t for t in texts if HTML.search(t)] == []
    assert any("&lt;script>alert(1)" in t for t in texts)  # the name reached the card, escaped


# --- `cdshooks serve` as shipped ----------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _FakeFhir(BaseHTTPRequestHandler):
    """The base patient as a FHIR server; records each request's path and Authorization."""

    seen: list[tuple[str, str | None]] = []

    def do_GET(self) -> None:
        self.seen.append((self.path, self.headers.get("Authorization")))
        resources = k.base_resources()
        rtype = self.path.split("/fhir/", 1)[1].split("?")[0].split("/")[0]
        body = resources[0] if rtype == "Patient" else k.bundle(r for r in resources if r["resourceType"] == rtype)
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/fhir+json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args) -> None:
        pass


def test_cdshooks_serve_requires_tokens_and_logs_no_secret(tmp_path: Path, es384):
    fhir = ThreadingHTTPServer(("127.0.0.1", 0), _FakeFhir)
    threading.Thread(target=fhir.serve_forever, daemon=True).start()
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {key: v for key, v in os.environ.items() if not key.startswith("CDSHOOKS_")}
    env.update(CDSHOOKS_TRUSTED_ISSUERS=write_issuers(tmp_path, {"iss": ISS, "jwks": es384.jwks()}),
               CDSHOOKS_PUBLIC_BASE_URL=base, CDSHOOKS_FEEDBACK_DB=str(tmp_path / "fb.sqlite3"),
               CDSHOOKS_NOW="2026-01-15T12:00:00Z",
               # with auth on, nothing is fetched until the FHIR server is named
               CDSHOOKS_FHIR_ALLOWLIST="http://127.0.0.1")
    log_path = tmp_path / "server.log"
    cli = Path(sys.executable).with_name("cdshooks")
    with open(log_path, "w") as log:
        proc = subprocess.Popen([str(cli), "serve", "--port", str(port), "--workers", "1"], env=env,
                                stdout=log, stderr=subprocess.STDOUT)
    tokens: list[str] = []
    fhir_token = "fhir-access-" + uuid.uuid4().hex
    try:
        for _ in range(150):
            try:
                requests.get(base + "/healthz", timeout=2)
                break
            except requests.RequestException:  # not listening yet, or a worker still warming up
                time.sleep(0.1)
        # auth is on by default: no token, no answer
        assert requests.get(base + "/cds-services", timeout=5).status_code == 401
        assert requests.post(base + SELECT, json={}, timeout=5).status_code == 401

        def token(path: str) -> dict[str, str]:
            tokens.append(sign(es384, claims(aud=base + path)))
            return bearer(tokens[-1])

        assert requests.get(base + "/cds-services", headers=token("/cds-services"), timeout=5).status_code == 200
        req = k.order_select(drafts=[k.tofacitinib_draft()])
        del req["prefetch"]
        req["fhirServer"] = f"http://127.0.0.1:{fhir.server_address[1]}/fhir/"
        req["fhirAuthorization"] = {"access_token": fhir_token, "token_type": "bearer", "expires_in": "300", "subject": "cds"}
        resp = requests.post(base + SELECT, json=req, headers=token(SELECT), timeout=10)
        assert resp.status_code == 200, resp.text
        assert resp.headers["Content-Type"].startswith("application/json")
        assert _FakeFhir.seen and all(auth == f"Bearer {fhir_token}" for _, auth in _FakeFhir.seen)
        feedback = {"feedback": [{"card": resp.json()["cards"][0]["uuid"], "outcome": "overridden",
                                  "overrideReason": {"userComment": "discussed"}, "outcomeTimestamp": "2026-01-15T12:00:00Z"}]}
        assert requests.post(base + SELECT + "/feedback", json=feedback, headers=token(SELECT + "/feedback"),
                             timeout=5).status_code == 200
        # a replayed token is refused
        assert requests.get(base + "/cds-services", headers=bearer(tokens[0]), timeout=5).status_code == 401
    finally:
        proc.terminate()
        proc.wait(timeout=15)
        fhir.shutdown()
    text = log_path.read_text()
    assert '"status":200' in text  # the request log was captured
    assert fhir_token not in text
    assert_no_token_material(tokens[0], text)
    for t in tokens:
        assert_no_token_material(t, text)
    assert k.PATIENT_ID not in text.replace(f"Patient/{k.PATIENT_ID}", "")  # ids only in URLs, if at all
