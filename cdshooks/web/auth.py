"""Trusting CDS clients: the JWT check before every discovery, service and feedback call.

`init_app(app, settings)` is called by `cdshooks.app.create_app`, which states
the order of the layers; the verification itself is `cdshooks.security`'s.
"""

from __future__ import annotations

import logging

import orjson
from flask import Flask, Response, g, request

from cdshooks import metrics
from cdshooks.config import Settings
from cdshooks.data.allowlist import parse_server_url
from cdshooks.security.issuers import IssuerConfigError, TrustedIssuer, load_issuers, sandbox_issuer
from cdshooks.security.jti_cache import ReplayCache, replay_cache_for
from cdshooks.security.jwks import KeySetRegistry
from cdshooks.security.tokens import AuthFailure, TokenVerifier
from cdshooks.store.replay import FallbackReplayCache
from cdshooks.web.context import EXTENSION

log = logging.getLogger("cdshooks.security")  # the documented name (README "Security")

PROTECTED_PREFIX = "/cds-services"
VERIFIER_KEY = "cdshooks.token_verifier"
TRUST_PROBLEM_KEY = "cdshooks.trust_problem"  # None, or why no CDS client can authenticate as configured
startup_log = logging.getLogger("cdshooks.startup")

# What to look at for each failed check (the log line, never the 401 body).
AUTH_HINTS = {
    "missing": "the client sent no Authorization header",
    "malformed": "the Authorization header must be 'Bearer <JWT>' with a kid in the JWT header",
    "no-trusted-issuers": "set CDSHOOKS_TRUSTED_ISSUERS (or CDSHOOKS_TRUST_SANDBOX=1 for the sandbox)",
    "unknown-issuer": "this iss is not in the trusted issuers file (CDSHOOKS_TRUSTED_ISSUERS)",
    "algorithm": "alg must be RS/PS/ES 256/384/512 and fit the key",
    "jku-not-allowed": "this jku is not on the issuer's jku_allowlist",
    "unknown-key": "no key with this kid in the issuer's jwks or jwks_url",
    "jwks-unavailable": "the issuer's JWK Set could not be fetched",
    "key": "the issuer's key for this kid is unusable",
    "signature": "the signature does not verify with the issuer's key for this kid",
    "audience": "aud must be the URL the client called: CDSHOOKS_PUBLIC_BASE_URL + the path",
    "expired": "exp is past: check both clocks (CDSHOOKS_JWT_CLOCK_SKEW_SECONDS) and mint a token per call",
    "not-yet-valid": "iat or nbf is in the future: check both clocks (CDSHOOKS_JWT_CLOCK_SKEW_SECONDS)",
    "missing-claim": "iss, aud, exp, iat and jti are required",
    "lifetime": "exp - iat is above CDSHOOKS_JWT_MAX_LIFETIME_SECONDS",
    "tenant": "the tenant claim is not in the issuer's tenants",
    "replay": "a token may be used once: the client must mint a new jti per call",
}


def protected(path: str, method: str) -> bool:
    """Discovery, service and feedback calls need a token; preflights, health, openapi and metrics do not."""
    if method == "OPTIONS":
        return False
    return path == PROTECTED_PREFIX or path.startswith(PROTECTED_PREFIX + "/")


def unauthorized() -> Response:
    """A bare 401: no body, nothing that tells an attacker which check failed."""
    return Response(status=401, headers={"WWW-Authenticate": "Bearer"})


def load_trust(settings: Settings) -> tuple[list[TrustedIssuer], str | None]:
    """Issuers from the configured file (plus the sandbox when asked), and what is wrong, if anything.

    The problem (None when the trust configuration is usable) is shown by /readyz:
    it names the setting and the line or field, never the file's path or contents.
    """
    issuers: list[TrustedIssuer] = []
    problem: str | None = None
    if settings.trusted_issuers_file:
        try:
            issuers = load_issuers(settings.trusted_issuers_file)
        except IssuerConfigError as exc:
            log.error("Trusted issuers file rejected, no CDS client can authenticate: %s", exc)
            problem = f"CDSHOOKS_TRUSTED_ISSUERS: {exc.public}"
    if settings.trust_sandbox and all(i.iss != sandbox_issuer().iss for i in issuers):
        log.warning(
            "Trusting the public CDS Hooks sandbox (https://sandbox.cds-hooks.org): its private key "
            "is public, anyone can sign tokens it would accept. For testing only, never in production."
        )
        issuers.append(sandbox_issuer())
    if not issuers and problem is None:
        problem = "no trusted issuer: set CDSHOOKS_TRUSTED_ISSUERS (or CDSHOOKS_TRUST_SANDBOX=1 for the sandbox)"
    return issuers, problem


def trusted_issuers(settings: Settings) -> list[TrustedIssuer]:
    """Issuers from the configured file (plus the sandbox when asked); errors are logged."""
    return load_trust(settings)[0]


def replay_cache(settings: Settings, shared: ReplayCache | None = None) -> ReplayCache:
    """This instance's cache (CDSHOOKS_JTI_CACHE); with a shared store, that store first and this as fallback."""
    local = replay_cache_for(settings.jti_cache, settings.feedback_db)
    if shared is None:
        return local
    return FallbackReplayCache(shared, local, on_fallback=metrics.count_jti_fallback)


