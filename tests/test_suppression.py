"""suppression.screen: overrides with a reason within their window, order-sign's repeats, a store that fails."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cdshooks.feedback import parse_feedback
from cdshooks.store.model import ShownCard, StoreUnavailable
from cdshooks.store.sqlite import SqliteStore
from cdshooks.suppression import OVERRIDE, REPEAT, Windows, screen

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
WINDOWS = Windows()


def card(uuid: str, indicator: str = "warning", topic: str = "boxed-cv-thrombosis") -> dict:
    return {"uuid": uuid, "indicator": indicator, "source": {"topic": {"code": topic}}}


@pytest.fixture
def store(tmp_path) -> SqliteStore:
    return SqliteStore(tmp_path / "store.sqlite3")


def override(store: SqliteStore, uuid: str, at: datetime, code: str | None = "specialist-decision") -> None:
    entry = {"card": uuid, "outcome": "overridden", "outcomeTimestamp": at.isoformat()}
    if code:
        entry["overrideReason"] = {"reason": {"system": "urn:tofacitinib-cds:override-reason", "code": code}}
    store.record_feedback("tofacitinib-order-select", parse_feedback({"feedback": [entry]}), at)


@pytest.mark.parametrize(
    "indicator, age, hidden",
    [("warning", timedelta(days=29), True), ("warning", timedelta(days=30), False), ("info", timedelta(days=10), True),
     ("critical", timedelta(hours=23), True), ("critical", timedelta(hours=24), False)],
)
def test_an_override_with_a_reason_hides_the_card_for_its_indicators_window(store, indicator, age, hidden):
    override(store, "c1", NOW - age)
    out = screen([card("c1", indicator), card("c2", indicator)], "patient-view", NOW, store, WINDOWS)
    assert [c["uuid"] for c in out.shown] == (["c2"] if hidden else ["c1", "c2"])
    assert out.suppressed == ([("boxed-cv-thrombosis", OVERRIDE)] if hidden else [])


def test_an_override_without_a_reason_hides_nothing(store):
    override(store, "c1", NOW - timedelta(hours=1), code=None)
    assert len(screen([card("c1")], "order-select", NOW, store, WINDOWS).shown) == 1


def test_order_sign_holds_back_the_info_cards_shown_on_order_select_in_the_last_day(store):
    def shown(uuid: str, hook: str, at: datetime) -> ShownCard:
        return ShownCard(uuid, "t", "info", "p1", hook, "svc", at)

    store.record_shown([shown("i1", "order-select", NOW - timedelta(hours=1)), shown("w1", "order-select", NOW),
                        shown("i2", "order-select", NOW - timedelta(days=2)), shown("i3", "patient-view", NOW)])
    cards = [card("i1", "info"), card("w1", "warning"), card("i2", "info"), card("i3", "info")]
    out = screen(cards, "order-sign", NOW, store, WINDOWS)
    assert [c["uuid"] for c in out.shown] == ["w1", "i2", "i3"]
    assert out.suppressed == [("boxed-cv-thrombosis", REPEAT)]
    # order-select itself never holds back a repeat
    assert len(screen(cards, "order-select", NOW, store, WINDOWS).shown) == 4


def test_a_store_that_cannot_answer_shows_every_card(store, monkeypatch):
    def down(*args, **kwargs):
        raise StoreUnavailable("down")

    monkeypatch.setattr(store, "overridden_with_reason", down)
    out = screen([card("c1")], "order-sign", NOW, store, WINDOWS)
    assert out.shown == [card("c1")] and out.store_failed


def test_no_cards_ask_the_store_nothing(monkeypatch, store):
    monkeypatch.setattr(store, "overridden_with_reason", lambda *a: pytest.fail("asked"))
    assert screen([], "order-sign", NOW, store, WINDOWS).shown == []
