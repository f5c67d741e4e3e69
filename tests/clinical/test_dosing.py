"""Daily-dose math for every dosage shape (structured, coded, text), and refusals to guess."""

import pytest

from cdshooks.clinical.dosing.daily_dose import daily_dose
from cdshooks.data.record import MedicationOrder

GTS = "http://terminology.hl7.org/CodeSystem/v3-GTSAbbreviation"


def order(*instructions):
    return MedicationOrder(
        id="m1", status="draft", intent="order", authored_on=None, codings=(), names=("x",),
        dosage_instructions=tuple(instructions), is_draft=True,
    )


def qty(value, unit="mg", code=None):
    q = {"value": value, "unit": unit}
    if code:
        q["code"] = code
    return [{"doseQuantity": q}]


def repeat(frequency=None, period=1, unit="d", **extra):
    r = {"period": period, "periodUnit": unit, **extra}
    if frequency is not None:
        r["frequency"] = frequency
    return {"repeat": r}


@pytest.mark.parametrize(
    "instruction, strength, conc, expected",
    [
        ({"doseAndRate": qty(5), "timing": repeat(2)}, None, None, 10),
        ({"doseAndRate": qty(11), "timing": repeat(1)}, None, None, 11),
        ({"doseAndRate": qty(0.005, "g")}, None, None, None),  # no frequency at all
        ({"doseAndRate": qty(0.005, "g"), "timing": repeat(2)}, None, None, 10),
        ({"doseAndRate": qty(5000, "mcg"), "timing": repeat(1)}, None, None, 5),
        ({"doseAndRate": qty(2, "tablet", "{tbl}"), "timing": repeat(2)}, 5, None, 20),
        ({"doseAndRate": qty(1, "TAB"), "timing": repeat(1, 12, "h")}, 10, None, 20),
        ({"doseAndRate": qty(5, "mL"), "timing": repeat(2)}, None, 1.0, 10),
        ({"doseAndRate": qty(5), "timing": repeat(1, 1, "wk")}, None, None, 5 / 7),
        ({"doseAndRate": qty(5), "timing": repeat(1, 2, "d")}, None, None, 2.5),
        ({"doseAndRate": qty(5), "timing": repeat(1, 8, "h")}, None, None, 15),
        ({"doseAndRate": qty(5), "timing": {"repeat": {"when": ["MORN", "EVE"]}}}, None, None, 10),
        ({"doseAndRate": qty(5), "timing": {"repeat": {"timeOfDay": ["08:00:00", "20:00:00"]}}}, None, None, 10),
        ({"doseAndRate": qty(5), "timing": repeat(None, when=["ACM", "ACV"])}, None, None, 10),
        ({"doseAndRate": qty(5), "timing": {"code": {"coding": [{"system": GTS, "code": "BID"}]}}}, None, None, 10),
        ({"doseAndRate": qty(5), "timing": {"code": {"coding": [{"system": GTS, "code": "QD"}]}}}, None, None, 5),
        ({"doseAndRate": qty(5), "timing": {"code": {"coding": [{"code": "Q8H"}]}}}, None, None, 15),
        ({"doseAndRate": qty(5), "timing": {"code": {"coding": [{"code": "QOD"}]}}}, None, None, 2.5),
        ({"doseAndRate": qty(5), "timing": {"code": {"coding": [{"code": "QHS"}]}}}, None, None, 5),
        ({"doseAndRate": qty(5), "timing": {"code": {"text": "twice daily"}}}, None, None, 10),
        ({"doseAndRate": qty(5), "text": "5 mg by mouth twice daily"}, None, None, 10),
    ],
)
def test_structured_shapes(instruction, strength, conc, expected):
    r = daily_dose(order(instruction), strength, conc)
    if expected is None:
        assert r.mg_per_day is None and r.problem
    else:
        assert r.mg_per_day == pytest.approx(expected) and r.problem is None


@pytest.mark.parametrize(
    "text, strength, expected",
    [
        ("5 mg twice daily", None, 10),
        ("11 mg once daily", None, 11),
        ("5mg BID", None, 10),
        ("5 mg b.i.d.", None, 10),
        ("1 tablet by mouth every 12 hours", 5, 10),
        ("Take 2 tablets (10 mg) twice a day", 5, 20),
        ("10 mg PO daily", None, 10),
        ("5 mg q12h", None, 10),
        ("5 mg three times daily", None, 15),
        ("5 mg 3 times a day", None, 15),
        ("5 mg every other day", None, 2.5),
        ("22 mg every day", None, 22),
        ("one tablet twice a day", 5, 10),
        ("5 mL twice daily", None, None),  # solution without concentration
        ("1 tablet twice daily", None, None),  # strength unknown
        ("5 mg as directed", None, None),
        ("take as directed", None, None),
        ("5 mg twice daily as needed", None, None),
        ("5 mg or 10 mg twice daily", None, None),
        ("5 mg once daily, may increase to twice daily", None, None),
    ],
)
def test_text_fallback(text, strength, expected):
    r = daily_dose(order({"text": text}), strength)
    if expected is None:
        assert r.mg_per_day is None and r.problem
    else:
        assert r.mg_per_day == pytest.approx(expected), r


