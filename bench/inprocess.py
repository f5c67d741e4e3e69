"""In-process latency per hook and record size, against the json.loads floor."""

from __future__ import annotations

import gc
import io
import json
import logging
import statistics
import sys
import time
import tracemalloc
from dataclasses import dataclass
from typing import Any

import orjson

from bench import patients
from cdshooks.app import create_app
from cdshooks.config import Settings
from cdshooks.warmup import prepare_for_serving


@dataclass(frozen=True)
class InProcessResult:
    hook: str
    shape: str  # "ehr" or "skeletal" (see bench.patients)
    resources: int
    body_bytes: int
    iterations: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    json_loads_p50_ms: float
    p50_ratio: float
    p99_ratio: float
    peak_kib_per_request: float
    cards: int


def _percentile(sorted_values: list[float], q: float) -> float:
    idx = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[idx]


def _environ(url: str, body: bytes) -> dict[str, Any]:
    """The WSGI environ gunicorn hands the app for this POST (a fresh one per call: the body is a stream)."""
    return {
        "REQUEST_METHOD": "POST", "PATH_INFO": url, "SCRIPT_NAME": "", "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8080", "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1", "CONTENT_TYPE": "application/json", "CONTENT_LENGTH": str(len(body)),
        "HTTP_HOST": "127.0.0.1:8080", "wsgi.input": io.BytesIO(body), "wsgi.errors": sys.stderr,
        "wsgi.url_scheme": "http", "wsgi.version": (1, 0), "wsgi.multithread": False,
        "wsgi.multiprocess": True, "wsgi.run_once": False,
    }


def measure(hook: str, resources: int, iterations: int, shape: str = "ehr") -> InProcessResult:
    """Time the whole WSGI app (middleware, routing, body reading, the hook, JSON out) as gunicorn calls it."""
    body = orjson.dumps(patients.request(hook, resources, shape=shape))
    app = create_app(Settings(auth_enabled=False, now=patients.AS_OF, feedback_db=":memory:"))
    url = f"/cds-services/{patients.SERVICE[hook]}"

    def call() -> bytes:
        status: list[str] = []
        out = b"".join(app(_environ(url, body), lambda s, h, e=None: status.append(s)))
        if not status[0].startswith("200"):
            raise RuntimeError(f"{hook}/{resources}: HTTP {status[0]}: {out[:300]!r}")
        return out

    logging.disable(logging.INFO)  # one log line per request is the server's job, not the measurement's
    threshold = gc.get_threshold()
    prepare_for_serving()  # as every gunicorn worker does before its first request
    first = call()
    for _ in range(5):
        call()
    # Interleaved, so that a machine slowing down or speeding up moves both alike.
    times, floor = [], []
    for _ in range(iterations):
        t = time.perf_counter_ns()
        json.loads(body)
        floor.append((time.perf_counter_ns() - t) / 1e6)
        t = time.perf_counter_ns()
        call()
        times.append((time.perf_counter_ns() - t) / 1e6)
    times.sort()
    tracemalloc.start()
    call()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    logging.disable(logging.NOTSET)
    p50, floor50 = statistics.median(times), statistics.median(floor)
    p99 = _percentile(times, 0.99)
    gc.unfreeze()
    gc.set_threshold(*threshold)
    return InProcessResult(
        hook=hook,
        shape=shape,
        resources=resources,
        body_bytes=len(body),
        iterations=iterations,
        p50_ms=round(p50, 3),
        p95_ms=round(_percentile(times, 0.95), 3),
        p99_ms=round(p99, 3),
        json_loads_p50_ms=round(floor50, 3),
        p50_ratio=round(p50 / floor50, 2),
        p99_ratio=round(p99 / floor50, 2),
        peak_kib_per_request=round(peak / 1024, 1),
        cards=len(orjson.loads(first)["cards"]),
    )


def run(sizes=(50, 200, 1000), hooks=("order-select", "order-sign", "patient-view")) -> list[InProcessResult]:
    """Every hook with EHR-shaped resources; order-select again with skeletal ones (the worst case)."""
    plan = [(hook, size, "ehr") for size in sizes for hook in hooks]
    plan += [("order-select", size, "skeletal") for size in sizes if size >= 200]
    return [measure(hook, size, 400 if size <= 200 else 150, shape) for hook, size, shape in plan]
