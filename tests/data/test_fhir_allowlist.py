"""SSRF guard through HTTP: a fhirServer off the allowlist gets no outbound call and the hook 412s.

Every outbound URL is answered by a catch-all `responses` mock, so a call that
should not happen would succeed (and be counted) rather than fail silently.
"""

from __future__ import annotations

import ipaddress
import logging
import re

import pytest
import responses

from tests import fixturekit as k

SELECT = "/cds-services/tofacitinib-order-select"
FHIR = "https://fhir.example.org/r4"
TOKEN = "fhir-access-token-never-leaves"


def request_needing_fetch(server: str) -> dict:
    """An order-select call whose prefetch lacks the required keys, so data must be fetched."""
    req = k.order_select(drafts=[k.tofacitinib_draft()])
    del req["prefetch"]["medications"], req["prefetch"]["conditions"]
    req["fhirServer"] = server
    req["fhirAuthorization"] = {"access_token": TOKEN, "token_type": "Bearer", "scope": "patient/*.read",
                                "expires_in": 300, "subject": "cds"}
    return req


@pytest.fixture(autouse=True)
def public_dns(monkeypatch):
    """Host names resolve to a public address, without a real DNS query."""
    from cdshooks.data import allowlist

    monkeypatch.setattr(allowlist, "_default_resolver", lambda host, port: [ipaddress.ip_address("203.0.113.10")])


@pytest.fixture
def outbound():
    """Answers any GET with an empty Bundle and records it."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add(responses.GET, re.compile(r".*"), json={"resourceType": "Bundle", "type": "searchset", "entry": []})
        yield mock


@pytest.mark.parametrize(
    "server",
    [
        "http://169.254.169.254/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[fd00:ec2::254]/",
        "http://metadata.google.internal/computeMetadata/v1",
        "http://localhost/fhir",
        "http://127.0.0.1:8080/fhir",
        "http://[::1]/fhir",
        "http://10.0.0.5/fhir",
        "https://fhir.example.org.attacker.net/r4",
        "https://fhir.example.org@attacker.net/r4",
        "file:///etc/passwd",
        "gopher://fhir.example.org/r4",
    ],
)
def test_server_off_the_allowlist_is_never_called(make_app, outbound, server, caplog):
    client = make_app(fhir_allowlist=(FHIR,)).test_client()
    resp = client.post(SELECT, json=request_needing_fetch(server))
    assert resp.status_code == 412, resp.get_data(as_text=True)
    assert resp.get_json()["resourceType"] == "OperationOutcome"
    assert len(outbound.calls) == 0
    assert TOKEN not in resp.get_data(as_text=True) + caplog.text


def test_allowlisted_server_is_called_with_its_token(make_app, outbound):
    """Control: the same request to an allowlisted server does go out (so the test above can fail)."""
    client = make_app(fhir_allowlist=(FHIR,)).test_client()
    resp = client.post(SELECT, json=request_needing_fetch(FHIR))
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert outbound.calls and all(c.request.url.startswith(FHIR + "/") for c in outbound.calls)
    assert all(c.request.headers["Authorization"] == f"Bearer {TOKEN}" for c in outbound.calls)


def test_allowlisted_name_resolving_to_metadata_address_is_refused(make_app, outbound, monkeypatch):
    from cdshooks.data import allowlist  # DNS rebinding: the name is fine, its address is not

    monkeypatch.setattr(allowlist, "_default_resolver", lambda host, port: [ipaddress.ip_address("169.254.169.254")])
    client = make_app(fhir_allowlist=(FHIR,)).test_client()
    assert client.post(SELECT, json=request_needing_fetch(FHIR)).status_code == 412
    assert len(outbound.calls) == 0


def test_redirect_to_another_host_is_not_followed_and_gets_no_token(make_app, caplog):
    caplog.set_level(logging.DEBUG)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add(responses.GET, re.compile(re.escape(FHIR) + ".*"), status=302,
                 headers={"Location": "http://169.254.169.254/latest/meta-data/"})
        mock.add(responses.GET, re.compile(r"http://169\.254\.169\.254/.*"), body="secret")
        resp = make_app(fhir_allowlist=(FHIR,)).test_client().post(SELECT, json=request_needing_fetch(FHIR))
        assert resp.status_code == 412
        assert all(c.request.url.startswith(FHIR + "/") for c in mock.calls)
    assert TOKEN not in caplog.text


def test_next_link_to_another_host_is_not_followed(make_app):
    page = {"resourceType": "Bundle", "type": "searchset", "entry": [],
            "link": [{"relation": "next", "url": "https://attacker.net/steal?page=2"}]}
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add(responses.GET, re.compile(re.escape(FHIR) + ".*"), json=page)
        mock.add(responses.GET, re.compile(r"https://attacker\.net/.*"), json=page)
        resp = make_app(fhir_allowlist=(FHIR,)).test_client().post(SELECT, json=request_needing_fetch(FHIR))
        assert resp.status_code == 200
        assert not [c for c in mock.calls if "attacker.net" in c.request.url]
