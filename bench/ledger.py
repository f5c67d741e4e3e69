"""What the alert-burden work costs a hook call: the suppression reads and the shown-card ledger write.

The same in-process order-select (200 EHR-shaped resources, a SQLite store file on disk as in
production) is timed with the real store and with one whose ledger and suppression calls do
nothing, in alternating calls; the difference is the cost. The target is at most 10% of the call.
"""

from __future__ import annotations

import logging
import statistics
import tempfile
import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from bench import patients
from bench.inprocess import _environ
from cdshooks import ledger
from cdshooks.app import create_app
from cdshooks.config import Settings
from cdshooks.store.model import ShownCard
from cdshooks.warmup import prepare_for_serving


@dataclass(frozen=True)
class LedgerResult:
    hook: str
    resources: int
    cards: int
    iterations: int
    with_ledger_p50_ms: float
    without_p50_ms: float
    overhead_p50_ms: float
    overhead_pct: float
    ledger_write_p50_ms: float  # ledger.record alone, the cards of this call


class _Silent:
    """The real store, minus the alert-burden calls (what a call cost before them)."""

    def __init__(self, store: Any):
        self._store = store

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def overridden_with_reason(self, uuids: Collection[str]) -> dict[str, datetime]:
        return {}

    def shown_on(self, uuids: Collection[str], hook: str, since: datetime | None = None) -> set[str]:
        return set()

    def record_shown(self, cards: Sequence[ShownCard]) -> None:
        return None


def measure(hook: str = "order-select", resources: int = 200, iterations: int = 400) -> LedgerResult:
    body = orjson.dumps(patients.request(hook, resources, shape="ehr"))
    url = f"/cds-services/{patients.SERVICE[hook]}"
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(auth_enabled=False, now=patients.AS_OF, feedback_db=str(Path(tmp) / "store.sqlite3"))
        full, bare = create_app(settings), create_app(settings)
        store = full.extensions["cdshooks"]["store"]
        bare.extensions["cdshooks"]["store"] = _Silent(bare.extensions["cdshooks"]["store"])

        def call(app: Any) -> bytes:
            status: list[str] = []
            out = b"".join(app(_environ(url, body), lambda s, h, e=None: status.append(s)))
            if not status[0].startswith("200"):
                raise RuntimeError(f"{hook}: HTTP {status[0]}")
            return out

        logging.disable(logging.INFO)
        prepare_for_serving()
        cards = orjson.loads(call(full))["cards"]
        for _ in range(5):
            call(full), call(bare)
        with_t, without_t, write_t = [], [], []
        for _ in range(iterations):
            t = time.perf_counter_ns()
            call(full)
            with_t.append((time.perf_counter_ns() - t) / 1e6)
            t = time.perf_counter_ns()
            call(bare)
            without_t.append((time.perf_counter_ns() - t) / 1e6)
            t = time.perf_counter_ns()
            ledger.record(store, cards, hook=hook, patient_id="bench", service_id="bench", now=patients.AS_OF)
            write_t.append((time.perf_counter_ns() - t) / 1e6)
        logging.disable(logging.NOTSET)
    with_p50, without_p50 = statistics.median(with_t), statistics.median(without_t)
    return LedgerResult(
        hook=hook, resources=resources, cards=len(cards), iterations=iterations,
        with_ledger_p50_ms=round(with_p50, 3), without_p50_ms=round(without_p50, 3),
        overhead_p50_ms=round(with_p50 - without_p50, 3),
        overhead_pct=round(100 * (with_p50 - without_p50) / without_p50, 1),
        ledger_write_p50_ms=round(statistics.median(write_t), 3),
    )


def run(iterations: int = 400) -> list[LedgerResult]:
    return [measure(hook, 200, iterations) for hook in ("order-select", "order-sign", "patient-view")]
