"""A real gunicorn serving the service, started the way the README starts it by hand.

`GunicornServer(tmp_path).start()` runs
`gunicorn -c python:cdshooks.gunicorn_conf 'cdshooks.app:create_app()'` (or,
with `cli=True`, `cdshooks serve` as the Dockerfile does) with one sync worker (`workers=` for more), bound to a free loopback port (`-b 127.0.0.1:0`, the port read back
from gunicorn's own "Listening at" line) and authentication off. Everything the
process writes (gunicorn's error log on stderr, its access log on stdout, the
service's JSON request lines) goes to one file, `log_path`.

`send()` talks raw bytes over a socket, so tests can send what no HTTP library
would (bad chunk sizes, header lines without a colon, a half-close).
`log_after(mark)` returns what was logged after `mark = server.log_mark()`, once
a sentinel request sent after the test's own requests has been logged: with one
worker, requests are handled in order, so nothing the test caused is missed.
The sentinel is found by the service's own request line (`"service":
"log-sentinel-<uuid>"`), since a request the app logs gets no gunicorn access
line; it is the last line written for that request, so nothing of it leaks into
the next test's log.

`args` adds gunicorn command-line options, which win over the config file's
(e.g. `--logger-class`, `--access-logformat`).
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cdshooks.web.gunicorn_log import RedactingLogger
from cdshooks.web.request_log import LOGGED

STARTUP_SECONDS = 30.0
APP = "cdshooks.app:create_app()"
# Variables that would change what the test server does; the tests set their own.
_OWN_VARIABLES = ("HOST", "PORT", "WEB_CONCURRENCY", "GUNICORN_CMD_ARGS", "PROMETHEUS_MULTIPROC_DIR")
_OWN_PREFIXES = ("CDSHOOKS_", "GUNICORN_")


def clean_env(**overrides: str) -> dict[str, str]:
    """This environment without any setting of the service or gunicorn, plus the overrides."""
    env = {
        k: v for k, v in os.environ.items() if k not in _OWN_VARIABLES and not k.startswith(_OWN_PREFIXES)
    }
    env["PYTHONUNBUFFERED"] = "1"
    env.update(overrides)
    return env


def gunicorn_command(*extra: str) -> list[str]:
    return [sys.executable, "-m", "gunicorn", "-c", "python:cdshooks.gunicorn_conf", *extra, APP]


def serve_command() -> list[str]:
    """`cdshooks serve` (what docker/Dockerfile runs), on a port the system picks."""
    return [sys.executable, "-m", "cdshooks.cli", "serve", "--host", "127.0.0.1", "--port", "0", "--no-auth"]


class GunicornServer:
    """One gunicorn master with one sync worker, or `workers` (`cli=True`: started by `cdshooks serve`)."""

    def __init__(
        self, tmp: Path, *, cli: bool = False, workers: int = 1, args: Sequence[str] = (), **env: str
    ) -> None:
        self.tmp = tmp
        self.log_path = tmp / "gunicorn.log"
        defaults = {
            "WEB_CONCURRENCY": str(workers),
            "CDSHOOKS_AUTH": "0",
            "CDSHOOKS_FEEDBACK_DB": str(tmp / "feedback.sqlite3"),
            "CDSHOOKS_JTI_CACHE": "memory",
        }
        self.env = clean_env(**{**defaults, **env})  # a test may turn auth on or name its own files
        assert not (cli and args), "`cdshooks serve` takes no gunicorn options"
        self.args = tuple(args)
        self.command = serve_command() if cli else gunicorn_command(*self.args, "-b", "127.0.0.1:0")
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> GunicornServer:
        mark = self.log_mark() if self.log_path.exists() else 0
        with open(self.log_path, "ab") as log:
            # Its own process group, so kill() takes the master and its workers down together.
            self._process = subprocess.Popen(
                self.command, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + STARTUP_SECONDS
        while not self.port:
            since_start = self.log_path.read_bytes()[mark:].decode("utf-8", "replace")
            found = re.search(r"Listening at: http://127\.0\.0\.1:(\d+)", since_start)
            if found:
                self.port = int(found.group(1))
            elif self._process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"gunicorn did not start:\n{self.log()}")
            else:
                time.sleep(0.05)
        # The worker warms up (rules, templates, models) before it accepts a request.
        while not self.send(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n", timeout=STARTUP_SECONDS).startswith(b"HTTP/1.1 200 "):
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"gunicorn never answered /healthz:\n{self.log()}")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        if self._process and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(15)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()

    def kill(self) -> None:
        """SIGKILL the master and every worker at once, as when a host or container dies."""
        assert self._process is not None
        os.killpg(self._process.pid, signal.SIGKILL)
        self._process.wait()

    def restart(self) -> GunicornServer:
        """Start again on the same port (after kill or stop), so clients keep their URL."""
        assert self.command[-1] == APP, "only the gunicorn -c form binds a port given here"
        self.command = gunicorn_command(*self.args, "-b", f"127.0.0.1:{self.port}")
        self.port = 0
        return self.start()

    def worker_pids(self) -> set[int]:
        """The master's children: its workers (read from /proc; Linux only)."""
        assert self._process is not None
        pids = set()
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue  # gone meanwhile
            if int(fields[1]) == self._process.pid:  # state, then ppid
                pids.add(int(stat.parent.name))
        return pids

    def log(self) -> str:
        return self.log_path.read_bytes().decode("utf-8", "backslashreplace")

    def send(self, raw: bytes, *, half_close: bool = False, timeout: float = 5.0) -> bytes:
        """Send raw bytes (optionally then shut down the sending side); return all bytes received."""
        try:
            sock = socket.create_connection(("127.0.0.1", self.port), timeout=timeout)
        except OSError:
            return b""
        with sock:
            sock.sendall(raw)
            if half_close:
                sock.shutdown(socket.SHUT_WR)
            received = bytearray()
            while True:
                try:
                    piece = sock.recv(65536)
                except TimeoutError:
                    raise AssertionError(f"no complete answer within {timeout} s: {bytes(received)!r}") from None
                except ConnectionResetError:
                    break
                if not piece:
                    break
                received += piece
        return bytes(received)

    def log_mark(self) -> int:
        return self.log_path.stat().st_size

    def log_after(self, mark: int, timeout: float = 5.0) -> str:
        """What was logged since `mark`, up to (not including) the sentinel request's request line."""
        # A service id is the one part of a path the request line logs (vetted: a uuid passes).
        sentinel = f"log-sentinel-{uuid.uuid4().hex}"
        self.send(f"GET /cds-services/{sentinel} HTTP/1.1\r\nHost: t\r\n\r\n".encode())
        deadline = time.monotonic() + timeout
        while True:
            with open(self.log_path, "rb") as log:
                log.seek(mark)
                text = log.read().decode("utf-8", "backslashreplace")
            if sentinel in text:
                return text[: text.index(sentinel)].rsplit("\n", 1)[0]
            if time.monotonic() > deadline:
                raise AssertionError(f"the sentinel request was never logged:\n{text}")
            time.sleep(0.02)


class LoggerWithoutEarlyReturn(RedactingLogger):  # type: ignore[misc]
    """RedactingLogger as if it had no early return: an access line for every request, logged or not.

    For tests of the tests (`args=["--logger-class", LOGGER_WITHOUT_EARLY_RETURN]`): a check that
    an app-handled request gets no access line must fail against this logger.
    """

    def access(self, resp: Any, req: Any, environ: Any, request_time: Any) -> None:
        unmarked = {k: v for k, v in (environ or {}).items() if k != LOGGED}
        super().access(resp, req, unmarked, request_time)


LOGGER_WITHOUT_EARLY_RETURN = f"{__name__}.{LoggerWithoutEarlyReturn.__name__}"


def parse_response(raw: bytes) -> tuple[int, dict[str, str], bytes]:
    """Status, headers (lower-case names) and body of one HTTP/1.1 response."""
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers, body
