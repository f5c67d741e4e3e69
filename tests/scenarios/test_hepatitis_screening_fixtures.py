"""What the screen-hbv fixtures must show beyond their topics (revision 2: HBsAg, anti-HBc and anti-HCV)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.card_kit import cards_of, service_request_codes

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
HBSAG, ANTI_HBC, ANTI_HCV = "5196-1", "16933-4", "16128-1"


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
