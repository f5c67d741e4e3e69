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


def _stat_fields(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name (which may hold spaces and parentheses)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            text = fh.read().decode("ascii", "replace")
    except OSError:  # gone, or no /proc (not Linux)
        return None
    return text[text.rindex(")") + 2:].split()


def tree_cpu_seconds(pid: int) -> float | None:
    """CPU time (user + system) used so far by a server process and all its workers, dead or alive.

    A worker that exited and was reaped (gunicorn recycles workers) has its time
    added to the master's children counters, so nothing done for a request is
    lost between two readings. None where /proc cannot tell (not Linux, or gone).
    """
    fields = _stat_fields(pid)
    if fields is None:
        return None
    ticks = _own_and_reaped_ticks(fields)
    for child in _children(pid):
        child_fields = _stat_fields(child)
        if child_fields is not None:  # a worker that exited between the two reads is in the master's counters
            ticks += _own_and_reaped_ticks(child_fields)
    return ticks / os.sysconf("SC_CLK_TCK")


def _own_and_reaped_ticks(fields: list[str]) -> int:
    # Counted from the state field: utime, stime, cutime, cstime are the 12th to 15th (proc(5)).
    return sum(int(f) for f in fields[11:15])


def _children(pid: int) -> list[int]:
    """The live child processes of pid (gunicorn's workers)."""
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            fields = _stat_fields(int(entry))
            if fields is not None and fields[1] == str(pid):
                out.append(int(entry))
    return out


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
