"""Sigs: any number spelled out after its digits is ignored; only the first 1,000 characters are read, and the reading says so."""

import re

import pytest

from cdshooks.clinical.dosing import sig_text as dose_text
from cdshooks.clinical.dosing.daily_dose import daily_dose
from cdshooks.data.record import MedicationOrder


def order(*instructions):
    return MedicationOrder(
        id="m1", status="draft", intent="order", authored_on=None, codings=(), names=("x",),
        dosage_instructions=tuple(instructions), is_draft=True,
    )


@pytest.mark.parametrize(
    ("text", "mg"),
    [
        ("Take 5 mg by mouth every 12 (twelve) hours", 10),
        ("Take 5 mg by mouth every 24 (twenty-four) hours", 5),
        ("Take 5 mg every 24 (twenty four) hours", 5),
        ("Take 1 (one) tablet by mouth 2 (two) times daily", 10),
        ("Take 1 (One) tablet by mouth 3 (THREE) times daily", 15),
        ("Take 5 mg by mouth every 8 (eight)  hours", 15),
    ],
)
def test_parenthesised_number_words_after_digits(text, mg):
    assert daily_dose(order({"text": text}), 5).mg_per_day == mg


def test_words_in_parentheses_that_are_not_a_number_stay():
    assert dose_text.without_spelled_numbers("2 (tablets) daily") == "2 (tablets) daily"


def test_only_the_first_1000_characters_are_read_and_the_basis_says_so():
    padding = "x" * (dose_text.MAX_SIG_CHARS + 10)
    cut = daily_dose(order({"text": "5 mg twice daily " + padding}))
    assert cut.mg_per_day == 10 and "first 1,000 characters" in cut.basis
    late = daily_dose(order({"text": padding + " 5 mg twice daily"}))
    assert late.mg_per_day is None and "first 1,000 characters" in late.basis


def test_patterns_use_only_bounded_quantifiers():
    # linear-time by construction: no unbounded * or + anywhere but the blank-collapsing \s+
    patterns = [p.pattern for p, _ in dose_text._FREQUENCY_PATTERNS]
    patterns += [dose_text._DOSE.pattern, dose_text._DOSE_RANGE.pattern, dose_text._DIGITS_THEN_WORDS.pattern]
    for p in patterns:
        assert not re.search(r"(?<!\\)[*+]", p), p


def test_long_hostile_sigs_are_read_without_error():
    for text in ("1" * 5000, " " * 5000 + "x", "once" + " " * 5000, "2 (" + "a" * 5000, "every " * 1000):
        r = daily_dose(order({"text": text}))
        assert r.mg_per_day is None and r.problem
