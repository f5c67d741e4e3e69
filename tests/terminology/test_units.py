"""Unit normalization: every spelling terminology.md lists, and the ones labs send."""

import math

import pytest

from cdshooks.terminology.units import (
    COPIES_ML,
    COUNT,
    IU_ML,
    Measurement,
    cells_per_ul,
    to_canonical,
)

ALC = "lymphocytes-absolute"


@pytest.mark.parametrize(
    "value, unit, expected_count",
    [
        (1.2, "10*3/uL", 1.2),
        (1.2, "10^3/uL", 1.2),
        (1.2, "x10^3/uL", 1.2),
        (1.2, "K/uL", 1.2),
        (1.2, "k/µL", 1.2),
        (1.2, "thou/uL", 1.2),
        (1.2, "10*9/L", 1.2),
        (1.2, "x10^9/L", 1.2),
        (1.2, "x10E9/L", 1.2),
        (1.2, "10^9/L", 1.2),
        (450, "cells/uL", 0.45),
        (450, "cells/µL", 0.45),
        (450, "cells/mm3", 0.45),
        (450, "/mm3", 0.45),
        (450, "/uL", 0.45),
        (450, "{cells}/uL", 0.45),
    ],
)
def test_cell_counts_to_thousands_per_ul(value, unit, expected_count):
    m = to_canonical(ALC, value, unit)
    assert m is not None and m.unit == COUNT
    assert m.value == pytest.approx(expected_count)


def test_cells_per_ul_is_the_threshold_unit():
    assert cells_per_ul(to_canonical(ALC, 450, "cells/uL")) == pytest.approx(450)
    assert cells_per_ul(to_canonical(ALC, 0.45, "10*3/uL")) == pytest.approx(450)
    assert cells_per_ul(None) is None
    assert cells_per_ul(Measurement(12, "g/dL")) is None


def test_ucum_code_wins_over_free_text():
    m = to_canonical(ALC, 450, "lymphs", "/uL")
    assert m == Measurement(pytest.approx(0.45), COUNT)


def test_count_from_ucum_library_for_codes_not_in_the_table():
    # 10*6/mL = 10*3/uL ... not in the spelling table: the UCUM library converts it.
    m = to_canonical("neutrophils-absolute", 2.0, None, "10*6/mL")
    assert m is not None and m.value == pytest.approx(2.0) and m.unit == COUNT


@pytest.mark.parametrize(
    "value, unit, expected",
    [(12.5, "g/dL", 12.5), (125, "g/L", 12.5), (7.76, "mmol/L", 12.501), (12.5, "g/dl", 12.5)],
)
def test_hemoglobin(value, unit, expected):
    m = to_canonical("hemoglobin", value, unit)
    assert m.unit == "g/dL"
    assert m.value == pytest.approx(expected, rel=1e-3)


@pytest.mark.parametrize(
    "value, unit, expected",
    [(0.9, "mg/dL", 0.9), (88.4, "umol/L", 1.0), (88.4, "µmol/L", 1.0), (88.4, "μmol/L", 1.0),
     (0.0884, "mmol/L", 1.0), (9, "mg/L", 0.9)],
)
def test_creatinine(value, unit, expected):
    m = to_canonical("creatinine", value, unit)
    assert m.unit == "mg/dL"
    assert m.value == pytest.approx(expected)


@pytest.mark.parametrize(
    "unit", ["mL/min/{1.73_m2}", "mL/min/1.73m2", "mL/min/1.73 m2", "ml/min/1.73m^2", "mL/min/1.73_m2"]
)
def test_egfr_spellings(unit):
    assert to_canonical("egfr", 55, unit) == Measurement(55, "mL/min/{1.73_m2}")


def test_egfr_without_body_surface_is_not_an_egfr():
    assert to_canonical("egfr", 55, "mL/min") is None


@pytest.mark.parametrize(
    "value, unit, expected", [(62, "kg", 62), (150, "lb", 68.04), (150, "lbs", 68.04), (150, "[lb_av]", 68.04),
                              (62000, "g", 62)]
)
def test_weight(value, unit, expected):
    m = to_canonical("body-weight", value, unit)
    assert m.unit == "kg" and m.value == pytest.approx(expected, rel=1e-3)


@pytest.mark.parametrize("unit", ["U/L", "IU/L", "[IU]/L", "u/l"])
def test_enzymes(unit):
    assert to_canonical("alt", 40, unit) == Measurement(40, "U/L")


def test_enzyme_in_katal_via_ucum_library():
    m = to_canonical("ast", 1, None, "ukat/L")
    assert m is not None and m.value == pytest.approx(60)


@pytest.mark.parametrize(
    "value, unit, code, expected",
    [
        (1200, "IU/mL", None, 1200),
        (1200, "IU/mL", "[IU]/mL", 1200),
        (3.2, "log IU/mL", None, 10**3.2),
        (3.2, "log10 IU/mL", None, 10**3.2),
        (3.2, "Log10 IU/mL", "{log_IU}/mL", 10**3.2),
        (3.2, "log(IU/mL)", None, 10**3.2),
        (3.2, "log IU/mL", "[IU]/mL", 10**3.2),  # a log marker in either field wins
        (1.2e6, "IU/L", None, 1200),
    ],
)
def test_cmv_iu(value, unit, code, expected):
    m = to_canonical("cmv-dna-quant", value, unit, code)
    assert m is not None and m.unit == IU_ML
    assert m.value == pytest.approx(expected)


@pytest.mark.parametrize("unit", ["copies/mL", "{copies}/mL", "cp/mL"])
def test_copies_are_kept_apart(unit):
    m = to_canonical("cmv-dna-quant", 2000, unit)
    assert m == Measurement(2000, COPIES_ML)


