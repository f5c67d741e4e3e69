"""The rule engine: hooks, post-processing, and a failing rule not taking the others down."""

import logging
from datetime import UTC, datetime

from cdshooks.clinical import engine
from cdshooks.clinical.findings import Finding
from cdshooks.clinical.thresholds import DEFAULT_THRESHOLDS
from tests.clinical.records import build

RECORD = build(now=datetime(2026, 1, 15, tzinfo=UTC))


def test_a_failing_rule_is_logged_without_its_message_and_the_others_still_answer(monkeypatch, caplog):
    def broken(record, t):
        raise ValueError("secret patient text")

    def fine(record, t):
        yield Finding("dose-guidance")

    engine.load_rules()
    monkeypatch.setattr(
        engine, "_RULES",
        [engine.Rule("test.broken", frozenset({"patient-view"}), broken),
         engine.Rule("test.fine", frozenset({"patient-view"}), fine)],
    )
    monkeypatch.setattr(engine, "_POSTPROCESSORS", [])
    with caplog.at_level(logging.ERROR, logger="cdshooks.clinical.engine"):
        found = engine.evaluate(RECORD, "patient-view", DEFAULT_THRESHOLDS)
    assert [f.topic for f in found] == ["dose-guidance"]
    assert "test.broken" in caplog.text and "ValueError" in caplog.text
    assert "secret patient text" not in caplog.text


def test_rules_run_only_for_their_hooks(monkeypatch):
    monkeypatch.setattr(engine, "_RULES", [engine.Rule("t", frozenset({"order-sign"}), lambda r, t: [Finding("x")])])
    monkeypatch.setattr(engine, "_POSTPROCESSORS", [])
    monkeypatch.setattr(engine, "_loaded", True)
    assert engine.evaluate(RECORD, "patient-view", DEFAULT_THRESHOLDS) == []
    assert [f.topic for f in engine.evaluate(RECORD, "order-sign", DEFAULT_THRESHOLDS)] == ["x"]


def test_a_rule_failing_half_way_leaves_no_partial_cards(monkeypatch, caplog):
    def half(record, t):
        yield Finding("dose-guidance")
        raise KeyError("x")

    monkeypatch.setattr(engine, "_RULES", [engine.Rule("test.half", frozenset({"patient-view"}), half)])
    monkeypatch.setattr(engine, "_POSTPROCESSORS", [])
    monkeypatch.setattr(engine, "_loaded", True)
    assert engine.evaluate(RECORD, "patient-view", DEFAULT_THRESHOLDS) == []


def test_a_failing_post_processing_step_keeps_the_cards_it_could_not_process(monkeypatch, caplog):
    def broken_step(findings, record, t):
        raise RuntimeError("patient detail")

    monkeypatch.setattr(engine, "_RULES", [engine.Rule("t", frozenset({"patient-view"}), lambda r, t: [Finding("x")])])
    monkeypatch.setattr(engine, "_POSTPROCESSORS", [broken_step])
    monkeypatch.setattr(engine, "_loaded", True)
    with caplog.at_level(logging.ERROR, logger="cdshooks.clinical.engine"):
        assert [f.topic for f in engine.evaluate(RECORD, "patient-view", DEFAULT_THRESHOLDS)] == ["x"]
    assert "broken_step" in caplog.text and "patient detail" not in caplog.text
