"""Fetched JWK Sets: cache lifetime, refresh rate limit, failures, redirects, size."""

from __future__ import annotations

import pytest
import responses

from cdshooks.security.jwks import MAX_JWKS_BYTES, KeySetUnavailable, RemoteKeySet, StaticKeySet, signing_keys

URL = "https://ehr.example.org/jwks.json"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def jwk(kid: str, **extra) -> dict:
    return {"kty": "EC", "crv": "P-384", "kid": kid, "x": "AA", "y": "AA", **extra}


def key_set(clock: Clock, **kw) -> RemoteKeySet:
    options = dict(timeout=1.0, cache_seconds=600, min_refresh_seconds=10)
    return RemoteKeySet(URL, clock=clock, **{**options, **kw})


def test_signing_keys_keep_only_asymmetric_public_signature_keys():
    keys = signing_keys(
        {
            "keys": [
                jwk("ok"),
                {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"},
                jwk("enc", use="enc"),
                jwk("private", d="secret"),
                {"kty": "RSA"},  # no kid
                "junk",
            ]
        }
    )
    assert list(keys) == ["ok"]
    assert signing_keys("not a set") == {}
    assert StaticKeySet({"keys": [jwk("a")]}).key("a")["kid"] == "a"


@responses.activate
def test_cached_until_the_lifetime_ends():
    responses.get(URL, json={"keys": [jwk("a")]})
    clock = Clock()
    keys = key_set(clock)
    assert keys.key("a") is not None
    clock.now += 599
    assert keys.key("a") is not None
    assert len(responses.calls) == 1
    clock.now += 2
    assert keys.key("a") is not None
    assert len(responses.calls) == 2


@responses.activate
def test_unknown_kid_refresh_is_rate_limited():
    responses.get(URL, json={"keys": [jwk("a")]})
    clock = Clock()
    keys = key_set(clock)
    assert keys.key("a") is not None
    assert keys.key("b") is None
    assert keys.key("c") is None
    assert len(responses.calls) == 2
    clock.now += 11
    assert keys.key("d") is None
    assert len(responses.calls) == 3


@responses.activate
def test_server_down_keeps_the_last_good_set():
    responses.get(URL, json={"keys": [jwk("a")]})
    responses.get(URL, status=503)
    clock = Clock()
    keys = key_set(clock)
    assert keys.key("a") is not None
    clock.now += 601
    assert keys.key("a") is not None  # stale but usable
    assert len(responses.calls) == 2


@responses.activate
def test_unreachable_without_earlier_copy_is_unavailable_and_not_hammered():
    responses.get(URL, status=500)
    clock = Clock()
    keys = key_set(clock)
    for _ in range(3):
        with pytest.raises(KeySetUnavailable):
            keys.key("a")
    assert len(responses.calls) == 1


@responses.activate
def test_redirects_are_not_followed():
    responses.get(URL, status=302, headers={"Location": "https://attacker.example.net/jwks.json"})
    responses.get("https://attacker.example.net/jwks.json", json={"keys": [jwk("a")]})
    with pytest.raises(KeySetUnavailable):
        key_set(Clock()).key("a")
    assert [c.request.url for c in responses.calls] == [URL]


@responses.activate
def test_oversized_or_invalid_json_is_refused():
    responses.get(URL, body=b"{" + b" " * (MAX_JWKS_BYTES + 10) + b"}")
    with pytest.raises(KeySetUnavailable):
        key_set(Clock()).key("a")
    responses.replace(responses.GET, URL, body=b"<html>")
    with pytest.raises(KeySetUnavailable):
        key_set(Clock()).key("a")
