"""One structured JSON line per request, with no token or resource content."""

from __future__ import annotations

import json
import logging

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
