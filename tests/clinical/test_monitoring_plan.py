"""The on-therapy lab plan: lipids at day 28-56, then every 365 days (revision 2: "then every 12 months")."""

from dataclasses import replace
from datetime import timedelta

import pytest

from cdshooks.clinical.monitoring_plan import plan
from cdshooks.clinical.thresholds import DEFAULT_THRESHOLDS as TH
from tests.clinical.records import ago, count_lab_reads, lab, record, tofa


def _lipids(start_days_ago: int, *ldl_days_ago: int, th=TH):
    rec = record(meds=[tofa(start_days_ago)], labs=[lab("13457-7", d, 110, "mg/dL", oid=f"ldl{d}") for d in ldl_days_ago])
    (lipids,) = [p for p in plan(rec, th) if p.name == "Lipids"]
    return lipids


@pytest.mark.parametrize("months_ago, overdue", [(11, False), (12, False), (13, True)])
def test_lipids_are_repeated_yearly_after_the_first_window(months_ago, overdue):
    last = round(months_ago * 365.25 / 12)
    p = _lipids(600, last)  # a late result, long after the first window
    assert p.repeat_days == 365
    assert p.schedule.overdue is overdue
    assert p.schedule.due == (ago(last) + timedelta(days=365)).date()


def test_first_window_lipids_are_due_again_a_year_later():
    p = _lipids(400, 360)  # day 40 after the start, 360 days ago
    assert not p.schedule.overdue and p.schedule.due == (ago(360) + timedelta(days=365)).date()
    p = _lipids(420, 380)  # the same result 20 days later in time: due since 15 days
    assert p.schedule.overdue and p.schedule.due == (ago(380) + timedelta(days=365)).date()


def test_the_lipid_interval_is_configurable():
    p = _lipids(600, 200, th=replace(TH, monitor_lipid_interval_days=180))
    assert p.repeat_days == 180 and p.schedule.overdue


def test_the_plan_reads_each_test_back_only_to_the_result_its_schedule_rests_on(monkeypatch):
    # A year of monthly ALCs on therapy: the schedule needs the newest one after day 28, not the year.
    read = count_lab_reads(monkeypatch)
    rec = record(meds=[tofa(400)], labs=[lab("731-0", d, 1.2, "10*3/uL", oid=f"alc{d}") for d in range(5, 365, 30)])
    (alc,) = [p for p in plan(rec, TH) if p.name == "CBC: absolute lymphocytes"]
    assert alc.schedule.last is not None and alc.schedule.last.lab.id == "alc5"
    assert [i for i in read if i.startswith("alc")] == ["alc5"]


def test_a_future_result_is_passed_over_and_the_one_before_the_first_window_ends_the_search():
    rec = record(meds=[tofa(60)], labs=[lab("731-0", d, 1.2, "10*3/uL", oid=f"alc{d}") for d in (-3, 40, 50)])
    (alc,) = [p for p in plan(rec, TH) if p.name == "CBC: absolute lymphocytes"]
    # -3: tomorrow (does not count); 40 and 50 days ago are days 20 and 10 of therapy: before day 28
    assert alc.schedule.last is None and alc.schedule.overdue is True