def build_verifier(
    settings: Settings, issuers: list[TrustedIssuer] | None = None, shared: ReplayCache | None = None
) -> TokenVerifier:
    """The app's token verifier, from the settings (and the issuers, when already loaded; the shared store)."""
    return TokenVerifier(
        trusted_issuers(settings) if issuers is None else issuers,
        replay_cache(settings, shared),
        KeySetRegistry(
            timeout=settings.jwks_timeout_seconds,
            cache_seconds=settings.jwks_cache_seconds,
            min_refresh_seconds=settings.jwks_min_refresh_seconds,
        ),
        clock_skew_seconds=settings.jwt_clock_skew_seconds,
        max_lifetime_seconds=settings.jwt_max_lifetime_seconds,
    )


def describe(failure: AuthFailure) -> str:
    """`audience {"expected_aud": ..., "received_aud": ...}: aud must be ...` (never the token)."""
    detail = f" {orjson.dumps(failure.detail).decode()}" if failure.detail else ""
    hint = AUTH_HINTS.get(failure.category)
    return f"{failure.category}{detail}" + (f": {hint}" if hint else "")


def endpoint_url(settings: Settings) -> str:
    """The public URL of the endpoint called: the JWT `aud` must name it."""
    if settings.public_base_url:
        return settings.public_base_url.rstrip("/") + request.path
    return request.base_url  # as Flask sees it: for local testing only (see README)


def _describe_issuer(issuer: TrustedIssuer) -> str:
    """iss and where its keys come from; never the keys themselves."""
    parts = [f"iss={issuer.iss}"]
    if issuer.jwks_url:
        parts.append(f"jwks_url={issuer.jwks_url}")
    if issuer.jwks:
        keys = issuer.jwks.get("keys") or []
        parts.append(f"static jwks ({len(keys)} key{'s' if len(keys) != 1 else ''})")
    if issuer.jku_allowlist:
        parts.append(f"jku_allowlist={','.join(sorted(issuer.jku_allowlist))}")
    if issuer.tenants:
        parts.append(f"tenants={len(issuer.tenants)}")
    return " ".join(parts)


def log_startup(settings: Settings, issuers: list[TrustedIssuer]) -> None:
    """Say what the service trusts and which FHIR servers it may call (INFO, `cdshooks.startup`)."""
    _ensure_visible(startup_log)
    if settings.auth_enabled:
        startup_log.info("Trusted CDS clients: %d issuer(s)", len(issuers))
        for issuer in issuers:
            startup_log.info("Trusted issuer: %s", _describe_issuer(issuer))
    else:
        startup_log.info("Authentication is off: no trusted issuers are used")
    allow = settings.effective_fhir_allowlist
    if settings.fhir_allowlist is None:
        origin = "default with authentication off" if not settings.auth_enabled else (
            "CDSHOOKS_FHIR_ALLOWLIST unset: the default with authentication on")
    else:
        origin = "CDSHOOKS_FHIR_ALLOWLIST"
    if allow:
        startup_log.info("FHIR allowlist (%s): %s", origin, ", ".join(allow))
    else:
        startup_log.info("FHIR allowlist (%s): empty, fhirServer is never called (prefetch only)", origin)
    for entry in allow:
        if parse_server_url(entry) is None:
            log.warning("FHIR allowlist entry %r is not an http(s) origin or URL and is ignored", entry[:200])


def _ensure_visible(logger: logging.Logger) -> None:
    """Start-up lines reach stderr even when nothing configured logging (as the request log does)."""
    if not logger.handlers and not logging.getLogger().handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)


def init_app(app: Flask, settings: Settings) -> None:
    """Install the JWT check (unless authentication is off) and say at start-up whom it trusts."""
    if not settings.auth_enabled:
        app.extensions[TRUST_PROBLEM_KEY] = None
        log_startup(settings, [])
        log.warning(
            "AUTHENTICATION IS OFF (--no-auth / CDSHOOKS_AUTH=0): any caller can invoke the services "
            "and make this server fetch from allowlisted FHIR servers. Use only for local testing."
        )
        return
    issuers, problem = load_trust(settings)
    app.extensions[TRUST_PROBLEM_KEY] = problem  # /readyz is 503 while this is set
    log_startup(settings, issuers)
    # With PostgreSQL the token ids are the store's, shared by every instance; SQLite keeps its own file.
    shared = app.extensions[EXTENSION]["store"] if settings.database_url else None
    verifier = build_verifier(settings, issuers, shared)
    app.extensions[VERIFIER_KEY] = verifier
    if not verifier.has_issuers:
        log.error(
            "Authentication is on but no trusted CDS client is configured: every call to /cds-services "
            "will be refused with 401. Set CDSHOOKS_TRUSTED_ISSUERS to an issuers file, or "
            "CDSHOOKS_TRUST_SANDBOX=1 for sandbox testing, or run with --no-auth for local testing."
        )
    if settings.public_base_url is None:
        log.warning("CDSHOOKS_PUBLIC_BASE_URL is unset: JWT `aud` is checked against the URL Flask sees.")

    def check_token() -> Response | None:
        if not protected(request.path, request.method):
            g.auth_outcome = "not-required"
            return None
        try:
            client = verifier.verify(request.headers.get("Authorization"), endpoint_url(settings))
        except AuthFailure as failure:
            g.auth_outcome = failure.category
            g.auth_detail = failure.detail
            log.warning("CDS client authentication failed: %s", describe(failure))
            return unauthorized()
        g.auth_outcome = "ok"
        g.cds_client = client
        return None

    app.before_request(check_token)
