"""Service settings, read from environment variables (documented in README).

Clinical thresholds are separate (`cdshooks.clinical.thresholds`), loaded from
the TOML file named by CDSHOOKS_RULES_CONFIG.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from cdshooks.clinical.thresholds import DEFAULT_THRESHOLDS, Thresholds, load_thresholds
from cdshooks.data.gather import FetchPolicy
from cdshooks.suppression import Windows

# The default for local use (authentication off) only: loopback. With
# authentication on, nothing is fetched until an operator names the FHIR
# servers: the client's access token must never go to whatever happens to
# listen on a local port (SSRF guard). Entries are origins or host names.
DEFAULT_FHIR_ALLOWLIST = ("http://127.0.0.1", "http://localhost", "http://[::1]")


MAX_WORKERS = 8  # gunicorn workers by default at most; past this a host is better served by more containers


class ConfigError(ValueError):
    """A setting has a value the service refuses to guess about (one line: variable, value, accepted)."""


_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


def _list(value: str | None, default: tuple[str, ...]) -> tuple[str, ...]:
    if value is None:
        return default
    return tuple(v.strip() for v in value.split(",") if v.strip())


def _bool(name: str, value: str | None, default: bool) -> bool:
    """A strict boolean: `CDSHOOKS_AUTH=enabled` must not silently mean "off"."""
    if value is None or value.strip() == "":
        return default
    v = value.strip().lower()
    if v in _TRUE:
        return True
    if v in _FALSE:
        return False
    raise ConfigError(f"{name}={value!r} is not a boolean: use one of 1, true, yes, on / 0, false, no, off")


def _int(name: str, value: str | None, default: int, minimum: int = 1) -> int:
    if value is None or value.strip() == "":
        return default
    try:
        n = int(value.strip())
    except ValueError:
        raise ConfigError(f"{name}={value!r} is not a whole number: use an integer >= {minimum}") from None
    if n < minimum:
        raise ConfigError(f"{name}={value!r} is out of range: use an integer >= {minimum}")
    return n


def _float(name: str, value: str | None, default: float) -> float:
    if value is None or value.strip() == "":
        return default
    try:
        x = float(value.strip())
    except ValueError:
        raise ConfigError(f"{name}={value!r} is not a number: use a number of seconds > 0") from None
    if not x > 0 or x == float("inf"):
        raise ConfigError(f"{name}={value!r} is out of range: use a number of seconds > 0")
    return x


def _base_url(name: str, value: str | None) -> str | None:
    """An absolute http(s) URL with a host, or unset (the JWT `aud` is built from it)."""
    if value is None or not value.strip():
        return None
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise ConfigError(f"{name}={value!r} is not a base URL: use e.g. https://cds.example.org (scheme and host)")
    return value.strip()


def _database_url(name: str, value: str | None) -> str | None:
    """A postgresql:// (or postgres://) URL with a host or socket, or unset (SQLite)."""
    if value is None or not value.strip():
        return None
    parts = urlsplit(value.strip())
    if parts.scheme not in ("postgresql", "postgres"):
        # Never echo the value: it may hold the database password.
        raise ConfigError(f"{name} has the scheme {parts.scheme!r}: use e.g. postgresql://user@host:5432/cds")
    return value.strip()


def port(value: str | None, default: int = 8080) -> int:
    """The PORT variable, strictly: 1-65535."""
    try:
        n = _int("PORT", value, default)
    except ConfigError:
        raise ConfigError(f"PORT={value!r} is not a port number: use 1-65535") from None
    if n > 65535:
        raise ConfigError(f"PORT={value!r} is out of range: use 1-65535")
    return n


def web_concurrency(env: Mapping[str, str]) -> int | None:
    """WEB_CONCURRENCY (gunicorn workers) strictly, or None when unset."""
    return _int("WEB_CONCURRENCY", env.get("WEB_CONCURRENCY"), 0) or None


