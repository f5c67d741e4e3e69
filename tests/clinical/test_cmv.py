"""CMV trend logic: threshold, rising, newly detectable, superseded, copies; PCR phases."""

import pytest

from cdshooks.clinical import cmv
from cdshooks.clinical.thresholds import DEFAULT_THRESHOLDS as TH
from tests.clinical.records import lab, record, tofa

QUANT, COPIES = "72493-0", "29604-6"


def viremia(*labs_):
    return cmv.viremia(record(meds=[tofa()], labs=labs_), TH)


def test_above_threshold_is_critical_level_with_trend_newest_first():
    v = viremia(lab(QUANT, 10, 300, "IU/mL"), lab(QUANT, 2, 501, "IU/mL"))
    assert v.level == "above-threshold"
    assert [r.lab.value for r in v.trend] == [501, 300]


def test_exactly_500_iu_is_not_reactivation():
    # FAN2022 defines reactivation as CMV DNA > 500 IU/mL; 500 itself is a low-level rise at most.
    v = viremia(lab(QUANT, 10, 300, "IU/mL"), lab(QUANT, 2, 500, "IU/mL"))
    assert v.level == "rising"


def test_log_units_are_compared_after_conversion():
    assert viremia(lab(QUANT, 2, 2.8, "log10 IU/mL")).level == "above-threshold"  # 631 IU/mL
    assert viremia(lab(QUANT, 2, 2.6, "log IU/mL")) is None  # 398 IU/mL, nothing before


def test_rising_below_threshold():
    v = viremia(lab(QUANT, 20, 100, "IU/mL"), lab(QUANT, 2, 300, "IU/mL"))
    assert v.level == "rising" and v.previous.lab.value == 100


def test_falling_below_threshold_is_silent():
    assert viremia(lab(QUANT, 20, 400, "IU/mL"), lab(QUANT, 2, 300, "IU/mL")) is None


def test_equal_values_are_not_rising():
    assert viremia(lab(QUANT, 20, 300, "IU/mL"), lab(QUANT, 2, 300, "IU/mL")) is None


def test_newly_detectable_after_not_detected():
    v = viremia(lab(QUANT, 10, text="not detected"), lab(QUANT, 2, 80, "IU/mL"))
    assert v.level == "rising" and v.previous.not_detected


def test_rising_pair_must_be_within_the_window():
    assert viremia(lab(QUANT, 31, 100, "IU/mL"), lab(QUANT, 2, 300, "IU/mL")) is None
    assert viremia(lab(QUANT, 30, 100, "IU/mL"), lab(QUANT, 2, 300, "IU/mL")).level == "rising"


def test_newer_negative_supersedes_old_positive():
    assert viremia(lab(QUANT, 20, 2400, "IU/mL"), lab(QUANT, 5, text="not detected")) is None


def test_below_limit_is_a_result_not_viremia():
    assert viremia(lab(QUANT, 1, 35, "IU/mL", comparator="<")) is None


def test_entered_in_error_is_ignored():
    assert viremia(lab(QUANT, 1, 5000, "IU/mL", status="entered-in-error")) is None


def test_copies_never_compared_with_iu():
    # 50,000 copies/mL is detected virus (the non-IU warning below), never reactivation by the IU threshold
    assert viremia(lab(COPIES, 1, 50000, "copies/mL")).level == "not-in-iu"
    # an IU result before a copies one is not "rising" against it either
    assert viremia(lab(COPIES, 10, 100, "copies/mL"), lab(QUANT, 1, 300, "IU/mL")) is None


def test_outside_lookback_is_silent():
    assert viremia(lab(QUANT, 31, 5000, "IU/mL")) is None


def schedule(tofa_days_ago, cmv_days_ago=None, *, new_start=False):
    labs_ = [lab(QUANT, cmv_days_ago, text="not detected")] if cmv_days_ago is not None else []
    if new_start:
        return cmv.pcr_schedule(record(drafts=[tofa(0, draft=True)], labs=labs_), TH)
    return cmv.pcr_schedule(record(meds=[tofa(tofa_days_ago)], labs=labs_), TH)


