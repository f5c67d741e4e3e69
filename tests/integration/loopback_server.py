"""A small real HTTP server on loopback whose answers each test scripts, and a refused port.

The in-memory FHIR server (`fhir_server.py`) answers like a real FHIR server;
this one answers whatever a test needs to see how the service copes with a
failing one: an HTTP error status, a slow answer, a 404. Requests it receives
are recorded (path and query, and whether an Authorization header came).
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Answer:
    status: int = 200
    body: dict | None = None
    delay_seconds: float = 0.0


class LoopbackServer:
    """Answers GETs by the first matching path prefix (`/fhir/Patient`), 404 otherwise."""

    def __init__(self) -> None:
        self.answers: dict[str, Answer] = {}
        self.requests: list[tuple[str, bool]] = []  # (path with query, had an Authorization header)
        self._release = threading.Event()  # ends every delayed answer at teardown
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests.append((self.path, "Authorization" in self.headers))
                answer = server.answer_for(self.path)
                if answer.delay_seconds:
                    server._release.wait(answer.delay_seconds)
                body = json.dumps(answer.body or {}).encode()
                try:
                    self.send_response(answer.status)
                    self.send_header("Content-Type", "application/fhir+json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass  # the client gave up (its time budget): nothing to answer

            def log_message(self, *args) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.origin = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self.base_url = self.origin + "/fhir"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def answer_for(self, path: str) -> Answer:
        for prefix, answer in self.answers.items():
            if path.startswith(prefix):
                return answer
        return Answer(404, {"resourceType": "OperationOutcome",
                            "issue": [{"severity": "error", "code": "not-found"}]})

    def start(self) -> LoopbackServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._release.set()
        self._httpd.shutdown()
        self._httpd.server_close()


@contextmanager
def refused_port() -> Iterator[int]:
    """A loopback port bound but not listening: a connection to it is refused, not timed out."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]
    finally:
        sock.close()
