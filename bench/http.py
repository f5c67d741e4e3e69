"""HTTP throughput and latency under gunicorn with wrk, against a minimal Flask endpoint."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urlsplit

import orjson

from bench import patients, servers
from cdshooks.gunicorn_conf import default_workers

ROOT = Path(__file__).resolve().parent.parent

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
    requests: int = 0  # completed in the run
    cpu_ms_per_request: float | None = None  # the server's CPU (master and workers) over the run / requests


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
    # The server's CPU per request (median over the rounds; None where /proc cannot tell): at 10
    # connections both cores are busy, so this is what req/s is the inverse of, less the client's share.
    cpu_ms_per_request: float | None = None
    cpu_ms_per_request_by_round: tuple[float | None, ...] = ()


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
    done = re.search(r"^\s*(\d+) requests in ", out, re.MULTILINE)
    return WrkRun(
        float(rps.group(1)), _latency_ms(out, "50"), _latency_ms(out, "99"), int(non2xx.group(1)) if non2xx else 0,
        requests=int(done.group(1)) if done else 0,
    )


def _with_cpu(run: WrkRun, cpu_before: float | None, cpu_after: float | None) -> WrkRun:
    """The run with the server's CPU per request, from two readings of its process tree around it."""
    if cpu_before is None or cpu_after is None or not run.requests:
        return run
    return replace(run, cpu_ms_per_request=round((cpu_after - cpu_before) * 1000 / run.requests, 3))


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


@dataclass(frozen=True)
class Server:
    """One gunicorn server of a benchmark: an app, its workers, and the tree it runs from."""

    name: str
    app_spec: str
    workers: int | None = None  # None: the production default of its tree
    root: Path | None = None  # another checkout (bench.before); None: this one
    recycle: bool = False  # worker recycling as in production (the services), or off (the minimal endpoints)


class Running(dict[str, str]):
    """Servers started by `serving`: name -> the URL of the hook's service, and each one's gunicorn master pid."""

    def __init__(self) -> None:
        super().__init__()
        self.pids: dict[str, int] = {}


@contextlib.contextmanager
def serving(servers_to_start: Sequence[Server], env: dict[str, str], body: bytes,
            hook: str = "order-select") -> Iterator[Running]:
    """Start every server at once; yield name -> the URL of the hook's service once each answers the body.

    The body must be a call of that hook: the wait is for a 200 (another hook's
    call answers 400 and the wait would time out).
    """
    url_path = f"/cds-services/{patients.SERVICE[hook]}"
    with contextlib.ExitStack() as stack:
        urls = Running()
        for server in servers_to_start:
            port = servers.free_port()
            urls[server.name] = f"http://127.0.0.1:{port}{url_path}"
            run_env = dict(env)
            if server.root is not None:
                run_env["PYTHONPATH"] = str(server.root)
            cmd = servers.gunicorn_cmd(server.app_spec, port, server.workers, recycle=server.recycle)
            proc = stack.enter_context(servers.process(cmd, env=run_env, cwd=str(server.root or ROOT)))
            urls.pids[server.name] = proc.pid
        for url in urls.values():
            servers.wait_until_answering(url, data=body)
        yield urls


def _measure_alternating(
    servers_to_start: Sequence[Server], body: bytes, env: dict[str, str], rounds: int, seconds: int
) -> dict[str, list[WrkRun]]:
    """Start every server at once, then wrk them in alternating rounds."""
    runs: dict[str, list[WrkRun]] = {s.name: [] for s in servers_to_start}
    with tempfile.NamedTemporaryFile("wb", suffix=".json", delete=False) as fh:
        fh.write(body)
    try:
        with serving(servers_to_start, env, body) as urls:
            for name in alternating_order(list(urls), rounds):
                pid = urls.pids[name]
                cpu_before = servers.tree_cpu_seconds(pid)
                run = _wrk(urls[name], fh.name, seconds)
                runs[name].append(_with_cpu(run, cpu_before, servers.tree_cpu_seconds(pid)))
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
        cpu_ms_per_request=_median_or_none([r.cpu_ms_per_request for r in runs]),
        cpu_ms_per_request_by_round=tuple(r.cpu_ms_per_request for r in runs),
    )