@pytest.mark.parametrize("day_on, phase, interval", [(83, "early", 14), (84, "early", 14), (85, "late", 30), (10, "early", 14)])
def test_phase_changes_after_12_weeks(day_on, phase, interval):
    s = schedule(day_on, 1)
    assert (s.phase, s.interval_days) == (phase, interval)


@pytest.mark.parametrize("cmv_days_ago, overdue", [(14, False), (15, True)])
def test_early_phase_14_days(cmv_days_ago, overdue):
    assert schedule(40, cmv_days_ago).overdue is overdue


@pytest.mark.parametrize("cmv_days_ago, overdue", [(30, False), (31, True)])
def test_late_phase_30_days(cmv_days_ago, overdue):
    assert schedule(200, cmv_days_ago).overdue is overdue


@pytest.mark.parametrize("cmv_days_ago, overdue", [(14, False), (15, True), (None, True)])
def test_new_start_needs_a_baseline_within_14_days(cmv_days_ago, overdue):
    s = schedule(0, cmv_days_ago, new_start=True)
    assert s.phase == "baseline" and s.overdue is overdue


def test_newly_detectable_after_a_negative_worded_as_no_dna_detected():
    v = viremia(lab(QUANT, 10, text="no cmv dna detected"), lab(QUANT, 2, 200, "IU/mL"))
    assert v is not None and v.level == "rising"


@pytest.mark.parametrize(
    "not_a_result",
    [lab(QUANT, 2, text="test not performed"), lab(QUANT, 2, text="tnp"),
     lab(QUANT, 2, status="registered"), lab(QUANT, 2, 90, "IU/mL", status="registered"),
     lab(QUANT, 2, text="not detected", status="cancelled"), lab(QUANT, 2, text="not detected", status="entered-in-error")],
    ids=["test-not-performed", "tnp", "registered", "registered-with-value", "cancelled", "entered-in-error"],
)
def test_not_performed_pending_and_cancelled_do_not_satisfy_the_pcr_schedule(not_a_result):
    # Day 200 (30-day phase), last real result 31 days ago: overdue, whatever came after it.
    rec = record(meds=[tofa(200)], labs=[lab(QUANT, 31, text="not detected"), not_a_result])
    s = cmv.pcr_schedule(rec, TH)
    assert s.overdue and s.last.lab.id == f"{QUANT}-31"


@pytest.mark.parametrize("status", ["registered", "cancelled"])
def test_pending_or_cancelled_results_never_fire_viremia(status):
    assert viremia(lab(QUANT, 1, 5000, "IU/mL", status=status)) is None


PRESENCE = "4996-5"


@pytest.mark.parametrize(
    "newer",
    [lab(PRESENCE, 2, text="detected"), lab(QUANT, 2, text="cmv dna detected"), lab(COPIES, 2, 90000, "copies/mL"),
     lab(QUANT, 2, text="indeterminate")],
    ids=["4996-5-detected", "iu-code-text-detected", "copies", "indeterminate"],
)
def test_a_newer_non_iu_or_qualitative_result_never_hides_an_older_iu_result_above_threshold(newer):
    # clinical-rules.md rev 2, CMV results: "that one still fires critical".
    v = viremia(lab(QUANT, 20, 2400, "IU/mL"), newer)
    assert v.level == "above-threshold"
    assert v.newest.lab.value == 2400
    assert [r.lab.id for r in v.newer] == [newer["id"]]
    assert [r.lab.id for r in v.trend] == [newer["id"], v.newest.lab.id]


def test_a_newer_not_detected_result_of_another_assay_never_hides_an_older_iu_result_above_threshold():
    # clinical-rules.md: a newer non-IU or qualitative result never hides an older IU result > 500,
    # "not detected" on the copies assay or on 4996-5 included (another assay, another limit)
    for newer in (lab(COPIES, 2, 137, "copies/mL", comparator="<"), lab(PRESENCE, 2, text="not detected")):
        v = viremia(lab(QUANT, 20, 2400, "IU/mL"), newer)
        assert v.level == "above-threshold" and v.newest.lab.value == 2400 and newer["id"] in [r.lab.id for r in v.newer]


