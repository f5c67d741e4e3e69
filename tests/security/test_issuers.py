"""The trusted issuers file: format, strictness, the shipped sandbox and example files."""

from __future__ import annotations

import json
import re
from importlib import resources

import pytest

from cdshooks.security.issuers import SANDBOX_ISS, IssuerConfigError, load_issuers, parse_issuers, sandbox_issuer


def test_full_entry_is_read():
    (issuer,) = parse_issuers(
        {
            "issuers": [
                {
                    "iss": "https://ehr.example.org",
                    "jwks_url": "https://ehr.example.org/jwks.json",
                    "jku_allowlist": ["https://ehr.example.org/jwks.json"],
                    "tenants": ["a"],
                }
            ]
        }
    )
    assert issuer.iss == "https://ehr.example.org"
    assert issuer.jku_allowlist == frozenset({"https://ehr.example.org/jwks.json"})
    assert issuer.tenants == frozenset({"a"})


@pytest.mark.parametrize(
    "doc, message",
    [
        ([], "'issuers' list"),
        ({"issuers": [{"jwks_url": "https://x"}]}, "issuers[0].iss: must be a non-empty string"),
        ({"issuers": [{"iss": "https://x"}]}, "no key source"),
        ({"issuers": [{"iss": "https://x", "jwks_uri": "https://x"}]}, "unknown field"),
        ({"issuers": [{"iss": "https://x", "jwks_url": "file:///etc/passwd"}]}, "http(s) URL"),
        ({"issuers": [{"iss": "https://x", "jwks": {"kty": "EC"}}]}, "'keys' list"),
        ({"issuers": [{"iss": "https://x", "jku_allowlist": "https://x"}]}, "list of non-empty strings"),
        ({"issuers": [{"iss": "https://x", "jwks_url": "https://x"}] * 2}, "listed twice"),
    ],
)
def test_malformed_files_are_rejected_with_a_reason(doc, message):
    with pytest.raises(IssuerConfigError, match=re.escape(message)):
        parse_issuers(doc)


def test_unreadable_file(tmp_path):
    with pytest.raises(IssuerConfigError, match="cannot read the file: not found"):
        load_issuers(str(tmp_path / "missing.json"))
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(IssuerConfigError, match=re.escape("invalid JSON at line 1, column 2")):
        load_issuers(str(tmp_path / "bad.json"))


@pytest.mark.parametrize(
    "text, public",
    [
        ('{"issuers": [\n  {"iss": "https://a", "jwks_url": "https://a/j"}\n  {"iss": "https://b"}\n]}',
         "invalid JSON at line 3, column 3 (Expecting ',' delimiter)"),
        ('{"issuers": [{"iss": "https://a", "jwks_ur": "https://a/j"}]}',
         "issuers[0].jwks_ur: unknown field (known: comment, iss, jku_allowlist, jwks, jwks_url, tenants)"),
        ('{"issuers": [{"iss": "https://a", "jwks_url": "https://a/j"}, {"iss": "https://secret-ehr", "jwks": {}}]}',
         "issuers[1].jwks: must be a JWK Set object with a 'keys' list"),
        ('{"issuers": [{"iss": "https://a", "jwks_url": "https://a/j"}, {"iss": "https://a", "jwks_url": "https://a/k"}]}',
         "issuers[1].iss: listed twice (the same as issuers[0])"),
        ('{"issuers": [{"iss": "https://secret-ehr"}]}', "issuers[0]: no key source (give jwks_url, jwks or jku_allowlist)"),
    ],
)
def test_errors_say_which_line_or_field_without_path_or_values(tmp_path, text, public):
    path = tmp_path / "issuers.json"
    path.write_text(text)
    with pytest.raises(IssuerConfigError) as exc:
        load_issuers(str(path))
    assert exc.value.public == public
    assert str(exc.value) == f"{path}: {public}"  # the log names the file


def test_sandbox_issuer_matches_the_published_key_set():
    issuer = sandbox_issuer()
    assert issuer.iss == SANDBOX_ISS
    assert issuer.jku_allowlist == frozenset({"https://sandbox.cds-hooks.org/.well-known/jwks.json"})
    (key,) = issuer.jwks["keys"]
    assert (key["kid"], key["alg"], key["crv"]) == ("44823f3d-0b01-4a6c-a80e-b9d3e8a7226f", "ES384", "P-384")


def test_shipped_example_file_is_valid():
    text = resources.files("cdshooks.security").joinpath("trusted-issuers.example.json").read_text()
    assert len(parse_issuers(json.loads(text))) == 2
