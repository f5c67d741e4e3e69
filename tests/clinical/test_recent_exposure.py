"""Recent exposure (clinical-rules.md Definitions): a completed order given recently counts as current."""

from __future__ import annotations

from dataclasses import replace

import pytest

from cdshooks.clinical import interacting_drugs as ddi
from cdshooks.clinical.thresholds import DEFAULT_THRESHOLDS
from cdshooks.data.builder import build_record
from cdshooks.data.gather import Gathered
from tests import fixturekit as k
from tests.clinical.dose_kit import findings
from tests.clinical.wording import rendered


def plain(value) -> str:
    return rendered(value, "dose-guidance", markdown=False)


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
        assert hits[0].given is not None and "completed order, last given about" in plain(hits[0].described)


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


# MedicationAdministration (clinical-rules.md, Recent exposure: "or MedicationAdministration").

def _given(*administrations: dict, drafts: list[dict] = (), resources: list[dict] | None = None, **gathered):
    resources = [k.patient()] if resources is None else resources
    keys = {"medications": [k.bundle([r for r in resources if r["resourceType"] == "MedicationRequest"])],
            "patient": [k.patient()], "administrations": [k.bundle(administrations)],
            "rest": [k.bundle([r for r in resources if r["resourceType"] not in ("MedicationRequest", "Patient")])]}
    return build_record(Gathered(resources=keys, **gathered), patient_id=k.PATIENT_ID, draft_orders=list(drafts),
                        selections=None, now=k.AS_OF)


def _rtx_given(days_ago: float, status: str = "completed", aid: str = "a-rtx", name: str = "rituximab") -> dict:
    return k.administration(aid, name, days_ago=days_ago, status=status)


@pytest.mark.parametrize("days_ago,counts", [(120, True), (365, True), (366, False), (425, False)])
def test_rituximab_administration_within_12_months(days_ago, counts):
    hits = ddi.find(_given(_rtx_given(days_ago)), ddi.CLASSES["ddi-rituximab"])
    assert bool(hits) is counts
    if counts:
        [hit] = hits
        assert hit.given.date().isoformat() == k.day(-days_ago)[:10]
        assert plain(hit.described) == f"rituximab given {k.day(-days_ago)[:10]} (administration record)"


def test_administration_label_names_the_product():
    [hit] = ddi.find(_given(_rtx_given(120, name="Rituxan 1000 mg infusion")), ddi.CLASSES["ddi-rituximab"])
    assert plain(hit.described) == f"rituximab given {k.day(-120)[:10]} (Rituxan 1000 mg infusion, administration record)"


@pytest.mark.parametrize("status,counts", [
    ("completed", True), ("in-progress", True),
    ("not-done", False), ("entered-in-error", False), ("stopped", False), ("on-hold", False), ("unknown", False),
])
def test_only_given_administrations_count(status, counts):
    assert bool(ddi.find(_given(_rtx_given(30, status=status)), ddi.CLASSES["ddi-rituximab"])) is counts


def test_administration_without_a_status_does_not_count():
    a = _rtx_given(30)
    del a["status"]
    assert ddi.find(_given(a), ddi.CLASSES["ddi-rituximab"]) == []


def test_a_course_is_named_once_with_its_last_date():
    course = [_rtx_given(days, aid=f"a{days}") for days in (134, 120, 400)]
    [hit] = ddi.find(_given(*course), ddi.CLASSES["ddi-rituximab"])
    assert hit.given.date().isoformat() == k.day(-120)[:10]


def test_administration_dated_after_now_counts_as_now():
    [hit] = ddi.find(_given(_rtx_given(-2)), ddi.CLASSES["ddi-rituximab"])
    assert hit.given == k.AS_OF


def test_administration_window_is_configurable_and_reusable():
    record = _given(_rtx_given(200))
    t = replace(DEFAULT_THRESHOLDS, rituximab_recent_exposure_days=180)
    assert ddi.find(record, ddi.CLASSES["ddi-rituximab"], t) == []
    assert [h.order.id for h in ddi.recent_exposure(record, ("rituximab",), 365)] == ["a-rtx"]


