"""Shared fixtures for data-gathering tests: no real DNS, a mocked FHIR server."""

from __future__ import annotations

import ipaddress

import pytest
import responses

from cdshooks.data import allowlist

# Host names the tests use and what they "resolve" to (never real DNS).
FAKE_DNS = {
    "fhir.example.org": "93.184.216.34",
    "other.example.org": "93.184.216.35",
    "rebind.example.org": "169.254.169.254",
    "sneaky-loopback.example.org": "127.0.0.1",
    "internal.hospital.test": "10.1.2.3",
}


def fake_resolver(host: str, port: int) -> list:
    if host not in FAKE_DNS:
        raise OSError("unknown host")
    return [ipaddress.ip_address(FAKE_DNS[host])]


@pytest.fixture(autouse=True)
def no_real_dns(monkeypatch):
    monkeypatch.setattr(allowlist, "_default_resolver", fake_resolver)


@pytest.fixture
def rsps():
    """A `responses` mock in which any unregistered URL fails (and is recorded)."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock
