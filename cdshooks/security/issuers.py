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
Every error says where: the line and column of invalid JSON, or the field
(`issuers[0].jwks_url`); `IssuerConfigError.public` is that text without the
file's path or any issuer value (it is shown by /readyz).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

SANDBOX_ISS = "https://sandbox.cds-hooks.org"
_FIELDS = frozenset({"iss", "jwks_url", "jwks", "jku_allowlist", "tenants", "comment"})


class IssuerConfigError(ValueError):
    """The trusted issuers file is unreadable or malformed; `public` says where, without path or values."""

    def __init__(self, public: str, source: str = "trusted issuers") -> None:
        super().__init__(f"{source}: {public}")
        self.public = public


@dataclass(frozen=True)
class TrustedIssuer:
    """One CDS client we accept tokens from, and where its public keys are."""

    iss: str
    jwks_url: str | None = None
    jwks: Mapping[str, Any] | None = None  # static JSON Web Key Set
    jku_allowlist: frozenset[str] = frozenset()
    tenants: frozenset[str] = frozenset()  # empty: any tenant (or none)


def _strings(entry: Mapping[str, Any], name: str, where: str, source: str) -> frozenset[str]:
    value = entry.get(name, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise IssuerConfigError(f"{where}.{name}: must be a list of non-empty strings", source)
    return frozenset(value)


def _issuer(entry: Any, where: str, source: str) -> TrustedIssuer:
    if not isinstance(entry, dict):
        raise IssuerConfigError(f"{where}: each issuer must be a JSON object", source)
    unknown = sorted(set(entry) - _FIELDS)
    if unknown:
        name = unknown[0] if unknown[0].isidentifier() and len(unknown[0]) <= 40 else "?"
        more = f" and {len(unknown) - 1} more" if len(unknown) > 1 else ""
        raise IssuerConfigError(f"{where}.{name}: unknown field{more} (known: {', '.join(sorted(_FIELDS))})", source)
    iss = entry.get("iss")
    if not isinstance(iss, str) or not iss:
        raise IssuerConfigError(f"{where}.iss: must be a non-empty string", source)
    jwks_url = entry.get("jwks_url")
    if jwks_url is not None and (not isinstance(jwks_url, str) or not jwks_url.startswith(("https://", "http://"))):
        raise IssuerConfigError(f"{where}.jwks_url: must be an http(s) URL", source)
    jwks = entry.get("jwks")
    if jwks is not None and not (isinstance(jwks, dict) and isinstance(jwks.get("keys"), list)):
        raise IssuerConfigError(f"{where}.jwks: must be a JWK Set object with a 'keys' list", source)
    issuer = TrustedIssuer(
        iss=iss,
        jwks_url=jwks_url,
        jwks=jwks,
        jku_allowlist=_strings(entry, "jku_allowlist", where, source),
        tenants=_strings(entry, "tenants", where, source),
    )
    if not (issuer.jwks_url or issuer.jwks or issuer.jku_allowlist):
        raise IssuerConfigError(f"{where}: no key source (give jwks_url, jwks or jku_allowlist)", source)
    return issuer


def parse_issuers(data: Any, source: str = "trusted issuers") -> list[TrustedIssuer]:
    """Issuers from the parsed JSON document; raises IssuerConfigError."""
    if not isinstance(data, dict) or not isinstance(data.get("issuers"), list):
        raise IssuerConfigError("expected an object with an 'issuers' list", source)
    issuers = [_issuer(e, f"issuers[{i}]", source) for i, e in enumerate(data["issuers"])]
    first: dict[str, int] = {}
    for i, issuer in enumerate(issuers):
        if issuer.iss in first:
            raise IssuerConfigError(
                f"issuers[{i}].iss: listed twice (the same as issuers[{first[issuer.iss]}])", source
            )
        first[issuer.iss] = i
    return issuers


def load_issuers(path: str) -> list[TrustedIssuer]:
    """Issuers from a JSON file; raises IssuerConfigError."""
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except FileNotFoundError as exc:
        raise IssuerConfigError("cannot read the file: not found", path) from exc
    except PermissionError as exc:
        raise IssuerConfigError("cannot read the file: permission denied", path) from exc
    except json.JSONDecodeError as exc:
        raise IssuerConfigError(f"invalid JSON at line {exc.lineno}, column {exc.colno} ({exc.msg})", path) from exc
    except UnicodeDecodeError as exc:
        raise IssuerConfigError("cannot read the file: not UTF-8 text", path) from exc
    except (OSError, ValueError) as exc:
        raise IssuerConfigError(f"cannot read the file ({exc.__class__.__name__})", path) from exc
    return parse_issuers(data, path)


def sandbox_issuer() -> TrustedIssuer:
    """The public CDS Hooks sandbox (its private key is public: testing only)."""
    text = resources.files("cdshooks.security").joinpath("sandbox-issuer.json").read_text(encoding="utf-8")
    (issuer,) = parse_issuers(json.loads(text), "sandbox-issuer.json")
    return issuer
