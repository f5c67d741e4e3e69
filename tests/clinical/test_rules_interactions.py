"""Interactions in both directions, one card per class, only orders that count, moderate CYP3A4 silent."""

import pytest

from tests import fixturekit as k
from tests.clinical.dose_kit import by_topic, record, topics
from tests.clinical.wording import fact

D, dosage = k.tofacitinib_draft, k.dosage

# (topic, a drug of the class as a text-only order name)
CLASSES = [
    ("dose-cyp-inhibitor", "clarithromycin 500 mg tablet"),
    ("dose-cyp-inhibitor", "Diflucan 150 mg"),
    ("ddi-cyp-inducer", "carbamazepine 200 mg tablet"),
    ("ddi-jak-duplicate", "Rinvoq 15 mg"),
    ("ddi-biologic", "etanercept 50 mg/mL syringe"),
    ("ddi-rituximab", "Rituxan 1000 mg infusion"),
    ("ddi-immunosuppressant", "Imuran 50 mg"),
    ("ddi-triple-therapy", "mycophenolate mofetil 500 mg"),
    ("ddi-live-vaccine", "Varivax (varicella virus vaccine live)"),
]


def other(name, status="active", oid="other"):
    return k.med_request(oid, name, None, status=status, days_ago=0 if status == "draft" else 20)


@pytest.mark.parametrize("topic, name", CLASSES)
def test_tofacitinib_drafted_while_other_active(topic, name):
    rec = record(k.base_resources() + [other(name)], drafts=[D()])
    assert topic in topics(rec)
    [f] = [f for f in by_topic(rec, topic)]
    assert f.facts["drugs"] in fact(f, "drug_list")


@pytest.mark.parametrize("topic, name", CLASSES)
def test_other_drafted_while_tofacitinib_active(topic, name):
    rec = record(drafts=[other(name, "draft")], on_tofacitinib=True)
    assert topics(rec) == [topic]


@pytest.mark.parametrize("topic, name", CLASSES)
def test_both_drafted(topic, name):
    rec = record(drafts=[D(), other(name, "draft")])
    assert topic in topics(rec)


@pytest.mark.parametrize("topic, name", CLASSES)
def test_patient_view_needs_both_active(topic, name):
    assert topic in topics(record(k.base_resources(on_tofacitinib=True) + [other(name)]), "patient-view")
    assert topics(record(k.base_resources() + [other(name)]), "patient-view") == []


@pytest.mark.parametrize("status", ["stopped", "cancelled", "completed", "entered-in-error", "on-hold", "draft"])
def test_record_orders_that_are_not_active_do_not_count(status):
    rec = record(k.base_resources() + [other("fluconazole 200 mg", status)], drafts=[D()])
    assert topics(rec) == ["dose-guidance"]


def test_other_drug_alone_without_tofacitinib_is_silent():
    assert topics(record(drafts=[other("fluconazole 200 mg", "draft")])) == []


def test_both_active_is_not_an_order_hook_finding():
    # order-select with an unrelated draft: the chronic pair is patient-view's business
    rec = record(k.base_resources(on_tofacitinib=True) + [other("fluconazole 200 mg")],
                 drafts=[other("methotrexate 2.5 mg", "draft", oid="mtx")])
    assert topics(rec) == []


@pytest.mark.parametrize("name", ["diltiazem 120 mg", "verapamil 80 mg", "erythromycin 250 mg", "Cresemba 186 mg", "amiodarone 200 mg", "letermovir 480 mg"])
def test_moderate_cyp3a4_inhibitors_alone_do_not_fire(name):
    assert topics(record(k.base_resources() + [other(name)], drafts=[D()])) == ["dose-guidance"]


def test_cyclosporine_is_triple_therapy_not_cyp():
    rec = record(k.base_resources() + [other("Neoral 100 mg")], drafts=[D()])
    assert topics(rec) == ["ddi-triple-therapy", "dose-guidance"]


def test_one_card_per_class_naming_every_drug():
    res = k.base_resources() + [other("itraconazole 200 mg", oid="a"), other("posaconazole 300 mg", oid="b")]
    [f] = by_topic(record(res, drafts=[D()]), "dose-cyp-inhibitor")
    assert f.facts["drugs"] == "itraconazole, posaconazole"


def test_rituximab_is_not_a_biologic_warning_and_adalimumab_is():
    assert topics(record(k.base_resources() + [other("rituximab 1 g")], drafts=[D()])) == ["ddi-rituximab", "dose-guidance"]
    assert topics(record(k.base_resources() + [other("adalimumab 40 mg")], drafts=[D()])) == ["ddi-biologic", "dose-guidance"]


