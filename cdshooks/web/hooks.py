"""POST /cds-services/{id}: validate the call, run the pipeline, return cards."""

from __future__ import annotations

import orjson
from flask import Blueprint, Response

from cdshooks import metrics
from cdshooks.pipeline import evaluation_time, run_hook
from cdshooks.protocol import EVALUATION_TIME_HEADER, parse_hook_request
from cdshooks.services import SERVICES, Service
from cdshooks.web import request_log
from cdshooks.web.body import json_body
from cdshooks.web.context import current_settings, current_store
from cdshooks.web.errors import NotFound

bp = Blueprint("hooks", __name__)


def find_service(service_id: str) -> Service:
    """The service with this id, or a 404."""
    service = SERVICES.get(service_id)
    if service is None:
        raise NotFound(f"No CDS service with id {service_id!r}; see GET /cds-services.")
    return service


@bp.post("/cds-services/<service_id>")
def call_service(service_id: str) -> Response:
    settings = current_settings()
    service = find_service(service_id)
    now = evaluation_time(settings)
    # InvalidRequest (400) and DataUnavailable (412) are answered by the error map (web/errors.py).
    hook_request = parse_hook_request(json_body(), service.hook)
    body = run_hook(service, hook_request, settings, now, current_store())
    request_log.note(card_count=len(body["cards"]))  # so the log need not re-read the response
    metrics.count_cards(body["cards"])
    resp = Response(orjson.dumps(body), mimetype="application/json")
    # The time the cards are true at (--now / CDSHOOKS_NOW, else the clock): `cdshooks replay --url`
    # compares it with a fixture's asOf, and an integrator can see why a card fired "today".
    resp.headers[EVALUATION_TIME_HEADER] = now.isoformat().replace("+00:00", "Z")
    return resp

