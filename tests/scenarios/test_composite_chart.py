"""The composite anti-MDA5 chart: how many cards each hook shows, as the README states.

Age 55 with hypertension, prednisone 60 mg/day, tacrolimus, IV cyclophosphamide 14 days
ago, TMP-SMX, on tofacitinib for 30 days (fixtures/composite-mda5-chart-*). A change that
adds a card to these calls fails here and must update the README's count on purpose.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pytest

from cdshooks.app import create_app

ROOT = Path(__file__).resolve().parents[2]
CALLS = {
    "patient-view": "composite-mda5-chart-patient-view",
    "tofacitinib renewal": "composite-mda5-chart-tofacitinib-renewal",
    "unrelated draft": "composite-mda5-chart-unrelated-draft",
}


def readme_counts() -> dict[str, int]:
    """'| patient-view | 3 | ...' rows of the README's "Composite chart" table."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("### Composite chart", 1)[1].split("\n#", 1)[0]
    return {m[1]: int(m[2]) for m in re.finditer(r"^\| ([a-z -]+) \| (\d+) \|", section, re.MULTILINE)}


@pytest.mark.parametrize("call, fixture", CALLS.items())
def test_card_count_is_the_one_the_readme_states(call, fixture, settings):
    doc = json.loads((ROOT / "fixtures" / fixture / "scenario.json").read_text(encoding="utf-8"))
    now = datetime.fromisoformat(doc["asOf"].replace("Z", "+00:00"))
    client = create_app(replace(settings, now=now, auth_enabled=False)).test_client()
    cards = client.post(f"/cds-services/{doc['service']}", json=doc["request"]).get_json()["cards"]
    assert len(cards) == readme_counts()[call], [c["summary"] for c in cards]
    assert len(cards) == len(doc["expect"]["topics"])
