"""Cockcroft-Gault, the eGFR approximation, renal conditions, and units via the shared units module."""

import pytest

from cdshooks.clinical import renal
from cdshooks.clinical.thresholds import DEFAULT_THRESHOLDS as T
from tests import fixturekit as k
from tests.clinical.dose_kit import record


def test_cockcroft_gault_worked_example():
    # 44-year-old woman, 62 kg, creatinine 2.0 mg/dL:
    # (140 - 44) x 62 / (72 x 2.0) = 5952 / 144 = 41.33; x 0.85 (female) = 35.13 mL/min
    assert renal.cockcroft_gault(44, 62, 2.0, female=True) == pytest.approx(35.13, abs=0.01)
    assert renal.cockcroft_gault(44, 62, 2.0, female=False) == pytest.approx(41.33, abs=0.01)


def test_cockcroft_gault_rejects_non_positive_inputs():
    with pytest.raises(ValueError):
        renal.cockcroft_gault(44, 62, 0, female=True)


def _with(*extra, drop=()):
    return k.without(k.base_resources(), *drop) + list(extra)


def test_base_patient_is_normal():
    rf = renal.assess(record(), T)
    assert rf.method == renal.COCKCROFT_GAULT and rf.value == pytest.approx(100.4, abs=0.1)
    assert not rf.impaired(T)


def test_umol_creatinine_and_lb_weight_are_normalized_by_the_units_module():
    res = _with(
        k.observation("c", "2160-0", 180, "umol/L", 3),
        k.observation("w", "29463-7", 136.7, "lb", 3, ucum="[lb_av]"),
        drop=("o-creat", "o-weight"),
    )
    rf = renal.assess(record(res), T)
    # 180 / 88.4 = 2.036 mg/dL; 136.7 lb = 62.0 kg -> (96 x 62.0) / (72 x 2.036) x 0.85 = 34.5
    assert rf.value == pytest.approx(34.5, abs=0.2)
    assert rf.impaired(T)
    assert any("reported 180 umol/L" in i for i in rf.inputs)


def test_normal_creatinine_in_umol_does_not_fire():
    rf = renal.assess(record(_with(k.observation("c", "2160-0", 62, "umol/L", 3), drop=("o-creat",))), T)
    assert rf.value > 50 and not rf.impaired(T)


def test_old_creatinine_is_not_used_and_egfr_is_the_labelled_approximation():
    res = _with(
        k.observation("c", "2160-0", 3.0, "mg/dL", 120),  # outside 90 days
        k.observation("e", "98979-8", 44, "mL/min/1.73m2", 5, ucum="mL/min/{1.73_m2}"),
        drop=("o-creat", "o-egfr"),
    )
    rf = renal.assess(record(res), T)
    assert rf.method == renal.EGFR_APPROXIMATION and rf.value == 44
    assert any("creatinine" in m for m in rf.missing)
    assert rf.impaired(T)


def test_missing_weight_uses_egfr():
    res = _with(k.observation("e", "98979-8", 55, "mL/min/1.73m2", 5, ucum="mL/min/{1.73_m2}"), drop=("o-weight", "o-egfr"))
    rf = renal.assess(record(res), T)
    assert rf.method == renal.EGFR_APPROXIMATION and not rf.impaired(T)
    assert any("weight" in m for m in rf.missing)


def test_unknown_sex_cannot_use_cockcroft_gault():
    rf = renal.assess(record(sex="unknown"), T)
    assert rf.method == renal.EGFR_APPROXIMATION and "sex" in rf.missing


def test_nothing_measured_and_no_condition_is_silent():
    rf = renal.assess(record(k.without(k.base_resources(), "o-creat", "o-egfr")), T)
    assert rf.value is None and not rf.impaired(T)


@pytest.mark.parametrize(
    "icd, snomed, text, severe, dialysis",
    [
        ("N18.4", None, "CKD stage 4", False, False),
        ("N18.5", None, "CKD stage 5", False, False),
        (None, "46177005", "End-stage renal disease", True, False),
        ("Z49.01", None, "Encounter for dialysis", True, True),
        ("Z99.2", None, "Dependence on renal dialysis", True, True),
        (None, None, "on hemodialysis MWF", True, True),
    ],
)
def test_renal_conditions(icd, snomed, text, severe, dialysis):
    rf = renal.assess(record(_with(k.condition("ckd", text, icd, snomed))), T)
    assert rf.impaired(T) and rf.severe is severe and rf.dialysis is dialysis


def test_ckd_stage_3_does_not_count():
    rf = renal.assess(record(_with(k.condition("ckd", "CKD stage 3a", "N18.31"))), T)
    assert not rf.impaired(T)
