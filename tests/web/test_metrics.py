"""GET /metrics in-process: it parses, its counters rise by exactly the calls made, it names no patient."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import pytest
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client.parser import text_string_to_metric_families

from cdshooks.store.model import ShownCard
from cdshooks.web.context import current_store
from tests import fixturekit as k

SERVICE = "tofacitinib-order-select"
PATIENT = "p-metrics-secret-4711"  # must never reach the metrics text


def scrape(client) -> dict[tuple[str, frozenset], float]:
    """Every sample of GET /metrics, keyed by (name, labels)."""
    resp = client.get("/metrics")
    assert resp.status_code == 200
    assert resp.headers["Content-Type"] == CONTENT_TYPE_LATEST
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(resp.get_data(as_text=True))
        for s in family.samples
    }


def rise(before: dict, after: dict, name: str) -> dict[frozenset, float]:
    """How much each sample of `name` went up (only those that did)."""
    return {
        labels: value - before.get((n, labels), 0.0)
        for (n, labels), value in after.items()
        if n == name and value != before.get((n, labels), 0.0)
    }


def hook_call(client) -> list[dict]:
    resp = client.post(f"/cds-services/{SERVICE}", json=k.order_select([k.tofacitinib_draft()], pid=PATIENT))
    assert resp.status_code == 200
    return resp.get_json()["cards"]


def test_hook_calls_move_requests_latency_and_cards_by_exactly_the_calls(client):
    before = scrape(client)
    cards = hook_call(client) + hook_call(client)
    client.post("/cds-services/no-such-service", json={})
    after = scrape(client)
    assert rise(before, after, "cdshooks_requests_total") == {
        frozenset({"service": SERVICE, "status": "200"}.items()): 2,
        frozenset({"service": "unknown", "status": "404"}.items()): 1,
        frozenset({"service": "metrics", "status": "200"}.items()): 1,  # the first scrape, counted when it ended
    }
    assert rise(before, after, "cdshooks_request_duration_seconds_count")[frozenset({"service": SERVICE}.items())] == 2
    expected = Counter((c["source"]["topic"]["code"], c["indicator"]) for c in cards)
    assert expected  # the fixture fires cards, or this test proves nothing
    got = rise(before, after, "cdshooks_cards_total")
    assert {(dict(labels)["topic"], dict(labels)["indicator"]): v for labels, v in got.items()} == expected


def test_feedback_counts_per_ledger_topic_and_outcome(app, client):
    with app.app_context():
        current_store().record_shown(
            [ShownCard("card-a", "screen-tb", "warning", PATIENT, "order-select", SERVICE, datetime.now(UTC))]
        )
    before = scrape(client)
    at = "2026-01-15T12:00:00Z"
    body = {"feedback": [
        {"card": "card-a", "outcome": "accepted", "acceptedSuggestions": [], "outcomeTimestamp": at},
        {"card": "card-a", "outcome": "overridden", "outcomeTimestamp": "2026-01-15T12:01:00Z",
         "overrideReason": {"reason": {"system": "urn:x", "code": "specialist-decision"}}},
        {"card": "card-b", "outcome": "overridden", "outcomeTimestamp": at},
    ]}  # fmt: skip
    assert client.post(f"/cds-services/{SERVICE}/feedback", json=body).status_code == 200
    got = rise(before, scrape(client), "cdshooks_feedback_total")
    assert {(dict(labels)["topic"], dict(labels)["outcome"]): v for labels, v in got.items()} == {
        ("screen-tb", "accepted"): 1,
        ("screen-tb", "overridden"): 1,
        ("unknown", "dismissed"): 1,  # no ledger row for card-b, and no reason given
    }


def test_refused_feedback_counts_nothing(client):
    before = scrape(client)
    assert client.post(f"/cds-services/{SERVICE}/feedback", json={"feedback": "no"}).status_code == 400
    assert rise(before, scrape(client), "cdshooks_feedback_total") == {}


def test_no_patient_id_or_request_value_in_the_metrics_text(client):
    hook_call(client)
    client.post(f"/cds-services/{PATIENT}", json={})  # a patient id where a service id goes
    text = client.get("/metrics").get_data(as_text=True)
    assert PATIENT not in text
    assert "d1577c69" not in text  # the hookInstance


def test_metrics_need_no_token_with_authentication_on(make_app):
    client = make_app(auth_enabled=True).test_client()
    assert client.post(f"/cds-services/{SERVICE}", json={}).status_code == 401
    assert client.get("/metrics").status_code == 200


@pytest.mark.parametrize("path", ["/metrics", "/metrics/"])
def test_off_is_a_404(make_app, path):
    client = make_app(metrics_enabled=False).test_client()
    assert client.get(path).status_code == 404


def test_off_still_serves_the_service(make_app):
    client = make_app(metrics_enabled=False).test_client()
    assert client.get("/healthz").status_code == 200


def test_failed_fallback_fetches_behind_a_412_are_counted(client):
    from cdshooks.services import SERVICES

    request = k.order_select([k.tofacitinib_draft()], pid=PATIENT)
    del request["prefetch"]
    request["fhirServer"] = "http://127.0.0.1:9/r4"  # allowlisted with auth off; nothing listens there
    before = scrape(client)
    assert client.post(f"/cds-services/{SERVICE}", json=request).status_code == 412
    got = rise(before, scrape(client), "cdshooks_fhir_fetches_total")
    expected = Counter(t.split("?")[0].split("/")[0] for t in SERVICES[SERVICE].prefetch.values())
    assert {dict(labels)["resource"]: v for labels, v in got.items() if dict(labels)["outcome"] == "failed"} == expected
    assert all(dict(labels)["outcome"] == "failed" for labels in got)


def test_a_failed_fallback_fetch_in_an_answered_call_is_counted(client):
    request = k.order_select([k.tofacitinib_draft()], pid=PATIENT)
    del request["prefetch"]["immunizations"]  # not required: the call answers without it
    request["fhirServer"] = "http://127.0.0.1:9/r4"
    before = scrape(client)
    assert client.post(f"/cds-services/{SERVICE}", json=request).status_code == 200
    got = rise(before, scrape(client), "cdshooks_fhir_fetches_total")
    assert got == {frozenset({"resource": "Immunization", "outcome": "failed"}.items()): 1}


def test_a_card_held_back_by_an_override_is_counted_as_suppressed(client):
    (card, *_) = [c for c in hook_call(client) if c["indicator"] != "critical"]
    entry = {"card": card["uuid"], "outcome": "overridden", "outcomeTimestamp": "2026-01-15T11:00:00Z",
             "overrideReason": {"reason": {"system": "urn:tofacitinib-cds:override-reason", "code": "x"}}}
    assert client.post(f"/cds-services/{SERVICE}/feedback", json={"feedback": [entry]}).status_code == 200
    before = scrape(client)
    assert card["uuid"] not in {c["uuid"] for c in hook_call(client)}
    got = rise(before, scrape(client), "cdshooks_cards_suppressed_total")
    assert got == {frozenset({"topic": card["source"]["topic"]["code"], "reason": "override"}.items()): 1}


def test_a_store_that_fails_during_a_hook_call_is_counted_and_the_cards_still_come(app, client, monkeypatch):
    from cdshooks.store.model import StoreUnavailable

    def down(*args, **kwargs):
        raise StoreUnavailable("down")

    with app.app_context():
        store = current_store()
    monkeypatch.setattr(store, "record_shown", down)
    monkeypatch.setattr(store, "overridden_with_reason", down)
    before = scrape(client)
    assert hook_call(client)
    after = scrape(client)
    assert rise(before, after, "cdshooks_ledger_write_failures_total") == {frozenset(): 1}
    assert rise(before, after, "cdshooks_suppression_unchecked_total") == {frozenset(): 1}
