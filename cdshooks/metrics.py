"""The service's Prometheus metrics and the named functions that move them (no Flask here).

Every label value comes from a closed set the service defines (its service ids
and route names, its card topics, fixed outcome words, the resource types of
its own prefetch templates), so a client cannot add label values, and no label
ever holds patient data. Under gunicorn, `PROMETHEUS_MULTIPROC_DIR` (set by
`cdshooks.gunicorn_conf` before any worker imports this module) makes every
worker write its values to a file that `GET /metrics` sums.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any

from prometheus_client import Counter, Histogram

from cdshooks.cards import INDICATORS, topics
from cdshooks.data.gather import DataUnavailable, Gathered, resource_type
from cdshooks.services import SERVICES

UNKNOWN = "unknown"  # a service id, or a card uuid the ledger does not know
OTHER = "other"  # anything outside the closed set of a label
# The non-hook routes, named after their blueprints (cdshooks/web/__init__.py).
ROUTES = frozenset({"discovery", "feedback", "health", "openapi", "metrics"})
SUPPRESSION_REASONS = frozenset({"override", "repeat"})
FEEDBACK_OUTCOMES = frozenset({"accepted", "overridden", "dismissed"})
FETCH_OUTCOMES = frozenset({"ok", "failed"})
# A hook call takes from about 1 ms (all prefetched, no card) to the 3 s FHIR fetch budget.
DURATION_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0)

REQUESTS = Counter("cdshooks_requests", "HTTP requests answered", ["service", "status"])
REQUEST_SECONDS = Histogram(
    "cdshooks_request_duration_seconds", "Time to answer a request", ["service"], buckets=DURATION_BUCKETS
)
CARDS = Counter("cdshooks_cards", "Cards returned", ["topic", "indicator"])
SUPPRESSED = Counter(
    "cdshooks_cards_suppressed", "Cards not returned because of alert-burden rules", ["topic", "reason"]
)
FEEDBACK = Counter("cdshooks_feedback", "Feedback entries stored", ["topic", "outcome"])
FHIR_FETCHES = Counter("cdshooks_fhir_fetches", "FHIR fallback fetches to the fhirServer", ["resource", "outcome"])
LEDGER_FAILURES = Counter("cdshooks_ledger_write_failures", "Shown-card ledger writes that failed")
SUPPRESSION_UNCHECKED = Counter(
    "cdshooks_suppression_unchecked", "Hook calls whose overrides could not be read: every card was shown"
)
JTI_FALLBACKS = Counter(
    "cdshooks_jti_fallbacks", "Token ids checked in this instance's own cache while the shared store was unreachable"
)


@cache
def _topics() -> frozenset[str]:
    return frozenset(topics())


@cache
def _resource_types() -> frozenset[str]:
    """The resource types the services' own prefetch templates name (what a fallback fetch can ask for)."""
    return frozenset(resource_type(t) for s in SERVICES.values() for t in s.prefetch.values())


_children: dict[tuple[int, tuple[str, ...]], Any] = {}


def _child(metric: Any, *labels: str) -> Any:
    """`metric.labels(*labels)`, remembered: label values come from closed sets, so this stays small,
    and `labels()` re-validates its arguments on every call (a few microseconds per count)."""
    key = (id(metric), labels)
    found = _children.get(key)
    if found is None:
        found = _children[key] = metric.labels(*labels)
    return found


def _one_of(value: Any, allowed: frozenset[str], fallback: str = OTHER) -> str:
    return value if isinstance(value, str) and value in allowed else fallback


def service_label(name: str | None) -> str:
    """A known service id or route name; anything else is "unknown" (a client picks the path)."""
    if name in SERVICES:
        return str(name)
    return _one_of(name, ROUTES, UNKNOWN)


def topic_label(topic: Any) -> str:
    """A topic with a card template; "unknown" stays (feedback on a card the ledger lacks)."""
    return UNKNOWN if topic == UNKNOWN else _one_of(topic, _topics())


def observe_request(service: str | None, status: int, seconds: float) -> None:
    """Count one answered request and its duration."""
    label = service_label(service)
    _child(REQUESTS, label, str(status) if 100 <= status <= 599 else OTHER).inc()
    _child(REQUEST_SECONDS, label).observe(seconds)


def count_cards(cards: Iterable[Mapping[str, Any]]) -> None:
    """Count returned cards per topic (`source.topic.code`) and indicator."""
    for card in cards:
        source = card.get("source")
        topic = source.get("topic") if isinstance(source, Mapping) else None
        code = topic.get("code") if isinstance(topic, Mapping) else None
        _child(CARDS, topic_label(code), _one_of(card.get("indicator"), INDICATORS)).inc()


def count_suppressed(topic: str, reason: str) -> None:
    """Count one card left out: overridden with a reason, or a repeat within the window."""
    SUPPRESSED.labels(topic_label(topic), _one_of(reason, SUPPRESSION_REASONS)).inc()


def feedback_outcome(outcome: str, reason_code: str | None) -> str:
    """accepted, overridden (with a coded reason) or dismissed (overridden without one)."""
    if outcome == "overridden" and not reason_code:
        return "dismissed"
    return outcome


def count_feedback(topic: str, outcome: str) -> None:
    """Count one stored feedback entry ("unknown" topic: the ledger does not know the card)."""
    FEEDBACK.labels(topic_label(topic), _one_of(outcome, FEEDBACK_OUTCOMES)).inc()


def count_fhir_fetch(resource: str, outcome: str) -> None:
    """Count one fallback fetch (all pages of one prefetch key) and whether it worked."""
    FHIR_FETCHES.labels(_one_of(resource, _resource_types()), _one_of(outcome, FETCH_OUTCOMES)).inc()


def count_fhir_fetches(gathered: Gathered | DataUnavailable) -> None:
    """Count the fallback fetches one hook call made (`fetches` of what gather returned, or raised for a 412)."""
    for fetch in gathered.fetches:
        count_fhir_fetch(fetch.resource_type, "ok" if fetch.ok else "failed")


def count_ledger_failure() -> None:
    """Count one shown-card ledger write that failed (the cards were still returned)."""
    LEDGER_FAILURES.inc()


def count_suppression_unchecked() -> None:
    """Count one hook call whose suppression could not be checked (the store did not answer)."""
    SUPPRESSION_UNCHECKED.inc()


def count_jti_fallback(reason: str = "") -> None:
    """Count one token id checked locally: the shared store could not be reached (the reason is logged only)."""
    JTI_FALLBACKS.inc()
