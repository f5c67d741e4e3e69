"""Broken body framing under a real gunicorn: a 400 OperationOutcome, never a 500, never processed.

gunicorn parses chunked bodies lazily, while the app reads them, so a bad chunk
size or a missing chunk terminator surfaces as an exception inside the view; a
body cut short by a half-close reads as a short body, not as an error.
"""

from __future__ import annotations

import uuid

import orjson
import pytest

from cdshooks.store.sqlite import SqliteStore
from tests import fixturekit as k
from tests.gunicorn_server import parse_response

pytestmark = pytest.mark.integration

SELECT = "/cds-services/tofacitinib-order-select"
FEEDBACK = SELECT + "/feedback"


def select_body() -> bytes:
    return orjson.dumps(k.order_select(drafts=[k.tofacitinib_draft()]))


def feedback_body(card: str) -> bytes:
    entry = {"card": card, "outcome": "accepted", "outcomeTimestamp": "2026-01-15T12:00:00Z"}
    return orjson.dumps({"feedback": [entry]})


def head(path: str, framing: str) -> bytes:
    return f"POST {path} HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n{framing}\r\n\r\n".encode()


def chunked(body: bytes) -> bytes:
    return b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)


def bad_request(raw: bytes, *words: str) -> dict:
    """Assert a 400 FHIR OperationOutcome (as every other 4xx) whose diagnostics hold the words."""
    status, headers, body = parse_response(raw)
    assert status == 400, raw
    assert headers["content-type"] == "application/json"
    outcome = orjson.loads(body)
    assert outcome["resourceType"] == "OperationOutcome"
    issue = outcome["issue"][0]
    assert (issue["severity"], issue["code"]) == ("error", "invalid")
    for word in words:
        assert word in issue["diagnostics"], issue["diagnostics"]
    return issue


def test_well_framed_bodies_are_served(gunicorn_server):
    """The control: the same requests, correctly framed, are answered 200."""
    body = select_body()
    for framing, payload in (("Transfer-Encoding: chunked", chunked(body)), (f"Content-Length: {len(body)}", body)):
        status, _, answer = parse_response(gunicorn_server.send(head(SELECT, framing) + payload))
        assert status == 200, answer
        assert "cards" in orjson.loads(answer)


@pytest.mark.parametrize(
    ("chunks", "words"),
    [
        (b"zz\r\n{}\r\n0\r\n\r\n", ("chunk size",)),  # not hexadecimal
        (b"2\r\n{}XX0\r\n\r\n", ("chunk", "CRLF")),  # chunk data not followed by CRLF
        (b"2;bad ext\r\n{}\r\n0\r\n\r\n", ("chunk extension",)),
    ],
    ids=["bad-chunk-size", "missing-chunk-terminator", "bad-chunk-extension"],
)
def test_malformed_chunked_body_is_a_400_outcome_not_a_500(gunicorn_server, chunks, words):
    mark = gunicorn_server.log_mark()
    bad_request(gunicorn_server.send(head(SELECT, "Transfer-Encoding: chunked") + chunks), *words)
    log = gunicorn_server.log_after(mark)
    assert "Traceback" not in log and "unhandled error" not in log, log


def test_chunked_body_cut_off_by_a_half_close_is_a_400(gunicorn_server):
    body = select_body()
    raw = head(SELECT, "Transfer-Encoding: chunked") + b"%x\r\n" % len(body) + body[: len(body) // 2]
    bad_request(gunicorn_server.send(raw, half_close=True), "ended")


def test_hook_body_shorter_than_its_content_length_is_a_400_not_evaluated(gunicorn_server):
    """A complete, valid request declaring 10 more bytes than it sends, then a half-close."""
    body = select_body()
    raw = head(SELECT, f"Content-Length: {len(body) + 10}") + body
    bad_request(gunicorn_server.send(raw, half_close=True), "Content-Length", str(len(body) + 10))


def test_feedback_shorter_than_its_content_length_is_a_400_and_not_stored(gunicorn_server):
    card = str(uuid.uuid4())
    body = feedback_body(card)
    raw = head(FEEDBACK, f"Content-Length: {len(body) + 1}") + body
    bad_request(gunicorn_server.send(raw, half_close=True), "Content-Length")
    store = SqliteStore(gunicorn_server.env["CDSHOOKS_FEEDBACK_DB"])
    assert card not in {row["card_uuid"] for row in store.entries()}
    # the control: the same entry with a true Content-Length is stored
    assert parse_response(gunicorn_server.send(head(FEEDBACK, f"Content-Length: {len(body)}") + body))[0] == 200
    assert card in {row["card_uuid"] for row in store.entries()}
