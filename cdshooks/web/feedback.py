"""POST /cds-services/{id}/feedback: store what the clinician did with the cards."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, Response

from cdshooks import metrics
from cdshooks.feedback import FeedbackEntry, parse_feedback
from cdshooks.store.model import Store, StoreUnavailable
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
    store = current_store()
    store.record_feedback(service.id, entries, datetime.now(UTC))
    count_outcomes(store, entries)
    return Response(status=200)


def count_outcomes(store: Store, entries: list[FeedbackEntry]) -> None:
    """Count the entries per topic (from the ledger) and outcome; never fails the stored call."""
    try:
        topics = store.topics_of([e.card for e in entries])
    except StoreUnavailable:  # the entries are committed: the 200 stands, the topics are unknown
        topics = {}
    for entry in entries:
        code = entry.override_reason.code if entry.override_reason else None
        metrics.count_feedback(topics.get(entry.card, metrics.UNKNOWN), metrics.feedback_outcome(entry.outcome, code))
