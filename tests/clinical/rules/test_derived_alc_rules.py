"""A derived ALC (lymphocytes % x WBC) fires lab-lymphopenia and counts as the differential for screening and monitoring."""

from cdshooks import cards
from cdshooks.clinical.rules import lab_safety, monitoring, screening, summary
from cdshooks.clinical.thresholds import DEFAULT_THRESHOLDS as TH

from tests.clinical.records import lab, record, tofa, vaccination

DRAFT = tofa(0, draft=True)
RZV = vaccination("187", 100)
REST_OF_WORKUP = [lab("751-8", 5, 4, "10*3/uL"), lab("718-7", 5, 13, "g/dL"), lab("1742-6", 5, 20, "U/L"),
                  lab("1920-8", 5, 20, "U/L"), lab("2160-0", 5, 0.7, "mg/dL"), lab("13457-7", 80, 100, "mg/dL")]


def pct_and_wbc(days_ago, pct, wbc=4.5, *, pct_days_ago=None):
    return [lab("736-9", days_ago if pct_days_ago is None else pct_days_ago, pct, "%"),
            lab("6690-2", days_ago, wbc, "10*3/uL")]


def test_derived_alc_below_500_is_critical_and_labelled_as_derived():
    (f,) = lab_safety.lymphopenia(record(drafts=[DRAFT], labs=pct_and_wbc(3, 8)), TH)
    card = cards.render_card(f)
    assert card["indicator"] == "critical"
    assert card["summary"].startswith("ALC (derived) 360 cells/µL on ")
    assert "derived from lymphocytes 8% x WBC 4.5 x10^3/µL" in card["detail"]


def test_derived_alc_500_to_899_is_the_cmv_risk_info_at_a_start():
    (f,) = lab_safety.lymphopenia(record(drafts=[DRAFT], labs=pct_and_wbc(3, 15, 5)), TH)  # 750 cells/uL
    assert f.variant == "moderate" and f.facts["cells"] == "750"


def test_percent_and_wbc_at_different_times_fire_nothing():
    assert list(lab_safety.lymphopenia(record(drafts=[DRAFT], labs=pct_and_wbc(3, 8, pct_days_ago=4)), TH)) == []


def test_a_measured_alc_of_the_same_specimen_wins_over_the_derived_one():
    labs_ = pct_and_wbc(3, 8) + [lab("731-0", 3, 1.3, "10*3/uL")]
    assert list(lab_safety.lymphopenia(record(drafts=[DRAFT], labs=labs_), TH)) == []


def test_a_derived_alc_counts_as_the_baseline_differential():
    rec = record(drafts=[DRAFT], labs=REST_OF_WORKUP + pct_and_wbc(5, 25, 6))
    assert list(screening.screen_baseline_labs(rec, TH)) == []
    rec = record(drafts=[DRAFT], labs=REST_OF_WORKUP + pct_and_wbc(5, 25, 6, pct_days_ago=6))
    (f,) = screening.screen_baseline_labs(rec, TH)
    assert "ALC" in cards.render_card(f)["summary"]


def test_a_derived_alc_counts_for_monitoring():
    on_time = [lab(c, 10, v, u) for c, v, u in (("751-8", 4, "10*3/uL"), ("718-7", 13, "g/dL"),
                                                 ("1742-6", 20, "U/L"), ("1920-8", 20, "U/L"))]
    on_time += [lab("13457-7", 10, 100, "mg/dL")]
    rec = record(meds=[tofa(200)], labs=on_time + pct_and_wbc(10, 25, 6))
    assert list(monitoring.monitor_labs_due_patient_view(rec, TH)) == []
    rec = record(meds=[tofa(200)], labs=on_time + pct_and_wbc(10, 25, 6, pct_days_ago=11))
    (f,) = monitoring.monitor_labs_due_patient_view(rec, TH)
    assert "CBC: absolute lymphocytes" in f.facts["tests"]


def test_the_summary_shows_the_derived_count_as_derived():
    rec = record(meds=[tofa(200)], labs=pct_and_wbc(10, 25, 6))
    (f,) = summary.safety_summary(rec, TH)
    detail = cards.render_card(f)["detail"]
    assert "| Lymphocytes (ALC) | 1.5 x10^3/µL, derived from lymphocytes 25% x WBC 6 x10^3/µL |" in detail