def _median_or_none(values: Sequence[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return round(statistics.median(known), 3) if known else None


def _env() -> dict[str, str]:
    return {
        "CDSHOOKS_AUTH": "0",
        "CDSHOOKS_NOW": patients.AS_OF.isoformat(),
        "CDSHOOKS_FEEDBACK_DB": os.path.join(tempfile.gettempdir(), "bench-feedback.sqlite3"),
    }


# The floors. Throughput is compared with an endpoint parsing the body with the
# stdlib's json (as a plain Flask service would); latency with one using orjson,
# the parser the service itself uses, so the gap shown is the service's own work.
MINIMAL, MINIMAL_APP = "minimal Flask endpoint (stdlib json)", "bench.minimal_app:app"
MINIMAL_ORJSON, MINIMAL_ORJSON_APP = "minimal Flask endpoint (orjson)", "bench.minimal_app:orjson_app"
SERVICE, SERVICE_APP = "cdshooks order-select", "cdshooks.app:create_app()"
SERVICE_BEFORE = "cdshooks order-select, before"


def _services(before: Path | None, workers: int | None = None) -> list[Server]:
    """The service as it is and, when given a tree of an older commit, as it was (production settings both)."""
    out = [Server(SERVICE, SERVICE_APP, workers, recycle=True)]
    if before is not None:
        out.append(Server(SERVICE_BEFORE, SERVICE_APP, workers, root=before, recycle=True))
    return out


def run(
    resources: int = 200,
    shapes: tuple[str, ...] = patients.SHAPES,
    rounds: int = ROUNDS,
    seconds: int = ROUND_S,
    before: Path | None = None,
) -> list[HttpResult]:
    """Per patient shape: the minimal endpoint and the service (and the service before), in alternating rounds."""
    workers = default_workers()
    results = []
    for shape in shapes:
        body = orjson.dumps(patients.request("order-select", resources, shape=shape))
        plan = [Server(MINIMAL, MINIMAL_APP, workers), *_services(before, workers)]
        runs = _measure_alternating(plan, body, _env(), rounds, seconds)
        results += [summarize(server.name, shape, workers, runs[server.name]) for server in plan]
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
    plan = [Server(str(w), SERVICE_APP, w) for w in worker_counts]
    runs = _measure_alternating(plan, body, _env(), rounds, seconds)
    summaries = [summarize(SERVICE, "ehr", w, runs[str(w)]) for w in worker_counts]
    base = summaries[0].requests_per_s
    return [ScalingResult(s.workers, s.requests_per_s, s.p50_ms, round(s.requests_per_s / base, 2)) for s in summaries]


def throughput_ratios(rows: list[dict], service: str = SERVICE) -> dict[str, float]:
    """Per shape: `service` requests/s over the minimal endpoint's, the median of the ratios round by round.

    A round's two runs are next to each other in time, so their ratio is what a
    slow spell on the shared machine disturbs least.
    """
    return _paired_ratios(rows, service, "requests_per_s_by_round", lambda minimal, measured: measured / minimal)


def cpu_ratios(rows: list[dict], service: str = SERVICE) -> dict[str, float]:
    """Per shape: the minimal endpoint's CPU per request over `service`'s, paired by round as throughput_ratios.

    The throughput ratio the servers' own CPU alone would allow: what remains
    between the two is the client's share of the cores.
    """
    return _paired_ratios(rows, service, "cpu_ms_per_request_by_round", lambda minimal, measured: minimal / measured)


def _paired_ratios(
    rows: list[dict], service: str, field: str, ratio: Callable[[float, float], float]
) -> dict[str, float]:
    out = {}
    for shape in dict.fromkeys(r["shape"] for r in rows):
        minimal = next((r for r in rows if r["shape"] == shape and r["name"] == MINIMAL), None)
        measured = next((r for r in rows if r["shape"] == shape and r["name"] == service), None)
        if minimal is None or measured is None:
            continue
        pairs = []
        for m, s in zip(minimal.get(field, ()), measured.get(field, ())):
            if m is None or s is None:  # a round /proc could not measure
                continue
            try:
                pairs.append(ratio(m, s))
            except ZeroDivisionError:  # a round with nothing to divide by says nothing
                continue
        if pairs:
            out[shape] = round(statistics.median(pairs), 2)
    return out


# Sequential latency: one request at a time, so the time is the service's own, not a queue's.
LATENCY_REQUESTS = {200: 400, 1000: 120}  # per server, after warm-up
WARMUP_REQUESTS = 40  # per server: every worker answers a few before timing starts


@dataclass(frozen=True)
class LatencyResult:
    """p50 of sequential POSTs over loopback HTTP, against the stdlib json.loads of the same body."""

    name: str
    resources: int
    body_bytes: int
    requests: int
    p50_ms: float
    p90_ms: float
    json_loads_p50_ms: float
    ratio: float  # p50 / json_loads p50


def _raw_post(url: str, body: bytes) -> bytes:
    """The bytes of one POST (built once: the client's own cost is the same for every server)."""
    parts = urlsplit(url)
    head = (
        f"POST {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode("latin-1") + body


def timed_post(address: tuple[str, int], raw: bytes) -> float:
    """Milliseconds from connecting to the last byte of a complete 200 response."""
    start = time.perf_counter_ns()
    with socket.create_connection(address) as sock:
        sock.sendall(raw)
        received = bytearray()
        length = None
        while True:
            piece = sock.recv(262144)
            if not piece:
                break
            received += piece
            if length is None and b"\r\n\r\n" in received:
                head = bytes(received[: received.index(b"\r\n\r\n")]).decode("latin-1")
                if not head.startswith("HTTP/1.1 200"):
                    raise RuntimeError(f"benchmark request answered {head.splitlines()[0]!r}")
                found = re.search(r"^content-length:\s*(\d+)", head, re.IGNORECASE | re.MULTILINE)
                length = len(head) + 4 + int(found.group(1)) if found else None
            if length is not None and len(received) >= length:
                break
    return (time.perf_counter_ns() - start) / 1e6


def _warm_json_loads_ms(body: bytes, repeat: int = 3) -> float:
    """json.loads of the body, the fastest of a few back to back: the parse itself, as a tight loop times it.

    Timed once between requests it runs with caches the servers just evicted and
    beside a worker still finishing its last call, and comes out up to twice as
    slow: a floor that moves with the load would flatter every ratio over it.
    """
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter_ns()
        json.loads(body)
        best = min(best, (time.perf_counter_ns() - t) / 1e6)
    return best


def latency(
    resources: int = 200, requests: int | None = None, before: Path | None = None
) -> list[LatencyResult]:
    """Each server answers the same body one request at a time, rotating server by server, with a
    json.loads of the body timed in between (so drift on a shared machine moves all alike)."""
    body = orjson.dumps(patients.request("order-select", resources, shape="ehr"))
    requests = requests or LATENCY_REQUESTS.get(resources, 200)
    plan = [Server(MINIMAL_ORJSON, MINIMAL_ORJSON_APP, default_workers()), *_services(before)]
    times: dict[str, list[float]] = {s.name: [] for s in plan}
    floor: list[float] = []
    with serving(plan, _env(), body) as urls:
        targets = {name: (_raw_post(url, body), _address(url)) for name, url in urls.items()}
        names = list(targets)
        for name in names:
            for _ in range(WARMUP_REQUESTS):
                timed_post(targets[name][1], targets[name][0])
        for i in range(requests):
            floor.append(_warm_json_loads_ms(body))
            for name in names if i % 2 == 0 else reversed(names):  # ABBA, as the throughput rounds
                raw, address = targets[name]
                times[name].append(timed_post(address, raw))
    floor_p50 = statistics.median(floor)
    return [
        LatencyResult(
            name=name,
            resources=resources,
            body_bytes=len(body),
            requests=len(values),
            p50_ms=round(statistics.median(values), 3),
            p90_ms=round(sorted(values)[int(0.9 * (len(values) - 1))], 3),
            json_loads_p50_ms=round(floor_p50, 3),
            ratio=round(statistics.median(values) / floor_p50, 2),
        )
        for name, values in times.items()
    ]


def _address(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or 80
