"""How many sync workers: throughput with full prefetch and with FHIR fallback, per worker count.

Sync workers answer one call at a time. With full prefetch a call is pure CPU,
so more workers than cores only adds switching; without prefetch a call waits
on the EHR's FHIR server (here a loopback stub with the delays of
bench.fallback), and a waiting worker answers nobody. The default has to suit
both: this measures both, each worker count under the same wrk load, in
alternating rounds.
"""

from __future__ import annotations

import os
import statistics
from dataclasses import dataclass

import orjson

from bench import fallback, http, patients


@dataclass(frozen=True)
class WorkersResult:
    case: str  # "full prefetch" or "FHIR fallback"
    workers: int
    requests_per_s: float  # median over the rounds
    p50_ms: float
    p99_ms: float
    non_2xx: int


def _fallback_body(resources: int) -> tuple[bytes, object]:
    """An order-select without prefetch, its fhirServer a delayed stub holding the same patient."""
    req = patients.request("order-select", resources)
    prefetch = req.pop("prefetch")
    everything = [prefetch["patient"]] + [
        e["resource"] for key in ("medications", "observations", "conditions", "immunizations")
        for e in prefetch[key]["entry"]
    ]
    stub = fallback._stub(everything)
    req["fhirServer"] = f"http://127.0.0.1:{stub.server_port}"
    return orjson.dumps(req), stub


def run(
    worker_counts: tuple[int, ...] = (2, 3, 5), resources: int = 200, rounds: int = 2, seconds: int = http.ROUND_S
) -> list[WorkersResult]:
    out: list[WorkersResult] = []
    prefetched = orjson.dumps(patients.request("order-select", resources, shape="ehr"))
    fallback_body, stub = _fallback_body(resources)
    try:
        for case, body in (("full prefetch", prefetched), ("FHIR fallback", fallback_body)):
            plan = [http.Server(str(w), http.SERVICE_APP, w, recycle=True) for w in worker_counts]
            runs = http._measure_alternating(plan, body, http._env(), rounds, seconds)
            for w in worker_counts:
                r = runs[str(w)]
                out.append(WorkersResult(
                    case, w,
                    round(statistics.median(x.requests_per_s for x in r), 1),
                    round(statistics.median(x.p50_ms for x in r), 1),
                    round(statistics.median(x.p99_ms for x in r), 1),
                    sum(x.non_2xx for x in r),
                ))
    finally:
        stub.shutdown()
    return out


if __name__ == "__main__":
    for row in run():
        print(row, flush=True)
    print("cores", os.cpu_count())
