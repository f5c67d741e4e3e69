"""Verify the CDS client's JWT (CDS Hooks 2.0, "Trusting CDS Clients").

Every failure raises `AuthFailure(category)`; the category (a fixed word such
as "expired") is all that is ever logged: never the token or its claims.
Signatures are checked by PyJWT with the one algorithm the token names, after
checking that algorithm is asymmetric and matches the key's type.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping

import jwt

from cdshooks.security.issuers import TrustedIssuer
from cdshooks.security.jwks import KeySet, KeySetRegistry, KeySetUnavailable, StaticKeySet
from cdshooks.security.jti_cache import ReplayCache

# alg -> (JWK kty, EC curve). Only asymmetric algorithms: never "none" or HS*.
ALGORITHMS: Mapping[str, tuple[str, str | None]] = {
    "RS256": ("RSA", None), "RS384": ("RSA", None), "RS512": ("RSA", None),
    "PS256": ("RSA", None), "PS384": ("RSA", None), "PS512": ("RSA", None),
    "ES256": ("EC", "P-256"), "ES384": ("EC", "P-384"), "ES512": ("EC", "P-521"),
}
MAX_TOKEN_CHARS = 16 * 1024
REQUIRED_CLAIMS = ["iss", "aud", "exp", "iat", "jti"]

_PYJWT_FAILURES: tuple[tuple[type[Exception], str], ...] = (
    (jwt.ExpiredSignatureError, "expired"),
    (jwt.ImmatureSignatureError, "not-yet-valid"),
    (jwt.InvalidAudienceError, "audience"),
    (jwt.InvalidIssuerError, "unknown-issuer"),
    (jwt.MissingRequiredClaimError, "missing-claim"),
    (jwt.InvalidSignatureError, "signature"),
    (jwt.InvalidAlgorithmError, "algorithm"),
    (jwt.InvalidKeyError, "key"),
    (jwt.PyJWKError, "key"),
)


class AuthFailure(Exception):
    """Authentication failed; `category` is a fixed word, safe to log."""

    def __init__(self, category: str):
        super().__init__(category)
        self.category = category


@dataclass(frozen=True)
class VerifiedClient:
    """What a valid token told us (kept for the request; never logged in full)."""

    iss: str
    tenant: str | None


def bearer_token(authorization: str | None) -> str:
    """The JWT of an `Authorization: Bearer ...` header."""
    if not authorization:
        raise AuthFailure("missing")
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > MAX_TOKEN_CHARS:
        raise AuthFailure("malformed")
    return token


def audiences(endpoint_url: str) -> list[str]:
    """The accepted `aud` values for an endpoint URL: with and without a trailing slash."""
    base = endpoint_url.rstrip("/")
    return [base, base + "/"]


def key_fits(jwk: Mapping[str, Any], alg: str) -> bool:
    """Whether a JWK may verify a signature made with `alg` (type, curve, declared alg)."""
    kty, crv = ALGORITHMS[alg]
    return jwk.get("kty") == kty and (crv is None or jwk.get("crv") == crv) and jwk.get("alg", alg) == alg


class TokenVerifier:
    """Checks tokens against the trusted issuers; one per app, thread-safe."""

    def __init__(
        self,
        issuers: Iterable[TrustedIssuer],
        replay_cache: ReplayCache,
        key_sets: KeySetRegistry,
        *,
        clock_skew_seconds: int = 60,
        max_lifetime_seconds: int = 3600,
        clock: Callable[[], float] = time.time,
    ):
        self._issuers = {i.iss: i for i in issuers}
        self._static = {i.iss: StaticKeySet(i.jwks) for i in self._issuers.values() if i.jwks}
        self._replay = replay_cache
        self._key_sets = key_sets
        self._skew = clock_skew_seconds
        self._max_lifetime = max_lifetime_seconds
        self._clock = clock

    @property
    def has_issuers(self) -> bool:
        return bool(self._issuers)

    def verify(self, authorization: str | None, endpoint_url: str) -> VerifiedClient:
        """Verify the header's token for a call to `endpoint_url`; raises AuthFailure."""
        if not self._issuers:
            raise AuthFailure("no-trusted-issuers")
        token = bearer_token(authorization)
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except (jwt.PyJWTError, ValueError, TypeError):
            raise AuthFailure("malformed") from None
        alg, kid = header.get("alg"), header.get("kid")
        if alg not in ALGORITHMS:
            raise AuthFailure("algorithm")
        if not isinstance(kid, str) or not kid:
            raise AuthFailure("malformed")
        issuer = self._issuers.get(unverified.get("iss")) if isinstance(unverified.get("iss"), str) else None
        if issuer is None:
            raise AuthFailure("unknown-issuer")
        jwk = self._find_key(issuer, header.get("jku"), kid)
        if not key_fits(jwk, alg):
            raise AuthFailure("algorithm")
        claims = self._decode(token, jwk, alg, issuer.iss, endpoint_url)
        return self._check_claims(issuer, claims)

    def _find_key(self, issuer: TrustedIssuer, jku: Any, kid: str) -> Mapping[str, Any]:
        """The issuer's key for `kid`: static keys first, then the jku (allowlisted) or jwks_url."""
        if jku is not None and (not isinstance(jku, str) or jku not in issuer.jku_allowlist):
            raise AuthFailure("jku-not-allowed")
        static = self._static.get(issuer.iss)
        jwk = static.key(kid) if static else None
        url = jku or issuer.jwks_url
        if jwk is None and url:
            remote: KeySet = self._key_sets.for_url(url)
            try:
                jwk = remote.key(kid)
            except KeySetUnavailable:
                raise AuthFailure("jwks-unavailable") from None
        if jwk is None:
            raise AuthFailure("unknown-key")
        return jwk

    def _decode(self, token: str, jwk: Mapping[str, Any], alg: str, iss: str, endpoint_url: str) -> dict[str, Any]:
        try:
            key = jwt.PyJWK(dict(jwk), algorithm=alg)
            return jwt.decode(
                token,
                key=key,
                algorithms=[alg],
                audience=audiences(endpoint_url),
                issuer=iss,
                leeway=self._skew,
                options={"require": REQUIRED_CLAIMS, "enforce_minimum_key_length": True},
            )
        except jwt.PyJWTError as exc:
            for kind, category in _PYJWT_FAILURES:
                if isinstance(exc, kind):
                    raise AuthFailure(category) from None
            raise AuthFailure("invalid") from None

    def _check_claims(self, issuer: TrustedIssuer, claims: Mapping[str, Any]) -> VerifiedClient:
        jti, tenant = claims.get("jti"), claims.get("tenant")
        if not isinstance(jti, str) or not jti or len(jti) > 512:
            raise AuthFailure("missing-claim")
        exp, iat = float(claims["exp"]), float(claims["iat"])
        if exp - iat > self._max_lifetime:
            raise AuthFailure("lifetime")
        if issuer.tenants and tenant not in issuer.tenants:
            raise AuthFailure("tenant")
        # Last, so that a token failing another check does not burn its jti.
        if not self._replay.first_use(issuer.iss, jti, exp + self._skew):
            raise AuthFailure("replay")
        return VerifiedClient(iss=issuer.iss, tenant=tenant if isinstance(tenant, str) else None)
