"""Screening (new start only), monitoring (on therapy / renewal) and the summary card."""

import pytest

from cdshooks import cards
from cdshooks.clinical.rules import monitoring, screening, summary
from cdshooks.clinical.thresholds import DEFAULT_THRESHOLDS as TH
from tests.clinical.records import code_of, lab, med, problem, record, tofa, vaccination

DRAFT = tofa(0, draft=True)
WORKUP = [lab("731-0", 5, 1.4, "10*3/uL"), lab("751-8", 5, 4, "10*3/uL"), lab("718-7", 5, 13, "g/dL"),
          lab("1742-6", 5, 20, "U/L"), lab("1920-8", 5, 20, "U/L"), lab("2160-0", 5, 0.7, "mg/dL"),
          lab("13457-7", 80, 100, "mg/dL"), lab("71773-6", 100, text="negative"),
          lab("5196-1", 100, text="negative"), lab("16933-4", 100, text="negative"),
          lab("16128-1", 100, text="negative")]
RZV = vaccination("187", 100)


def run(fn, rec):
    return list(fn(rec, TH))


def test_complete_workup_gives_no_screening_card():
    rec = record(drafts=[DRAFT], labs=WORKUP, immunizations=(RZV,))
    for fn in (screening.screen_tb, screening.screen_hbv, screening.screen_zoster, screening.screen_baseline_labs):
        assert run(fn, rec) == [], fn.__name__


def test_screening_is_for_new_starts_only():
    rec = record(meds=[tofa()], drafts=[DRAFT])  # renewal: nothing on record, still silent
    assert run(screening.screen_tb, rec) == [] and run(screening.screen_baseline_labs, rec) == []


def test_tb_missing_suggests_igra_service_request():
    (f,) = run(screening.screen_tb, record(drafts=[DRAFT]))
    card = cards.render_card(f)
    sr = card["suggestions"][0]["actions"][0]["resource"]
    assert sr["resourceType"] == "ServiceRequest" and sr["code"]["coding"][0]["code"] == "71773-6"
    assert sr["subject"] == {"reference": "Patient/p1"}


def test_tb_positive_untreated_then_treated():
    pos = lab("71773-6", 60, text="positive")
    assert run(screening.screen_tb, record(drafts=[DRAFT], labs=[pos]))[0].variant == "untreated"
    inh_27 = med("isoniazid 300 MG Oral Tablet", 27, 300)
    assert run(screening.screen_tb, record(drafts=[DRAFT], labs=[pos], meds=[inh_27]))[0].variant == "untreated"
    inh_28 = med("isoniazid 300 MG Oral Tablet", 28, 300)
    assert run(screening.screen_tb, record(drafts=[DRAFT], labs=[pos], meds=[inh_28])) == []


def test_latent_tb_condition_counts_as_positive():
    rec = record(drafts=[DRAFT], labs=WORKUP, conditions=[problem("R76.12", "Positive IGRA")])
    assert run(screening.screen_tb, rec)[0].variant == "untreated"


def hepatitis_orders(f):
    return [a.resource["code"]["coding"][0]["code"] for a in f.suggestions[0].actions]


def test_hbv_orders_only_what_is_missing():
    rec = record(drafts=[DRAFT], labs=[lab("5196-1", 100, text="negative")])
    (f,) = run(screening.screen_hbv, rec)
    assert hepatitis_orders(f) == ["16933-4", "16128-1"]  # anti-HBc and anti-HCV, not HBsAg again


def test_anti_hcv_missing_alone_is_one_card_with_one_anti_hcv_order():
    # revision 2: screen-hbv also asks for anti-HCV; HBsAg and anti-HBc on record are not ordered again
    hbv = [lab("5196-1", 100, text="negative"), lab("16933-4", 100, text="negative")]
    (f,) = run(screening.screen_hbv, record(drafts=[DRAFT], labs=hbv))
    assert hepatitis_orders(f) == ["16128-1"]
    card = cards.render_card(f)
    assert card["source"]["topic"]["display"] == "Hepatitis B and C screening"
    assert card["summary"].endswith(": anti-HCV")
    assert "Hepatitis C virus antibody" in card["detail"]
    assert "surface antigen" not in card["detail"] and "core antibody" not in card["detail"]
    assert card["suggestions"][0]["label"] == "Order hepatitis screening: anti-HCV"


def test_nothing_on_record_orders_all_three_hepatitis_tests_in_a_short_summary():
    (f,) = run(screening.screen_hbv, record(drafts=[DRAFT]))
    assert hepatitis_orders(f) == ["5196-1", "16933-4", "16128-1"]
    card = cards.render_card(f)
    assert card["summary"].endswith(": HBsAg, anti-HBc, anti-HCV") and len(card["summary"]) < 140


