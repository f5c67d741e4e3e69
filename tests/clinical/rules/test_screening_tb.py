"""screen-tb, revision 2 of clinical-rules.md: a positive IGRA/TST counts at any time;
a TST of 5 mm or more is positive in the immunosuppressed."""

import pytest

from cdshooks import cards
from cdshooks.clinical.rules import screening
from cdshooks.clinical.thresholds import DEFAULT_THRESHOLDS as TH
from tests.clinical.records import ago, lab, med, record, tofa

DRAFT = tofa(0, draft=True)
FOUR_YEARS = 4 * 365 + 1


def run(rec):
    return list(screening.screen_tb(rec, TH))


def detail(f) -> str:
    return cards.render_card(f)["detail"]


def test_a_positive_igra_4_years_ago_is_still_positive():
    (f,) = run(record(drafts=[DRAFT], labs=[lab("71773-6", FOUR_YEARS, text="positive")]))
    assert f.variant == "untreated"
    card = cards.render_card(f)
    assert card["indicator"] == "critical"
    assert "suggestions" not in card  # never a repeat IGRA for a positive one


def test_a_newer_negative_igra_does_not_undo_an_old_positive_one():
    labs_ = [lab("71773-6", FOUR_YEARS, text="positive"), lab("71773-6", 60, text="negative")]
    (f,) = run(record(drafts=[DRAFT], labs=labs_))
    assert f.variant == "untreated"
    assert "- IGRA positive on " in detail(f)


def test_an_old_positive_with_ltbi_treatment_back_then_is_silent():
    labs_ = [lab("71773-6", FOUR_YEARS, text="positive"), lab("71773-6", 60, text="negative")]
    inh = med("isoniazid 300 MG Oral Tablet", FOUR_YEARS - 30, 300, status="completed")
    assert run(record(drafts=[DRAFT], labs=labs_, meds=[inh])) == []


def tst(days_ago=30, **value):
    """A TST Observation as EHRs send it: no LOINC code, the test named in code.text."""
    return {
        "resourceType": "Observation", "id": "tst", "status": "final",
        "code": {"text": "Tuberculin skin test (PPD) induration"},
        "effectiveDateTime": ago(days_ago).isoformat(), **value,
    }


@pytest.mark.parametrize(
    "value",
    [
        {"valueQuantity": {"value": 7, "unit": "mm", "system": "http://unitsofmeasure.org", "code": "mm"}},
        {"valueQuantity": {"value": 7, "unit": "[mm]"}},
        {"valueQuantity": {"value": 7}},  # no unit: a TST is read in mm
        {"valueInteger": 7},
        {"valueString": "7 mm"},
        {"valueString": "7 mm induration"},
        {"valueString": "Positive, 12 mm"},
        {"valueQuantity": {"value": 5, "unit": "mm"}},  # the cut-off itself is positive
    ],
    ids=["ucum-mm", "bracket-mm", "quantity-no-unit", "integer", "string-7-mm", "string-induration",
         "string-positive-12-mm", "exactly-5-mm"],
)
def test_a_tst_of_5_mm_or_more_is_positive(value):
    (f,) = run(record(drafts=[DRAFT], labs=[tst(**value)]))
    assert f.variant == "untreated"
    assert "- TST " in detail(f) and "mm induration" in detail(f)


def test_a_tst_of_7_mm_read_as_negative_with_another_cut_off_is_still_positive():
    reading = tst(valueQuantity={"value": 7, "unit": "mm"},
                  interpretation=[{"coding": [{"code": "NEG"}]}])
    (f,) = run(record(drafts=[DRAFT], labs=[reading]))
    assert f.variant == "untreated"
    assert "reported as negative; 5 mm counts as positive" in detail(f)


@pytest.mark.parametrize(
    "value",
    [{"valueQuantity": {"value": 4, "unit": "mm"}}, {"valueString": "4 mm"}, {"valueInteger": 0},
     {"valueString": "<5 mm"}],
    ids=["4-mm", "string-4-mm", "0", "below-5"],
)
def test_a_tst_under_5_mm_is_a_negative_screen(value):
    assert run(record(drafts=[DRAFT], labs=[tst(**value)])) == []  # a result: no card, no repeat order


