"""One structured JSON line per request, with no token or resource content."""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime, timedelta
from typing import ClassVar

from flask import Flask, g, jsonify, request

from cdshooks.config import Settings
from cdshooks.web import request_log


def app_with_log() -> Flask:
    app = Flask(__name__)
    request_log.init_app(app, Settings())

    @app.post("/cds-services/<service_id>")
    def service(service_id: str):
        g.json_body = request.get_json()
        return jsonify(cards=[{"summary": "a"}, {"summary": "b"}])

    @app.post("/cds-services/<service_id>/feedback")
    def feedback(service_id: str):
        request_log.note(card_count=None)
        return jsonify({})

    return app


def lines(caplog) -> list[dict]:
    return [json.loads(r.getMessage()) for r in caplog.records if r.name == "cdshooks.requests"]


def test_service_call_line(caplog):
    caplog.set_level(logging.INFO, logger="cdshooks.requests")
    body = {
        "hook": "order-select",
        "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
        "fhirAuthorization": {"access_token": "SECRET-ACCESS-TOKEN"},
        "prefetch": {"patient": {"resourceType": "Patient", "name": [{"family": "Doe-Secret"}]}},
    }
    resp = app_with_log().test_client().post(
        "/cds-services/tofacitinib-order-select", json=body, headers={"Authorization": "Bearer SECRET.JWT.VALUE"}
    )
    assert resp.status_code == 200
    (line,) = lines(caplog)
    assert line["service"] == "tofacitinib-order-select"
    assert line["kind"] == "service"
    assert line["hook"] == "order-select"
    assert line["hookInstance"] == body["hookInstance"]
    assert line["status"] == 200
    assert line["cards"] == 2
    assert isinstance(line["durationMs"], float)
    assert line["auth"] == "off"
    for secret in ("SECRET-ACCESS-TOKEN", "Doe-Secret", "SECRET.JWT.VALUE", "Bearer"):
        assert secret not in caplog.text


def test_odd_input_is_not_echoed_into_the_log(caplog):
    caplog.set_level(logging.INFO, logger="cdshooks.requests")
    body = {"hook": "order-select\n{\"forged\": 1}", "hookInstance": "<script>" * 50}
    app_with_log().test_client().post("/cds-services/x%0Ay", json=body)
    (line,) = lines(caplog)
    assert line["hook"] == line["hookInstance"] == line["service"] == "<invalid>"
    assert "script" not in caplog.text and "forged" not in caplog.text


def test_a_short_jwt_in_an_identifier_is_not_logged(caplog):
    """Identifiers fit the id pattern (letters, digits, dots, dashes) yet may be a token."""
    caplog.set_level(logging.INFO, logger="cdshooks.requests")
    token = "eyJhbGciOiJFUzM4NCJ9.eyJpc3MiOiJ4In0.c2lnbmF0dXJl"
    app_with_log().test_client().post(f"/cds-services/{token}", json={"hook": "order-select", "hookInstance": token})
    (line,) = lines(caplog)
    assert line["service"] == line["hookInstance"] == "<invalid>"
    assert "eyJ" not in caplog.text


def test_feedback_and_unknown_paths(caplog):
    caplog.set_level(logging.INFO, logger="cdshooks.requests")
    client = app_with_log().test_client()
    client.post("/cds-services/svc/feedback", json={})
    client.get("/nowhere")
    feedback, other = lines(caplog)
    assert (feedback["kind"], feedback["service"], feedback["status"]) == ("feedback", "svc", 200)
    assert "cards" not in feedback
    assert (other["kind"], other["status"]) == ("other", 404)


def test_the_line_has_client_time_and_size_and_marks_the_environ(caplog):
    """What gunicorn's access line gave an operator, now that the app's line is the only one."""
    caplog.set_level(logging.INFO, logger="cdshooks.requests")
    app = app_with_log()
    with app.test_client() as client:
        resp = client.post(
            "/cds-services/svc?patient=Patient/secret-id", json={"hook": "order-select"},
            environ_base={"REMOTE_ADDR": "10.1.2.3"},
        )
        environ = request.environ
    (line,) = lines(caplog)
    assert line["client"] == "10.1.2.3"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", line["time"]), line
    assert line["bytes"] == len(resp.get_data()) > 0
    assert environ[request_log.LOGGED] is True  # what tells gunicorn's logger to skip its line
    assert "secret-id" not in caplog.text and "/cds-services" not in caplog.text  # never the path


def test_the_time_is_utc_whatever_the_zone():
    assert request_log._iso_utc(1768478400.1234) == "2026-01-15T12:00:00.123Z"
    assert datetime.fromisoformat(request_log._iso_utc(0)) == datetime(1970, 1, 1, tzinfo=UTC)


def test_an_odd_client_address_is_not_echoed(caplog):
    """REMOTE_ADDR is gunicorn's peer, but a WSGI middleware could set it from a header."""
    caplog.set_level(logging.INFO, logger="cdshooks.requests")
    app_with_log().test_client().get("/x", environ_base={"REMOTE_ADDR": "1.2.3.4\n{\"forged\": 1}"})
    (line,) = lines(caplog)
    assert line["client"] == "<invalid>" and "forged" not in caplog.text


def test_no_line_written_no_mark_so_gunicorn_keeps_its_access_line(caplog):
    """With the request logger turned down, gunicorn's line is the only trace left: it must stay."""
    caplog.set_level(logging.WARNING, logger="cdshooks.requests")
    with app_with_log().test_client() as client:
        client.get("/x")
        assert request_log.LOGGED not in request.environ
    assert lines(caplog) == []


class _Resp:
    """The attributes of gunicorn's Response its logger reads."""

    status = "200 OK"
    sent = 15
    headers: ClassVar[list[tuple[str, str]]] = [("Content-Type", "application/json")]


class _Req:
    """The attributes of gunicorn's Request its logger reads."""

    headers: ClassVar[list[tuple[str, str]]] = [("HOST", "t")]


def gunicorn_access_lines(environ: dict) -> list[str]:
    """What RedactingLogger writes to the access log for one request with this environ."""
    from gunicorn.config import Config

    from cdshooks.gunicorn_conf import ACCESS_LOG_FORMAT
    from cdshooks.web.gunicorn_log import RedactingLogger

    cfg = Config()
    cfg.set("accesslog", "-")
    cfg.set("access_log_format", ACCESS_LOG_FORMAT)
    log = RedactingLogger(cfg)
    written: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: written.append(record.getMessage())  # type: ignore[method-assign]
    log.access_log.addHandler(handler)
    try:
        log.access(_Resp(), _Req(), environ, timedelta(microseconds=1500))
    finally:
        log.access_log.removeHandler(handler)
    return written


def test_gunicorns_logger_skips_the_access_line_of_a_logged_request_only():
    environ = {"REMOTE_ADDR": "127.0.0.1", "REQUEST_METHOD": "GET", "RAW_URI": "/healthz",
               "PATH_INFO": "/healthz", "SERVER_PROTOCOL": "HTTP/1.1"}
    (line,) = gunicorn_access_lines(environ)  # not logged by the app (gunicorn refused it): kept
    assert '"GET /healthz HTTP/1.1" 200 15 0.001500' in line
    assert gunicorn_access_lines({**environ, request_log.LOGGED: True}) == []
