"""What a real gunicorn writes: one line per request, no token in any log or error page, no forged line.

The whole output of the process is read (gunicorn's error log, its access log
and the service's JSON request lines share the captured file). A request the
app handles has one line, the service's own; gunicorn's access line is kept
only for what gunicorn refuses itself, so the tests of what gunicorn writes
about hostile input use refused requests (their warning and access line).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import jwt
import orjson
import pytest

from tests.gunicorn_server import LOGGER_WITHOUT_EARLY_RETURN, GunicornServer, parse_response
from tests.web.test_http_framing import SELECT, select_body

pytestmark = pytest.mark.integration


def a_jwt() -> str:
    """A real, unique JWT (the signature segment differs per call)."""
    claims = {"iss": "https://ehr.example.org", "jti": str(uuid.uuid4()), "aud": "https://cds.example.org"}
    return jwt.encode(claims, "k" * 32, algorithm="HS256", headers={"kid": "k1"})


REQUESTS = {
    # gunicorn refuses the header line, logs it in a warning and quoted it in its 400 page
    "header-without-colon": "GET /cds-services HTTP/1.1\r\nHost: t\r\nAuthorization Bearer {jwt}\r\n\r\n",
    "token-in-request-line": "GET /cds-services {jwt} HTTP/1.1\r\nHost: t\r\n\r\n",
    # the service's request log prints the service id (never the path)
    "token-in-path": "GET /cds-services/{jwt}/feedback HTTP/1.1\r\nHost: t\r\n\r\n",
    "token-in-encoded-path": "GET /cds-services/Bearer%20{jwt} HTTP/1.1\r\nHost: t\r\n\r\n",
    # gunicorn refuses these itself (bad Content-Length), so it writes their access line
    "token-in-path-of-a-refused-request": "GET /cds-services/{jwt} HTTP/1.1\r\nHost: t\r\nContent-Length: x\r\n\r\n",
    "token-in-a-refused-header-value": "GET / HTTP/1.1\r\nHost: t\r\nX-Id: {jwt}\r\nContent-Length: x\r\n\r\n",
    # a well-formed header is never logged at all (the control)
    "well-formed-header": "GET /cds-services HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {jwt}\r\n\r\n",
}


@pytest.mark.parametrize("template", REQUESTS.values(), ids=REQUESTS.keys())
def test_no_part_of_a_jwt_reaches_a_log_or_the_response(gunicorn_server, template):
    token = a_jwt()
    mark = gunicorn_server.log_mark()
    answer = gunicorn_server.send(template.format(jwt=token).encode())
    log = gunicorn_server.log_after(mark)
    for part in (token, *token.split(".")[1:]):  # the payload and the signature, each on its own
        assert part not in log, log
        assert part.encode() not in answer, answer
    status, headers, body = parse_response(answer)
    if template == REQUESTS["well-formed-header"]:
        return  # served (authentication is off in the test server)
    assert 400 <= status < 500
    # every refusal, gunicorn's own included, is an OperationOutcome like the service's 4xx
    assert headers["content-type"] == "application/json"
    assert orjson.loads(body)["resourceType"] == "OperationOutcome"


def test_the_refused_header_line_is_still_logged_with_the_token_redacted(gunicorn_server):
    """Redaction, not silence: the operator still sees which line was refused and why."""
    mark = gunicorn_server.log_mark()
    raw = gunicorn_server.send(REQUESTS["header-without-colon"].format(jwt=a_jwt()).encode())
    log = gunicorn_server.log_after(mark)
    assert "Invalid HTTP Header: 'Authorization Bearer [redacted]'" in log, log
    assert "Authorization Bearer [redacted]" in orjson.loads(parse_response(raw)[2])["issue"][0]["diagnostics"]


FORGED = '127.0.0.1 [01/Jan/2026:00:00:00 +0000] "GET /forged HTTP/1.1" 200 0 0.000001'


def encoded(text: str) -> str:
    return "".join(c if c.isalnum() or c in "/.-_" else f"%{ord(c):02X}" for c in text)


@pytest.mark.parametrize("line_break", ["\r\n", "\n", "\r", "\x85", "\x0b"], ids=["crlf", "lf", "cr", "nel", "vt"])
def test_an_encoded_line_break_in_the_path_cannot_forge_a_log_line(gunicorn_server, line_break):
    """gunicorn percent-decodes the path; the app's line, the only one, never holds the path at all."""
    path = "/healthz" + encoded(line_break + FORGED)
    mark = gunicorn_server.log_mark()
    status, _, _ = parse_response(gunicorn_server.send(f"GET {path} HTTP/1.1\r\nHost: t\r\n\r\n".encode()))
    log = gunicorn_server.log_after(mark)
    assert status == 404
    assert "/forged" not in log, log  # neither decoded nor escaped: not written anywhere
    (line,) = log.splitlines()
    assert (orjson.loads(line)["kind"], orjson.loads(line)["status"]) == ("other", 404)