def test_a_newer_iu_result_supersedes_an_older_positive():
    assert viremia(lab(QUANT, 20, 2400, "IU/mL"), lab(QUANT, 2, text="not detected")) is None
    assert viremia(lab(QUANT, 20, 2400, "IU/mL"), lab(QUANT, 2, 35, "IU/mL", comparator="<")) is None


def test_an_older_iu_result_above_threshold_outside_the_lookback_does_not_fire():
    v = viremia(lab(QUANT, 31, 2400, "IU/mL"), lab(PRESENCE, 2, text="detected"))
    assert v.level == "not-in-iu"  # the detection alone, not the old result outside the window


@pytest.mark.parametrize(
    "detected",
    [lab(COPIES, 1, 2000, "copies/mL"), lab(COPIES, 1, 3.3, "log copies/mL"), lab(QUANT, 1, 900, "copies/mL"),
     lab(PRESENCE, 1, text="detected"), lab(PRESENCE, 1, text="positive"), lab(QUANT, 1, text="cmv dna detected"),
     lab(QUANT, 1, text="detected; quantitation not performed"), lab(QUANT, 1, 40, "ng/mL")],
    ids=["copies", "log-copies", "iu-code-in-copies", "4996-5-detected", "4996-5-positive", "iu-code-text",
         "quantitation-not-performed", "unconvertible-unit"],
)
def test_detected_without_an_iu_amount_is_never_silent(detected):
    # clinical-rules.md rev 2, cmv-viremia: detected but not in IU/mL -> warning; the not-detected
    # IU result before it does not hide it.
    v = viremia(lab(QUANT, 5, text="not detected"), detected)
    assert v.level == "not-in-iu" and v.newest.lab.id == detected["id"]
    assert v.previous.not_detected


@pytest.mark.parametrize(
    "negative",
    [lab(COPIES, 1, text="not detected"), lab(COPIES, 1, 137, "copies/mL", comparator="<"), lab(COPIES, 1, 0, "copies/mL"),
     lab(PRESENCE, 1, text="not detected"), lab(PRESENCE, 1, text="negative"), lab(PRESENCE, 1, text="indeterminate")],
    ids=["copies-text-not-detected", "copies-below-limit", "copies-zero", "4996-5-not-detected", "4996-5-negative",
         "4996-5-indeterminate"],
)
def test_not_detected_or_below_limit_without_iu_is_silent(negative):
    assert viremia(negative) is None
    assert viremia(lab(QUANT, 10, text="not detected"), negative) is None


def test_a_newer_iu_result_answers_an_older_non_iu_detection():
    # the repeat PCR in IU/mL the card asks for has been done: it is the result judged
    assert viremia(lab(COPIES, 6, 2000, "copies/mL"), lab(QUANT, 5, text="not detected")) is None
    assert viremia(lab(PRESENCE, 6, text="detected"), lab(QUANT, 2, 900, "IU/mL")).level == "above-threshold"


def test_non_iu_detection_outside_the_lookback_is_silent():
    assert viremia(lab(COPIES, 31, 2000, "copies/mL")) is None
    assert viremia(lab(PRESENCE, 30, text="detected")).level == "not-in-iu"


def test_an_older_iu_result_above_threshold_wins_over_the_non_iu_warning():
    v = viremia(lab(QUANT, 20, 2400, "IU/mL"), lab(COPIES, 2, 500, "copies/mL"))
    assert v.level == "above-threshold"


def test_a_newer_non_iu_detection_after_a_low_level_rise_asks_for_iu():
    v = viremia(lab(QUANT, 20, 100, "IU/mL"), lab(QUANT, 10, 300, "IU/mL"), lab(PRESENCE, 1, text="detected"))
    assert v.level == "not-in-iu" and v.previous.lab.value == 300
