"""Recent exposure (clinical-rules.md Definitions): a completed order given recently counts as current."""

from __future__ import annotations

from dataclasses import replace

import pytest

from cdshooks.clinical import interacting_drugs as ddi
from cdshooks.clinical.thresholds import DEFAULT_THRESHOLDS
from cdshooks.data.builder import build_record
from cdshooks.data.gather import Gathered
from tests import fixturekit as k


def _record(*meds: dict):
    gathered = Gathered(resources={"medications": [k.bundle(meds)], "patient": [k.patient()]})
    return build_record(gathered, patient_id=k.PATIENT_ID, draft_orders=[], selections=None, now=k.AS_OF)


def _rtx(days_ago: float, status: str = "completed", **extra) -> dict:
    mr = k.med_request("m-rtx", "rituximab 10 MG/ML Injectable Solution", status=status, days_ago=days_ago)
    mr.update(extra)
    return mr


@pytest.mark.parametrize("days_ago,counts", [(240, True), (365, True), (366, False), (425, False)])
def test_rituximab_completed_within_12_months(days_ago, counts):
    hits = ddi.find(_record(_rtx(days_ago)), ddi.CLASSES["ddi-rituximab"])
    assert bool(hits) is counts
    if counts:
        assert hits[0].given is not None and "completed order, last given about" in hits[0].label


@pytest.mark.parametrize("status", ["stopped", "cancelled", "entered-in-error", "draft"])
def test_other_ended_statuses_do_not_count(status):
    assert ddi.find(_record(_rtx(30, status=status)), ddi.CLASSES["ddi-rituximab"]) == []


def test_reusable_with_its_own_window():
    record = _record(_rtx(200))
    assert ddi.recent_exposure(record, ("rituximab",), 365)
    assert ddi.recent_exposure(record, ("rituximab",), 90) == []


def test_window_is_configurable():
    t = replace(DEFAULT_THRESHOLDS, rituximab_recent_exposure_days=180)
    assert ddi.find(_record(_rtx(240)), ddi.CLASSES["ddi-rituximab"], t) == []


def test_given_date_is_the_latest_period_end_not_after_now():
    mr = _rtx(300, dispenseRequest={"validityPeriod": {"start": k.day(-300), "end": k.day(-100)}})
    mr["dosageInstruction"] = [{"timing": {"repeat": {"boundsPeriod": {"end": k.day(-150)}}}}]
    order = _record(mr).medications[0]
    assert ddi.given_on(order, k.AS_OF).date().isoformat() == k.day(-100)[:10]
    mr["dispenseRequest"]["validityPeriod"]["end"] = k.day(+30)
    order = _record(mr).medications[0]
    assert ddi.given_on(order, k.AS_OF) == k.AS_OF


def test_without_periods_the_order_date_is_used():
    order = _record(_rtx(50)).medications[0]
    assert ddi.given_on(order, k.AS_OF) == order.authored_on


def _drug(name: str, days_ago: float, status: str = "completed") -> dict:
    return k.med_request("m-x", name, status=status, days_ago=days_ago)


@pytest.mark.parametrize("name,days_ago,counts", [
    ("cyclophosphamide 500 MG Injection", 20, True),
    ("cyclophosphamide 500 MG Injection", 30, True),
    ("cyclophosphamide 500 MG Injection", 40, False),
    ("immune globulin intravenous (human) 10 % (IVIG) 2 g/kg", 20, True),
    ("Privigen 10 % Injectable Solution", 30, True),
    ("Privigen 10 % Injectable Solution", 31, False),
    ("tacrolimus 1 MG Oral Capsule", 5, False),  # a daily drug: only an active order counts
    ("mycophenolate mofetil 500 MG Oral Tablet", 5, False),
])
def test_triple_therapy_recent_exposure(name, days_ago, counts):
    hits = ddi.find(_record(_drug(name, days_ago)), ddi.CLASSES["ddi-triple-therapy"])
    assert bool(hits) is counts


def test_do_not_perform_completed_order_is_no_exposure():
    assert ddi.find(_record(_rtx(30, doNotPerform=True)), ddi.CLASSES["ddi-rituximab"]) == []
