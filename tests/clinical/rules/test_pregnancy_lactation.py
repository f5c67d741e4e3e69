"""pregnancy-lactation (revision 2): pregnancy (Condition, status 82810-3, hCG within 30 days) or lactation."""

from dataclasses import replace

import pytest

from cdshooks import cards
from cdshooks.clinical.rules import pregnancy
from cdshooks.clinical.thresholds import DEFAULT_THRESHOLDS as TH
from tests.clinical.records import LOINC, lab, med, observation, problem, record, tofa, when

SNOMED = "http://snomed.info/sct"
HCG_QUANT, HCG_SERUM, HCG_URINE, STATUS = "21198-7", "2118-8", "2106-3", "82810-3"


def findings(rec, th=TH):
    return list(pregnancy.pregnancy_lactation(rec, th))


def card_of(rec):
    [f] = findings(rec)
    return f, cards.render_card(f)


def status(days_ago, code=None, display=None, *, text=None, oid=None):
    """A pregnancy status Observation answered by a coding (SNOMED or LOINC answer) or by text."""
    codings = [(SNOMED if code[0].isdigit() else LOINC, code, display)] if code else []
    return observation(oid or f"status-{days_ago}", [(LOINC, STATUS)], days_ago, value_codings=codings, value_string=text)


def xr(days_ago=120, draft=False):
    return med("tofacitinib 11 MG 24HR Extended Release Oral Tablet", days_ago, 11, 1, rxnorm="1741046",
               draft=draft, oid="tofa-xr")


def dated(p, days_ago):
    return {**p, "onsetDateTime": when(days_ago)}


# --- hCG -------------------------------------------------------------------------------------


def test_positive_quantitative_hcg_at_a_new_start_is_a_warning_with_the_label_text():
    f, card = card_of(record(drafts=[tofa(0, draft=True)], labs=[lab(HCG_QUANT, 5, 250, "mIU/mL")]))
    assert card["indicator"] == "warning" and f.variant == "default"
    assert card["summary"].startswith("hCG 250 IU/L on 2026-01-10:") and len(card["summary"]) < 140
    detail = card["detail"]
    assert "USPI 8.1" in detail and "fetocidal and teratogenic" in detail and "1-877-311-8972" in detail
    assert "Before starting tofacitinib" in detail
    assert "18 hours after the last dose" in detail and "USPI 8.3" in detail and "4 weeks" in detail
    assert card["source"]["label"] == cards.evidence()["USPI"].label
    codes = {r["code"] for r in card["overrideReasons"]}
    assert codes == {"pregnancy-excluded", "obstetric-decision"}


@pytest.mark.parametrize("value, unit, fires", [
    (5.1, "mIU/mL", True), (5, "mIU/mL", False), (5, "IU/L", False), (0.006, "IU/mL", True),
    (3, "mIU/mL", False), (12, None, False), (12, "pmol/L", False),
])
def test_quantitative_hcg_is_positive_above_5_iu_per_litre(value, unit, fires):
    rec = record(meds=[tofa()], labs=[lab(HCG_QUANT, 3, value, unit)])
    assert bool(findings(rec)) is fires


def test_below_the_assay_limit_is_negative_and_a_lower_bound_under_5_decides_nothing():
    assert findings(record(meds=[tofa()], labs=[lab(HCG_QUANT, 3, 5, "mIU/mL", comparator="<")])) == []
    assert findings(record(meds=[tofa()], labs=[lab(HCG_QUANT, 3, 2, "mIU/mL", comparator=">")])) == []
    assert findings(record(meds=[tofa()], labs=[lab(HCG_QUANT, 3, 1000, "mIU/mL", comparator=">")]))


@pytest.mark.parametrize("code", [HCG_SERUM, HCG_URINE])
def test_qualitative_hcg_positive_fires_negative_does_not(code):
    f, card = card_of(record(meds=[tofa()], labs=[lab(code, 2, text="positive")]))
    assert card["summary"].startswith("Positive hCG on 2026-01-13")
    assert "Review whether to continue tofacitinib" in card["detail"]
    assert findings(record(meds=[tofa()], labs=[lab(code, 2, text="negative")])) == []
    assert findings(record(meds=[tofa()], labs=[lab(code, 2, text="indeterminate")])) == []


@pytest.mark.parametrize("days, fires", [(30, True), (31, False), (40, False)])
def test_a_positive_hcg_counts_within_30_days_only(days, fires):
    assert bool(findings(record(meds=[tofa()], labs=[lab(HCG_QUANT, days, 900, "mIU/mL")]))) is fires


