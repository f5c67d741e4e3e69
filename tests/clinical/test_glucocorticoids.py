"""Prednisone-equivalent doses, non-systemic forms, methylprednisolone pulses."""

import pytest

from cdshooks.clinical.glucocorticoids import exposure, steroid_dose
from cdshooks.clinical.thresholds import DEFAULT_THRESHOLDS as TH
from tests.clinical.records import med, record


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
    assert steroid_dose(med(name, 5, mg, per_day)).prednisone_eq_mg_day == pytest.approx(eq)


def test_not_a_glucocorticoid():
    assert steroid_dose(med("tacrolimus 1 MG Oral Capsule", 5, 2, 2)) is None


def test_topical_and_inhaled_forms_do_not_count():
    assert steroid_dose(med("hydrocortisone 1 % Topical Cream", 5, 10, 2)) is None
    assert steroid_dose(med("dexamethasone 0.1 % Ophthalmic Solution", 5, 1, 4)) is None


def test_unreadable_dose_is_reported_not_guessed():
    d = steroid_dose(med("prednisone 5 MG Oral Tablet", 5))
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
