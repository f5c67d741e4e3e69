"""HTTP throughput and latency under gunicorn with wrk, against a minimal Flask endpoint."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass

import orjson

from bench import patients, servers
from cdshooks.gunicorn_conf import default_workers

CONNECTIONS = 10
DURATION_S = 10


@dataclass(frozen=True)
class HttpResult:
    name: str
    shape: str  # of the 200-resource patient (see bench.patients)
    workers: int
    connections: int
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    non_2xx: int


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


def _wrk(url: str, body_file: str) -> tuple[float, float, float, int]:
    script = tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False)
    script.write(
        'local f = io.open("%s", "rb")\n'
        "wrk.method = \"POST\"\nwrk.body = f:read(\"*all\")\nf:close()\n"
        'wrk.headers["Content-Type"] = "application/json"\n' % body_file
    )
    script.close()
    out = subprocess.run(
        [ensure_wrk(), "-t2", f"-c{CONNECTIONS}", f"-d{DURATION_S}s", "--latency", "-s", script.name, url],
        check=True, capture_output=True, text=True,
    ).stdout
    os.unlink(script.name)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return rps, _latency_ms(out, "50"), _latency_ms(out, "99"), int(non2xx.group(1)) if non2xx else 0


def run(resources: int = 200, shapes: tuple[str, ...] = patients.SHAPES) -> list[HttpResult]:
    """Per patient shape: the minimal endpoint, then the service, each under its own gunicorn."""
    workers = default_workers()
    env = {
        "CDSHOOKS_AUTH": "0",
        "CDSHOOKS_NOW": patients.AS_OF.isoformat(),
        "CDSHOOKS_FEEDBACK_DB": os.path.join(tempfile.gettempdir(), "bench-feedback.sqlite3"),
    }
    results = []
    for shape in shapes:
        body = orjson.dumps(patients.request("order-select", resources, shape=shape))
        with tempfile.NamedTemporaryFile("wb", suffix=".json", delete=False) as fh:
            fh.write(body)
        for name, spec in (
            ("minimal Flask endpoint", "bench.minimal_app:app"),
            ("cdshooks order-select", "cdshooks.app:create_app()"),
        ):
            port = servers.free_port()
            url = f"http://127.0.0.1:{port}/cds-services/{patients.SERVICE['order-select']}"
            with servers.process(servers.gunicorn_cmd(spec, port, workers), env=env):
                servers.wait_until_answering(url, data=body)
                rps, p50, p99, non2xx = _wrk(url, fh.name)
            results.append(HttpResult(name, shape, workers, CONNECTIONS, rps, round(p50, 2), round(p99, 2), non2xx))
        os.unlink(fh.name)
    return results


@dataclass(frozen=True)
class ScalingResult:
    workers: int
    requests_per_s: float
    p50_ms: float
    speedup: float  # requests/s over the 1-worker run


def scaling(resources: int = 200, worker_counts: tuple[int, ...] = (1, 2)) -> list[ScalingResult]:
    """The service's throughput with 1, 2, ... workers (EHR-shaped patient): does it scale with workers?"""
    body = orjson.dumps(patients.request("order-select", resources, shape="ehr"))
    with tempfile.NamedTemporaryFile("wb", suffix=".json", delete=False) as fh:
        fh.write(body)
    env = {"CDSHOOKS_AUTH": "0", "CDSHOOKS_NOW": patients.AS_OF.isoformat(),
           "CDSHOOKS_FEEDBACK_DB": os.path.join(tempfile.gettempdir(), "bench-feedback.sqlite3")}
    out: list[ScalingResult] = []
    for workers in worker_counts:
        port = servers.free_port()
        url = f"http://127.0.0.1:{port}/cds-services/{patients.SERVICE['order-select']}"
        with servers.process(servers.gunicorn_cmd("cdshooks.app:create_app()", port, workers), env=env):
            servers.wait_until_answering(url, data=body)
            rps, p50, _, _ = _wrk(url, fh.name)
        base = out[0].requests_per_s if out else rps
        out.append(ScalingResult(workers, rps, round(p50, 2), round(rps / base, 2)))
    os.unlink(fh.name)
    return out


def throughput_ratios(rows: list[dict]) -> dict[str, float]:
    """Per shape: service requests/s over the minimal endpoint's."""
    out = {}
    for shape in dict.fromkeys(r["shape"] for r in rows):
        minimal = next(r for r in rows if r["shape"] == shape and r["name"].startswith("minimal"))
        service = next(r for r in rows if r["shape"] == shape and not r["name"].startswith("minimal"))
        if minimal["requests_per_s"]:
            out[shape] = round(service["requests_per_s"] / minimal["requests_per_s"], 2)
    return out
