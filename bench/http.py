"""HTTP throughput and latency under gunicorn with wrk, against a minimal Flask endpoint."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import statistics
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass

import orjson

from bench import patients, servers
from cdshooks.gunicorn_conf import default_workers

CONNECTIONS = 10
ROUNDS = 4  # each server measured ROUNDS times, alternating (ABBA), ROUND_S seconds each
ROUND_S = 5


@dataclass(frozen=True)
class WrkRun:
    """One wrk run against one server."""

    requests_per_s: float
    p50_ms: float
    p99_ms: float
    non_2xx: int


@dataclass(frozen=True)
class HttpResult:
    name: str
    shape: str  # of the 200-resource patient (see bench.patients)
    workers: int
    connections: int
    rounds: int
    requests_per_s: float  # median over the rounds; so are the latencies
    p50_ms: float
    p99_ms: float
    non_2xx: int  # over all rounds
    requests_per_s_by_round: tuple[float, ...]


def ensure_wrk() -> str:
    """wrk from the OS packages; installed on first use (root on this machine kind)."""
    path = shutil.which("wrk")
    if path:
        return path
    if os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(["apt-get", "update", "-qq"], check=False, stdout=subprocess.DEVNULL)
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, stdout=subprocess.DEVNULL)
        path = shutil.which("wrk")
    if not path:
        raise RuntimeError("wrk is needed for the HTTP benchmark: apt-get install wrk")
    return path


_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _latency_ms(text: str, pct: str) -> float:
    m = re.search(rf"^\s*{pct}%\s+([\d.]+)(us|ms|s)\s*$", text, re.MULTILINE)
    if not m:
        raise ValueError(f"no {pct}% latency in wrk output:\n{text}")
    return float(m.group(1)) * _UNIT_MS[m.group(2)]


def parse_wrk(out: str) -> WrkRun:
    """The numbers of one `wrk --latency` report."""
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if not rps:
        raise ValueError(f"no Requests/sec in wrk output:\n{out}")
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return WrkRun(float(rps.group(1)), _latency_ms(out, "50"), _latency_ms(out, "99"), int(non2xx.group(1)) if non2xx else 0)


def _wrk(url: str, body_file: str, seconds: int) -> WrkRun:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(
            'local f = io.open("%s", "rb")\n'
            "wrk.method = \"POST\"\nwrk.body = f:read(\"*all\")\nf:close()\n"
            'wrk.headers["Content-Type"] = "application/json"\n' % body_file
        )
    try:
        out = subprocess.run(
            [ensure_wrk(), "-t2", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency", "-s", script.name, url],
            check=True, capture_output=True, text=True,
        ).stdout
    finally:
        os.unlink(script.name)
    return parse_wrk(out)


def alternating_order(names: Sequence[str], rounds: int) -> list[str]:
    """ABBA...: each server runs first as often as last, so a machine speeding up or
    slowing down during the run (shared cores) moves every server alike."""
    order: list[str] = []
    for i in range(rounds):
        order.extend(names if i % 2 == 0 else reversed(names))
    return order


def _measure_alternating(
    servers_by_name: dict[str, tuple[str, int]], body: bytes, env: dict[str, str], rounds: int, seconds: int
) -> dict[str, list[WrkRun]]:
    """Start every server (gunicorn app spec, workers) at once, then wrk them in alternating rounds."""
    url_path = f"/cds-services/{patients.SERVICE['order-select']}"
    runs: dict[str, list[WrkRun]] = {name: [] for name in servers_by_name}
    with tempfile.NamedTemporaryFile("wb", suffix=".json", delete=False) as fh:
        fh.write(body)
    try:
        with contextlib.ExitStack() as stack:
            urls = {}
            for name, (spec, workers) in servers_by_name.items():
                port = servers.free_port()
                urls[name] = f"http://127.0.0.1:{port}{url_path}"
                stack.enter_context(servers.process(servers.gunicorn_cmd(spec, port, workers), env=env))
            for url in urls.values():
                servers.wait_until_answering(url, data=body)
            for name in alternating_order(list(servers_by_name), rounds):
                runs[name].append(_wrk(urls[name], fh.name, seconds))
    finally:
        os.unlink(fh.name)
    return runs


def summarize(name: str, shape: str, workers: int, runs: Sequence[WrkRun]) -> HttpResult:
    """Medians over the rounds (a single slow round does not decide the result)."""
    return HttpResult(
        name=name,
        shape=shape,
        workers=workers,
        connections=CONNECTIONS,
        rounds=len(runs),
        requests_per_s=round(statistics.median(r.requests_per_s for r in runs), 1),
        p50_ms=round(statistics.median(r.p50_ms for r in runs), 2),
        p99_ms=round(statistics.median(r.p99_ms for r in runs), 2),
        non_2xx=sum(r.non_2xx for r in runs),
        requests_per_s_by_round=tuple(r.requests_per_s for r in runs),
    )


def _env() -> dict[str, str]:
    return {
        "CDSHOOKS_AUTH": "0",
        "CDSHOOKS_NOW": patients.AS_OF.isoformat(),
        "CDSHOOKS_FEEDBACK_DB": os.path.join(tempfile.gettempdir(), "bench-feedback.sqlite3"),
    }


MINIMAL, MINIMAL_APP = "minimal Flask endpoint", "bench.minimal_app:app"
SERVICE, SERVICE_APP = "cdshooks order-select", "cdshooks.app:create_app()"


def run(
    resources: int = 200, shapes: tuple[str, ...] = patients.SHAPES, rounds: int = ROUNDS, seconds: int = ROUND_S
) -> list[HttpResult]:
    """Per patient shape: the minimal endpoint and the service, each under its own gunicorn, in alternating rounds."""
    workers = default_workers()
    results = []
    for shape in shapes:
        body = orjson.dumps(patients.request("order-select", resources, shape=shape))
        runs = _measure_alternating(
            {MINIMAL: (MINIMAL_APP, workers), SERVICE: (SERVICE_APP, workers)},
            body, _env(), rounds, seconds,
        )
        results += [summarize(name, shape, workers, runs[name]) for name in (MINIMAL, SERVICE)]
    return results


@dataclass(frozen=True)
class ScalingResult:
    workers: int
    requests_per_s: float  # median over the rounds
    p50_ms: float
    speedup: float  # requests/s over the 1-worker run


def scaling(
    resources: int = 200, worker_counts: tuple[int, ...] = (1, 2), rounds: int = ROUNDS, seconds: int = ROUND_S
) -> list[ScalingResult]:
    """The service's throughput with 1, 2, ... workers (EHR-shaped patient): does it scale with workers?"""
    body = orjson.dumps(patients.request("order-select", resources, shape="ehr"))
    runs = _measure_alternating({str(w): (SERVICE_APP, w) for w in worker_counts}, body, _env(), rounds, seconds)
    summaries = [summarize(SERVICE, "ehr", w, runs[str(w)]) for w in worker_counts]
    base = summaries[0].requests_per_s
    return [ScalingResult(s.workers, s.requests_per_s, s.p50_ms, round(s.requests_per_s / base, 2)) for s in summaries]


def throughput_ratios(rows: list[dict]) -> dict[str, float]:
    """Per shape: service requests/s over the minimal endpoint's, the median of the ratios round by round.

    A round's two runs are next to each other in time, so their ratio is what a
    slow spell on the shared machine disturbs least.
    """
    out = {}
    for shape in dict.fromkeys(r["shape"] for r in rows):
        minimal = next(r for r in rows if r["shape"] == shape and r["name"] == MINIMAL)
        service = next(r for r in rows if r["shape"] == shape and r["name"] == SERVICE)
        pairs = [
            s / m
            for m, s in zip(minimal["requests_per_s_by_round"], service["requests_per_s_by_round"])
            if m
        ]
        if pairs:
            out[shape] = round(statistics.median(pairs), 2)
    return out