@pytest.mark.parametrize("code", ["16128-1", "13955-0"])
def test_an_anti_hcv_result_under_either_code_completes_the_screen(code):
    labs_ = [lab("5196-1", 100, text="negative"), lab("16933-4", 100, text="negative"),
             lab(code, 900, text="non-reactive")]  # years ago still counts: a result on record
    assert run(screening.screen_hbv, record(drafts=[DRAFT], labs=labs_)) == []


def test_zoster_silent_when_immunizations_unavailable():
    rec = record(drafts=[DRAFT], unavailable=frozenset({"immunizations"}))
    assert run(screening.screen_zoster, rec) == []
    assert len(run(screening.screen_zoster, record(drafts=[DRAFT]))) == 1


def test_baseline_labs_window_30_days():
    stale = [lab("731-0", 31, 1.4, "10*3/uL")] + [r for r in WORKUP if code_of(r) != "731-0"]
    (f,) = run(screening.screen_baseline_labs, record(drafts=[DRAFT], labs=stale))
    # revision 2: the stale ALC is ordered as its panel, CBC with differential
    assert [a.resource["code"]["coding"][0]["code"] for a in f.suggestions[0].actions] == ["57021-8"]


def test_monitoring_overdue_on_patient_view_and_renewal_only():
    alc = [lab("731-0", 62, 1.4, "10*3/uL")]
    rec = record(meds=[tofa(60)], labs=alc)
    assert len(run(monitoring.monitor_labs_due_patient_view, rec)) == 1
    assert run(monitoring.monitor_labs_due_renewal, rec) == []  # no renewal draft
    renewal = record(meds=[tofa(60)], drafts=[DRAFT], labs=alc)
    assert len(run(monitoring.monitor_labs_due_renewal, renewal)) == 1


def test_summary_only_with_active_tofacitinib():
    assert run(summary.safety_summary, record(drafts=[DRAFT])) == []
    (f,) = run(summary.safety_summary, record(meds=[tofa(120)], labs=[lab("72493-0", 5, text="not detected")]))
    card = cards.render_card(f)
    # no CBC since the start: the overdue CBC is the next test due, before the CMV PCR
    assert "day 120" in card["summary"] and "CBC: absolute lymphocytes overdue" in card["summary"]
    assert "| CMV DNA | not detected |" in card["detail"]
    assert len(card["summary"]) < 140


def test_indeterminate_igra_is_not_a_negative_screen_and_the_card_says_so():
    labs_ = [r for r in WORKUP if code_of(r) != "71773-6"] + [lab("71773-6", 30, text="indeterminate")]
    (f,) = run(screening.screen_tb, record(drafts=[DRAFT], labs=labs_, immunizations=(RZV,)))
    card = cards.render_card(f)
    assert card["indicator"] == "warning"
    assert "indeterminate" in card["summary"].lower()
    assert "No TB screening" not in card["summary"]  # there was one: it was inconclusive
    assert [a["resource"]["code"]["coding"][0]["code"] for s in card["suggestions"] for a in s["actions"]] == ["71773-6"]


def test_monitoring_asks_for_lipids_13_months_after_the_last_panel():
    cbc = [lab(code, 10, v, u) for code, v, u in (("731-0", 1.4, "10*3/uL"), ("751-8", 4, "10*3/uL"),
                                                   ("718-7", 13, "g/dL"), ("1742-6", 20, "U/L"),
                                                   ("1920-8", 20, "U/L"))]
    ldl_13_months = lab("13457-7", 396, 110, "mg/dL")
    (f,) = run(monitoring.monitor_labs_due_patient_view, record(meds=[tofa(600)], labs=cbc + [ldl_13_months]))
    card = cards.render_card(f)
    assert card["summary"].endswith(": lipids")
    # the USPI sets no later interval: the card says the schedule is this service's default
    assert "this service's defaults" in card["detail"] and "then every 365 days" in card["detail"]
    assert "the USPI leaves later lipid checks to hyperlipidaemia guidelines" in card["detail"]
    assert [a["resource"]["code"]["coding"][0]["code"] for s in card["suggestions"] for a in s["actions"]] == ["57698-3"]
    ldl_11_months = lab("13457-7", 335, 110, "mg/dL")
    assert run(monitoring.monitor_labs_due_patient_view, record(meds=[tofa(600)], labs=cbc + [ldl_11_months])) == []
