"""In-process latency per hook and record size, against the json.loads floor."""

from __future__ import annotations

import gc
import json
import statistics
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


def _time_ms(fn, iterations: int) -> list[float]:
    out = []
    for _ in range(iterations):
        t = time.perf_counter_ns()
        fn()
        out.append((time.perf_counter_ns() - t) / 1e6)
    return sorted(out)


def measure(hook: str, resources: int, iterations: int) -> InProcessResult:
    body = orjson.dumps(patients.request(hook, resources))
    app = create_app(Settings(auth_enabled=False, now=patients.AS_OF, feedback_db=":memory:"))
    client = app.test_client()
    url = f"/cds-services/{patients.SERVICE[hook]}"
    headers = {"Content-Type": "application/json"}

    def call() -> Any:
        r = client.post(url, data=body, headers=headers)
        if r.status_code != 200:
            raise RuntimeError(f"{hook}/{resources}: HTTP {r.status_code}: {r.data[:300]!r}")
        return r

    prepare_for_serving()  # as every gunicorn worker does before its first request
    first = call()
    for _ in range(5):
        call()
    times = _time_ms(call, iterations)
    floor = _time_ms(lambda: json.loads(body), max(30, iterations))
    tracemalloc.start()
    call()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    p50, floor50 = statistics.median(times), statistics.median(floor)
    p99 = _percentile(times, 0.99)
    gc.unfreeze()
    return InProcessResult(
        hook=hook,
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
        cards=len(first.get_json()["cards"]),
    )


def run(sizes=(50, 200, 1000), hooks=("order-select", "order-sign", "patient-view")) -> list[InProcessResult]:
    results = []
    for size in sizes:
        for hook in hooks:
            iterations = 400 if size <= 200 else 150
            results.append(measure(hook, size, iterations))
    return results
