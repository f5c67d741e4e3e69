"""Monitoring windows and repeat intervals at their boundaries (day 27/28/56/57, 14, 30, 90)."""

from datetime import timedelta

import pytest

from cdshooks.clinical import labs
from cdshooks.clinical.intervals import interval_due, monitoring_schedule, months_as_days
from tests.clinical.records import NOW, ago, lab, record


def _alc(*days_ago):
    rec = record(labs=[lab("731-0", d, 1.2, "10*3/uL", oid=f"a{d}") for d in days_ago])
    return labs.results(rec, "lymphocytes-absolute")


def schedule(start_days_ago, *result_days_ago, repeat=90):
    return monitoring_schedule(_alc(*result_days_ago), ago(start_days_ago), NOW, 28, 56, repeat)


@pytest.mark.parametrize("day_on, overdue", [(55, False), (56, False), (57, True)])
def test_first_window_closes_after_day_56(day_on, overdue):
    s = schedule(day_on)  # no result at all since the start
    assert s.overdue is overdue
    assert s.first_window_missed is overdue


@pytest.mark.parametrize("result_day, counts", [(27, False), (28, True), (56, True)])
def test_first_window_starts_on_day_28(result_day, counts):
    start = 60
    s = schedule(start, start - result_day)
    assert (s.last is not None) is counts
    assert s.overdue is (not counts)


def test_late_result_after_the_window_satisfies_it():
    s = schedule(70, 10)  # result on day 60
    assert not s.overdue and s.last is not None


@pytest.mark.parametrize("since_last, overdue", [(89, False), (90, False), (91, True)])
def test_repeat_interval_90_days(since_last, overdue):
    s = schedule(300, since_last)
    assert s.overdue is overdue
    assert s.due == (ago(since_last) + timedelta(days=90)).date()


def test_one_off_test_is_done_once():
    s = schedule(400, 360, repeat=None)  # lipids on day 40, a year ago
    assert not s.overdue and s.due is None


def test_results_in_the_future_do_not_count():
    s = monitoring_schedule(_alc(-5), ago(60), NOW, 28, 56, 90)
    assert s.overdue


@pytest.mark.parametrize("days, overdue", [(13, False), (14, False), (15, True), (30, True)])
def test_interval_due_14_days(days, overdue):
    last = _alc(days)[0]
    assert interval_due(last, NOW, 14)[0] is overdue


def test_interval_due_without_a_result_is_due_today():
    assert interval_due(None, NOW, 30) == (True, NOW.date())


def test_months_as_days():
    assert months_as_days(12) == 365
    assert months_as_days(24) == 730