@pytest.mark.parametrize("line_break", ["\r", "\x85", "\x0b", "\x0c", "\x1c"], ids=["cr", "nel", "vt", "ff", "fs"])
def test_a_line_break_in_a_refused_request_line_cannot_forge_a_log_line(gunicorn_server, line_break):
    """gunicorn quotes the refused request line whole in its warning: the forged text stays inside it.

    gunicorn quotes it as a Python literal (`\\r`, `\\x85`), and the record is cleaned after that too.
    """
    mark = gunicorn_server.log_mark()
    gunicorn_server.send(f"GET /healthz{line_break}{FORGED} HTTP/1.1\r\nHost: t\r\n\r\n".encode("latin-1"))
    log = gunicorn_server.log_after(mark)
    forged = [line for line in log.splitlines() if "/forged" in line]
    assert forged, log
    quoted = (
        r"\[WARNING\] Invalid request from ip=127\.0\.0\.1: "
        r"Invalid HTTP request line: 'GET /healthz\\(r|x[0-9a-f]{2})127"  # the break as a literal: \\r, \\x85
    )
    assert all(re.search(quoted, line) for line in forged), log


# An operator's format that prints client text into a refused request's access line.
WITH_HEADERS = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s {%({user-agent}i)s} {%({authorization}i)s}'


def _module_server(tmp_path_factory, name: str, **options) -> Iterator[GunicornServer]:
    """A gunicorn of its own for a module's tests, stopped after them."""
    server = GunicornServer(tmp_path_factory.mktemp(name), **options).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def printing_headers(tmp_path_factory):
    yield from _module_server(tmp_path_factory, "headers", args=["--access-logformat", WITH_HEADERS])


def test_control_characters_in_a_refused_requests_access_line_are_escaped(printing_headers):
    """Header values may hold C1 controls (NEL is a line break to some readers) and backslashes."""
    token = a_jwt()
    mark = printing_headers.log_mark()
    printing_headers.send(
        b"GET /healthz HTTP/1.1\r\nHost: t\r\nUser-Agent: a\x85b\x9b\\c\" " + token.encode()
        + b"\r\nAuthorization: Bearer " + token.encode() + b"\r\nContent-Length: x\r\n\r\n"
    )
    log = printing_headers.log_after(mark)
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]", log), repr(log)
    (access,) = [line for line in log.splitlines() if line.startswith("127.0.0.1 ")]
    assert access.endswith(r'" 400 {a\x85b\x9b\\c\" [redacted]} {[redacted]}'), access


def assert_only_the_app_line(log: str, method: str, kind: str) -> dict:
    """The request's one log line is the app's JSON line, with what gunicorn's access line gave."""
    lines = log.splitlines()
    assert len(lines) == 1, log
    line = orjson.loads(lines[0])
    assert (line["event"], line["method"], line["kind"]) == ("request", method, kind)
    assert line["client"] == "127.0.0.1"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", line["time"]), line
    assert datetime.fromisoformat(line["time"]).utcoffset() == UTC.utcoffset(None)
    assert isinstance(line["bytes"], int) and line["bytes"] > 0
    assert isinstance(line["durationMs"], float)
    return line


