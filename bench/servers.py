"""Start and stop local servers for the benchmarks (loopback only)."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_answering(url: str, timeout: float = 30.0, data: bytes | None = None) -> float:
    """Poll `url` until it answers 200; return the monotonic time it first did."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(req, timeout=2) as r:
                if r.status == 200:
                    return time.monotonic()
        except OSError:
            time.sleep(0.005)
    raise TimeoutError(f"{url} did not answer within {timeout} s")


@contextlib.contextmanager
def process(
    cmd: Sequence[str], env: dict[str, str] | None = None, cwd: str | None = None
) -> Iterator[subprocess.Popen]:
    proc = subprocess.Popen(
        list(cmd),
        env={**os.environ, **(env or {})},
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def gunicorn_cmd(app_spec: str, port: int, workers: int | None, recycle: bool = False) -> list[str]:
    """gunicorn with the production settings (cdshooks.gunicorn_conf), for either app.

    `workers` None keeps the production default. Worker recycling (max_requests)
    is off unless `recycle`: the service is measured with it, as it runs in
    production; the minimal endpoints without, since each recycled worker
    would load the service's warm-up that they never use.
    """
    cmd = [sys.executable, "-m", "gunicorn", "-c", "python:cdshooks.gunicorn_conf"]
    if not recycle:
        cmd += ["--max-requests", "0"]
    if workers is not None:
        cmd += ["--workers", str(workers)]
    return [*cmd, "--bind", f"127.0.0.1:{port}", "--log-level", "warning", app_spec]
