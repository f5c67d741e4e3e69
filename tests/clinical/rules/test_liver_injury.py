"""liver-injury: the newest ALT or AST within 90 days above 3 x the upper limit of normal (revision 2)."""


import pytest

from cdshooks import cards
from cdshooks.clinical.rules import lab_safety
from cdshooks.clinical.thresholds import DEFAULT_THRESHOLDS as TH
from tests.clinical.records import lab, record, tofa, with_range


def findings(rec):
    return list(lab_safety.liver_injury(rec, TH))


@pytest.mark.parametrize(
    "alt, high, fires",
    [
        (130, None, True),   # 3.25 x the default ULN 40 U/L
        (120, None, False),  # exactly 3 x: not above
        (80, None, False),   # 2 x ULN: the near miss
        (110, 35, True),     # 3.1 x the lab's own ULN 35
        (110, 56, False),    # 2 x the lab's own ULN 56
    ],
)
def test_alt_against_the_lab_uln_else_40(alt, high, fires):
    r = lab("1742-6", 5, alt, "U/L")
    if high is not None:
        r = with_range(r, high)
    assert bool(findings(record(meds=[tofa()], labs=[r]))) is fires


def test_ast_alone_fires_and_the_card_says_which_uln_was_used():
    ast = with_range(lab("1920-8", 3, 150, "U/L"), 40)
    alt = lab("1742-6", 3, 60, "U/L")
    [f] = findings(record(meds=[tofa()], labs=[ast, alt]))
    card = cards.render_card(f)
    assert f.variant == "on-therapy" and "AST 150 U/L (3.8 x ULN) on " in card["summary"]
    assert "ULN 40 U/L, the lab's reference range" in card["detail"] and "ALT" not in card["summary"]
    assert "interrupt tofacitinib if drug-induced liver injury is suspected" in card["detail"]
    [f2] = findings(record(meds=[tofa()], labs=[lab("1920-8", 3, 150, "U/L")]))
    assert "no reference range sent: the default" in cards.render_card(f2)["detail"]


def test_only_the_newest_within_90_days_counts():
    old_high, new_normal = lab("1742-6", 30, 300, "U/L"), lab("1742-6", 2, 35, "U/L")
    assert findings(record(meds=[tofa()], labs=[old_high, new_normal])) == []
    assert findings(record(meds=[tofa()], labs=[lab("1742-6", 91, 300, "U/L")])) == []


def test_new_start_says_investigate_before_starting_and_names_a_positive_hbv_marker():
    rec = record(drafts=[tofa(draft=True)], labs=[lab("1742-6", 5, 200, "U/L"), lab("16933-4", 100, text="positive")])
    [f] = findings(rec)
    card = cards.render_card(f)
    assert f.variant == "default" and "investigate before starting" in card["detail"]
    assert "check HBV DNA for reactivation" in card["detail"] and "positive on" in card["detail"]


def test_a_reference_range_in_another_unit_is_converted_or_ignored():
    # ukat/L is convertible for enzymes only when the unit library knows it; an unknown unit falls back to 40
    r = with_range(lab("1742-6", 5, 130, "U/L"), 2, "furlongs")
    [f] = findings(record(meds=[tofa()], labs=[r]))
    assert "the default" in cards.render_card(f)["detail"]


def test_outside_tofacitinib_context_nothing_fires():
    assert findings(record(labs=[lab("1742-6", 5, 300, "U/L")])) == []
