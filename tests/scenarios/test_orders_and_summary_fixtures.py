"""What the revision-2 PJP, lab-panel, summary and recent-exposure fixtures must show beyond their topics."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.card_kit import cards_of

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
REPEAT = "repeat now (see the critical card)"


def resources(card: dict) -> list[dict]:
    return [a["resource"] for s in card.get("suggestions", []) for a in s["actions"]]


def service_request_codes(card: dict) -> list[str]:
    out = []
    for r in resources(card):
        assert r["resourceType"] == "ServiceRequest"
        out.append(r["code"]["coding"][0]["code"])
    return out


def medication_texts(card: dict) -> list[str]:
    return [r["medicationCodeableConcept"]["text"] for r in resources(card)]


def test_sulfa_allergy_fixture_suggests_atovaquone_only(settings):
    card = cards_of("pjp-prophylaxis-sulfa-allergy-atovaquone", settings)["pjp-prophylaxis"]
    assert medication_texts(card) == ["atovaquone 750 mg/5 mL oral suspension"]
    assert "Sulfonamide antibiotic allergy" in card["detail"] and "dapsone" in card["detail"]


def test_refuted_allergy_fixture_suggests_tmp_smx(settings):
    card = cards_of("pjp-prophylaxis-near-miss-sulfa-allergy-refuted", settings)["pjp-prophylaxis"]
    texts = medication_texts(card)
    assert len(texts) == 2 and all("sulfamethoxazole" in t for t in texts)
    assert "atovaquone" not in card["summary"]


def test_allergies_not_prefetched_fixture_says_the_check_was_not_done(settings):
    card = cards_of("pjp-prophylaxis-allergies-not-prefetched", settings)["pjp-prophylaxis"]
    assert "Allergy check not done" in card["detail"]
    assert all("sulfamethoxazole" in t for t in medication_texts(card))


@pytest.mark.parametrize("name", ["pjp-prophylaxis-prednisone-60", "pjp-prophylaxis-dexamethasone"])
def test_older_pjp_fixtures_checked_an_empty_allergy_list(name, settings):
    card = cards_of(name, settings)["pjp-prophylaxis"]
    assert "No sulfonamide-antibiotic allergy is on record" in card["detail"]


def test_baseline_cbc_components_missing_is_one_cbc_panel_order(settings):
    card = cards_of("screen-baseline-labs-cbc-panel-once", settings)["screen-baseline-labs"]
    assert service_request_codes(card) == ["57021-8"]


def test_stale_cbc_and_lipids_are_two_panel_orders(settings):
    card = cards_of("screen-baseline-labs-stale-cbc-and-lipids", settings)["screen-baseline-labs"]
    assert service_request_codes(card) == ["57021-8", "57698-3"]


def test_first_window_missed_orders_three_panels_not_eight_components(settings):
    card = cards_of("monitor-labs-due-first-window-missed", settings)["monitor-labs-due"]
    assert service_request_codes(card) == ["57021-8", "24325-3", "57698-3"]


def test_summary_lists_creatinine_with_clcr_and_ast(settings):
    detail = cards_of("safety-summary-creatinine-and-ast", settings)["safety-summary"]["detail"]
    assert re.search(r"^\| Creatinine \| 0\.7 mg/dL \| \d{4}-\d\d-\d\d \|$", detail, re.M)
    assert re.search(r"^\| CLcr \(Cockcroft-Gault\) \| [\d.]+ mL/min \| \d{4}-\d\d-\d\d \|$", detail, re.M)
    assert re.search(r"^\| AST \| 22 U/L \| \d{4}-\d\d-\d\d \|$", detail, re.M)


def test_summary_with_critical_alc_says_repeat_now(settings):
    card = cards_of("safety-summary-repeat-now-critical-alc", settings)["safety-summary"]
    assert f"| CBC: absolute lymphocytes | {REPEAT} |" in card["detail"]
    assert REPEAT in card["summary"]


def test_summary_near_miss_due_entries_are_all_dates(settings):
    detail = cards_of("safety-summary-near-miss-anc-exactly-500-due-dates", settings)["safety-summary"]["detail"]
    due = detail.split("Tests due next:", 1)[1]
    cells = re.findall(r"^\| [^|]+ \| (.+?) \|$", due, re.M)[1:]  # after the header row
    cells = [c for c in cells if not set(c) <= {"-"}]
    assert cells and all(re.fullmatch(r"(overdue since )?\d{4}-\d\d-\d\d", c) for c in cells), cells


def test_rituximab_administration_fixture_names_the_date_given(settings):
    card = cards_of("ddi-rituximab-administration-4-months-ago", settings)["ddi-rituximab"]
    assert "rituximab given 2025-09-15 (RITUXIMAB 1000 MG/100 ML IV SOLN, administration record)" in card["detail"]
    assert "was recently given" in card["detail"]
