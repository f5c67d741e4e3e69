"""Public keys of trusted CDS clients: static JWK Sets and fetched ones.

A fetched set is cached for `cache_seconds`; a token naming an unknown `kid`
(key rotation) triggers one refresh, at most once per `min_refresh_seconds`
per URL, so that forged `kid`s cannot make us hammer the client's server.
Fetches use a timeout, never follow redirects, and keep the last good set
when the server is down.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import requests

log = logging.getLogger(__name__)

MAX_JWKS_BYTES = 256 * 1024
SIGNING_KTYS = frozenset({"RSA", "EC"})  # asymmetric key types we verify with


class KeySetUnavailable(Exception):
    """The JWK Set could not be fetched and no earlier copy exists."""


class KeySet(Protocol):
    def key(self, kid: str) -> Mapping[str, Any] | None:
        """The JWK with this `kid`, or None."""


def signing_keys(jwks: Any) -> dict[str, Mapping[str, Any]]:
    """kid -> JWK for the asymmetric signature keys of a JWK Set (others are skipped)."""
    keys = jwks.get("keys") if isinstance(jwks, dict) else None
    out: dict[str, Mapping[str, Any]] = {}
    for jwk in keys if isinstance(keys, list) else []:
        if not isinstance(jwk, dict) or not isinstance(jwk.get("kid"), str):
            continue
        if jwk.get("kty") in SIGNING_KTYS and jwk.get("use", "sig") == "sig" and "d" not in jwk:
            out[jwk["kid"]] = jwk
    return out


class StaticKeySet:
    """Keys exchanged out of band (in the trusted issuers file)."""

    def __init__(self, jwks: Mapping[str, Any]):
        self._keys = signing_keys(jwks)

    def key(self, kid: str) -> Mapping[str, Any] | None:
        return self._keys.get(kid)


class RemoteKeySet:
    """A JWK Set fetched from a URL (issuer `jwks_url` or an allowlisted `jku`)."""

    def __init__(
        self,
        url: str,
        *,
        timeout: float,
        cache_seconds: float,
        min_refresh_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.url = url
        self._timeout = timeout
        self._ttl = cache_seconds
        self._min_refresh = min_refresh_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._keys: dict[str, Mapping[str, Any]] | None = None
        self._fetched_at = 0.0
        self._last_failure: float | None = None
        self._last_kid_refresh: float | None = None

    def key(self, kid: str) -> Mapping[str, Any] | None:
        # One lock per URL: concurrent requests wait for one fetch instead of each fetching.
        with self._lock:
            now = self._clock()
            stale = self._keys is None or now - self._fetched_at >= self._ttl
            if stale and not self._recently(self._last_failure, now):
                self._refresh(now)
            elif self._keys is not None and kid not in self._keys and not self._recently(self._last_kid_refresh, now):
                self._last_kid_refresh = now
                self._refresh(now)
            if self._keys is None:
                raise KeySetUnavailable(self.url)
            return self._keys.get(kid)

    def _recently(self, when: float | None, now: float) -> bool:
        return when is not None and now - when < self._min_refresh

    def _refresh(self, now: float) -> None:
        keys = self._fetch()
        if keys is None:
            self._last_failure = now  # not retried on every request; the last good set stays
        else:
            self._keys, self._fetched_at, self._last_failure = keys, now, None

    def _fetch(self) -> dict[str, Mapping[str, Any]] | None:
        try:
            resp = requests.get(
                self.url,
                timeout=self._timeout,
                allow_redirects=False,
                headers={"Accept": "application/json"},
                stream=True,
            )
            with resp:
                if resp.status_code != 200:
                    log.warning("JWK Set fetch failed: %s answered HTTP %s", self.url, resp.status_code)
                    return None
                body = resp.raw.read(MAX_JWKS_BYTES + 1, decode_content=True)
            if len(body) > MAX_JWKS_BYTES:
                log.warning("JWK Set fetch failed: %s is larger than %d bytes", self.url, MAX_JWKS_BYTES)
                return None
            return signing_keys(json.loads(body))
        except (requests.RequestException, ValueError) as exc:
            log.warning("JWK Set fetch failed: %s (%s)", self.url, exc.__class__.__name__)
            return None


class KeySetRegistry:
    """One RemoteKeySet per URL, shared by all issuers and requests of the app."""

    def __init__(self, *, timeout: float, cache_seconds: float, min_refresh_seconds: float):
        self._timeout = timeout
        self._cache_seconds = cache_seconds
        self._min_refresh_seconds = min_refresh_seconds
        self._sets: dict[str, RemoteKeySet] = {}
        self._lock = threading.Lock()

    def for_url(self, url: str) -> RemoteKeySet:
        with self._lock:
            if url not in self._sets:
                self._sets[url] = RemoteKeySet(
                    url, timeout=self._timeout, cache_seconds=self._cache_seconds,
                    min_refresh_seconds=self._min_refresh_seconds,
                )
            return self._sets[url]
