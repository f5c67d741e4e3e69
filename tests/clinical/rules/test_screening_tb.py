"""screen-tb, revision 2 of clinical-rules.md: a positive IGRA/TST counts at any time."""

from cdshooks import cards
from cdshooks.clinical.rules import screening
from cdshooks.clinical.thresholds import DEFAULT_THRESHOLDS as TH
from tests.clinical.records import lab, med, record, tofa

DRAFT = tofa(0, draft=True)
FOUR_YEARS = 4 * 365 + 1


def run(rec):
    return list(screening.screen_tb(rec, TH))


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
    assert "IGRA positive on " in f.facts["positive"]


def test_an_old_positive_with_ltbi_treatment_back_then_is_silent():
    labs_ = [lab("71773-6", FOUR_YEARS, text="positive"), lab("71773-6", 60, text="negative")]
    inh = med("isoniazid 300 MG Oral Tablet", FOUR_YEARS - 30, 300, status="completed")
    assert run(record(drafts=[DRAFT], labs=labs_, meds=[inh])) == []
