"""Service settings, read from environment variables (documented in README).

Clinical thresholds are separate (`cdshooks.clinical.thresholds`), loaded from
the TOML file named by CDSHOOKS_RULES_CONFIG.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from typing import Mapping

from cdshooks.clinical.thresholds import DEFAULT_THRESHOLDS, Thresholds, load_thresholds

# Loopback only by default: the service never fetches from a FHIR server an
# operator has not named (SSRF guard). Entries are origins or host names.
DEFAULT_FHIR_ALLOWLIST = ("http://127.0.0.1", "http://localhost", "http://[::1]")


def _list(value: str | None, default: tuple[str, ...]) -> tuple[str, ...]:
    if value is None:
        return default
    return tuple(v.strip() for v in value.split(",") if v.strip())


def _bool(value: str | None, default: bool) -> bool:
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def aware_datetime(value: str) -> datetime:
    """An ISO 8601 date-time that carries a UTC offset (an evaluation time must not guess one)."""
    dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if dt.tzinfo is None:
        raise ValueError("give a UTC offset, e.g. 2026-01-15T12:00:00Z")
    return dt


def _now(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return aware_datetime(value)
    except ValueError as exc:
        raise ValueError(f"CDSHOOKS_NOW: {exc}") from None


@dataclass(frozen=True)
class Settings:
    """Everything configurable about the running service."""

    public_base_url: str | None = None  # e.g. https://cds.example.org (JWT `aud`)
    fhir_allowlist: tuple[str, ...] = DEFAULT_FHIR_ALLOWLIST
    fetch_budget_seconds: float = 3.0
    fetch_max_pages: int = 5
    max_body_bytes: int = 5 * 1024 * 1024
    max_json_depth: int = 64
    max_prefetch_entries: int = 5000
    max_draft_orders: int = 200
    cors_origins: tuple[str, ...] = ("*",)
    feedback_db: str = "var/feedback.sqlite3"
    now: datetime | None = None  # evaluation time override (fixtures, demos)
    auth_enabled: bool = True
    trusted_issuers_file: str | None = None  # JSON: issuers -> JWKS url / static keys
    trust_sandbox: bool = False  # also trust the public CDS Hooks sandbox (testing only)
    jwt_clock_skew_seconds: int = 60
    jwt_max_lifetime_seconds: int = 3600  # exp - iat; bounds how long a jti is remembered
    jwks_timeout_seconds: float = 3.0
    jwks_cache_seconds: int = 600
    jwks_min_refresh_seconds: float = 10.0  # unknown-kid refreshes, per key set URL
    jti_cache: str | None = None  # None: SQLite beside feedback_db; "memory"; or a file path
    max_id_length: int = 256  # hookInstance, ids and other strings echoed back or stored
    thresholds: Thresholds = DEFAULT_THRESHOLDS

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides) -> "Settings":
        env = os.environ if env is None else env
        s = cls(
            public_base_url=env.get("CDSHOOKS_PUBLIC_BASE_URL") or None,
            fhir_allowlist=_list(env.get("CDSHOOKS_FHIR_ALLOWLIST"), DEFAULT_FHIR_ALLOWLIST),
            fetch_budget_seconds=float(env.get("CDSHOOKS_FETCH_BUDGET_SECONDS", 3.0)),
            fetch_max_pages=int(env.get("CDSHOOKS_FETCH_MAX_PAGES", 5)),
            max_body_bytes=int(env.get("CDSHOOKS_MAX_BODY_BYTES", 5 * 1024 * 1024)),
            max_json_depth=int(env.get("CDSHOOKS_MAX_JSON_DEPTH", 64)),
            max_prefetch_entries=int(env.get("CDSHOOKS_MAX_PREFETCH_ENTRIES", 5000)),
            max_draft_orders=int(env.get("CDSHOOKS_MAX_DRAFT_ORDERS", 200)),
            cors_origins=_list(env.get("CDSHOOKS_CORS_ORIGINS"), ("*",)),
            feedback_db=env.get("CDSHOOKS_FEEDBACK_DB", "var/feedback.sqlite3"),
            now=_now(env.get("CDSHOOKS_NOW")),
            auth_enabled=_bool(env.get("CDSHOOKS_AUTH"), True),
            trusted_issuers_file=env.get("CDSHOOKS_TRUSTED_ISSUERS") or None,
            trust_sandbox=_bool(env.get("CDSHOOKS_TRUST_SANDBOX"), False),
            jwt_clock_skew_seconds=int(env.get("CDSHOOKS_JWT_CLOCK_SKEW_SECONDS", 60)),
            jwt_max_lifetime_seconds=int(env.get("CDSHOOKS_JWT_MAX_LIFETIME_SECONDS", 3600)),
            jwks_timeout_seconds=float(env.get("CDSHOOKS_JWKS_TIMEOUT_SECONDS", 3.0)),
            jwks_cache_seconds=int(env.get("CDSHOOKS_JWKS_CACHE_SECONDS", 600)),
            jwks_min_refresh_seconds=float(env.get("CDSHOOKS_JWKS_MIN_REFRESH_SECONDS", 10.0)),
            jti_cache=env.get("CDSHOOKS_JTI_CACHE") or None,
            max_id_length=int(env.get("CDSHOOKS_MAX_ID_LENGTH", 256)),
            thresholds=load_thresholds(env.get("CDSHOOKS_RULES_CONFIG")),
        )
        if overrides:
            from dataclasses import replace

            s = replace(s, **overrides)
        return s
