"""Replays every fixtures/*/scenario.json through the HTTP app at now = asOf."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pytest

from cdshooks.app import create_app
from tests.conformance import check_response

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
SCENARIOS = sorted(FIXTURES.glob("*/scenario.json"))


def test_there_are_scenarios():
    assert SCENARIOS, f"no fixtures/*/scenario.json under {FIXTURES}"


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.parent.name)
def test_scenario(path: Path, settings):
    scenario = json.loads(path.read_text(encoding="utf-8"))
    as_of = datetime.fromisoformat(scenario["asOf"].replace("Z", "+00:00"))
    client = create_app(replace(settings, now=as_of, auth_enabled=False)).test_client()

    resp = client.post(f"/cds-services/{scenario['service']}", json=scenario["request"])

    assert resp.status_code == 200, resp.get_data(as_text=True)
    body = resp.get_json()
    cards = body["cards"]
    topics = sorted(c["source"]["topic"]["code"] for c in cards)
    assert topics == sorted(scenario["expect"]["topics"]), [c["summary"] for c in cards]
    for topic, indicator in scenario["expect"].get("indicators", {}).items():
        shown = [c["indicator"] for c in cards if c["source"]["topic"]["code"] == topic]
        assert shown == [indicator] * topics.count(topic), topic
    for topic, labels in scenario["expect"].get("suggestions", {}).items():
        offered = [[s["label"] for s in c.get("suggestions", [])] for c in cards if c["source"]["topic"]["code"] == topic]
        assert offered == [labels] * topics.count(topic), topic
    assert check_response(body) == []
