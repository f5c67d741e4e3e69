"""The fhirServer allowlist: matching rules and the link-local / metadata refusals."""

from __future__ import annotations

import ipaddress

import pytest

from cdshooks.config import DEFAULT_FHIR_ALLOWLIST
from cdshooks.data.allowlist import FhirAllowlist, parse_server_url


def allowed(entries, url) -> bool:
    return FhirAllowlist(entries).refusal(url) is None


@pytest.mark.parametrize(
    "url, ok",
    [
        ("https://fhir.example.org/r4", True),
        ("https://fhir.example.org/r4/", True),
        ("https://fhir.example.org/r4/Patient/1", True),
        ("https://FHIR.example.org/r4", True),
        ("https://fhir.example.org:443/r4", True),
        ("https://fhir.example.org:8443/r4", True),  # no port in the entry: any port
        ("https://fhir.example.org/r4x", False),  # a prefix is a path segment, not a string
        ("https://fhir.example.org/", False),
        ("http://fhir.example.org/r4", False),
        ("https://fhir.example.org.evil.com/r4", False),
        ("https://fhir.example.org@evil.com/r4", False),
        ("https://evil.com\\@fhir.example.org/r4", False),
        ("https://fhir.example.org/r4/../admin", False),
        ("https://fhir.example.org/r4/%2e%2e/admin", False),
        ("ftp://fhir.example.org/r4", False),
        ("https://fhir.example.org:notaport/r4", False),
        ("", False),
        (None, False),
    ],
)
def test_path_prefix_entry(url, ok):
    assert allowed(("https://fhir.example.org/r4",), url) is ok


def test_explicit_port_must_match():
    entries = ("https://fhir.example.org:8443",)
    assert allowed(entries, "https://fhir.example.org:8443/fhir")
    assert not allowed(entries, "https://fhir.example.org/fhir")
    assert allowed(("https://fhir.example.org:443",), "https://fhir.example.org/fhir")


@pytest.mark.parametrize(
    "url, ok",
    [
        ("http://127.0.0.1:8080/fhir", True),
        ("http://localhost:52773/fhir", True),
        ("http://[::1]:8080/", True),
        ("http://[0:0::1]/fhir", True),  # the same IPv6 literal written differently
        ("https://127.0.0.1/fhir", False),  # default entries are http
        ("http://127.1/fhir", False),  # host names are compared exactly
        ("http://2130706433/fhir", False),
        ("http://localhost./fhir", False),
        ("http://10.0.0.5/fhir", False),
        ("http://169.254.169.254/latest", False),
    ],
)
def test_default_allowlist_is_loopback_only(url, ok):
    assert allowed(DEFAULT_FHIR_ALLOWLIST, url) is ok


def test_empty_allowlist_refuses_everything():
    assert FhirAllowlist(()).refusal("http://127.0.0.1/") == "no FHIR server is allowlisted"


def test_localhost_refused_when_loopback_not_allowlisted():
    assert not allowed(("https://fhir.example.org",), "http://localhost/fhir")
    assert not allowed(("https://fhir.example.org",), "http://127.0.0.1/fhir")


@pytest.mark.parametrize(
    "entry, url",
    [
        ("http://metadata.google.internal", "http://metadata.google.internal/computeMetadata/v1"),
        ("http://metadata", "http://metadata/"),
    ],
)
def test_metadata_names_refused_even_when_listed(entry, url):
    assert FhirAllowlist((entry,)).refusal(url) == "fhirServer names a cloud metadata service"


@pytest.mark.parametrize(
    "literal", ["169.254.169.254", "100.100.100.200", "[fd00:ec2::254]", "[fe80::1]", "[::ffff:169.254.169.254]"]
)
def test_link_local_and_metadata_literals_only_when_that_literal_is_listed(literal):
    url = f"http://{literal}/fhir"
    assert allowed((f"http://{literal}",), url)  # the operator named this exact address
    assert not allowed(DEFAULT_FHIR_ALLOWLIST + ("https://fhir.example.org",), url)


def resolver_to(address):
    return lambda host, port: [ipaddress.ip_address(address)]


@pytest.mark.parametrize("address", ["169.254.169.254", "fd00:ec2::254", "100.100.100.200", "::ffff:169.254.1.1"])
def test_name_resolving_to_metadata_is_refused(address):
    al = FhirAllowlist(("https://fhir.example.org",), resolver=resolver_to(address))
    assert al.refusal("https://fhir.example.org/r4") is None
    assert "link-local or metadata" in al.address_refusal("https://fhir.example.org/r4")


def test_name_resolving_to_a_listed_literal_is_allowed():
    al = FhirAllowlist(("https://fhir.example.org", "http://169.254.10.20"), resolver=resolver_to("169.254.10.20"))
    assert al.address_refusal("https://fhir.example.org/r4") is None


def test_name_resolving_to_loopback_needs_a_loopback_entry():
    url = "https://fhir.example.org/r4"
    assert FhirAllowlist(("https://fhir.example.org",), resolver=resolver_to("127.0.0.1")).address_refusal(url)
    with_loopback = FhirAllowlist(("https://fhir.example.org", "http://127.0.0.1"), resolver=resolver_to("127.0.0.1"))
    assert with_loopback.address_refusal(url) is None


def test_private_address_of_a_listed_name_is_allowed():
    al = FhirAllowlist(("https://fhir.example.org",), resolver=resolver_to("10.1.2.3"))
    assert al.address_refusal("https://fhir.example.org/r4") is None


def test_resolution_failure_is_not_a_refusal():
    def fail(host, port):
        raise OSError("no such host")

    assert FhirAllowlist(("https://fhir.example.org",), resolver=fail).address_refusal("https://fhir.example.org") is None


def test_invalid_entries_are_ignored():
    al = FhirAllowlist(("not a url", "https://fhir.example.org"))
    assert [e.host for e in al.entries] == ["fhir.example.org"]


def test_parse_server_url_normalizes_ip_literals():
    assert parse_server_url("http://[0:0:0:0:0:0:0:1]:8080/x/").host == "::1"
    assert parse_server_url("http://[0:0:0:0:0:0:0:1]:8080/x/").path == "/x"
    assert parse_server_url("http://user:pw@host/") is None
