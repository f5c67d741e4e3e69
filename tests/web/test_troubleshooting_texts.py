"""The README's Troubleshooting section quotes what the service really says.

Each of the five mistakes is made against the real app; the warning, the
OperationOutcome, the /readyz body and the start-up line it produces must
appear in the section word for word (whitespace aside, and the seconds of a
clock difference, which depend on when the test runs).
"""

from __future__ import annotations

import json
import logging
import re
import time
from pathlib import Path

import pytest

from tests import fixturekit as k
from tests.jwt_kit import BASE_URL, ISS, bearer, claims, sign, write_issuers

README = Path(__file__).resolve().parents[2] / "README.md"
SELECT = "/cds-services/tofacitinib-order-select"
_SECONDS = re.compile(r'("(?:expired_seconds_ago|seconds_in_the_future)":)-?\d+')


def normalized(text: str) -> str:
    return _SECONDS.sub(r"\1N", " ".join(text.split()))


@pytest.fixture(scope="module")
def section() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index("\n## Troubleshooting\n")
    end = text.index("\n## ", start + 1)
    return normalized(text[start:end])


@pytest.fixture
def secured(make_app, tmp_path, es384):
    issuers = write_issuers(tmp_path, {"iss": ISS, "jwks": es384.jwks()})

    def build(**overrides):
        return make_app(auth_enabled=True, public_base_url=BASE_URL, trusted_issuers_file=issuers,
                        jti_cache="memory", **overrides).test_client()

    return build


def warning(caplog) -> str:
    (message,) = [r.getMessage() for r in caplog.records
                  if r.name == "cdshooks.security" and "authentication failed" in r.getMessage()][-1:]
    return message


def select(**changes) -> dict:
    req = k.order_select(drafts=[k.tofacitinib_draft()])
    for key in changes.pop("without", ()):
        del req["prefetch"][key]
    req.update(changes)
    return req


def assert_quoted(section: str, said: str) -> None:
    assert normalized(said) in section, f"the README does not quote:\n{said}"


def test_1_wrong_aud(secured, es384, caplog, section):
    token = sign(es384, claims(aud="http://localhost:8080" + SELECT))
    assert secured().post(SELECT, json=select(), headers=bearer(token)).status_code == 401
    assert_quoted(section, warning(caplog))


def test_2_issuer_not_trusted_and_broken_file(secured, make_app, es384, tmp_path, caplog, section):
    token = sign(es384, claims(iss="https://ehr-test.example.org"))
    assert secured().post(SELECT, json=select(), headers=bearer(token)).status_code == 401
    assert_quoted(section, warning(caplog))

    broken = tmp_path / "broken.json"
    broken.write_text('{"issuers": [\n  {"iss": "https://ehr.example.org", "jwks_url": "https://ehr.example.org/j"},\n]}')
    caplog.clear()
    client = make_app(auth_enabled=True, public_base_url=BASE_URL, trusted_issuers_file=str(broken)).test_client()
    (rejected,) = [r.getMessage() for r in caplog.records if "Trusted issuers file rejected" in r.getMessage()]
    assert_quoted(section, rejected.replace(str(broken), "/etc/cdshooks/issuers.json"))
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert_quoted(section, f'"details": {{"trusted-issuers": "{ready.get_json()["details"]["trusted-issuers"]}"}}')
    assert client.get("/cds-services", headers=bearer(token)).status_code == 401
    assert_quoted(section, warning(caplog).removeprefix("CDS client authentication failed: "))


def test_3_fhir_server_not_allowlisted(secured, es384, caplog, section):
    caplog.set_level(logging.INFO)
    req = select(without=["medications"], fhirServer="https://fhir.hospital.example/r4")
    client = secured(fhir_allowlist=("https://fhir.example.org/r4",))
    resp = client.post(SELECT, json=req, headers=bearer(sign(es384, claims())))
    assert resp.status_code == 412
    assert_quoted(section, resp.get_data(as_text=True))

    caplog.clear()
    resp = secured().post(SELECT, json=req, headers=bearer(sign(es384, claims())))
    assert "not fetched: no FHIR server is allowlisted" in resp.get_json()["issue"][0]["diagnostics"]
    assert_quoted(section, "not fetched: no FHIR server is allowlisted")
    (allowlist,) = [r.getMessage() for r in caplog.records if r.getMessage().startswith("FHIR allowlist (")]
    assert_quoted(section, allowlist)


def test_4_prefetch_missing_keys(secured, es384, section):
    req = select(without=["observations", "conditions"])
    resp = secured().post(SELECT, json=req, headers=bearer(sign(es384, claims())))
    assert resp.status_code == 412
    assert_quoted(section, resp.get_data(as_text=True))


def test_5_clock_skew_and_replay(secured, es384, caplog, section):
    client = secured()
    now = int(time.time())
    for token in (sign(es384, claims(iat=now - 400, exp=now - 100)),
                  sign(es384, claims(iat=now + 120, exp=now + 400))):
        assert client.post(SELECT, json=select(), headers=bearer(token)).status_code == 401
        assert_quoted(section, warning(caplog))
    token = sign(es384, claims())
    assert client.post(SELECT, json=select(), headers=bearer(token)).status_code == 200
    assert client.post(SELECT, json=select(), headers=bearer(token)).status_code == 401
    assert_quoted(section, warning(caplog))


def test_the_request_log_lines_quoted_carry_the_same_detail(secured, es384, caplog, section):
    caplog.set_level(logging.INFO, logger="cdshooks.requests")
    token = sign(es384, claims(aud="http://localhost:8080" + SELECT))
    secured().post(SELECT, json=select(), headers=bearer(token))
    line = json.loads([r.getMessage() for r in caplog.records if r.name == "cdshooks.requests"][-1])
    quoted = f'"status":401,"auth":"audience","authDetail":{json.dumps(line["authDetail"], separators=(",", ":"))}'
    assert_quoted(section, quoted)
