"""Prednisone-equivalent doses, non-systemic forms, methylprednisolone pulses."""

import pytest

from cdshooks.clinical.glucocorticoids import exposure, steroid_dose
from cdshooks.clinical.thresholds import DEFAULT_THRESHOLDS as TH
from tests.clinical.records import med, read_order, record
from tests.clinical.wording import rendered


def plain(value) -> str:
    return rendered(value, "dose-guidance", markdown=False)


@pytest.mark.parametrize(
    "name, mg, per_day, eq",
    [
        ("prednisone 5 MG Oral Tablet", 20, 1, 20),
        ("prednisolone 5 MG Oral Tablet", 10, 2, 20),
        ("methylprednisolone 4 MG Oral Tablet", 16, 1, 20),
        ("dexamethasone 4 MG Oral Tablet", 4, 1, 26.68),
        ("hydrocortisone 10 MG Oral Tablet", 20, 1, 5),
    ],
)
def test_prednisone_equivalent(name, mg, per_day, eq):
    assert steroid_dose(read_order(med(name, 5, mg, per_day))).prednisone_eq_mg_day == pytest.approx(eq)


def test_not_a_glucocorticoid():
    assert steroid_dose(read_order(med("tacrolimus 1 MG Oral Capsule", 5, 2, 2))) is None


def test_topical_and_inhaled_forms_do_not_count():
    assert steroid_dose(read_order(med("hydrocortisone 1 % Topical Cream", 5, 10, 2))) is None
    assert steroid_dose(read_order(med("dexamethasone 0.1 % Ophthalmic Solution", 5, 1, 4))) is None


@pytest.mark.parametrize("coding", [None, {"display": "Topical route"}, [{"display": "Topical route"}]])
def test_route_read_leniently(coding):
    request = med("prednisone 5 MG Oral Tablet", 5, 20)
    dosage = {**request["dosageInstruction"][0], "route": {"coding": coding}}
    dose = steroid_dose(read_order({**request, "dosageInstruction": [dosage]}))
    assert (dose is None) is (coding is not None)  # a topical route is not systemic; a null coding no crash


def test_unreadable_dose_is_reported_not_guessed():
    d = steroid_dose(read_order(med("prednisone 5 MG Oral Tablet", 5)))
    assert d.mg_per_day is None and d.prednisone_eq_mg_day is None


@pytest.mark.parametrize("mg, reaches", [(14, False), (15, True)])
def test_threshold_15_mg(mg, reaches):
    assert exposure(record(meds=[med("prednisone 5 MG Oral Tablet", 5, mg)]), TH).reaches_threshold is reaches


def test_inactive_order_does_not_count_but_draft_does():
    stopped = med("prednisone 20 MG Oral Tablet", 5, 60, status="stopped")
    assert not exposure(record(meds=[stopped]), TH).reaches_threshold
    drafted = med("prednisone 20 MG Oral Tablet", 0, 60, draft=True)
    assert exposure(record(drafts=[drafted]), TH).reaches_threshold


@pytest.mark.parametrize("days_ago, mg, pulse", [(30, 1000, True), (31, 1000, False), (5, 250, True), (5, 125, False)])
def test_methylprednisolone_pulse_window(days_ago, mg, pulse):
    order = med("methylprednisolone 1000 MG Injection", days_ago, mg, status="completed")
    assert bool(exposure(record(meds=[order]), TH).pulses) is pulse


def _per_kg(name: str, mg_per_kg: float) -> dict:
    dosage = {
        "doseAndRate": [{"doseQuantity": {"value": mg_per_kg, "unit": "mg/kg", "code": "mg/kg"}}],
        "timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d"}},
    }
    return med(name, 5, dosages=[dosage])


def test_weight_based_dose_uses_the_newest_weight_within_a_year():
    from tests.clinical.records import lab

    order = _per_kg("prednisolone 5 MG Oral Tablet", 1)
    weighed = record(meds=[order], labs=[lab("29463-7", 20, 62, "kg")])
    exp = exposure(weighed, TH)
    assert exp.reaches_threshold and exp.high_dose[0].prednisone_eq_mg_day == pytest.approx(62)
    assert "1 mg/kg x 62 kg" in exp.high_dose[0].basis


def test_weight_based_dose_without_a_recent_weight_is_unread():
    from tests.clinical.records import lab

    order = _per_kg("prednisolone 5 MG Oral Tablet", 1)
    for labs in ([], [lab("29463-7", TH.dose_weight_lookback_days + 1, 62, "kg")]):
        exp = exposure(record(meds=[order], labs=labs), TH)
        assert not exp.reaches_threshold
        assert "mg/kg" in exp.unreadable[0].basis


def _taper(order, steps):
    """60 mg/day for 28 days, 30 mg/day for 14 days, then 10 mg/day (consecutive `sequence` steps)."""
    dosages = []
    for n, (mg, days) in enumerate(steps, 1):
        rep = {"frequency": 1, "period": 1, "periodUnit": "d"}
        if days:
            rep["boundsDuration"] = {"value": days, "unit": "days", "system": "http://unitsofmeasure.org", "code": "d"}
        dosages.append({"sequence": n, "timing": {"repeat": rep},
                        "doseAndRate": [{"doseQuantity": {"value": mg, "unit": "mg", "code": "mg"}}]})
    return {**order, "dosageInstruction": dosages}


@pytest.mark.parametrize("days_ago, current_mg, fires", [(10, 60, True), (35, 30, True), (60, 10, False)])
def test_exposure_reads_the_taper_step_in_force_today(days_ago, current_mg, fires):
    order = _taper(med("prednisone 20 MG Oral Tablet", days_ago), [(60, 28), (30, 14), (10, None)])
    exp = exposure(record(meds=[order]), TH)
    assert exp.reaches_threshold is fires
    if fires:
        assert exp.high_dose[0].mg_per_day == current_mg and "taper read" in plain(exp.high_dose[0].described)
    # without `now` the first step is read (the dose of a past pulse, say)
    assert steroid_dose(read_order(order)).mg_per_day == 60