@pytest.mark.parametrize(
    ("drug", "agent_class"),
    [("ketoconazole 200 mg", "antifungal"), ("posaconazole 300 mg", "antifungal"),
     ("clarithromycin 500 mg", "antibiotic"), ("Paxlovid (nirmatrelvir 300 mg / ritonavir 100 mg)", "antiviral")],
)
def test_cyp_inhibitor_drafted_on_active_tofacitinib_never_deletes_the_anti_infective(drug, agent_class):
    # It used to offer only "remove the draft": deleting the treatment of an infection.
    [f] = by_topic(record(drafts=[other(drug, "draft", oid="inh")], on_tofacitinib=True), "dose-cyp-inhibitor")
    assert f.variant == "inhibitor-drafted"
    assert f.facts["agent_class"] == agent_class
    [s] = f.suggestions
    [a] = s.actions
    assert a.type == "create" and a.resource_id is None
    res = a.resource
    assert res["resourceType"] == "MedicationRequest" and res["status"] == "draft" and "id" not in res
    assert res["dosageInstruction"][0]["timing"]["repeat"]["frequency"] == 1  # 5 mg BID -> 5 mg once daily
    assert "5 mg BID must be reduced to **the adjusted dose: 5 mg once daily**" in fact(f, "reduction")


def test_cyp_inhibitor_with_tofacitinib_draft_updates_only_the_draft():
    [f] = by_topic(record(k.base_resources() + [other("voriconazole 200 mg")], drafts=[D()]), "dose-cyp-inhibitor")
    [s] = f.suggestions
    [a] = s.actions
    assert a.type == "update" and a.resource["id"] == "draft-tofa"


def test_patient_view_cyp_card_offers_a_new_reduced_order_never_an_update():
    # nothing is drafted on patient-view: the reduced regimen is a `create` pointing at the active order
    [f] = by_topic(record(k.base_resources(on_tofacitinib=True) + [other("fluconazole 200 mg")]), "dose-cyp-inhibitor", "patient-view")
    assert f.variant == "on-therapy"
    [s] = f.suggestions
    [a] = s.actions
    assert s.key == "new-reduced-order" and a.type == "create" and s.facts["suggested"] == "5 mg once daily"
    assert a.resource["priorPrescription"] == {"reference": "MedicationRequest/m-tofa"} and "id" not in a.resource


def test_jak_duplicate_removes_the_drafted_jak_inhibitor():
    [f] = by_topic(record(drafts=[other("baricitinib 4 mg", "draft", oid="bari")], on_tofacitinib=True), "ddi-jak-duplicate")
    assert [a.resource_id for s in f.suggestions for a in s.actions] == ["MedicationRequest/bari"]
    [f] = by_topic(record(k.base_resources() + [other("baricitinib 4 mg")], drafts=[D()]), "ddi-jak-duplicate")
    assert [a.resource_id for s in f.suggestions for a in s.actions] == ["MedicationRequest/draft-tofa"]


def test_a_second_tofacitinib_order_is_not_a_jak_duplicate():
    assert "ddi-jak-duplicate" not in topics(record(drafts=[D()], on_tofacitinib=True))


def test_ddi_cards_do_not_suppress_dose_guidance():
    assert topics(record(k.base_resources() + [other("tacrolimus 1 mg")], drafts=[D()])) == ["ddi-triple-therapy", "dose-guidance"]


def test_recombinant_zoster_is_not_live():
    rzv = other("Shingrix", "draft", oid="rzv")
    rzv["medicationCodeableConcept"]["coding"] = [{"system": k.CVX, "code": "187"}]
    assert topics(record(drafts=[rzv], on_tofacitinib=True)) == []


def test_patient_view_cyp_card_with_an_unreadable_active_dose_still_renders():
    from cdshooks.cards import render_card

    res = k.without(k.base_resources(on_tofacitinib=True), "m-tofa")
    res.append(k.med_request("m-tofa", k.TOFA_5MG[1], k.TOFA_5MG[0], days_ago=120, dosages=[{"text": "as directed"}]))
    [f] = by_topic(record(res + [other("fluconazole 200 mg")]), "dose-cyp-inhibitor", "patient-view")
    assert not f.suggestions and "dose not readable" in render_card(f)["detail"]


def _on_5mg_daily():
    res = k.without(k.base_resources(on_tofacitinib=True), "m-tofa")
    res.append(k.med_request("m-tofa", k.TOFA_5MG[1], k.TOFA_5MG[0], days_ago=120, dosages=[k.dosage(5, "mg", 1)]))
    return res


def test_inhibitor_drafted_on_an_already_reduced_order_says_no_change_and_offers_nothing():
    [f] = by_topic(record(_on_5mg_daily(), drafts=[other("voriconazole 200 mg", "draft", oid="vori")]), "dose-cyp-inhibitor")
    assert f.variant == "inhibitor-drafted-adjusted" and not f.suggestions


def test_patient_view_is_silent_when_the_active_order_is_already_reduced():
    assert "dose-cyp-inhibitor" not in topics(record(_on_5mg_daily() + [other("fluconazole 200 mg")]), "patient-view")