def app_handled_requests(server: GunicornServer) -> list[tuple[str, dict]]:
    """GET /healthz and an order-select call, each with the log it left."""
    body = select_body()
    logged = []
    for raw in (
        b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n",
        f"POST {SELECT} HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n".encode() + body,
    ):
        mark = server.log_mark()
        status, _, answer = parse_response(server.send(raw))
        assert status == 200, answer
        logged.append((raw.split(b" ", 1)[0].decode(), server.log_after(mark)))
    return logged


def test_a_request_the_app_handles_has_one_line_the_apps(gunicorn_server):
    (_, healthz), (_, select) = app_handled_requests(gunicorn_server)
    assert_only_the_app_line(healthz, "GET", "other")
    line = assert_only_the_app_line(select, "POST", "service")
    assert (line["service"], line["status"]) == ("tofacitinib-order-select", 200)
    assert "/cds-services" not in select  # the path itself is never logged


def test_a_request_gunicorn_refuses_keeps_its_warning_and_access_line(gunicorn_server):
    mark = gunicorn_server.log_mark()
    status, _, _ = parse_response(
        gunicorn_server.send(b"GET /cds-services HTTP/1.1\r\nHost: t\r\nContent-Length: x\r\n\r\n")
    )
    log = gunicorn_server.log_after(mark)
    assert status == 400
    warning, access = log.splitlines()
    assert "[WARNING] Invalid request from ip=127.0.0.1: Invalid HTTP Header: 'CONTENT-LENGTH'" in warning, log
    # gunicorn's own access line, the production format (it knows no path for a refused request)
    assert re.fullmatch(r'127\.0\.0\.1 \[[^]]+\] "GET \S+ HTTP/1\.1" 400 \d+ \d+\.\d{6}', access), log


@pytest.fixture(scope="module")
def without_early_return(tmp_path_factory):
    yield from _module_server(tmp_path_factory, "no-early-return", args=["--logger-class", LOGGER_WITHOUT_EARLY_RETURN])


def test_the_one_line_check_fails_when_gunicorn_logs_app_requests_too(without_early_return):
    """The test of the test: with RedactingLogger's early return undone, the check above fails."""
    # The start's own /healthz calls are all written once a sentinel has been; only that sentinel's
    # access line may follow its request line (which log_after stops at), so it is left out below.
    without_early_return.log_after(without_early_return.log_mark())
    for method, log in app_handled_requests(without_early_return):
        own = "\n".join(line for line in log.splitlines() if "log-sentinel-" not in line)
        with pytest.raises(AssertionError):
            assert_only_the_app_line(own, method, "other" if method == "GET" else "service")
        path = "/healthz" if method == "GET" else SELECT
        assert re.search(rf'^127\.0\.0\.1 \[[^]]+\] "{method} {path} HTTP/1\.1" 200 ', own, re.M), own


@pytest.fixture(scope="module")
def served_by_cli(tmp_path_factory):
    yield from _module_server(tmp_path_factory, "serve", cli=True)


def test_cdshooks_serve_logs_through_the_same_logger(served_by_cli):
    """The Dockerfile's start (`cdshooks serve`) passes the same settings to gunicorn."""
    token = a_jwt()
    mark = served_by_cli.log_mark()
    answer = served_by_cli.send(REQUESTS["header-without-colon"].format(jwt=token).encode())
    served_by_cli.send(f"GET /healthz{encoded(chr(10) + FORGED)} HTTP/1.1\r\nHost: t\r\n\r\n".encode())
    log = served_by_cli.log_after(mark)
    assert token.split(".")[2] not in log and token.split(".")[2].encode() not in answer
    assert "Authorization Bearer [redacted]" in log
    assert not [line for line in log.splitlines() if line.startswith(FORGED[:20])], log
