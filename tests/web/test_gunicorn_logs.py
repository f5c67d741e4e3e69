"""What a real gunicorn writes for hostile requests: no token in any log or error page, no forged line.

The whole output of the process is read (gunicorn's error log, its access log
and the service's JSON request lines share the captured file).
"""

from __future__ import annotations

import re
import uuid

import jwt
import orjson
import pytest

from tests.gunicorn_server import parse_response

pytestmark = pytest.mark.integration


def a_jwt() -> str:
    """A real, unique JWT (the signature segment differs per call)."""
    claims = {"iss": "https://ehr.example.org", "jti": str(uuid.uuid4()), "aud": "https://cds.example.org"}
    return jwt.encode(claims, "k" * 32, algorithm="HS256", headers={"kid": "k1"})


REQUESTS = {
    # gunicorn refuses the header line, logs it in a warning and quoted it in its 400 page
    "header-without-colon": "GET /cds-services HTTP/1.1\r\nHost: t\r\nAuthorization Bearer {jwt}\r\n\r\n",
    "token-in-request-line": "GET /cds-services {jwt} HTTP/1.1\r\nHost: t\r\n\r\n",
    # the access log prints the path; the service's request log the service id
    "token-in-path": "GET /cds-services/{jwt}/feedback HTTP/1.1\r\nHost: t\r\n\r\n",
    "token-in-encoded-path": "GET /cds-services/Bearer%20{jwt} HTTP/1.1\r\nHost: t\r\n\r\n",
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
    path = "/healthz" + encoded(line_break + FORGED)
    mark = gunicorn_server.log_mark()
    gunicorn_server.send(f"GET {path} HTTP/1.1\r\nHost: t\r\n\r\n".encode())
    log = gunicorn_server.log_after(mark)
    lines = log.splitlines()  # splits on every line boundary a log reader might honour
    forged = [line for line in lines if "/forged" in line]
    assert forged, log
    assert all(re.match(r'127\.0\.0\.1 \[[^]]+\] "GET /healthz\\x', line) for line in forged), log


def test_control_characters_in_the_path_are_escaped_in_the_access_log(gunicorn_server):
    mark = gunicorn_server.log_mark()
    gunicorn_server.send(b"GET /healthz%1B[2J%00%7F%5C%22 HTTP/1.1\r\nHost: t\r\n\r\n")
    log = gunicorn_server.log_after(mark)
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]", log), repr(log)
    assert r'"GET /healthz\x1b[2J\x00\x7f\\\" HTTP/1.1" 404' in log, log


@pytest.fixture(scope="module")
def served_by_cli(tmp_path_factory):
    from tests.gunicorn_server import GunicornServer

    server = GunicornServer(tmp_path_factory.mktemp("serve"), cli=True).start()
    try:
        yield server
    finally:
        server.stop()


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
