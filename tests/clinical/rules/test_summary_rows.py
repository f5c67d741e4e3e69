"""safety-summary (revision 2): creatinine with CLcr / eGFR and AST rows; "repeat now" for a critical result."""

import re

from cdshooks import cards
from cdshooks.clinical.rules import summary
from cdshooks.clinical.thresholds import DEFAULT_THRESHOLDS as TH
from tests.clinical.records import code_of, lab, record, tofa

CMV_ND = lab("72493-0", 5, text="not detected")
WEIGHT = lab("29463-7", 20, 62, "kg")
ON_THERAPY = [CMV_ND, lab("731-0", 10, 1.4, "10*3/uL"), lab("751-8", 10, 4.2, "10*3/uL"),
              lab("718-7", 10, 12.8, "g/dL"), lab("1742-6", 10, 24, "U/L"), lab("1920-8", 10, 22, "U/L"),
              lab("2160-0", 10, 0.7, "mg/dL"), WEIGHT]
REPEAT = "repeat now (see the critical card)"


def card_for(labs_):
    (f,) = summary.safety_summary(record(meds=[tofa(120)], labs=labs_), TH)
    return cards.render_card(f)


def due_cell(card, test):
    m = re.search(rf"^\| {re.escape(test)} \| (.+?) \|$", card["detail"], re.M)
    assert m, (test, card["detail"])
    return m.group(1)


def test_creatinine_with_cockcroft_gault_and_ast_rows():
    card = card_for(ON_THERAPY)
    assert "| Creatinine | 0.7 mg/dL |" in card["detail"]
    assert "| CLcr (Cockcroft-Gault) | 100.4 mL/min |" in card["detail"]  # (140-44) x 62 / (72 x 0.7) x 0.85
    assert "| AST | 22 U/L |" in card["detail"]


def test_egfr_approximation_without_weight():
    labs_ = [r for r in ON_THERAPY if r is not WEIGHT] + [lab("98979-8", 10, 95, "mL/min/{1.73_m2}")]
    assert "| eGFR (approximation) | 95 " in card_for(labs_)["detail"]


def test_nothing_critical_every_due_entry_is_a_date():
    card = card_for(ON_THERAPY)
    assert REPEAT not in card["detail"] and REPEAT not in card["summary"]
    assert re.fullmatch(r"(overdue since )?\d{4}-\d\d-\d\d", due_cell(card, "CBC: absolute lymphocytes"))


def test_critical_alc_reads_repeat_now_and_leads_the_summary():
    labs_ = [r for r in ON_THERAPY if code_of(r) != "731-0"] + [lab("731-0", 2, 0.4, "10*3/uL")]
    card = card_for(labs_)
    assert due_cell(card, "CBC: absolute lymphocytes") == REPEAT
    assert re.fullmatch(r"\d{4}-\d\d-\d\d", due_cell(card, "CBC: absolute neutrophils"))
    assert "next due: CBC: absolute lymphocytes repeat now" in card["summary"] and len(card["summary"]) < 140


def test_critical_anc_and_cmv_read_repeat_now():
    labs_ = [r for r in ON_THERAPY if code_of(r) not in ("751-8", "72493-0")]
    labs_ += [lab("751-8", 2, 400, "/uL"), lab("72493-0", 3, 2400, "[IU]/mL")]
    card = card_for(labs_)
    assert due_cell(card, "CBC: absolute neutrophils") == REPEAT
    assert due_cell(card, "CMV PCR") == REPEAT


def test_alc_of_exactly_500_is_not_critical():
    labs_ = [r for r in ON_THERAPY if code_of(r) != "731-0"] + [lab("731-0", 2, 0.5, "10*3/uL")]
    assert REPEAT not in card_for(labs_)["detail"]
