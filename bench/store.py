"""SQLite file vs PostgreSQL: what the store costs an order-select call and how fast feedback is taken.

In-process, as bench/ledger.py: the whole WSGI app, 200 EHR-shaped resources, the ledger write and
suppression reads included; then N one-entry feedback POSTs, each a distinct card. PostgreSQL is a
throwaway local cluster (tests/pg_server.py: Debian's initdb/pg_ctl, fsync off like the tests).
"""

from __future__ import annotations

import logging
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from bench import patients
from bench.inprocess import _environ
from cdshooks.app import create_app
from cdshooks.config import Settings
from cdshooks.warmup import prepare_for_serving


@dataclass(frozen=True)
class StoreResult:
    backend: str
    order_select_p50_ms: float
    feedback_posts_per_s: float
    iterations: int


def _caller(app: Any) -> Callable[[str, bytes], None]:
    def call(url: str, body: bytes) -> None:
        status: list[str] = []
        b"".join(app(_environ(url, body), lambda s, h, e=None: status.append(s)))
        if not status[0].startswith("200"):
            raise RuntimeError(f"{url}: HTTP {status[0]}")

    return call


def measure(backend: str, settings: Settings, iterations: int) -> StoreResult:
    """p50 of order-select and feedback posts per second, one backend."""
    call = _caller(create_app(settings))
    url = f"/cds-services/{patients.SERVICE['order-select']}"
    body = orjson.dumps(patients.request("order-select", 200, shape="ehr"))
    for _ in range(20):
        call(url, body)
    times = []
    for _ in range(iterations):
        start = time.perf_counter()
        call(url, body)
        times.append(time.perf_counter() - start)
    posts = [orjson.dumps({"feedback": [{"card": f"bench-{backend}-{i}", "outcome": "accepted",
                                         "outcomeTimestamp": "2026-01-15T12:00:00Z"}]}) for i in range(iterations)]  # fmt: skip
    start = time.perf_counter()
    for post in posts:
        call(f"{url}/feedback", post)
    rate = iterations / (time.perf_counter() - start)
    return StoreResult(backend, round(statistics.median(times) * 1000, 2), round(rate, 1), iterations)


def run(iterations: int = 300) -> list[StoreResult]:
    """Both backends, one after the other, on fresh stores."""
    from tests.pg_server import PgServer, find_bin_dir

    logging.disable(logging.INFO)
    prepare_for_serving()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        sqlite = Settings(auth_enabled=False, now=patients.AS_OF, feedback_db=str(Path(tmp) / "store.sqlite3"))
        results.append(measure("sqlite-file", sqlite, iterations))
    bin_dir = find_bin_dir()
    if bin_dir is None:
        raise RuntimeError("PostgreSQL binaries (Debian package `postgresql`) are needed for this section")
    server = PgServer.create(bin_dir)
    try:
        server.start()
        pg = Settings(auth_enabled=False, now=patients.AS_OF, database_url=server.url(server.create_database()),
                      db_upgrade_on_start=True)  # fmt: skip
        results.append(measure("postgresql", pg, iterations))
    finally:
        server.destroy()
    return results