def test_log_copies():
    m = to_canonical("cmv-dna-copies", 3, "log copies/mL")
    assert m.unit == COPIES_ML and m.value == pytest.approx(1000)


def test_iu_under_a_copies_code_is_not_trusted():
    assert to_canonical("cmv-dna-copies", 2000, "IU/mL") is None


def test_implausible_log_value_is_rejected():
    assert to_canonical("cmv-dna-quant", 2000, "log IU/mL") is None


@pytest.mark.parametrize(
    "test, value, unit",
    [
        (ALC, 1.2, None),
        (ALC, 1.2, "%"),  # a lymphocyte percentage is not a count
        (ALC, 1.2, "[IU]/mL"),  # the library calls IU dimensionless: never trust it for counts
        ("hemoglobin", 12, "mg"),
        ("cmv-dna-quant", 500, "/mL"),  # could be copies: not comparable with IU
        ("cmv-dna-quant", 500, None),
        ("ldl", 3.1, "mmol/L"),  # no factor in terminology.md: not guessed
        ("hbsag", 1, "IU/mL"),  # a presence test has no canonical unit
        ("no-such-test", 1, "mg/dL"),
        (ALC, float("nan"), "10*3/uL"),
        ("creatinine", 1, "garbage!!"),
    ],
)
def test_unconvertible_values_are_none(test, value, unit):
    assert to_canonical(test, value, unit) is None


def test_results_are_finite():
    m = to_canonical("cmv-dna-quant", 9.5, "log10 IU/mL")
    assert math.isfinite(m.value)


# Review (issue 4): spellings real labs send that the table missed.
@pytest.mark.parametrize(
    "value, unit, expected_count",
    [
        (450, "cells/mcL", 0.45),  # US "mcL" for microlitre (Epic default)
        (1.2, "K/mcL", 1.2),
        (1.2, "10^3/mcL", 1.2),
        (1.2, "x10E3/mcL", 1.2),
        (1.2, "10³/µL", 1.2),  # superscript exponent
        (1.2, "10⁹/L", 1.2),
    ],
)
def test_lab_count_spellings_with_mcl_and_superscripts(value, unit, expected_count):
    m = to_canonical(ALC, value, unit)
    assert m is not None and m.unit == COUNT
    assert m.value == pytest.approx(expected_count)


@pytest.mark.parametrize("unit", ["micromol/L", "mcmol/L"])
def test_creatinine_micromol_spelled_out(unit):
    assert to_canonical("creatinine", 88.4, unit).value == pytest.approx(1.0)


@pytest.mark.parametrize("code", ["µkat/L", "μkat/L"])
def test_katal_with_micro_sign_variants(code):
    m = to_canonical("alt", 0.5, None, code)
    assert m is not None and m.value == pytest.approx(30)


@pytest.mark.parametrize("unit", ["{log_IU}/mL", "[log10'IU]/mL"])
def test_log_iu_ucum_annotation_alone(unit):
    m = to_canonical("cmv-dna-quant", 3.2, unit)
    assert m is not None and m.unit == IU_ML and m.value == pytest.approx(10**3.2)


@pytest.mark.parametrize("value, unit, expected", [(8, "%", 8), (8, "percent", 8), (0.08, "1", 8)])
def test_lymphocyte_percentage(value, unit, expected):
    m = to_canonical("lymphocytes-percent", value, unit)
    assert m is not None and m.unit == "%" and math.isclose(m.value, expected)


def test_a_lymphocyte_percentage_in_a_count_unit_is_not_a_percentage():
    assert to_canonical("lymphocytes-percent", 8, "10*3/uL") is None


@pytest.mark.parametrize(
    "value, unit, code, expected_mm",
    [(7, "mm", "mm", 7), (7, "millimeters", None, 7), (7, "[mm]", None, 7), (0.7, "cm", "cm", 7),
     (7, None, None, 7), (7, " ", None, 7)],
)
def test_tst_induration_in_mm_and_a_bare_number_is_mm(value, unit, code, expected_mm):
    assert to_canonical("tst", value, unit, code) == Measurement(pytest.approx(expected_mm), "mm")


def test_a_bare_number_is_not_given_a_unit_for_other_tests():
    assert to_canonical("hemoglobin", 12.5, None) is None
    assert to_canonical("tst", 7, "mmHg") is None


# pregnancy-lactation (revision 2): hCG in IU/L; 5 mIU/mL = 5 IU/L (terminology.md).
@pytest.mark.parametrize(
    "value, unit, code, expected",
    [(5, "mIU/mL", "m[IU]/mL", 5), (5, "mIU/mL", None, 5), (5, "IU/L", "[IU]/L", 5), (5, "mU/mL", None, 5),
     (0.2, "IU/mL", None, 200), (5000, "mIU/L", None, 5)],
)
@pytest.mark.parametrize("test", ["hcg-quantitative", "hcg-qualitative"])
def test_hcg_in_iu_per_litre(test, value, unit, code, expected):
    m = to_canonical(test, value, unit, code)
    assert m is not None and m.unit == "[IU]/L" and m.value == pytest.approx(expected)


@pytest.mark.parametrize("value, unit", [(12, None), (12, "pmol/L"), (12, "ng/mL"), (12, "%")])
def test_hcg_without_an_iu_unit_is_not_converted(value, unit):
    """A bare number, a molar or a mass result is never guessed into IU/L (no factor in terminology.md)."""
    assert to_canonical("hcg-quantitative", value, unit) is None
