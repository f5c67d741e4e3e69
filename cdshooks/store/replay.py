"""The `jti` replay check on the shared store, with this instance's own cache while the store is down.

With PostgreSQL a token id is taken once across every instance. While the
database cannot be reached, the instance's local cache (in memory or SQLite,
`CDSHOOKS_JTI_CACHE`) still refuses a replay to this instance, so hooks keep
answering; the next call that reaches the database uses it again. Tokens seen
only locally during an outage are not copied over (the local cache still
refuses them here): their lifetime is short (`CDSHOOKS_JWT_MAX_LIFETIME_SECONDS`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from cdshooks.security.jti_cache import ReplayCache
from cdshooks.store.model import StoreUnavailable

log = logging.getLogger("cdshooks.security")


def _nothing(reason: str) -> None:
    return None


class FallbackReplayCache:
    """`first_use` on the shared cache, on the local one while the shared one is unavailable."""

    def __init__(
        self,
        shared: ReplayCache,
        local: ReplayCache,
        *,
        on_fallback: Callable[[str], None] = _nothing,  # a hook for counting fallbacks (metrics); gets a reason
    ):
        self._shared = shared
        self._local = local
        self._on_fallback = on_fallback
        self._lock = threading.Lock()
        self._degraded = False  # log the switch and the return once each, not every call

    def first_use(self, iss: str, jti: str, expires_at: float) -> bool:
        """The shared answer, or the local one while the shared store cannot be reached."""
        # Locally too, always: a token first seen here during an outage stays refused here after it.
        local = self._local.first_use(iss, jti, expires_at)
        try:
            shared = self._shared.first_use(iss, jti, expires_at)
        except StoreUnavailable as exc:
            self._degrade(str(exc))
            return local
        self._recover()
        return shared and local

    @property
    def degraded(self) -> bool:
        """True while the last call fell back to the local cache."""
        return self._degraded

    def _degrade(self, reason: str) -> None:
        with self._lock:
            first, self._degraded = not self._degraded, True
        if first:  # the message names the store (password redacted), never the token
            log.error("jti replay cache: shared store unavailable, using this instance's cache: %s", reason)
        self._on_fallback(reason)

    def _recover(self) -> None:
        with self._lock:
            was, self._degraded = self._degraded, False
        if was:
            log.warning("jti replay cache: shared store reachable again, using it")
