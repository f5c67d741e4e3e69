"""POST /cds-services/{id}/feedback: store what the clinician did with the cards."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, Response

from cdshooks.feedback import parse_feedback
from cdshooks.web.body import json_body
from cdshooks.web.context import current_settings, current_store
from cdshooks.web.hooks import find_service

bp = Blueprint("feedback", __name__)


@bp.post("/cds-services/<service_id>/feedback")
def post_feedback(service_id: str) -> Response:
    service = find_service(service_id)
    # InvalidRequest (400) and TooManyEntries (413) are answered by the error map (web/errors.py).
    entries = parse_feedback(json_body(), current_settings().max_feedback_entries)
    # StoreUnavailable (503) is answered by the error map: a 200 only for entries committed.
    current_store().record_feedback(service.id, entries, datetime.now(UTC))
    return Response(status=200)
