"""hbv-positive: HBsAg positive (critical), anti-HBc positive with HBsAg negative or absent (warning)."""


import pytest

from cdshooks import cards
from cdshooks.clinical.rules import hepatitis_b
from cdshooks.clinical.thresholds import DEFAULT_THRESHOLDS as TH
from tests.clinical.records import administration, ago, lab, med, record, tofa

HBSAG, ANTI_HBC, HBV_DNA = "5196-1", "16933-4", "29615-2"


def findings(rec):
    return list(hepatitis_b.hbv_positive(rec, TH))


def test_hbsag_positive_at_any_time_is_critical_and_orders_hbv_dna():
    rec = record(meds=[tofa()], labs=[lab(HBSAG, 900, text="positive")])
    [f] = findings(rec)
    card = cards.render_card(f)
    assert card["indicator"] == "critical" and "HBsAg positive" in card["summary"]
    codes = [a["resource"]["code"]["coding"][0]["code"] for s in card["suggestions"] for a in s["actions"]]
    assert "29615-2" in codes and "24325-3" in codes  # HBV DNA and the hepatic function panel (ALT)


def test_anti_hbc_positive_with_negative_hbsag_is_a_warning_naming_recent_rituximab():
    rtx = med("rituximab 500 MG infusion", 120, status="completed", oid="rtx")
    rec = record(meds=[tofa(), rtx], labs=[lab(HBSAG, 30, text="negative"), lab(ANTI_HBC, 30, text="positive")])
    [f] = findings(rec)
    card = cards.render_card(f)
    assert card["indicator"] == "warning" and f.variant == "resolved"
    assert "Rituximab in the last 365 days" in card["detail"] and "prophylaxis" in card["detail"]


def test_a_rituximab_administration_in_the_last_12_months_is_named_with_its_date():
    # clinical-rules.md, Recent exposure: rituximab given as a MedicationAdministration counts for hbv-positive
    given = administration("a-rtx", "Rituxan 1000 mg", 120)
    rec = record(meds=[tofa()], labs=[lab(HBSAG, 30, text="negative"), lab(ANTI_HBC, 30, text="positive")],
                 administrations=(given,))
    [f] = findings(rec)
    detail = cards.render_card(f)["detail"]
    assert "Rituximab in the last 365 days" in detail and "prophylaxis" in detail
    assert f"rituximab given {ago(120).date().isoformat()} (Rituxan 1000 mg, administration record)" in detail
    old = administration("a-rtx", "Rituxan 1000 mg", 400)
    [g] = findings(record(meds=[tofa()], labs=[lab(ANTI_HBC, 30, text="positive")], administrations=(old,)))
    assert "Rituximab in the last" not in cards.render_card(g)["detail"]


def test_anti_hbc_soon_after_ivig_may_be_transferred_antibody():
    ivig = med("IVIG (Privigen) 2 g/kg", 40, status="completed", oid="ivig")
    rec = record(meds=[tofa(), ivig], labs=[lab(ANTI_HBC, 20, text="positive")])
    [f] = findings(rec)
    assert "may have been transferred with the IVIG" in cards.render_card(f)["detail"]
    far = med("IVIG (Privigen) 2 g/kg", 300, status="completed", oid="ivig")
    [g] = findings(record(meds=[tofa(), far], labs=[lab(ANTI_HBC, 20, text="positive")]))
    assert "may have been transferred" not in cards.render_card(g)["detail"]


def test_a_recent_hbv_dna_is_shown_and_not_ordered_again():
    rec = record(meds=[tofa()], labs=[lab(ANTI_HBC, 20, text="positive"), lab(HBV_DNA, 10, text="not detected")])
    [f] = findings(rec)
    card = cards.render_card(f)
    codes = [a["resource"]["code"]["coding"][0]["code"] for s in card["suggestions"] for a in s["actions"]]
    assert "29615-2" not in codes and "Newest HBV DNA" in card["detail"]


@pytest.mark.parametrize("labs_", [[lab(HBSAG, 30, text="negative"), lab(ANTI_HBC, 30, text="negative")], []])
def test_negative_or_absent_markers_do_not_fire(labs_):
    assert findings(record(meds=[tofa()], labs=labs_)) == []


def test_outside_tofacitinib_context_nothing_fires():
    assert findings(record(labs=[lab(HBSAG, 30, text="positive")])) == []
