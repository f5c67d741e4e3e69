"""The jti check on the shared store falls back to the instance's own cache while the store is down."""

from __future__ import annotations

import logging

import pytest

from cdshooks.security.jti_cache import MemoryReplayCache
from cdshooks.store.model import StoreUnavailable
from cdshooks.store.replay import FallbackReplayCache

EXP = 2_000_000_000.0


class Shared:
    """A shared cache that can be taken down."""

    def __init__(self) -> None:
        self.cache = MemoryReplayCache()
        self.down = False

    def first_use(self, iss: str, jti: str, expires_at: float) -> bool:
        if self.down:
            raise StoreUnavailable("PostgreSQL store postgresql://cds:***@db/cds: connection refused")
        return self.cache.first_use(iss, jti, expires_at)


def test_the_shared_cache_decides_while_it_answers():
    shared = Shared()
    shared.cache.first_use("iss", "seen-elsewhere", EXP)  # another instance took it
    cache = FallbackReplayCache(shared, MemoryReplayCache())
    assert cache.first_use("iss", "new", EXP)
    assert not cache.first_use("iss", "seen-elsewhere", EXP)
    assert not cache.degraded


def test_while_the_store_is_down_a_replay_to_this_instance_is_refused_and_counted(caplog):
    shared, fallbacks = Shared(), []
    cache = FallbackReplayCache(shared, MemoryReplayCache(), on_fallback=fallbacks.append)
    shared.down = True
    with caplog.at_level(logging.WARNING, logger="cdshooks.security"):
        assert cache.first_use("iss", "during", EXP)
        assert not cache.first_use("iss", "during", EXP)
    assert cache.degraded and len(fallbacks) == 2
    assert sum("shared store unavailable" in r.getMessage() for r in caplog.records) == 1  # logged once
    assert "during" not in caplog.text  # never the token id


def test_it_returns_to_the_shared_cache_by_itself(caplog):
    shared = Shared()
    cache = FallbackReplayCache(shared, MemoryReplayCache())
    shared.down = True
    assert cache.first_use("iss", "during", EXP)
    shared.down = False
    with caplog.at_level(logging.WARNING, logger="cdshooks.security"):
        assert cache.first_use("iss", "after", EXP)
    assert not cache.degraded and "reachable again" in caplog.text
    assert shared.cache.first_use("iss", "after", EXP) is False  # it went to the shared cache
    assert not cache.first_use("iss", "during", EXP)  # first seen here during the outage: still refused here


def test_a_bug_in_the_shared_cache_is_not_an_outage():
    class Broken:
        def first_use(self, iss: str, jti: str, expires_at: float) -> bool:
            raise TypeError("bug")

    with pytest.raises(TypeError):
        FallbackReplayCache(Broken(), MemoryReplayCache()).first_use("iss", "j", EXP)


def test_the_service_counts_each_fallback_in_its_metrics(settings):
    from dataclasses import replace

    from cdshooks.metrics import JTI_FALLBACKS
    from cdshooks.web.auth import replay_cache

    shared = Shared()
    cache = replay_cache(replace(settings, jti_cache="memory"), shared)
    before = JTI_FALLBACKS._value.get()
    shared.down = True
    cache.first_use("iss", "a", EXP)
    cache.first_use("iss", "b", EXP)
    assert JTI_FALLBACKS._value.get() - before == 2
