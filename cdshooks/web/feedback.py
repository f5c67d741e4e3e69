"""POST /cds-services/{id}/feedback: store what the clinician did with the cards."""

from __future__ import annotations

from datetime import datetime, timezone

from flask import Blueprint, Response

from cdshooks.feedback import parse_feedback
from cdshooks.protocol import InvalidRequest
from cdshooks.web.body import json_body
from cdshooks.web.context import current_feedback_store
from cdshooks.web.errors import BadRequest
from cdshooks.web.hooks import find_service

bp = Blueprint("feedback", __name__)


@bp.post("/cds-services/<service_id>/feedback")
def post_feedback(service_id: str) -> Response:
    service = find_service(service_id)
    try:
        entries = parse_feedback(json_body())
    except InvalidRequest as exc:
        raise BadRequest(exc.diagnostics, expression=exc.expression) from None
    current_feedback_store().record(service.id, entries, datetime.now(timezone.utc))
    return Response(status=200)
