"""The on-therapy lab plan: lipids at day 28-56, then every 365 days (revision 2: "then every 12 months")."""

from dataclasses import replace
from datetime import timedelta

import pytest

from cdshooks.clinical.monitoring_plan import plan
from cdshooks.clinical.thresholds import DEFAULT_THRESHOLDS as TH
from tests.clinical.records import ago, lab, record, tofa


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