def test_sums_concurrent_instructions_and_reports_parts():
    r = daily_dose(order(
        {"doseAndRate": qty(10), "timing": {"repeat": {"when": ["MORN"]}}},
        {"doseAndRate": qty(5), "timing": {"repeat": {"when": ["EVE"]}}},
    ))
    assert r.mg_per_day == 15 and r.per_day == 2 and r.dose_mg is None


def test_uniform_dose_reported_per_administration():
    r = daily_dose(order({"doseAndRate": qty(5), "timing": repeat(2)}))
    assert (r.dose_mg, r.per_day, r.problem) == (5, 2, None)
    assert "doseQuantity" in r.basis and "timing.repeat" in r.basis


@pytest.mark.parametrize(
    "instruction, problem_word",
    [
        ({"doseAndRate": [{"doseRange": {"low": {"value": 5, "unit": "mg"}, "high": {"value": 10, "unit": "mg"}}}],
          "timing": repeat(2)}, "range"),
        ({"doseAndRate": qty(5), "timing": repeat(1, frequencyMax=2)}, "range"),
        ({"doseAndRate": qty(5), "timing": repeat(2), "asNeededBoolean": True}, "as needed"),
        ({"doseAndRate": qty(5), "timing": repeat(2), "asNeededCodeableConcept": {"text": "pain"}}, "as needed"),
        ({"doseAndRate": qty(5, "puff"), "timing": repeat(2)}, "unit"),
        ({"doseAndRate": [{"doseQuantity": {"value": 5}}], "timing": repeat(2)}, "no unit"),
        ({"doseAndRate": [{"doseQuantity": {"value": "five", "unit": "mg"}}], "timing": repeat(2)}, "numeric"),
        ({"doseAndRate": qty(5), "timing": {"repeat": {"frequency": 2}}}, "period"),
        ({"doseAndRate": qty(5), "timing": repeat(2, 0)}, "period"),
        ({"doseAndRate": qty(5), "timing": repeat(3, when=["MORN", "EVE"])}, "disagrees"),
        ({"timing": repeat(2)}, "dose"),
    ],
)
def test_problems_instead_of_guesses(instruction, problem_word):
    r = daily_dose(order(instruction))
    assert r.mg_per_day is None
    assert problem_word in r.problem


def test_missing_and_sequential_instructions():
    assert "no dosage" in daily_dose(order()).problem
    taper = daily_dose(order(
        {"sequence": 1, "doseAndRate": qty(40), "timing": repeat(1)},
        {"sequence": 2, "doseAndRate": qty(20), "timing": repeat(1)},
    ))
    # revision 2: consecutive steps are not summed (60) nor refused; without a date, the first step
    assert taper.mg_per_day == 40 and taper.problem is None
    assert "taper" in taper.taper_note and taper.basis.startswith(taper.taper_note)


def test_partial_reading_keeps_what_was_read():
    r = daily_dose(order({"doseAndRate": qty(5)}))
    assert r.dose_mg == 5 and r.per_day is None and "frequency" in r.problem


def test_messy_shapes_never_crash():
    messy = [
        {"doseAndRate": {"doseQuantity": {"value": 5, "unit": "mg"}}, "timing": {"repeat": {"frequency": 2, "period": 1, "periodUnit": "d"}}},
        {"doseAndRate": "5 mg", "timing": "BID"},
        {"timing": {"code": "BID"}, "text": 5},
        "not a dict",
    ]
    first = daily_dose(order(messy[0]))
    assert first.mg_per_day == 10  # a single object where an array belongs
    for m in messy[1:]:
        assert daily_dose(order(m)).mg_per_day is None


@pytest.mark.parametrize(
    "repeat",
    [
        {"frequency": 2, "period": 1, "periodUnit": {"code": "d"}},
        {"frequency": 2, "period": 1, "periodUnit": ["d"]},
        {"when": [{"code": "MORN"}, "EVE"]},
        {"timeOfDay": [["08:00"], "20:00"], "frequency": 2},
    ],
)
def test_malformed_timing_repeat_never_crashes(repeat):
    order = MedicationOrder(
        id="m", status="draft", intent="order", authored_on=None, codings=(), names=("prednisone 5 MG",),
        dosage_instructions=({"doseAndRate": [{"doseQuantity": {"value": 5, "unit": "mg"}}], "timing": {"repeat": repeat}},),
    )
    reading = daily_dose(order)
    assert reading.mg_per_day is None or reading.mg_per_day > 0
