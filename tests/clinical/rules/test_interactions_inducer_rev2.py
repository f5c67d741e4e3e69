"""ddi-cyp-inducer (revision 2): rifapentine is a strong CYP3A4 inducer; when the inducer is latent TB
treatment (rifampin 4R, isoniazid + rifapentine 3HP/1HP) the card names the regimen and says that an
isoniazid-only regimen avoids the interaction, or that tofacitinib can start after the course."""

import pytest

from cdshooks import cards
from tests import fixturekit as k
from tests.clinical.dose_kit import by_topic, record, topics
from tests.clinical.wording import fact

D = k.tofacitinib_draft
LATENT = k.condition("c-ltbi", "Latent tuberculosis", "Z22.7", "11999007")
ACTIVE_TB = k.condition("c-tb", "Pulmonary tuberculosis", "A15.0")


def other(name, status="active", oid="other"):
    return k.med_request(oid, name, None, status=status, days_ago=0 if status == "draft" else 20)


def positive_igra(resources):
    return k.without(resources, "o-igra") + [k.observation("o-igra", "71773-6", days_ago=70, value_concept=k.POSITIVE)]


def inducer_card(rec, hook="order-select"):
    [f] = by_topic(rec, "ddi-cyp-inducer", hook)
    card = cards.render_card(f)
    card["detail"] = " ".join(card["detail"].split())  # template line breaks are not the point
    return f, card


@pytest.mark.parametrize("name", ["rifapentine 150 MG Oral Tablet", "Priftin 150 mg"])
def test_rifapentine_is_a_strong_cyp3a4_inducer(name):
    # It was in no inducer value set: tofacitinib was started beside it without a word.
    assert topics(record(k.base_resources() + [other(name)], drafts=[D()])) == ["ddi-cyp-inducer", "dose-guidance"]


def test_3hp_names_the_regimen_and_the_isoniazid_only_alternative_at_a_new_start():
    res = k.base_resources() + [other("isoniazid 300 mg tablet", oid="inh"), other("rifapentine 150 mg tablet", oid="rpt")]
    f, c = inducer_card(record(res, drafts=[D()]))
    assert f.variant == "ltbi"
    assert fact(f, "regimen") == "isoniazid + rifapentine (3HP/1HP)"
    assert c["summary"] == ("Tofacitinib with isoniazid + rifapentine (3HP/1HP) for latent TB: strong CYP3A4 inducer; "
                            "isoniazid alone avoids the interaction")
    assert len(c["summary"]) < 140
    assert "An **isoniazid-only regimen** avoids the interaction" in c["detail"]
    assert "tofacitinib can start after the rifamycin course" in c["detail"]
    assert "at least 28 days of isoniazid" in c["detail"]


@pytest.mark.parametrize("evidence", ["condition", "igra"])
def test_rifampin_with_latent_tb_on_record_is_4r(evidence):
    base = k.base_resources() + [LATENT] if evidence == "condition" else positive_igra(k.base_resources())
    f, c = inducer_card(record(base + [other("rifampin 300 mg capsule")], drafts=[D()]))
    assert f.variant == "ltbi" and fact(f, "regimen") == "rifampin (4R)"
    assert ("Latent tuberculosis (Z22.7)" if evidence == "condition" else "positive IGRA on 2025-11-06") in c["detail"]


def test_rifampin_with_isoniazid_and_latent_tb_is_3hr():
    res = positive_igra(k.base_resources()) + [other("rifampin 300 mg", oid="rif"), other("isoniazid 300 mg", oid="inh")]
    f, _ = inducer_card(record(res, drafts=[D()]))
    assert fact(f, "regimen") == "isoniazid + rifampin (3HR)"


def test_rifampin_without_latent_tb_keeps_the_plain_card():
    f, c = inducer_card(record(k.base_resources() + [other("rifampin 300 mg")], drafts=[D()]))
    assert f.variant == "default"
    assert "isoniazid-only regimen avoids the interaction" in c["detail"]  # as a condition: "if ... for latent TB"


def test_active_tb_treatment_is_not_latent_tb_treatment():
    res = k.base_resources() + [ACTIVE_TB, LATENT, other("rifampin 300 mg", oid="rif"), other("isoniazid 300 mg", oid="inh")]
    f, _ = inducer_card(record(res, drafts=[D()]))
    assert f.variant == "default"


def test_on_therapy_the_card_does_not_speak_of_a_start():
    res = k.base_resources(on_tofacitinib=True) + [other("isoniazid 900 mg", oid="inh")]
    f, c = inducer_card(record(res, drafts=[other("rifapentine 900 mg", "draft", oid="rpt")]))
    assert f.variant == "ltbi"
    assert "can start" not in c["detail"]
    assert "expect less tofacitinib effect for the whole course" in c["detail"]


def test_patient_view_reads_the_regimen_too():
    res = k.base_resources(on_tofacitinib=True) + [LATENT, other("rifampin 300 mg")]
    f, c = inducer_card(record(res), "patient-view")
    assert f.variant == "ltbi" and "rifampin (4R)" in c["detail"] and "can start" not in c["detail"]


def test_isoniazid_alone_is_no_inducer():
    res = positive_igra(k.base_resources()) + [other("isoniazid 300 mg tablet")]
    assert topics(record(res, drafts=[D()])) == ["dose-guidance"]
