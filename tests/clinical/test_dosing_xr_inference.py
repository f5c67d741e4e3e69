"""XR or IR when the order does not code the product: the strength decides (11/22 mg exist only as XR)."""

import pytest

from cdshooks.clinical.dosing import regimens
from cdshooks.clinical.thresholds import DEFAULT_THRESHOLDS
from cdshooks.data.record import MedicationOrder


def order(name, text):
    return MedicationOrder(
        id="m1", status="draft", intent="order", authored_on=None, codings=(), names=(name,),
        dosage_instructions=({"text": text},), is_draft=True,
    )


@pytest.mark.parametrize(
    "name, text",
    [
        ("Xeljanz 11 mg tablet", "1 tablet daily"),  # no XR marker, but 11 mg exists only as XR
        ("tofacitinib", "11 mg daily"),  # ingredient only, an 11 mg once-daily dose
        ("tofacitinib", "Take 11 mg by mouth once daily"),
    ],
)
def test_11_mg_once_daily_is_xr_and_standard_dose(name, text):
    dose = regimens.read(order(name, text))
    assert dose.product.extended_release, dose
    assert dose.ir_equivalent_mg_day == pytest.approx(10)
    assert regimens.band(dose.ir_equivalent_mg_day, DEFAULT_THRESHOLDS) == "guidance"


def test_22_mg_strength_without_marker_is_xr_escalation():
    dose = regimens.read(order("tofacitinib 22 mg tablet", "1 tablet once daily"))
    assert dose.product.extended_release and dose.ir_equivalent_mg_day == pytest.approx(20)


def test_er_in_unrelated_text_does_not_make_a_5_mg_tablet_xr():
    """"ER" is an XR marker, but there is no 5 mg extended-release tablet: 5 mg BID is 10 mg/day."""
    dose = regimens.read(order("tofacitinib 5 mg tablet (ER stock)", "5 mg twice daily"))
    assert not dose.product.extended_release
    assert dose.ir_equivalent_mg_day == pytest.approx(10)
    assert regimens.band(dose.ir_equivalent_mg_day, DEFAULT_THRESHOLDS) == "guidance"


def test_ir_doses_of_the_ingredient_stay_ir():
    dose = regimens.read(order("tofacitinib", "5 mg twice daily"))
    assert not dose.product.extended_release and dose.ir_equivalent_mg_day == 10
    sol = regimens.read(order("tofacitinib 1 mg/mL oral solution", "11 mL once daily"))
    assert sol.product.solution and not sol.product.extended_release
