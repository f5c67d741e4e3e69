"""Background housekeeping of the store: shown-card ledger rows older than the retention (default 400
days) and expired token ids are deleted by a thread of each serving process, never by a request.

The thread starts on a process's first request (gunicorn forks workers after the app is built, and
a thread does not survive a fork), runs its first round a minute later, then every `interval`; a
store that cannot be reached is logged and tried again at the next round.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import weakref
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from cdshooks.store.model import Store, StoreUnavailable

log = logging.getLogger(__name__)

PURGE_INTERVAL = timedelta(hours=6)
FIRST_ROUND_AFTER = timedelta(minutes=1)  # not while a worker is starting up and taking its first calls


class Purger:
    """Deletes what the store no longer needs, off the request path."""

    def __init__(
        self,
        store: Store,
        retention: timedelta,
        interval: timedelta = PURGE_INTERVAL,
        first_round_after: timedelta = FIRST_ROUND_AFTER,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ):
        # Weakly: the thread must not keep an app's store (and its connections) alive after the app is gone.
        self._store = weakref.ref(store)
        self.retention = retention
        self.interval = interval
        self.first_round_after = first_round_after
        self._clock = clock
        self._pid: int | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()

    def run_once(self) -> int:
        """One round: the ledger rows past the retention and the expired token ids; how many rows went."""
        store = self._store()
        if store is None:
            self._stop.set()  # its app is gone: so is this thread
            return 0
        now = self._clock()
        try:
            gone = store.purge_shown(now - self.retention)
            gone += store.purge_tokens(now.timestamp())
        except StoreUnavailable as exc:
            log.warning("store housekeeping skipped this round: %s", exc)
            return 0
        if gone:
            log.info("store housekeeping removed %d expired rows", gone)
        return gone

    def ensure_started(self) -> None:
        """Start this process's thread if it has none (cheap: called on every request)."""
        if self._pid == os.getpid():
            return
        with self._lock:
            if self._pid == os.getpid():
                return
            self._pid = os.getpid()
            threading.Thread(target=self._loop, name="cdshooks-purge", daemon=True).start()

    def stop(self) -> None:
        self._stop.set()

    def _loop(self) -> None:
        if self._stop.wait(self.first_round_after.total_seconds()):
            return
        while not self._stop.is_set():
            started = time.monotonic()
            self.run_once()
            self._stop.wait(max(0.0, self.interval.total_seconds() - (time.monotonic() - started)))
