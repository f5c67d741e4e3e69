"""Log hygiene: tokens redacted, control characters escaped, ordinary log text untouched, linear time."""

from __future__ import annotations

import io
import logging
import socket
import time

import orjson
import pytest
from gunicorn.config import Config

from cdshooks import gunicorn_conf
from cdshooks.security.redact import clean, escape_control, has_token, redact
from cdshooks.web.gunicorn_log import RedactingLogger, write_error

JWT = "eyJhbGciOiJFUzM4NCIsImtpZCI6ImsxIn0.eyJpc3MiOiJodHRwczovL2VociJ9.MEUCIQDx3_Yv2-sig"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"Invalid HTTP Header: 'Authorization Bearer {JWT}'", "Invalid HTTP Header: 'Authorization Bearer [redacted]'"),
        (f"GET /cds-services/{JWT}/feedback", "GET /cds-services/[redacted]/feedback"),
        (f"authorization: bearer+{JWT}", "authorization: bearer [redacted]"),
        ("x Bearer%20opaque-token", "x Bearer [redacted]"),
        ("Bearer\topaque", "Bearer [redacted]"),
        ("eyJhbGciOiJub25lIn0.e30.", "[redacted]"),  # unsigned
        ("eyJhbGciOiJSU0EtT0FFUCJ9.a.b.c.d", "[redacted]"),  # JWE, five segments
        ("a" * 20 + "." + "b" * 20 + "." + "c" * 43, "[redacted]"),  # JWT-shaped without a JSON header
    ],
)
def test_tokens_are_redacted(text, expected):
    assert redact(text) == expected
    assert has_token(text)


@pytest.mark.parametrize(
    "text",
    [
        "Listening at: http://127.0.0.1:8080 (4539)",
        "Starting gunicorn 27.0.1",
        "Booting worker with pid: 4540",
        '127.0.0.1 [02/Dec/2026:15:34:38 +0000] "POST /cds-services/tofacitinib-order-select/feedback HTTP/1.1" 200 0',
        "https://cds.example.org/cds-services/tofacitinib-order-sign",
        "/usr/lib/python3.11/site-packages/gunicorn/workers/base.py",
        "card 4e0a3a1e-3283-4575-ab82-028d55fe2719 at 2026-01-15T12:00:00.123456+00:00",
        "eyJhbGciOiJub25lIn0",  # a header alone is not a token
        "Bearer",
    ],
)
def test_ordinary_log_text_is_untouched(text):
    assert clean(text) == text and not has_token(text)


def test_every_control_character_is_escaped():
    controls = "".join(map(chr, [*range(0x20), *range(0x7F, 0xA0), 0x2028, 0x2029]))
    escaped = escape_control("a" + controls + "b")
    assert escaped.isprintable() and escaped.startswith("a\\x00\\x01") and escaped.endswith("\\u2028\\u2029b")
    assert escape_control("GET /x\r\n127.0.0.1") == "GET /x\\x0d\\x0a127.0.0.1"
    assert escape_control("line 1\nline 2\r", keep_newlines=True) == "line 1\nline 2\\x0d"


ADVERSARIAL = {
    "one long word": "a" * 100_000,
    "headers without dots": "eyJ" * 33_000,
    "many bearers": "bearer+" * 14_000,
    "bearer then spaces": "Bearer " + " " * 100_000,
    "short segments": ("a" * 15 + ".") * 6_000,
    "almost jwts": ("a" * 16 + "." + "b" * 16 + ".x ") * 2_800,
    "line breaks": "\r\n" * 50_000,
}


@pytest.mark.parametrize("text", ADVERSARIAL.values(), ids=ADVERSARIAL.keys())
def test_cleaning_is_linear_on_100_kb_of_hostile_text(text):
    """A quadratic pattern takes seconds to minutes at this size; a linear one milliseconds."""
    started = time.perf_counter()
    text.split()
    split = time.perf_counter() - started
    started = time.perf_counter()
    clean(text)
    elapsed = time.perf_counter() - started
    assert elapsed < max(0.5, 500 * split), f"{elapsed:.3f} s (str.split: {split * 1000:.3f} ms)"


def _logger() -> RedactingLogger:
    cfg = Config()
    for key, value in gunicorn_conf.options(env={}).items():
        cfg.set(key, value)
    return cfg.logger_class(cfg)


def test_the_configured_logger_class_is_the_redacting_one():
    assert _logger().__class__ is RedactingLogger


def test_error_log_records_and_tracebacks_are_cleaned():
    log = _logger()
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    log.error_log.addHandler(handler)
    try:
        log.warning("Invalid request from ip=%s: %s", "127.0.0.1", f"'Authorization Bearer {JWT}'\r\nforged")
        try:
            raise ValueError(f"token {JWT}\x1b[2J")
        except ValueError:
            log.exception("Error handling request %s", "/x\nforged")
    finally:
        log.error_log.removeHandler(handler)
    text = out.getvalue()
    assert JWT not in text and "\r" not in text and "\x1b" not in text
    assert "Authorization Bearer [redacted]'\\x0d\\x0aforged" in text
    assert "Error handling request /x\\x0aforged\nTraceback" in text  # the traceback keeps its lines
    assert "ValueError: token [redacted]\\x1b[2J" in text
    assert not any(line.startswith("forged") for line in text.splitlines())


def _written(status: int, reason: str, mesg: str) -> tuple[bytes, dict]:
    ours, theirs = socket.socketpair()
    with ours, theirs:
        write_error(ours, status, reason, mesg)
        ours.shutdown(socket.SHUT_WR)
        raw = theirs.recv(65536)
    head, _, body = raw.partition(b"\r\n\r\n")
    return head, orjson.loads(body)


def test_gunicorn_error_pages_are_clean_operation_outcomes():
    head, body = _written(400, "Bad Request", f"Invalid HTTP Header: 'Authorization Bearer {JWT}'")
    assert head.startswith(b"HTTP/1.1 400 Bad Request\r\n") and b"Content-Type: application/json" in head
    issue = body["issue"][0]
    assert (body["resourceType"], issue["severity"], issue["code"]) == ("OperationOutcome", "error", "invalid")
    assert issue["diagnostics"] == "Invalid HTTP Header: 'Authorization Bearer [redacted]'"
    head, body = _written(500, "Internal Server Error", "")
    assert body["issue"][0] == {"severity": "fatal", "code": "exception", "diagnostics": "Internal Server Error"}
    assert _written(431, "Request Header Fields Too Large", "x" * 5000)[1]["issue"][0]["diagnostics"].endswith("...")