@dataclass(frozen=True)
class ServerSettings:
    """The variables the gunicorn settings read (cdshooks/gunicorn_conf.py), as strict as Settings.

    gunicorn reads WEB_CONCURRENCY itself when it is imported and fails with a
    traceback on a non-integer, so `cdshooks serve` checks these first.
    """

    host: str = "0.0.0.0"  # only when gunicorn is started directly with the config file
    port: int = 8080
    workers: int | None = None  # None: 2 x CPUs + 1, capped (gunicorn_conf.default_workers)
    timeout: int = 30  # seconds before a stuck worker is killed (0, gunicorn's "never", is refused)
    graceful_timeout: int = 20  # seconds to finish in-flight calls on SIGTERM
    # Requests before a worker is replaced (0: never). A worker's memory levels off by ~15,000
    # calls (bounded memos full); each replacement costs 0.2-0.27 s of warm-up, so not every 2,000.
    max_requests: int = 20_000

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ServerSettings:
        env = os.environ if env is None else env
        return cls(
            host=(env.get("HOST") or "").strip() or "0.0.0.0",
            port=port(env.get("PORT")),
            workers=web_concurrency(env),
            timeout=_int("GUNICORN_TIMEOUT", env.get("GUNICORN_TIMEOUT"), 30),
            graceful_timeout=_int("GUNICORN_GRACEFUL_TIMEOUT", env.get("GUNICORN_GRACEFUL_TIMEOUT"), 20, minimum=0),
            max_requests=_int("GUNICORN_MAX_REQUESTS", env.get("GUNICORN_MAX_REQUESTS"), 20_000, minimum=0),
        )


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
        raise ConfigError(f"CDSHOOKS_NOW={value!r}: {exc}") from None