def test_the_window_and_threshold_are_configuration():
    th = replace(TH, hcg_lookback_days=60, hcg_positive_above_iu_l=25)
    assert findings(record(meds=[tofa()], labs=[lab(HCG_QUANT, 40, 900, "mIU/mL")]), th)
    assert findings(record(meds=[tofa()], labs=[lab(HCG_QUANT, 3, 20, "mIU/mL")]), th) == []


def test_a_newer_negative_hcg_supersedes_an_older_positive():
    rec = record(meds=[tofa()], labs=[lab(HCG_QUANT, 20, 120, "mIU/mL"), lab(HCG_URINE, 2, text="negative")])
    assert findings(rec) == []
    newer_positive = record(meds=[tofa()], labs=[lab(HCG_URINE, 20, text="negative"), lab(HCG_QUANT, 2, 60, "mIU/mL")])
    assert findings(newer_positive)


def test_a_preliminary_hcg_is_labelled():
    _, card = card_of(record(meds=[tofa()], labs=[lab(HCG_QUANT, 1, 80, "mIU/mL", status="preliminary")]))
    assert "(preliminary)" in card["detail"]


# --- pregnancy status (82810-3) ----------------------------------------------------------------


@pytest.mark.parametrize("obs", [
    status(10, "77386006", "Pregnant"), status(10, "LA15173-0", "Pregnant"), status(10, text="Pregnant"),
    status(10, text="Yes"),
])
def test_pregnancy_status_pregnant_fires(obs):
    _, card = card_of(record(meds=[tofa()], labs=[obs]))
    assert card["summary"].startswith("Pregnancy status '") and "on 2026-01-05" in card["summary"]


@pytest.mark.parametrize("obs", [
    status(10, "60001007", "Not pregnant"), status(10, "LA26683-5", "Not pregnant"), status(10, text="not pregnant"),
    status(10, "LA4489-6", "Unknown"), status(10, "102874004", "Possible pregnancy"), status(10, text="No"),
])
def test_pregnancy_status_not_pregnant_or_unknown_does_not_fire(obs):
    assert findings(record(meds=[tofa()], labs=[obs])) == []


def test_a_newer_not_pregnant_status_supersedes_an_older_pregnant_one_and_a_positive_hcg():
    labs = [status(200, "77386006", "Pregnant", oid="s1"), lab(HCG_QUANT, 20, 300, "mIU/mL"),
            status(5, "60001007", "Not pregnant", oid="s2")]
    assert findings(record(meds=[tofa()], labs=labs)) == []


def test_a_positive_hcg_newer_than_not_pregnant_fires():
    labs = [status(40, "60001007", "Not pregnant"), lab(HCG_SERUM, 3, text="positive")]
    _, card = card_of(record(meds=[tofa()], labs=labs))
    assert "Positive hCG" in card["summary"] and "Not pregnant" in card["detail"]


# --- Conditions --------------------------------------------------------------------------------


@pytest.mark.parametrize("code, text", [
    ("O09.90", "Supervision of high risk pregnancy, unspecified, unspecified trimester"),  # supervision alone
    ("Z33.1", "Pregnant state, incidental"), ("O26.891", "Other specified pregnancy related conditions"),
    (None, "Pregnant"),  # text only
])
def test_an_active_pregnancy_condition_fires(code, text):
    f, card = card_of(record(meds=[tofa()], conditions=[dated(problem(code, text), 60)]))
    assert f.variant == "default" and card["summary"].startswith("Pregnancy (")
    assert text in card["detail"]


@pytest.mark.parametrize("clinical", ["resolved", "inactive", "remission"])
def test_a_resolved_pregnancy_condition_never_fires(clinical):
    assert findings(record(meds=[tofa()], conditions=[problem("Z33.1", "Pregnant state", clinical=clinical)])) == []


def test_a_condition_with_a_newer_negative_test_fires_and_names_the_test():
    rec = record(meds=[tofa()], conditions=[dated(problem("Z33.1", "Pregnant state, incidental"), 90)],
                 labs=[lab(HCG_URINE, 3, text="negative")])
    _, card = card_of(rec)
    assert "Newer on record: hCG (2106-3): Negative on 2026-01-12" in card["detail"]
    assert "resolve the Condition" in card["detail"]


def test_an_older_negative_test_is_not_called_newer():
    rec = record(meds=[tofa()], conditions=[dated(problem("Z33.1", "Pregnant state, incidental"), 10)],
                 labs=[lab(HCG_URINE, 90, text="negative")])
    assert "Newer on record" not in card_of(rec)[1]["detail"]


# --- lactation and XR --------------------------------------------------------------------------


