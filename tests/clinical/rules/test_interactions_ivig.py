"""IVIG on ddi-triple-therapy: named when another agent is current, never a card alone (clinical-rules.md)."""

import pytest

from cdshooks import cards
from tests import fixturekit as k
from tests.clinical.dose_kit import by_topic, record, topics
from tests.clinical.wording import fact

D = k.tofacitinib_draft


def drug(name, status="active", oid="ivig", days_ago=None):
    if days_ago is None:
        days_ago = 0 if status == "draft" else 20
    return k.med_request(oid, name, None, status=status, days_ago=days_ago)


IVIG = "Privigen 10 % (immune globulin intravenous, human) 2 g/kg over 5 days"


def test_ivig_alone_raises_no_card():
    assert topics(record(k.base_resources() + [drug(IVIG)], drafts=[D()])) == ["dose-guidance"]
    assert topics(record(drafts=[drug(IVIG, "draft")], on_tofacitinib=True)) == []
    assert topics(record(k.base_resources(on_tofacitinib=True) + [drug(IVIG)]), "patient-view") == []


def test_ivig_is_named_beside_another_current_agent():
    res = k.base_resources() + [drug(IVIG), drug("tacrolimus 1 mg capsule", oid="tac")]
    [f] = by_topic(record(res, drafts=[D()]), "ddi-triple-therapy")
    assert f.facts["drugs"] == "IVIG, tacrolimus" and f.variant == "with-ivig"
    card = cards.render_card(f)
    assert "IVIG" in card["summary"] and len(card["summary"]) < 140
    assert "boxed warning for thrombosis" in card["detail"]
    assert "within 3 months after" in card["detail"] and "anti-HBc, CMV IgG" in card["detail"]


def test_without_ivig_the_card_says_nothing_about_it():
    [f] = by_topic(record(k.base_resources() + [drug("tacrolimus 1 mg capsule", oid="tac")], drafts=[D()]),
                   "ddi-triple-therapy")
    assert f.variant == "default" and "IVIG" not in cards.render_card(f)["detail"]


def test_ivig_drafted_with_tacrolimus_on_active_tofacitinib():
    res = k.base_resources(on_tofacitinib=True) + [drug("tacrolimus 1 mg capsule", oid="tac")]
    [f] = by_topic(record(res, drafts=[drug(IVIG, "draft")]), "ddi-triple-therapy")
    assert "IVIG (" in fact(f, "drug_list") and "draft order" in fact(f, "drug_list")


def test_ivig_on_patient_view_beside_mycophenolate():
    res = k.base_resources(on_tofacitinib=True) + [drug(IVIG), drug("CellCept 500 mg", oid="mmf")]
    [f] = by_topic(record(res), "ddi-triple-therapy", "patient-view")
    assert f.variant == "with-ivig" and f.facts["drugs"] == "IVIG, mycophenolate"


@pytest.mark.parametrize("days_ago, named", [(25, True), (30, True), (45, False)])
def test_completed_ivig_course_counts_for_30_days(days_ago, named):
    res = k.base_resources() + [drug(IVIG, "completed", days_ago=days_ago), drug("tacrolimus 1 mg", oid="tac")]
    [f] = by_topic(record(res, drafts=[D()]), "ddi-triple-therapy")
    assert ("IVIG" in f.facts["drugs"]) is named


def test_completed_ivig_alone_raises_no_card():
    res = k.base_resources() + [drug(IVIG, "completed", days_ago=10)]
    assert topics(record(res, drafts=[D()])) == ["dose-guidance"]


def test_ivig_never_raises_ddi_biologic():
    res = k.base_resources() + [drug(IVIG), drug("cyclophosphamide 500 mg injection", oid="cyc")]
    assert topics(record(res, drafts=[D()])) == ["ddi-triple-therapy", "dose-guidance"]


def test_cyclosporine_exposure_is_still_said_when_ivig_is_on_the_card():
    res = k.base_resources() + [drug(IVIG), drug("cyclosporine 100 mg capsule", oid="csa")]
    [f] = by_topic(record(res, drafts=[D()]), "ddi-triple-therapy")
    assert f.variant == "with-ivig" and "AUC about +73%" in cards.render_card(f)["detail"]
