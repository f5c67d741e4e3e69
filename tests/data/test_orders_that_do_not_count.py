"""Orders that do not count (clinical-rules.md Definitions): doNotPerform, intent plan/proposal."""

from __future__ import annotations

import pytest

from cdshooks.clinical import interacting_drugs as ddi
from cdshooks.clinical import tofacitinib as tofa
from cdshooks.data.builder import build_record
from cdshooks.data.gather import Gathered
from tests import fixturekit as k


def _record(*meds: dict, drafts: list[dict] | None = None):
    gathered = Gathered(resources={"medications": [k.bundle(meds)], "patient": [k.patient()]})
    return build_record(gathered, patient_id=k.PATIENT_ID, draft_orders=drafts or [], selections=None, now=k.AS_OF)


def _tofa(**changes) -> dict:
    mr = k.med_request("m-tofa", k.TOFA_5MG[1], k.TOFA_5MG[0], days_ago=200, dosages=[k.dosage(5, "mg", 2)])
    mr.update(changes)
    return mr


@pytest.mark.parametrize("changes", [{"doNotPerform": True}, {"intent": "plan"}, {"intent": "proposal"}])
def test_a_record_order_that_is_no_order_is_not_tofacitinib_context(changes):
    record = _record(_tofa(**changes))
    assert record.medications == ()
    assert [s.id for s in record.skipped] == ["m-tofa"]
    assert not tofa.in_context(record) and tofa.is_new_start(record)
    assert tofa.start_date(record) == record.now  # not the plan's date 200 days ago


@pytest.mark.parametrize("changes", [{}, {"intent": "original-order"}, {"doNotPerform": False}])
def test_an_order_counts(changes):
    record = _record(_tofa(**changes))
    assert tofa.in_context(record)
    assert tofa.start_date(record) < record.now


def test_a_plan_does_not_set_the_start_date_of_an_active_order():
    old_plan = _tofa(id="m-plan", intent="plan")
    old_plan["authoredOn"] = k.day(-400)
    record = _record(old_plan, _tofa())
    assert tofa.start_date(record).date().isoformat() == k.day(-200)[:10]


def test_do_not_perform_interacting_drug_is_not_current():
    aza = k.med_request("m-aza", "azathioprine 50 MG Oral Tablet", "1256")
    aza["doNotPerform"] = True
    record = _record(aza)
    assert ddi.find(record, ddi.CLASSES["ddi-immunosuppressant"]) == []


@pytest.mark.parametrize("intent", ["plan", "proposal", None])
def test_drafts_count_whatever_their_intent(intent):
    draft = k.tofacitinib_draft()
    if intent is None:
        del draft["intent"]
    else:
        draft["intent"] = intent
    record = _record(drafts=[draft])
    assert tofa.in_context(record) and len(tofa.selected_drafts(record)) == 1