def test_a_tst_under_5_mm_read_as_positive_stays_positive():
    reading = tst(valueQuantity={"value": 4, "unit": "mm"}, interpretation=[{"coding": [{"code": "POS"}]}])
    assert run(record(drafts=[DRAFT], labs=[reading]))[0].variant == "untreated"


def test_a_tst_over_a_year_old_under_5_mm_is_no_screen():
    (f,) = run(record(drafts=[DRAFT], labs=[tst(400, valueInteger=4)]))
    assert f.variant == "default" and "Newest IGRA/TST: TST 4 mm induration" in detail(f)


def test_the_untreated_card_asks_for_1_month_of_treatment_and_never_a_repeat_igra():
    (f,) = run(record(drafts=[DRAFT], labs=[lab("71773-6", 60, text="positive")]))
    card = cards.render_card(f)
    assert "treat latent TB for at least 1 month before starting" in card["summary"]
    assert len(card["summary"]) < 140
    assert "a repeat IGRA is not the answer to a positive one" in card["detail"]
    assert "rifampin and rifapentine are CYP3A4 inducers" in card["detail"]
    assert "suggestions" not in card


def test_the_untreated_card_offers_the_coded_override_ltbi_treated_documented_elsewhere():
    (f,) = run(record(drafts=[DRAFT], labs=[lab("71773-6", 60, text="positive")]))
    reasons = cards.render_card(f)["overrideReasons"]
    assert {"system": "urn:tofacitinib-cds:override-reason", "code": "ltbi-treated-elsewhere",
            "display": "LTBI treated, documented elsewhere"} in reasons
    assert "screened-elsewhere" not in [r["code"] for r in reasons]  # the test is on record: not "screening"


def test_treatment_started_too_recently_names_the_day_tofacitinib_can_start():
    pos = lab("71773-6", 60, text="positive")
    inh = med("isoniazid 300 MG Oral Tablet", 10, 300)
    (f,) = run(record(drafts=[DRAFT], labs=[pos], meds=[inh]))
    detail = cards.render_card(f)["detail"]
    assert "isoniazid 300 MG Oral Tablet (ordered 2026-01-05, active)" in detail
    assert "tofacitinib can start from 2026-02-02" in detail  # 28 days after the order
    stopped = med("isoniazid 300 MG Oral Tablet", 10, 300, status="completed")  # stopped early: no date
    (f,) = run(record(drafts=[DRAFT], labs=[pos], meds=[stopped]))
    assert "can start from" not in cards.render_card(f)["detail"]


def test_an_indeterminate_igra_still_asks_for_a_repeat_and_a_positive_one_never_does():
    (f,) = run(record(drafts=[DRAFT], labs=[lab("71773-6", 30, text="indeterminate")]))
    card = cards.render_card(f)
    assert f.variant == "indeterminate" and "repeat IGRA" in card["summary"]
    assert [a["resource"]["code"]["coding"][0]["code"] for s in card["suggestions"] for a in s["actions"]] == [
        "71773-6"]
    # an older positive one wins over a newer indeterminate one: treat, do not repeat
    labs_ = [lab("71773-6", 30, text="indeterminate"), lab("71773-6", FOUR_YEARS, text="positive")]
    (f,) = run(record(drafts=[DRAFT], labs=labs_))
    assert f.variant == "untreated" and not f.suggestions


def test_a_tst_without_a_unit_says_it_was_read_as_mm():
    (f,) = run(record(drafts=[DRAFT], labs=[tst(valueInteger=7)]))
    assert "TST 7 mm induration (no unit reported: a TST is read in mm) on " in detail(f)
    (f,) = run(record(drafts=[DRAFT], labs=[tst(valueQuantity={"value": 7, "unit": "mm"})]))
    assert "no unit reported" not in detail(f)
