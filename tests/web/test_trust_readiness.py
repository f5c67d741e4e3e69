"""/readyz is 503 while no CDS client could authenticate as configured, and says what to fix;
start-up logs what the service trusts (issuers, never keys) and which FHIR servers it may call."""

from __future__ import annotations

import json
import logging

import pytest

from tests.jwt_kit import ISS, JWKS_URL, write_issuers


def readiness(app) -> tuple[int, dict]:
    resp = app.test_client().get("/readyz")
    return resp.status_code, resp.get_json()


@pytest.mark.parametrize(
    "content, detail",
    [
        (None, "CDSHOOKS_TRUSTED_ISSUERS: cannot read the file: not found"),
        ('{"issuers": [\n  {"iss": "https://a.example", "jwks_url": "https://a.example/jwks"},,\n]}',
         "CDSHOOKS_TRUSTED_ISSUERS: invalid JSON at line 2, column 70 (Expecting value)"),
        ('{"issuers": [{"iss": "https://hidden-ehr.example", "jwks_url": "ftp://hidden-ehr.example/k"}]}',
         "CDSHOOKS_TRUSTED_ISSUERS: issuers[0].jwks_url: must be an http(s) URL"),
        ('{"issuers": {"iss": "https://a.example"}}',
         "CDSHOOKS_TRUSTED_ISSUERS: expected an object with an 'issuers' list"),
    ],
    ids=["missing", "json-error", "bad-field", "wrong-shape"],
)
def test_readyz_503_while_the_issuers_file_is_missing_or_invalid(make_app, tmp_path, content, detail):
    path = tmp_path / "secret-dir" / "issuers.json"
    if content is not None:
        path.parent.mkdir()
        path.write_text(content)
    status, body = readiness(make_app(auth_enabled=True, trusted_issuers_file=str(path)))
    assert status == 503
    assert body["status"] == "unavailable"
    assert body["checks"]["trusted-issuers"] == "failed"
    assert body["details"] == {"trusted-issuers": detail}
    text = json.dumps(body)
    assert "secret-dir" not in text and "hidden-ehr" not in text  # no path, no issuer value


def test_an_invalid_file_is_503_even_with_the_sandbox_trusted(make_app, tmp_path):
    path = tmp_path / "issuers.json"
    path.write_text("{")
    status, body = readiness(make_app(auth_enabled=True, trusted_issuers_file=str(path), trust_sandbox=True))
    assert status == 503 and "line 1, column 2" in body["details"]["trusted-issuers"]


def test_readyz_503_with_auth_on_and_no_issuer_at_all(make_app):
    status, body = readiness(make_app(auth_enabled=True))
    assert status == 503
    assert body["details"]["trusted-issuers"].startswith("no trusted issuer: set CDSHOOKS_TRUSTED_ISSUERS")


def test_readyz_ok_with_a_valid_file_and_without_auth(make_app, tmp_path, es384):
    path = write_issuers(tmp_path, {"iss": ISS, "jwks": es384.jwks()})
    assert readiness(make_app(auth_enabled=True, trusted_issuers_file=path)) == (
        200, {"status": "ok", "checks": {"settings": "ok", "cards": "ok", "feedback-store": "ok", "trusted-issuers": "ok"}}
    )
    # Without authentication the issuers are not used: a broken file does not matter.
    assert readiness(make_app(auth_enabled=False, trusted_issuers_file=str(tmp_path / "nope.json")))[0] == 200


def startup_lines(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name in ("cdshooks.startup", "cdshooks.security")]


def test_startup_logs_issuers_without_keys_and_the_allowlist(make_app, tmp_path, es384, caplog):
    caplog.set_level(logging.INFO)
    path = write_issuers(
        tmp_path,
        {"iss": ISS, "jwks_url": JWKS_URL},
        {"iss": "https://client.example.com", "jwks": es384.jwks(), "tenants": ["a", "b"]},
    )
    make_app(auth_enabled=True, trusted_issuers_file=path, fhir_allowlist=("https://fhir.example.org/r4",))
    lines = startup_lines(caplog)
    assert "Trusted CDS clients: 2 issuer(s)" in lines
    assert f"Trusted issuer: iss={ISS} jwks_url={JWKS_URL}" in lines
    assert "Trusted issuer: iss=https://client.example.com static jwks (1 key) tenants=2" in lines
    assert "FHIR allowlist (CDSHOOKS_FHIR_ALLOWLIST): https://fhir.example.org/r4" in lines
    jwk = es384.public_jwk()
    assert jwk["x"] not in caplog.text and jwk["y"] not in caplog.text


def test_startup_logs_the_default_allowlists(make_app, caplog):
    caplog.set_level(logging.INFO)
    make_app(auth_enabled=True, trust_sandbox=True)
    assert ("FHIR allowlist (CDSHOOKS_FHIR_ALLOWLIST unset: the default with authentication on): "
            "empty, fhirServer is never called (prefetch only)") in startup_lines(caplog)
    assert any(line.startswith("Trusted issuer: iss=https://sandbox.cds-hooks.org ") for line in startup_lines(caplog))
    caplog.clear()
    make_app(auth_enabled=False)
    lines = startup_lines(caplog)
    assert "Authentication is off: no trusted issuers are used" in lines
    assert ("FHIR allowlist (default with authentication off): "
            "http://127.0.0.1, http://localhost, http://[::1]") in lines


def test_startup_warns_about_an_allowlist_entry_that_is_ignored(make_app, caplog):
    caplog.set_level(logging.INFO)
    make_app(fhir_allowlist=("fhir.example.org", "https://fhir.example.org"))
    assert ("FHIR allowlist entry 'fhir.example.org' is not an http(s) origin or URL and is ignored"
            in startup_lines(caplog))