def test_completed_order_and_administration_are_both_named():
    record = _given(_rtx_given(120), resources=[k.patient(), _rtx(240)])
    hits = ddi.find(record, ddi.CLASSES["ddi-rituximab"])
    assert [h.order.id for h in hits] == ["m-rtx", "a-rtx"]


@pytest.mark.parametrize("name,days_ago,counts", [
    ("cyclophosphamide 1000 mg in sodium chloride 0.9 % 250 mL IVPB", 20, True),
    ("cyclophosphamide 1000 mg in sodium chloride 0.9 % 250 mL IVPB", 30, True),
    ("cyclophosphamide 1000 mg in sodium chloride 0.9 % 250 mL IVPB", 31, False),
    ("Privigen 10 % Injectable Solution", 10, True),
    ("Privigen 10 % Injectable Solution", 45, False),
    ("tacrolimus 1 MG Oral Capsule", 2, False),  # a daily drug: only an active order counts
])
def test_triple_therapy_administrations(name, days_ago, counts):
    record = _given(k.administration("a-x", name, days_ago=days_ago))
    assert bool(ddi.find(record, ddi.CLASSES["ddi-triple-therapy"])) is counts


def test_an_administration_never_counts_for_the_other_classes():
    record = _given(k.administration("a-x", "fluconazole 400 mg IV", days_ago=1),
                    k.administration("a-y", "adalimumab 40 mg/0.4 mL", days_ago=10))
    for topic in ("dose-cyp-inhibitor", "ddi-biologic"):
        assert ddi.find_class(record, topic) == []


def test_ddi_rituximab_card_on_a_tofacitinib_draft_names_the_administration():
    from cdshooks import cards
    from cdshooks.clinical import engine
    record = _given(_rtx_given(120), drafts=[k.tofacitinib_draft()], resources=k.base_resources())
    [f] = [f for f in engine.evaluate(record, "order-select", DEFAULT_THRESHOLDS) if f.topic == "ddi-rituximab"]
    detail = cards.render_card(f)["detail"]
    assert f"rituximab given {k.day(-120)[:10]} (administration record)" in detail
    assert "has an order for, or was recently given," in detail


def test_ddi_rituximab_on_patient_view_from_an_administration():

    record = _given(_rtx_given(120), resources=k.base_resources(on_tofacitinib=True))
    assert "ddi-rituximab" in {f.topic for f in findings(record, "patient-view")}


def _triple_card(hook: str, unavailable: frozenset[str]):
    from cdshooks import cards
    if hook == "patient-view":
        resources, drafts = k.base_resources(on_tofacitinib=True), []
    else:
        resources, drafts = k.base_resources(), [k.tofacitinib_draft()]
    tacrolimus = k.med_request("m-tac", "tacrolimus 1 MG Oral Capsule", days_ago=20)
    record = _given(drafts=drafts, resources=resources + [tacrolimus], unavailable=unavailable)
    [f] = [f for f in findings(record, hook) if f.topic == "ddi-triple-therapy"]
    return cards.render_card(f)


@pytest.mark.parametrize("hook", ["order-select", "patient-view"])
def test_triple_therapy_card_says_administrations_were_not_checked(hook):
    card = _triple_card(hook, frozenset({"administrations"}))
    assert "**Not checked:** administration records could not be read" in card["detail"]
    assert "cyclophosphamide or IVIG given in the last 30 days" in card["detail"]


@pytest.mark.parametrize("hook", ["order-select", "patient-view"])
def test_triple_therapy_card_with_administrations_says_nothing_about_them(hook):
    card = _triple_card(hook, frozenset())
    assert "Not checked" not in card["detail"] and "administration records" not in card["detail"]
    assert card["detail"].endswith("lymphocyte count).")  # no blank note left behind
