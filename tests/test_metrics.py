"""The metric functions: each moves its counter by one, and no label value outside its closed set gets in."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY

from cdshooks import metrics
from cdshooks.cards import topics
from cdshooks.data.gather import Fetch, Gathered, resource_type
from cdshooks.services import SERVICES

SERVICE = next(iter(SERVICES))
TOPIC = topics()[0]


def value(name: str, **labels: str) -> float:
    """The current value of one sample in this process's registry (0 when never moved)."""
    return REGISTRY.get_sample_value(name, labels) or 0.0


def label_values(name: str, label: str) -> set[str]:
    """Every value `label` has taken in the samples of metric family `name`."""
    family = next(f for f in REGISTRY.collect() if f.name == name)
    return {s.labels[label] for s in family.samples if label in s.labels}


def test_observe_request_counts_and_times_one_request():
    before = value("cdshooks_requests_total", service=SERVICE, status="200")
    timed = value("cdshooks_request_duration_seconds_count", service=SERVICE)
    fast = value("cdshooks_request_duration_seconds_bucket", service=SERVICE, le="0.005")
    metrics.observe_request(SERVICE, 200, 0.004)
    assert value("cdshooks_requests_total", service=SERVICE, status="200") == before + 1
    assert value("cdshooks_request_duration_seconds_count", service=SERVICE) == timed + 1
    assert value("cdshooks_request_duration_seconds_bucket", service=SERVICE, le="0.005") == fast + 1


def test_buckets_cover_one_millisecond_to_three_seconds():
    assert metrics.DURATION_BUCKETS[0] <= 0.001
    assert 3.0 in metrics.DURATION_BUCKETS


@pytest.mark.parametrize("name", ["not-a-service", "Patient/123", "x" * 300, None])
def test_a_service_id_the_service_does_not_have_is_unknown(name):
    before = value("cdshooks_requests_total", service="unknown", status="404")
    metrics.observe_request(name, 404, 0.001)
    assert value("cdshooks_requests_total", service="unknown", status="404") == before + 1
    assert label_values("cdshooks_requests", "service") <= {*SERVICES, *metrics.ROUTES, "unknown"}


def test_route_names_are_kept():
    assert metrics.service_label("feedback") == "feedback"
    assert metrics.service_label(SERVICE) == SERVICE


def test_count_cards_per_topic_and_indicator():
    card = {"indicator": "warning", "source": {"topic": {"code": TOPIC}}}
    before = value("cdshooks_cards_total", topic=TOPIC, indicator="warning")
    metrics.count_cards([card, card])
    assert value("cdshooks_cards_total", topic=TOPIC, indicator="warning") == before + 2


def test_a_card_topic_without_a_template_is_other():
    odd = {"indicator": "loud", "source": {"topic": {"code": "Patient/123"}}}
    before = value("cdshooks_cards_total", topic="other", indicator="other")
    metrics.count_cards([odd, {"summary": "no source at all"}])
    assert value("cdshooks_cards_total", topic="other", indicator="other") == before + 2
    assert label_values("cdshooks_cards", "topic") <= {*topics(), "other"}


def test_count_suppressed_by_reason():
    before = value("cdshooks_cards_suppressed_total", topic=TOPIC, reason="repeat")
    metrics.count_suppressed(TOPIC, "repeat")
    metrics.count_suppressed(TOPIC, "because")  # not a reason the service has
    assert value("cdshooks_cards_suppressed_total", topic=TOPIC, reason="repeat") == before + 1
    assert label_values("cdshooks_cards_suppressed", "reason") <= {"override", "repeat", "other"}


@pytest.mark.parametrize(
    ("outcome", "code", "label"),
    [("accepted", None, "accepted"), ("overridden", "not-indicated", "overridden"),
     ("overridden", None, "dismissed"), ("overridden", "", "dismissed")],
)
def test_feedback_outcome(outcome, code, label):
    assert metrics.feedback_outcome(outcome, code) == label


def test_count_feedback_keeps_unknown_for_a_card_the_ledger_lacks():
    before = value("cdshooks_feedback_total", topic="unknown", outcome="dismissed")
    metrics.count_feedback("unknown", "dismissed")
    assert value("cdshooks_feedback_total", topic="unknown", outcome="dismissed") == before + 1
    metrics.count_feedback("made-up-topic", "rejected")
    assert value("cdshooks_feedback_total", topic="other", outcome="other") >= 1


def test_count_fhir_fetches_from_what_gather_reports():
    gathered = Gathered(fetches=(Fetch("Observation", True), Fetch("Observation", False), Fetch("Basic", True)))
    ok = value("cdshooks_fhir_fetches_total", resource="Observation", outcome="ok")
    failed = value("cdshooks_fhir_fetches_total", resource="Observation", outcome="failed")
    other = value("cdshooks_fhir_fetches_total", resource="other", outcome="ok")
    metrics.count_fhir_fetches(gathered)
    assert value("cdshooks_fhir_fetches_total", resource="Observation", outcome="ok") == ok + 1
    assert value("cdshooks_fhir_fetches_total", resource="Observation", outcome="failed") == failed + 1
    # no service template asks for Basic: not a label value
    assert value("cdshooks_fhir_fetches_total", resource="other", outcome="ok") == other + 1


def test_resource_type_of_a_template():
    assert resource_type("Observation?subject=Patient/{{context.patientId}}") == "Observation"
    assert resource_type("Patient/{{context.patientId}}") == "Patient"
    assert resource_type("{{weird}}") == "other"


def test_count_ledger_failure():
    before = value("cdshooks_ledger_write_failures_total")
    metrics.count_ledger_failure()
    assert value("cdshooks_ledger_write_failures_total") == before + 1
