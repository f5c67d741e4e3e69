"""Consecutive dosage steps (different `sequence`): the step in force now, else the first; never summed."""

from datetime import UTC, datetime

import pytest

from cdshooks.clinical.dosing.daily_dose import daily_dose
from cdshooks.data.record import MedicationOrder

AUTHORED = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)


def order(*instructions, authored=AUTHORED):
    return MedicationOrder(
        id="m1", status="active", intent="order", authored_on=authored, codings=(), names=("prednisone",),
        dosage_instructions=tuple(instructions),
    )


def step(seq, mg, *, per_day=1, days=None, start=None, end=None):
    rep = {"frequency": per_day, "period": 1, "periodUnit": "d"}
    if days is not None:
        rep["boundsDuration"] = {"value": days, "unit": "days", "system": "http://unitsofmeasure.org", "code": "d"}
    if start or end:
        rep["boundsPeriod"] = {k: v for k, v in (("start", start), ("end", end)) if v}
    d = {"timing": {"repeat": rep}, "doseAndRate": [{"doseQuantity": {"value": mg, "unit": "mg"}}]}
    if seq is not None:
        d["sequence"] = seq
    return d


def at(day):
    return datetime(2026, 1, day, 12, 0, tzinfo=UTC)


TAPER_BY_DURATION = (step(1, 40, days=7), step(2, 20, days=7), step(3, 10, days=14))


@pytest.mark.parametrize(("now", "mg", "step_no"), [(at(3), 40, 1), (at(10), 20, 2), (at(20), 10, 3)])
def test_boundsduration_steps_counted_from_authoredon(now, mg, step_no):
    r = daily_dose(order(*TAPER_BY_DURATION), now=now)
    assert r.mg_per_day == mg, r
    assert f"step {step_no}" in r.taper_note and "in force now" in r.taper_note
    assert r.basis.startswith(r.taper_note)


def test_without_now_the_first_step():
    r = daily_dose(order(*TAPER_BY_DURATION))
    assert r.mg_per_day == 40 and "step 1" in r.taper_note and "first step" in r.taper_note


def test_after_the_last_step_or_before_the_first_the_first_step():
    assert daily_dose(order(*TAPER_BY_DURATION), now=datetime(2026, 3, 1, tzinfo=UTC)).mg_per_day == 40
    assert daily_dose(order(*TAPER_BY_DURATION), now=datetime(2025, 12, 1, tzinfo=UTC)).mg_per_day == 40


def test_boundsperiod_dates_each_step():
    o = order(
        step(1, 10, per_day=2, start="2026-01-01", end="2026-01-14"),
        step(2, 5, per_day=2, start="2026-01-15", end="2026-03-31"),
    )
    assert daily_dose(o, now=at(10)).mg_per_day == 20
    assert daily_dose(o, now=at(20)).mg_per_day == 10
    # the end date of a period covers that whole day
    assert daily_dose(o, now=datetime(2026, 1, 14, 23, 0, tzinfo=UTC)).mg_per_day == 20


def test_open_ended_last_step_is_in_force_after_the_others():
    assert daily_dose(order(step(1, 40, days=7), step(2, 20)), now=at(30)).mg_per_day == 20


def test_an_undatable_middle_step_gives_the_first_step():
    r = daily_dose(order(step(1, 40, days=7), step(2, 20), step(3, 10, days=7)), now=at(20))
    assert r.mg_per_day == 40 and "could not be dated" in r.taper_note


def test_same_sequence_instructions_are_summed_within_a_step():
    r = daily_dose(order(step(1, 10), step(1, 5), step(2, 5, days=7)), now=at(2))
    assert r.mg_per_day == 15, r
    assert "15, 5" in r.taper_note


def test_same_or_no_sequence_is_concurrent_and_summed():
    assert daily_dose(order(step(None, 10), step(None, 5))).mg_per_day == 15
    r = daily_dose(order(step(1, 10), step(1, 5)))
    assert r.mg_per_day == 15 and r.taper_note is None


def test_string_sequences_are_numbers():
    assert daily_dose(order(step("1", 40, days=7), step("2", 20, days=7)), now=at(10)).mg_per_day == 20


def test_unnumbered_next_to_numbered_steps_is_a_problem():
    r = daily_dose(order(step(1, 40, days=7), step(2, 20), step(None, 5)))
    assert r.mg_per_day is None and "unnumbered" in r.problem


def test_an_unreadable_current_step_is_unread_not_another_steps_dose():
    r = daily_dose(order(step(1, 40, days=7), {"sequence": 2, "text": "then as directed"}), now=at(10))
    assert r.mg_per_day is None and r.problem and "taper" in r.taper_note


def test_text_steps():
    o = order(
        {"sequence": 1, "text": "10 mg twice daily", "timing": {"repeat": {"boundsDuration": {"value": 2, "code": "wk"}}}},
        {"sequence": 2, "text": "5 mg twice daily"},
    )
    assert daily_dose(o, now=at(5)).mg_per_day == 20
    assert daily_dose(o, now=at(20)).mg_per_day == 10


def test_a_naive_now_and_authoredon():
    o = order(*TAPER_BY_DURATION, authored=datetime(2026, 1, 1))
    assert daily_dose(o, now=datetime(2026, 1, 10, 12)).mg_per_day == 20
