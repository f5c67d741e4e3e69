"""Values the store tests share: feedback entries and ledger rows."""

from __future__ import annotations

from datetime import UTC, datetime

from cdshooks.feedback import parse_feedback
from cdshooks.store.model import ShownCard

T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)
SERVICE = "tofacitinib-order-select"


def entries(*items: dict) -> list:
    return parse_feedback({"feedback": list(items)})


def overridden(card: str, at: str = "2026-03-01T12:05:00Z", code: str | None = "specialist-decision") -> dict:
    entry: dict = {"card": card, "outcome": "overridden", "outcomeTimestamp": at}
    if code is not None:
        entry["overrideReason"] = {"reason": {"system": "urn:x", "code": code, "display": "Specialist decision"}}
    return entry


def shown(uuid: str, *, hook: str = "order-select", at: datetime = T0, topic: str = "lab-lymphopenia") -> ShownCard:
    return ShownCard(uuid, topic, "critical", "p1", hook, f"tofacitinib-{hook}", at)
