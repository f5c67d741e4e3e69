"""JWT verification of CDS clients, through HTTP on a minimal app (CDS Hooks "Trusting CDS Clients")."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import time

import pytest
import responses
from cryptography.hazmat.primitives import serialization

from tests.jwt_kit import (
    BASE_URL,
    ISS,
    JWKS_URL,
    SERVICE_PATH,
    assert_no_token_material,
    bearer,
    claims,
    sign,
    write_issuers,
)

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unsigned(header: dict, payload: dict) -> str:
    return _b64(json.dumps(header).encode()) + "." + _b64(json.dumps(payload).encode())


def post(app, token: str | None, path: str = SERVICE_PATH, **kw):
    headers = bearer(token) if token is not None else {}
    return app.test_client().post(path, json={"hook": "order-select"}, headers=headers, **kw)


def refused(resp, token: str, caplog) -> None:
    """A bare 401 that leaks nothing of the token."""
    assert resp.status_code == 401
    assert resp.headers["WWW-Authenticate"] == "Bearer"
    assert resp.get_data() == b""
    assert_no_token_material(token, resp.get_data(as_text=True), str(dict(resp.headers)), caplog.text)


def test_valid_es384_token_is_accepted(make_auth_app, es384, caplog):
    caplog.set_level(logging.INFO)
    token = sign(es384)
    resp = post(make_auth_app(), token)
    assert resp.status_code == 200
    assert_no_token_material(token, caplog.text)


def test_discovery_needs_a_token_for_its_own_url(make_auth_app, es384, caplog):
    app = make_auth_app()
    assert app.test_client().get("/cds-services").status_code == 401
    token = sign(es384, claims(aud=BASE_URL + "/cds-services"))
    assert app.test_client().get("/cds-services", headers=bearer(token)).status_code == 200


@responses.activate
def test_valid_rs384_token_with_keys_from_jwks_url(tmp_path, make_auth_app, rs384):
    responses.get(JWKS_URL, json=rs384.jwks())
    issuers = write_issuers(tmp_path, {"iss": ISS, "jwks_url": JWKS_URL})
    app = make_auth_app(trusted_issuers_file=issuers)
    assert post(app, sign(rs384)).status_code == 200
    assert post(app, sign(rs384)).status_code == 200
    assert len(responses.calls) == 1  # cached


def test_expired_token(make_auth_app, es384, caplog):
    now = int(time.time())
    token = sign(es384, claims(iat=now - 900, exp=now - 600))
    refused(post(make_auth_app(), token), token, caplog)
    assert "expired" in caplog.text


def test_expiry_within_clock_skew_is_tolerated(make_auth_app, es384):
    now = int(time.time())
    token = sign(es384, claims(iat=now - 300, exp=now - 30))
    assert post(make_auth_app(jwt_clock_skew_seconds=60), token).status_code == 200


@pytest.mark.parametrize("claim", ["iat", "nbf"])
def test_token_not_yet_valid(make_auth_app, es384, caplog, claim):
    now = int(time.time())
    token = sign(es384, claims(**{claim: now + 600}, exp=now + 900))
    refused(post(make_auth_app(), token), token, caplog)


@pytest.mark.parametrize(
    "aud",
    [BASE_URL + "/cds-services/tofacitinib-patient-view", "https://evil.example.org" + SERVICE_PATH, BASE_URL],
)
def test_wrong_audience(make_auth_app, es384, caplog, aud):
    token = sign(es384, claims(aud=aud))
    refused(post(make_auth_app(), token), token, caplog)
    assert "audience" in caplog.text


@pytest.mark.parametrize("aud", [BASE_URL + SERVICE_PATH + "/", [BASE_URL + SERVICE_PATH]])
def test_audience_tolerates_trailing_slash_and_list(make_auth_app, es384, aud):
    assert post(make_auth_app(), sign(es384, claims(aud=aud))).status_code == 200


def test_public_base_url_with_trailing_slash(make_auth_app, es384):
    assert post(make_auth_app(public_base_url=BASE_URL + "/"), sign(es384)).status_code == 200


def test_without_public_base_url_the_request_url_is_the_audience(make_auth_app, es384):
    app = make_auth_app(public_base_url=None)
    assert post(app, sign(es384, claims(aud="http://localhost" + SERVICE_PATH))).status_code == 200
    assert post(app, sign(es384)).status_code == 401


def test_unknown_issuer(make_auth_app, es384, caplog):
    token = sign(es384, claims(iss="https://attacker.example.net"))
    refused(post(make_auth_app(), token), token, caplog)
    assert "unknown-issuer" in caplog.text


@responses.activate
def test_jku_not_on_allowlist_is_never_fetched(make_auth_app, es384, caplog):
    responses.get("https://attacker.example.net/jwks.json", json=es384.jwks())
    token = sign(es384, jku="https://attacker.example.net/jwks.json")
    refused(post(make_auth_app(), token), token, caplog)
    assert len(responses.calls) == 0
    assert "jku-not-allowed" in caplog.text


@responses.activate
def test_allowlisted_jku_supplies_the_keys(tmp_path, make_auth_app, rs384):
    jku = "https://keys.ehr.example.org/jwks.json"
    responses.get(jku, json=rs384.jwks())
    issuers = write_issuers(tmp_path, {"iss": ISS, "jku_allowlist": [jku]})
    assert post(make_auth_app(trusted_issuers_file=issuers), sign(rs384, jku=jku)).status_code == 200
    assert [c.request.url for c in responses.calls] == [jku]


def test_alg_none_is_refused(make_auth_app, es384, caplog):
    token = _unsigned({"alg": "none", "typ": "JWT", "kid": es384.kid}, claims()) + "."
    refused(post(make_auth_app(), token), token, caplog)
    assert "algorithm" in caplog.text


def test_hs256_signed_with_the_public_key_is_refused(make_auth_app, es384, caplog):
    """Algorithm confusion: an HMAC keyed with the (public) PEM must not verify."""
    pem = es384.private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    signing_input = _unsigned({"alg": "HS256", "typ": "JWT", "kid": es384.kid}, claims())
    signature = hmac.new(pem, signing_input.encode(), hashlib.sha256).digest()
    token = signing_input + "." + _b64(signature)
    refused(post(make_auth_app(), token), token, caplog)
    assert "algorithm" in caplog.text


def test_key_type_must_match_the_algorithm(tmp_path, make_auth_app, es384, rs384, caplog):
    """An RS384 token naming the kid of an EC key (without `alg`) is refused before any signature check."""
    jwk = es384.public_jwk()
    jwk.pop("alg")
    issuers = write_issuers(tmp_path, {"iss": ISS, "jwks": {"keys": [jwk]}})
    token = sign(rs384, kid=es384.kid)
    refused(post(make_auth_app(trusted_issuers_file=issuers), token), token, caplog)
    assert "algorithm" in caplog.text


def test_replayed_jti_is_refused(make_auth_app, es384, caplog):
    app = make_auth_app()
    token = sign(es384)
    assert post(app, token).status_code == 200
    refused(post(app, token), token, caplog)
    assert "replay" in caplog.text


def test_failed_token_does_not_burn_its_jti(make_auth_app, es384):
    app = make_auth_app()
    jti = "same-jti"
    assert post(app, sign(es384, claims(aud=BASE_URL, jti=jti))).status_code == 401
    assert post(app, sign(es384, claims(jti=jti))).status_code == 200


@responses.activate
def test_unknown_kid_triggers_exactly_one_refresh(tmp_path, make_auth_app, es384, rs384, caplog):
    responses.get(JWKS_URL, json=es384.jwks())
    issuers = write_issuers(tmp_path, {"iss": ISS, "jwks_url": JWKS_URL})
    app = make_auth_app(trusted_issuers_file=issuers, jwks_min_refresh_seconds=60)
    assert post(app, sign(es384)).status_code == 200
    assert len(responses.calls) == 1
    token = sign(rs384)  # a kid the published set does not have
    refused(post(app, token), token, caplog)
    assert len(responses.calls) == 2  # one refresh
    refused(post(app, sign(rs384)), token, caplog)
    assert len(responses.calls) == 2  # rate-limited: no second refresh


@responses.activate
def test_key_rotation_is_picked_up_by_the_refresh(tmp_path, make_auth_app, es384, rs384):
    responses.get(JWKS_URL, json=es384.jwks())
    responses.get(JWKS_URL, json={"keys": [es384.public_jwk(), rs384.public_jwk()]})
    issuers = write_issuers(tmp_path, {"iss": ISS, "jwks_url": JWKS_URL})
    app = make_auth_app(trusted_issuers_file=issuers)
    assert post(app, sign(es384)).status_code == 200
    assert post(app, sign(rs384)).status_code == 200
    assert len(responses.calls) == 2


@pytest.mark.parametrize("header", [None, "", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz"])
def test_missing_or_non_bearer_authorization(make_auth_app, header, caplog):
    headers = {} if header is None else {"Authorization": header}
    resp = make_auth_app().test_client().post(SERVICE_PATH, json={}, headers=headers)
    assert resp.status_code == 401
    assert resp.get_data() == b""
    assert "dXNlcjpwYXNz" not in caplog.text


@pytest.mark.parametrize("token", ["not-a-jwt", "a.b.c", "eyJhbGciOiJFUzM4NCJ9.bm90IGpzb24.c2ln", "x" * 20000])
def test_malformed_token(make_auth_app, token, caplog):
    refused(post(make_auth_app(), token), token, caplog)


def test_token_without_kid_is_refused(make_auth_app, es384, caplog):
    import jwt as pyjwt

    token = pyjwt.encode(claims(), es384.private, algorithm="ES384")
    refused(post(make_auth_app(), token), token, caplog)


@pytest.mark.parametrize("missing", ["exp", "iat", "jti", "aud"])
def test_required_claims(make_auth_app, es384, caplog, missing):
    token = sign(es384, claims(**{missing: None}))
    refused(post(make_auth_app(), token), token, caplog)


def test_token_lifetime_is_bounded(make_auth_app, es384, caplog):
    now = int(time.time())
    token = sign(es384, claims(iat=now, exp=now + 7200))
    refused(post(make_auth_app(jwt_max_lifetime_seconds=3600), token), token, caplog)


def test_tenant_allowlist(tmp_path, make_auth_app, es384, caplog):
    issuers = write_issuers(tmp_path, {"iss": ISS, "jwks": es384.jwks(), "tenants": ["hospital-a"]})
    app = make_auth_app(trusted_issuers_file=issuers)
    assert post(app, sign(es384, claims(tenant="hospital-a"))).status_code == 200
    token = sign(es384, claims(tenant="hospital-b"))
    refused(post(app, token), token, caplog)
    assert "tenant" in caplog.text
    token = sign(es384)  # no tenant claim at all
    refused(post(app, token), token, caplog)


def test_no_trusted_issuer_refuses_everything_and_says_so(make_auth_app, es384, caplog):
    caplog.set_level(logging.INFO)
    app = make_auth_app(trusted_issuers_file=None)
    assert "no trusted CDS client is configured" in caplog.text
    token = sign(es384)
    refused(post(app, token), token, caplog)


def test_malformed_issuers_file_is_logged_and_refuses(tmp_path, make_auth_app, es384, caplog):
    bad = tmp_path / "bad.json"
    bad.write_text('{"issuers": [{"iss": "https://x", "jwks_uri": "typo"}]}')
    app = make_auth_app(trusted_issuers_file=str(bad))
    assert "unknown field" in caplog.text
    assert post(app, sign(es384)).status_code == 401


def test_auth_off_lets_calls_through_with_a_loud_warning(make_auth_app, caplog):
    app = make_auth_app(auth_enabled=False)
    assert "AUTHENTICATION IS OFF" in caplog.text
    assert post(app, None).status_code == 200


def test_preflight_and_health_need_no_token(make_auth_app):
    client = make_auth_app().test_client()
    assert client.get("/healthz").status_code == 200
    assert client.options(SERVICE_PATH).status_code != 401


def test_sandbox_issuer_is_trusted_only_when_asked(make_auth_app, caplog):
    from cdshooks.web.auth import VERIFIER_KEY

    app = make_auth_app(trusted_issuers_file=None, trust_sandbox=True)
    assert "private key is public" in caplog.text
    assert app.extensions[VERIFIER_KEY].has_issuers
    assert not make_auth_app(trusted_issuers_file=None).extensions[VERIFIER_KEY].has_issuers