@dataclass(frozen=True)
class Settings:
    """Everything configurable about the running service."""

    public_base_url: str | None = None  # e.g. https://cds.example.org (JWT `aud`)
    fhir_allowlist: tuple[str, ...] | None = None  # None: not configured (see effective_fhir_allowlist)
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
    max_feedback_entries: int = 100  # entries in one feedback POST (413 above, nothing stored)
    max_id_length: int = 256  # hookInstance, ids and other strings echoed back or stored
    thresholds: Thresholds = DEFAULT_THRESHOLDS
    # Alert burden (clinical-rules.md, "Repeated and overridden cards"): how long an override with a
    # reason hides the same card, and how long the shown-card ledger keeps a row.
    suppress_days: int = 30  # info and warning cards
    suppress_critical_hours: int = 24
    ledger_retention_days: int = 400
    metrics_enabled: bool = True  # GET /metrics (Prometheus text format)
    # Shared state on PostgreSQL (README "Shared state on PostgreSQL"); None: SQLite files as above.
    # Kept out of repr: the URL may carry the password.
    database_url: str | None = field(default=None, repr=False)
    db_pool_size: int = 4  # connections per worker process
    db_statement_timeout_ms: int = 2000  # a slower statement is cancelled: feedback 503, not a hung worker
    db_connect_timeout_seconds: int = 3
    db_upgrade_on_start: bool = False  # apply pending migrations at start (else `cdshooks db upgrade`)

    @property
    def effective_fhir_allowlist(self) -> tuple[str, ...]:
        """The FHIR servers that may be called: as configured; unconfigured, loopback only without auth, else none."""
        if self.fhir_allowlist is not None:
            return self.fhir_allowlist
        return () if self.auth_enabled else DEFAULT_FHIR_ALLOWLIST

    def suppression_windows(self) -> Windows:
        """How long an override with a reason hides the same card (clinical-rules.md)."""
        return Windows(timedelta(days=self.suppress_days), timedelta(hours=self.suppress_critical_hours))

    def fetch_policy(self) -> FetchPolicy:
        """The part of the settings the FHIR fallback needs (data/ never sees the rest)."""
        return FetchPolicy(
            allowlist=self.effective_fhir_allowlist,
            budget_seconds=self.fetch_budget_seconds,
            max_pages=self.fetch_max_pages,
            max_bytes=self.max_body_bytes,
        )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides) -> Settings:
        env = os.environ if env is None else env
        s = cls(
            public_base_url=_base_url("CDSHOOKS_PUBLIC_BASE_URL", env.get("CDSHOOKS_PUBLIC_BASE_URL")),
            fhir_allowlist=(_list(env["CDSHOOKS_FHIR_ALLOWLIST"], ()) if "CDSHOOKS_FHIR_ALLOWLIST" in env else None),
            fetch_budget_seconds=_float("CDSHOOKS_FETCH_BUDGET_SECONDS", env.get("CDSHOOKS_FETCH_BUDGET_SECONDS"), 3.0),
            fetch_max_pages=_int("CDSHOOKS_FETCH_MAX_PAGES", env.get("CDSHOOKS_FETCH_MAX_PAGES"), 5),
            max_body_bytes=_int("CDSHOOKS_MAX_BODY_BYTES", env.get("CDSHOOKS_MAX_BODY_BYTES"), 5 * 1024 * 1024),
            max_json_depth=_int("CDSHOOKS_MAX_JSON_DEPTH", env.get("CDSHOOKS_MAX_JSON_DEPTH"), 64),
            max_prefetch_entries=_int("CDSHOOKS_MAX_PREFETCH_ENTRIES", env.get("CDSHOOKS_MAX_PREFETCH_ENTRIES"), 5000),
            max_draft_orders=_int("CDSHOOKS_MAX_DRAFT_ORDERS", env.get("CDSHOOKS_MAX_DRAFT_ORDERS"), 200),
            cors_origins=_list(env.get("CDSHOOKS_CORS_ORIGINS"), ("*",)),
            feedback_db=env.get("CDSHOOKS_FEEDBACK_DB", "var/feedback.sqlite3"),
            now=_now(env.get("CDSHOOKS_NOW")),
            auth_enabled=_bool("CDSHOOKS_AUTH", env.get("CDSHOOKS_AUTH"), True),
            trusted_issuers_file=env.get("CDSHOOKS_TRUSTED_ISSUERS") or None,
            trust_sandbox=_bool("CDSHOOKS_TRUST_SANDBOX", env.get("CDSHOOKS_TRUST_SANDBOX"), False),
            jwt_clock_skew_seconds=_int(
                "CDSHOOKS_JWT_CLOCK_SKEW_SECONDS", env.get("CDSHOOKS_JWT_CLOCK_SKEW_SECONDS"), 60, minimum=0
            ),
            jwt_max_lifetime_seconds=_int(
                "CDSHOOKS_JWT_MAX_LIFETIME_SECONDS", env.get("CDSHOOKS_JWT_MAX_LIFETIME_SECONDS"), 3600
            ),
            jwks_timeout_seconds=_float("CDSHOOKS_JWKS_TIMEOUT_SECONDS", env.get("CDSHOOKS_JWKS_TIMEOUT_SECONDS"), 3.0),
            jwks_cache_seconds=_int(
                "CDSHOOKS_JWKS_CACHE_SECONDS", env.get("CDSHOOKS_JWKS_CACHE_SECONDS"), 600, minimum=0
            ),
            jwks_min_refresh_seconds=_float(
                "CDSHOOKS_JWKS_MIN_REFRESH_SECONDS", env.get("CDSHOOKS_JWKS_MIN_REFRESH_SECONDS"), 10.0
            ),
            jti_cache=env.get("CDSHOOKS_JTI_CACHE") or None,
            max_feedback_entries=_int("CDSHOOKS_MAX_FEEDBACK_ENTRIES", env.get("CDSHOOKS_MAX_FEEDBACK_ENTRIES"), 100),
            max_id_length=_int("CDSHOOKS_MAX_ID_LENGTH", env.get("CDSHOOKS_MAX_ID_LENGTH"), 256),
            thresholds=load_thresholds(env.get("CDSHOOKS_RULES_CONFIG")),
            suppress_days=_int("CDSHOOKS_SUPPRESS_DAYS", env.get("CDSHOOKS_SUPPRESS_DAYS"), 30, minimum=0),
            suppress_critical_hours=_int(
                "CDSHOOKS_SUPPRESS_CRITICAL_HOURS", env.get("CDSHOOKS_SUPPRESS_CRITICAL_HOURS"), 24, minimum=0
            ),
            ledger_retention_days=_int(
                "CDSHOOKS_LEDGER_RETENTION_DAYS", env.get("CDSHOOKS_LEDGER_RETENTION_DAYS"), 400
            ),
            metrics_enabled=_bool("CDSHOOKS_METRICS", env.get("CDSHOOKS_METRICS"), True),
            database_url=_database_url("CDSHOOKS_DATABASE_URL", env.get("CDSHOOKS_DATABASE_URL")),
            db_pool_size=_int("CDSHOOKS_DB_POOL_SIZE", env.get("CDSHOOKS_DB_POOL_SIZE"), 4),
            db_statement_timeout_ms=_int(
                "CDSHOOKS_DB_STATEMENT_TIMEOUT_MS", env.get("CDSHOOKS_DB_STATEMENT_TIMEOUT_MS"), 2000
            ),
            db_connect_timeout_seconds=_int(
                "CDSHOOKS_DB_CONNECT_TIMEOUT_SECONDS", env.get("CDSHOOKS_DB_CONNECT_TIMEOUT_SECONDS"), 3, minimum=2
            ),
            db_upgrade_on_start=_bool("CDSHOOKS_DB_UPGRADE_ON_START", env.get("CDSHOOKS_DB_UPGRADE_ON_START"), False),
        )
        if overrides:
            from dataclasses import replace

            s = replace(s, **overrides)
        return s
