"""Daily dose from the sigs and units real EHRs send (Epic / Cerner shapes): read right, or not at all."""

import pytest

from cdshooks.clinical.dosing.daily_dose import daily_dose
from cdshooks.data.record import MedicationOrder


def order(*instructions):
    return MedicationOrder(
        id="m1", status="draft", intent="order", authored_on=None, codings=(), names=("x",),
        dosage_instructions=tuple(instructions), is_draft=True,
    )


@pytest.mark.parametrize(
    "text, strength, expected",
    [
        # two times of day are two administrations, not "every morning" = once
        ("5 mg every morning and evening", None, 10),
        ("5 mg in the morning and at bedtime", None, 10),
        ("5 mg every morning and every evening", None, 10),
        # Epic's standard sig: "2 (two) times"
        ("Take 5 mg by mouth 2 (two) times a day.", None, 10),
        ("Take 1 tablet (5 mg total) by mouth 2 (two) times daily.", 5, 10),
        # a fraction of a tablet is a fraction, never the denominator
        ("take 1/2 tab BID", 10, 10),
        ("0.5 tablet twice daily", 10, 10),
    ],
)
def test_ehr_sig_text(text, strength, expected):
    r = daily_dose(order({"text": text}), strength)
    assert r.mg_per_day == pytest.approx(expected), r


@pytest.mark.parametrize(
    "text",
    [
        "1-2 tabs BID",  # a range of tablets is not one dose
        "1 to 2 tablets twice daily",
        "1 or 2 tablets twice daily",
        "5-10 mg twice daily",
    ],
)
def test_ranges_in_text_are_not_read_as_their_high_end(text):
    r = daily_dose(order({"text": text}), 5)
    assert r.mg_per_day is None and r.problem, r


@pytest.mark.parametrize("unit", ["tablet(s)", "Tablet(s)", "tab(s)", "TAB", "tabs", "{tbl}", "Tablet"])
def test_tablet_unit_spellings(unit):
    r = daily_dose(order({
        "doseAndRate": [{"type": {"text": "ordered"}, "doseQuantity": {"value": 1, "unit": unit}}],
        "timing": {"repeat": {"frequency": 2, "period": 1, "periodUnit": "d"}},
    }), 5)
    assert r.mg_per_day == 10, r


def test_timing_code_with_local_code_and_display_bid():
    """Cerner-style timing.code: a local code whose display is the abbreviation."""
    r = daily_dose(order({
        "doseAndRate": [{"doseQuantity": {"value": 5, "unit": "mg"}}],
        "timing": {"code": {"coding": [{"system": "urn:oid:1.2.3.4", "code": "696530", "display": "BID"}]}},
    }))
    assert r.mg_per_day == 10, r
