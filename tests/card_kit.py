"""Replaying a fixture's request through the app, and reading the cards it answers."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from cdshooks.app import create_app

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def cards_of(name: str, settings) -> dict[str, dict]:
    """The cards a fixture's request gets at its asOf, by topic."""
    scenario = json.loads((FIXTURES / name / "scenario.json").read_text(encoding="utf-8"))
    now = datetime.fromisoformat(scenario["asOf"].replace("Z", "+00:00"))
    client = create_app(replace(settings, now=now, auth_enabled=False)).test_client()
    resp = client.post(f"/cds-services/{scenario['service']}", json=scenario["request"])
    assert resp.status_code == 200
    return {c["source"]["topic"]["code"]: c for c in resp.get_json()["cards"]}


def service_request_codes(card: dict) -> list[str]:
    """The LOINC code of every ServiceRequest a card suggests (each action must be one)."""
    out = []
    for s in card["suggestions"]:
        for a in s["actions"]:
            assert a["resource"]["resourceType"] == "ServiceRequest"
            out.append(a["resource"]["code"]["coding"][0]["code"])
    return out