def test_lactation_on_xr_says_36_hours():
    f, card = card_of(record(meds=[xr()], conditions=[dated(problem("Z39.1", "Lactating mother"), 30)]))
    assert f.variant == "lactation"
    assert "36 h after the last dose" in card["summary"] and len(card["summary"]) < 140
    assert "36 hours after the last dose of tofacitinib XR" in card["detail"]
    assert {r["code"] for r in card["overrideReasons"]} == {"not-breastfeeding", "obstetric-decision"}


def test_lactation_on_immediate_release_says_18_hours():
    _, card = card_of(record(meds=[tofa()], conditions=[problem("Z39.1", "Lactating mother")]))
    assert "18 h after the last dose" in card["summary"] and "18 hours after the last dose" in card["detail"]


def test_an_xr_draft_on_active_immediate_release_names_both():
    rec = record(meds=[tofa()], drafts=[xr(0, draft=True)], conditions=[problem("Z39.1", "Lactating mother")])
    assert "36 hours after the last XR dose (18 hours after the last immediate-release dose)" in card_of(rec)[1]["detail"]


def test_lactation_by_snomed_and_by_text():
    snomed = problem(None, "Mother currently breast-feeding",
                     codings=[(SNOMED, "169750002", "Mother currently breast-feeding")])
    assert findings(record(meds=[tofa()], conditions=[snomed]))
    assert findings(record(meds=[tofa()], conditions=[problem(None, "Breastfeeding")]))
    assert findings(record(meds=[tofa()], conditions=[problem(None, "Not breastfeeding")])) == []


def test_pregnant_and_lactating_is_one_card_with_every_reason():
    rec = record(meds=[tofa()], conditions=[problem("Z39.1", "Lactating mother")], labs=[lab(HCG_SERUM, 2, text="positive")])
    f, card = card_of(rec)
    assert f.variant == "pregnancy-and-lactation" and len(card["summary"]) < 140
    assert {r["code"] for r in card["overrideReasons"]} == {"pregnancy-excluded", "not-breastfeeding", "obstetric-decision"}


# --- teratogens --------------------------------------------------------------------------------


def test_pregnant_with_mycophenolate_names_it_as_teratogenic():
    myco = med("mycophenolate mofetil 500 MG Oral Tablet", 60, 1000, 2, oid="myco")
    _, card = card_of(record(meds=[tofa(), myco], conditions=[problem("O09.90", "Supervision of high risk pregnancy")]))
    assert "**Also current:** mycophenolate (mycophenolate mofetil 500 MG Oral Tablet, active order)" in card["detail"]
    assert "Mycophenolate is teratogenic: review with the prescriber and obstetrics now." in card["detail"]
    assert "Cyclophosphamide" not in card["detail"]


def test_cyclophosphamide_given_in_the_last_30_days_is_named_tacrolimus_is_not():
    cyc = med("cyclophosphamide 1000 MG infusion", 20, status="completed", oid="cyc")
    tac = med("tacrolimus 1 MG Oral Capsule", 60, 2, 2, oid="tac")
    _, card = card_of(record(meds=[tofa(), cyc, tac], labs=[lab(HCG_SERUM, 2, text="positive")]))
    assert "cyclophosphamide (cyclophosphamide 1000 MG infusion, completed order" in card["detail"]
    assert "tacrolimus" not in card["detail"]
    assert "Cyclophosphamide is teratogenic" in card["detail"]


def test_lactating_with_both_teratogens_names_both_for_contraception():
    cyc = med("cyclophosphamide 1000 MG infusion", 10, status="completed", oid="cyc")
    myco = med("mycophenolate mofetil 500 MG Oral Tablet", 60, 1000, 2, oid="myco")
    _, card = card_of(record(meds=[tofa(), cyc, myco], conditions=[problem("Z39.1", "Lactating mother")]))
    assert "Mycophenolate and cyclophosphamide are teratogenic: effective contraception matters for them too." in card["detail"]


# --- never fires -------------------------------------------------------------------------------


def test_male_sex_never_fires():
    rec = record(meds=[tofa()], conditions=[problem("Z33.1", "Pregnant state")], labs=[lab(HCG_QUANT, 2, 500, "mIU/mL")])
    assert findings(replace(rec, sex="male")) == []
    assert findings(replace(rec, sex=None))  # unknown sex: the data decide


def test_outside_tofacitinib_context_nothing_fires():
    rec = record(conditions=[problem("Z33.1", "Pregnant state")], labs=[lab(HCG_QUANT, 2, 500, "mIU/mL")])
    assert findings(rec) == []


def test_nothing_on_record_nothing_fires():
    assert findings(record(meds=[tofa()], labs=[lab(HCG_URINE, 2, text="negative")])) == []
