"""A 401 stays bare for the client, but the log says which check failed and what did not match.

Through the real app: one warning line (category, identifiers, a hint) and the
JSON request log line (`auth`, `authDetail`); never the token, its parts or its jti.
"""

from __future__ import annotations

import json
import logging
import time
import uuid

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from tests import fixturekit as k
from tests.jwt_kit import BASE_URL, ISS, SigningKey, assert_no_token_material, bearer, claims, sign

SELECT = "/cds-services/tofacitinib-order-select"


@pytest.fixture
def secured(make_app, auth_settings):
    return make_app(
        auth_enabled=True,
        public_base_url=BASE_URL,
        trusted_issuers_file=auth_settings.trusted_issuers_file,
        jti_cache="memory",
    ).test_client()


def refused(client, caplog, headers: dict) -> tuple[str, dict]:
    """POST a call that must be refused; the warning text and the request log line."""
    caplog.set_level(logging.INFO)
    resp = client.post(SELECT, json=k.order_select(drafts=[k.tofacitinib_draft()]), headers=headers)
    assert resp.status_code == 401
    assert resp.get_data() == b""  # the client learns nothing
    warnings = [r.getMessage() for r in caplog.records
                if r.name == "cdshooks.security" and r.levelno == logging.WARNING and "failed" in r.getMessage()]
    (warning,) = warnings[-1:]
    line = json.loads([r.getMessage() for r in caplog.records if r.name == "cdshooks.requests"][-1])
    return warning, line


def test_audience_logs_expected_and_received_aud(secured, es384, caplog):
    sent_aud = "http://localhost:8080" + SELECT  # a client configured with the wrong service URL
    token = sign(es384, claims(aud=sent_aud))
    warning, line = refused(secured, caplog, bearer(token))
    assert line["auth"] == "audience"
    assert line["authDetail"] == {"iss": ISS, "expected_aud": BASE_URL + SELECT, "received_aud": sent_aud}
    assert warning.startswith("CDS client authentication failed: audience ")
    assert BASE_URL + SELECT in warning and sent_aud in warning
    assert "CDSHOOKS_PUBLIC_BASE_URL" in warning
    assert_no_token_material(token, caplog.text)


def test_audience_as_a_list_is_logged_as_sent(secured, es384, caplog):
    token = sign(es384, claims(aud=["https://a.example", "https://b.example"]))
    _, line = refused(secured, caplog, bearer(token))
    assert line["authDetail"]["received_aud"] == ["https://a.example", "https://b.example"]


def other_key() -> SigningKey:
    return SigningKey("ES384", "ec-key-1", ec.generate_private_key(ec.SECP384R1()))  # same kid, wrong key


@pytest.mark.parametrize(
    "case, make_headers, category, detail",
    [
        ("no header", lambda key: {}, "missing", {"reason": "no Authorization header"}),
        ("basic auth", lambda key: {"Authorization": "Basic dXNlcjpwdw=="}, "malformed",
         {"reason": "the Authorization header is not 'Bearer <JWT>'"}),
        ("issuer not trusted", lambda key: bearer(sign(key, claims(iss="https://unknown-ehr.example"))),
         "unknown-issuer", {"iss": "https://unknown-ehr.example"}),
        ("wrong key", lambda key: bearer(sign(other_key(), claims())), "signature", {"iss": ISS}),
        ("expired", lambda key: bearer(sign(key, claims(iat=int(time.time()) - 900, exp=int(time.time()) - 600))),
         "expired", {"iss": ISS, "clock_skew_allowed": 60}),
        ("from the future", lambda key: bearer(sign(key, claims(iat=int(time.time()) + 600))),
         "not-yet-valid", {"iss": ISS, "clock_skew_allowed": 60}),
        ("no jti", lambda key: bearer(sign(key, claims(jti=None))), "missing-claim", {"iss": ISS, "claim": "jti"}),
        ("unknown kid", lambda key: bearer(sign(key, claims(), kid="rotated-away")), "unknown-key",
         {"iss": ISS, "kid": "rotated-away"}),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_each_check_says_what_failed(secured, es384, caplog, case, make_headers, category, detail):
    headers = make_headers(es384)
    warning, line = refused(secured, caplog, headers)
    assert line["auth"] == category
    assert detail.items() <= line["authDetail"].items()
    assert f"CDS client authentication failed: {category}" in warning
    token = headers.get("Authorization", "").partition(" ")[2]
    if "." in token:
        assert_no_token_material(token, caplog.text)


def test_expired_says_by_how_much(secured, es384, caplog):
    now = int(time.time())
    _, line = refused(secured, caplog, bearer(sign(es384, claims(iat=now - 900, exp=now - 600))))
    assert 595 <= line["authDetail"]["expired_seconds_ago"] <= 620


def test_replay_is_named(secured, es384, caplog):
    token = sign(es384, claims(jti=str(uuid.uuid4())))
    body = k.order_select(drafts=[k.tofacitinib_draft()])
    assert secured.post(SELECT, json=body, headers=bearer(token)).status_code == 200
    warning, line = refused(secured, caplog, bearer(token))
    assert line["auth"] == "replay"
    assert line["authDetail"] == {"iss": ISS, "reason": "this jti was already used"}
    assert_no_token_material(token, caplog.text)


def test_an_odd_issuer_is_not_echoed_raw(secured, es384, caplog):
    forged = "https://x.example\n127.0.0.1 - - forged line" + "A" * 500
    warning, line = refused(secured, caplog, bearer(sign(es384, claims(iss=forged))))
    assert "\n" not in warning and "\n" not in line["authDetail"]["iss"]
    assert len(line["authDetail"]["iss"]) <= 200
