"""Cold start: from process start to the first answered request."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass

import orjson

from bench import patients, servers


@dataclass(frozen=True)
class ColdStartResult:
    server: str
    discovery_ms: float
    first_order_select_ms: float


def _cdshooks_cmd() -> list[str]:
    exe = shutil.which("cdshooks", path=os.path.dirname(sys.executable))
    return [exe] if exe else [sys.executable, "-m", "cdshooks.cli"]


def run(runs: int = 3) -> ColdStartResult:
    body = orjson.dumps(patients.request("order-select", 200))
    env = {
        "CDSHOOKS_FEEDBACK_DB": os.path.join(tempfile.gettempdir(), "bench-cold.sqlite3"),
        "CDSHOOKS_NOW": patients.AS_OF.isoformat(),
    }
    disc, first = [], []
    for _ in range(runs):
        port = servers.free_port()
        base = f"http://127.0.0.1:{port}/cds-services"
        start = time.monotonic()
        with servers.process(_cdshooks_cmd() + ["serve", "--no-auth", "--port", str(port), "--workers", "1"], env=env):
            t_disc = servers.wait_until_answering(base)
            t_first = servers.wait_until_answering(f"{base}/{patients.SERVICE['order-select']}", data=body)
        disc.append((t_disc - start) * 1000)
        first.append((t_first - start) * 1000)
    return ColdStartResult("cdshooks serve (gunicorn, 1 worker)", round(min(disc), 1), round(min(first), 1))
