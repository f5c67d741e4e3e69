"""Trusted CDS clients (JWT issuers), read from the operator's JSON file.

File format (see `trusted-issuers.example.json` beside this module):

    {"issuers": [
      {"iss": "https://ehr.example.org",                  # exact `iss` claim
       "jwks_url": "https://ehr.example.org/jwks.json",   # and/or "jwks": {"keys": [...]}
       "jku_allowlist": ["https://ehr.example.org/jwks.json"],  # optional
       "tenants": ["hospital-a"]}                          # optional `tenant` allowlist
    ]}

An issuer needs at least one key source: `jwks_url`, a static `jwks`, or a
`jku_allowlist` (keys are then fetched from the token's allowlisted `jku`).
Unknown fields are an error, so that a typo never silently weakens the check.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from typing import Any, Mapping

SANDBOX_ISS = "https://sandbox.cds-hooks.org"
_FIELDS = frozenset({"iss", "jwks_url", "jwks", "jku_allowlist", "tenants", "comment"})


class IssuerConfigError(ValueError):
    """The trusted issuers file is unreadable or malformed."""


@dataclass(frozen=True)
class TrustedIssuer:
    """One CDS client we accept tokens from, and where its public keys are."""

    iss: str
    jwks_url: str | None = None
    jwks: Mapping[str, Any] | None = None  # static JSON Web Key Set
    jku_allowlist: frozenset[str] = frozenset()
    tenants: frozenset[str] = frozenset()  # empty: any tenant (or none)


def _strings(entry: Mapping[str, Any], name: str, where: str) -> frozenset[str]:
    value = entry.get(name, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise IssuerConfigError(f"{where}: {name!r} must be a list of non-empty strings")
    return frozenset(value)


def _issuer(entry: Any, where: str) -> TrustedIssuer:
    if not isinstance(entry, dict):
        raise IssuerConfigError(f"{where}: each issuer must be a JSON object")
    unknown = set(entry) - _FIELDS
    if unknown:
        raise IssuerConfigError(f"{where}: unknown field(s) {sorted(unknown)}")
    iss = entry.get("iss")
    if not isinstance(iss, str) or not iss:
        raise IssuerConfigError(f"{where}: 'iss' must be a non-empty string")
    jwks_url = entry.get("jwks_url")
    if jwks_url is not None and (not isinstance(jwks_url, str) or not jwks_url.startswith(("https://", "http://"))):
        raise IssuerConfigError(f"{where}: 'jwks_url' must be an http(s) URL")
    jwks = entry.get("jwks")
    if jwks is not None and not (isinstance(jwks, dict) and isinstance(jwks.get("keys"), list)):
        raise IssuerConfigError(f"{where}: 'jwks' must be a JWK Set object with a 'keys' list")
    issuer = TrustedIssuer(
        iss=iss,
        jwks_url=jwks_url,
        jwks=jwks,
        jku_allowlist=_strings(entry, "jku_allowlist", where),
        tenants=_strings(entry, "tenants", where),
    )
    if not (issuer.jwks_url or issuer.jwks or issuer.jku_allowlist):
        raise IssuerConfigError(f"{where}: issuer {iss!r} has no key source (jwks_url, jwks or jku_allowlist)")
    return issuer


def parse_issuers(data: Any, source: str = "trusted issuers") -> list[TrustedIssuer]:
    """Issuers from the parsed JSON document; raises IssuerConfigError."""
    if not isinstance(data, dict) or not isinstance(data.get("issuers"), list):
        raise IssuerConfigError(f"{source}: expected an object with an 'issuers' list")
    issuers = [_issuer(e, f"{source}: issuers[{i}]") for i, e in enumerate(data["issuers"])]
    names = [i.iss for i in issuers]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise IssuerConfigError(f"{source}: issuer(s) listed twice: {duplicates}")
    return issuers


def load_issuers(path: str) -> list[TrustedIssuer]:
    """Issuers from a JSON file; raises IssuerConfigError."""
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, ValueError) as exc:
        raise IssuerConfigError(f"{path}: cannot read trusted issuers ({exc.__class__.__name__})") from exc
    return parse_issuers(data, path)


def sandbox_issuer() -> TrustedIssuer:
    """The public CDS Hooks sandbox (its private key is public: testing only)."""
    text = resources.files("cdshooks.security").joinpath("sandbox-issuer.json").read_text(encoding="utf-8")
    (issuer,) = parse_issuers(json.loads(text), "sandbox-issuer.json")
    return issuer
