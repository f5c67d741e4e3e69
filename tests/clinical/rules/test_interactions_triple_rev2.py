"""ddi-triple-therapy (revision 2): with cyclosporine the card says that it raises tofacitinib exposure
(AUC about +73%, USPI clinical pharmacology); it never tells the clinician to stop the calcineurin inhibitor."""

import re

import pytest

from cdshooks import cards
from tests import fixturekit as k
from tests.clinical.dose_kit import by_topic, record

D = k.tofacitinib_draft


def active(name, oid="other"):
    return k.med_request(oid, name, None, days_ago=20)


def triple_card(rec, hook="order-select"):
    [f] = by_topic(rec, "ddi-triple-therapy", hook)
    return cards.render_card(f)


@pytest.mark.parametrize("name", ["cyclosporine 100 MG Oral Capsule", "Neoral 25 mg", "ciclosporin 50 mg"])
def test_cyclosporine_raises_tofacitinib_exposure(name):
    # The card said nothing about exposure: cyclosporine was one more "triple-therapy agent".
    c = triple_card(record(k.base_resources() + [active(name)], drafts=[D()]))
    assert "**With cyclosporine:** it raises tofacitinib exposure (AUC about +73%, USPI clinical pharmacology)" in c["detail"]


def test_on_patient_view_too():
    c = triple_card(record(k.base_resources(on_tofacitinib=True) + [active("cyclosporine 100 mg")]), "patient-view")
    assert "AUC about +73%" in c["detail"]


def test_cyclosporine_drafted_on_active_tofacitinib():
    draft = k.med_request("csa", "cyclosporine modified 100 MG Oral Capsule", None, status="draft", days_ago=0)
    c = triple_card(record(drafts=[draft], on_tofacitinib=True))
    assert "AUC about +73%" in c["detail"]


@pytest.mark.parametrize("name", ["tacrolimus 1 mg", "mycophenolate mofetil 500 mg", "cyclophosphamide 50 mg"])
def test_other_agents_get_no_cyclosporine_sentence(name):
    c = triple_card(record(k.base_resources() + [active(name)], drafts=[D()]))
    assert "cyclosporine:" not in c["detail"] and "+73%" not in c["detail"]


@pytest.mark.parametrize("name", ["cyclosporine 100 mg", "tacrolimus 1 mg"])
def test_never_tells_to_stop_the_calcineurin_inhibitor(name):
    c = triple_card(record(k.base_resources() + [active(name)], drafts=[D()]))
    text = c["summary"] + " " + c["detail"]
    assert not re.search(r"\b(stop|discontinu\w*|withdraw\w*|hold)\b", text, re.IGNORECASE)
    assert "suggestions" not in c
