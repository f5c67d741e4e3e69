"""Verify the CDS client's JWT (CDS Hooks 2.0, "Trusting CDS Clients").

Every failure raises `AuthFailure(category, **detail)`. The category is a
fixed word such as "expired"; the detail names what an operator needs to fix
it and nothing secret: identifiers (`iss`, `aud`, `kid`, `alg`, `tenant`, the
missing claim's name) and clock differences in seconds, each value cut to a
safe length. Never the token, its signature, its `jti` or any other claim.
Signatures are checked by PyJWT with the one algorithm the token names, after
checking that algorithm is asymmetric and matches the key's type.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, cast

import jwt

from cdshooks.security.issuers import TrustedIssuer
from cdshooks.security.jti_cache import ReplayCache
from cdshooks.security.jwks import KeySet, KeySetRegistry, KeySetUnavailable, StaticKeySet

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


_MAX_DETAIL_CHARS = 200
_MAX_DETAIL_ITEMS = 5


def _loggable(value: Any) -> Any:
    """A claim value fit for a log line: short strings (control characters escaped), numbers, short lists."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (int, float)):
        return round(value, 1) if isinstance(value, float) else value
    if isinstance(value, (list, tuple)):
        return [_loggable(v) for v in list(value)[:_MAX_DETAIL_ITEMS]]
    text = value if isinstance(value, str) else f"<{type(value).__name__}>"
    text = text.encode("unicode_escape").decode("ascii") if not text.isprintable() else text
    return text[:_MAX_DETAIL_CHARS]


class AuthFailure(Exception):
    """Authentication failed; `category` is a fixed word and `detail` safe identifiers, both fit to log."""

    def __init__(self, category: str, **detail: Any):
        super().__init__(category)
        self.category = category
        self.detail = {k: _loggable(v) for k, v in detail.items()}


@dataclass(frozen=True)
class VerifiedClient:
    """What a valid token told us (kept for the request; never logged in full)."""

    iss: str
    tenant: str | None


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def bearer_token(authorization: str | None) -> str:
    """The JWT of an `Authorization: Bearer ...` header."""
    if not authorization:
        raise AuthFailure("missing", reason="no Authorization header")
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise AuthFailure("malformed", reason="the Authorization header is not 'Bearer <JWT>'")
    if len(token) > MAX_TOKEN_CHARS:
        raise AuthFailure("malformed", reason=f"the token is longer than {MAX_TOKEN_CHARS} characters")
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
            raise AuthFailure("no-trusted-issuers", reason="no trusted issuer is configured")
        token = bearer_token(authorization)
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except (jwt.PyJWTError, ValueError, TypeError):
            raise AuthFailure("malformed", reason="not a decodable JWT") from None
        alg, kid = header.get("alg"), header.get("kid")
        if alg not in ALGORITHMS:
            raise AuthFailure("algorithm", alg=alg, accepted=sorted(ALGORITHMS))
        alg = cast(str, alg)  # equal to a key of ALGORITHMS, all of which are str
        if not isinstance(kid, str) or not kid:
            raise AuthFailure("malformed", reason="no kid in the JWT header")
        iss = unverified.get("iss")
        issuer = self._issuers.get(iss) if isinstance(iss, str) else None
        if issuer is None:
            raise AuthFailure("unknown-issuer", iss=iss)
        jwk = self._find_key(issuer, header.get("jku"), kid)
        if not key_fits(jwk, alg):
            raise AuthFailure("algorithm", alg=alg, kid=kid, reason="the key's type or alg does not fit")
        claims = self._decode(token, jwk, alg, issuer.iss, endpoint_url, unverified)
        return self._check_claims(issuer, claims)

    def _find_key(self, issuer: TrustedIssuer, jku: Any, kid: str) -> Mapping[str, Any]:
        """The issuer's key for `kid`: static keys first, then the jku (allowlisted) or jwks_url."""
        if jku is not None and (not isinstance(jku, str) or jku not in issuer.jku_allowlist):
            raise AuthFailure("jku-not-allowed", iss=issuer.iss, jku=jku)
        static = self._static.get(issuer.iss)
        jwk = static.key(kid) if static else None
        url = jku or issuer.jwks_url
        if jwk is None and url:
            remote: KeySet = self._key_sets.for_url(url)
            try:
                jwk = remote.key(kid)
            except KeySetUnavailable:
                raise AuthFailure("jwks-unavailable", iss=issuer.iss, jwks_url=url) from None
        if jwk is None:
            raise AuthFailure("unknown-key", iss=issuer.iss, kid=kid)
        return jwk

    def _decode(
        self, token: str, jwk: Mapping[str, Any], alg: str, iss: str, endpoint_url: str, unverified: Mapping[str, Any]
    ) -> dict[str, Any]:
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
                    detail = self._failure_detail(category, exc, iss, endpoint_url, unverified)
                    raise AuthFailure(category, **detail) from None
            raise AuthFailure("invalid", iss=iss) from None

    def _failure_detail(
        self, category: str, exc: Exception, iss: str, endpoint_url: str, claims: Mapping[str, Any]
    ) -> dict[str, Any]:
        """What to log for a check PyJWT refused (the signature was verified before any claim check)."""
        now = self._clock()
        if category == "audience":
            return {"iss": iss, "expected_aud": audiences(endpoint_url)[0], "received_aud": claims.get("aud")}
        if category == "expired" and _number(claims.get("exp")):
            return {"iss": iss, "expired_seconds_ago": round(now - claims["exp"]), "clock_skew_allowed": self._skew}
        if category == "not-yet-valid":
            starts = [claims[c] for c in ("iat", "nbf") if _number(claims.get(c))]
            if starts:
                return {"iss": iss, "seconds_in_the_future": round(max(starts) - now), "clock_skew_allowed": self._skew}
        if category == "missing-claim":
            return {"iss": iss, "claim": getattr(exc, "claim", None)}
        return {"iss": iss}

    def _check_claims(self, issuer: TrustedIssuer, claims: Mapping[str, Any]) -> VerifiedClient:
        jti, tenant = claims.get("jti"), claims.get("tenant")
        if not isinstance(jti, str) or not jti or len(jti) > 512:
            raise AuthFailure("missing-claim", iss=issuer.iss, claim="jti")
        exp, iat = float(claims["exp"]), float(claims["iat"])
        if exp - iat > self._max_lifetime:
            raise AuthFailure("lifetime", iss=issuer.iss, lifetime_seconds=round(exp - iat),
                              max_lifetime_seconds=self._max_lifetime)
        if issuer.tenants and tenant not in issuer.tenants:
            raise AuthFailure("tenant", iss=issuer.iss, tenant=tenant)
        # Last, so that a token failing another check does not burn its jti.
        if not self._replay.first_use(issuer.iss, jti, exp + self._skew):
            raise AuthFailure("replay", iss=issuer.iss, reason="this jti was already used")
        return VerifiedClient(iss=issuer.iss, tenant=tenant if isinstance(tenant, str) else None)
