"""What the screen-hbv fixtures must show beyond their topics (revision 2: HBsAg, anti-HBc and anti-HCV)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pytest

from cdshooks.app import create_app

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
HBSAG, ANTI_HBC, ANTI_HCV = "5196-1", "16933-4", "16128-1"


def cards_of(name: str, settings) -> dict[str, dict]:
    scenario = json.loads((FIXTURES / name / "scenario.json").read_text(encoding="utf-8"))
    now = datetime.fromisoformat(scenario["asOf"].replace("Z", "+00:00"))
    client = create_app(replace(settings, now=now, auth_enabled=False)).test_client()
    resp = client.post(f"/cds-services/{scenario['service']}", json=scenario["request"])
    assert resp.status_code == 200
    return {c["source"]["topic"]["code"]: c for c in resp.get_json()["cards"]}


def service_request_codes(card: dict) -> list[str]:
    out = []
    for s in card["suggestions"]:
        for a in s["actions"]:
            assert a["resource"]["resourceType"] == "ServiceRequest"
            out.append(a["resource"]["code"]["coding"][0]["code"])
    return out


@pytest.mark.parametrize(
    "name, code, listed, not_listed",
    [
        ("screen-hbv-missing-anti-hcv", ANTI_HCV, "Hepatitis C virus antibody",
         ("Hepatitis B surface antigen", "Hepatitis B core antibody")),
        ("screen-hbv-missing-anti-hbc", ANTI_HBC, "Hepatitis B core antibody",
         ("Hepatitis B surface antigen", "Hepatitis C virus antibody")),
    ],
)
def test_the_card_lists_and_orders_only_the_missing_test(name, code, listed, not_listed, settings):
    card = cards_of(name, settings)["screen-hbv"]
    assert card["source"]["topic"]["display"] == "Hepatitis B and C screening"
    assert service_request_codes(card) == [code]
    assert listed in card["detail"]
    assert not any(other in card["detail"] for other in not_listed)


def test_all_three_on_record_gives_no_hepatitis_card(settings):
    assert "screen-hbv" not in cards_of("screen-hbv-near-miss-all-three-on-record", settings)


def test_the_fixtures_hold_what_their_names_say():
    def codes(name):
        doc = json.loads((FIXTURES / name / "scenario.json").read_text(encoding="utf-8"))
        return {e["resource"]["code"]["coding"][0]["code"]
                for e in doc["request"]["prefetch"]["observations"]["entry"]}

    no_hcv, no_hbc = codes("screen-hbv-missing-anti-hcv"), codes("screen-hbv-missing-anti-hbc")
    assert {HBSAG, ANTI_HBC} <= no_hcv and ANTI_HCV not in no_hcv
    assert {HBSAG, ANTI_HCV} <= no_hbc and ANTI_HBC not in no_hbc
    near = codes("screen-hbv-near-miss-all-three-on-record")
    assert {HBSAG, ANTI_HBC, "13955-0"} <= near and ANTI_HCV not in near
