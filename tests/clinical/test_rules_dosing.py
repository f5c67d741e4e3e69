"""Dose rules end to end on records, the one-suggestion merge, and every fixture's dose suggestions."""

import json
import re
from pathlib import Path

import pytest

from cdshooks.clinical.dosing import regimens as rg
from cdshooks.data import parsers
from cdshooks.fhir_validation import validate_resource
from tests import fixturekit as k
from tests.clinical.dose_kit import by_topic, record, topics
from tests.clinical.wording import fact, rendered

D, dosage = k.tofacitinib_draft, k.dosage


def test_band_topics():
    assert topics(record(drafts=[D()])) == ["dose-guidance"]
    assert topics(record(drafts=[D(product=k.TOFA_10MG, dosages=[dosage(10, "mg", 2)])])) == ["dose-escalation"]
    assert topics(record(drafts=[D(dosages=[dosage(12, "mg", 2)])])) == ["dose-above-max"]
    assert topics(record(drafts=[D(dosages=[{"text": "take as directed"}])])) == ["dose-unverified"]


def test_thresholds_come_from_configuration():
    from dataclasses import replace

    from cdshooks.clinical import engine

    rec = record(drafts=[D()])
    strict = replace(k_thresholds(), dose_guidance_max_mg_day=5.0)
    assert [f.topic for f in engine.evaluate(rec, "order-select", strict) if f.topic.startswith("dose-")] == [
        "dose-escalation"
    ]


def k_thresholds():
    from cdshooks.clinical.thresholds import DEFAULT_THRESHOLDS

    return DEFAULT_THRESHOLDS


def test_reduced_dose_guidance_variant():
    [f] = by_topic(record(drafts=[D(dosages=[dosage(5, "mg", 1)])]), "dose-guidance")
    assert f.variant == "reduced"


def test_escalation_notes_a_prior_standard_dose_trial():
    prior = k.med_request("old", k.TOFA_5MG[1], k.TOFA_5MG[0], status="stopped", days_ago=200, dosages=[dosage(5, "mg", 2)])
    draft = D(product=k.TOFA_10MG, dosages=[dosage(10, "mg", 2)])
    [without_trial] = by_topic(record(drafts=[draft]), "dose-escalation")
    [with_trial] = by_topic(record(k.base_resources() + [prior], drafts=[draft]), "dose-escalation")
    assert "No prior" in fact(without_trial, "prior_trial")
    assert "prior order" in fact(with_trial, "prior_trial") and "stopped" in fact(with_trial, "prior_trial")


def test_only_selected_drafts_are_checked():
    other = k.med_request("x", "methotrexate 2.5 mg tablet", None, status="draft", days_ago=0)
    assert topics(record(drafts=[D(), other], selected={"x"})) == []
    assert topics(record(drafts=[D(), other], selected={"draft-tofa"})) == ["dose-guidance"]


def test_cancelled_draft_is_not_checked():
    draft = D()
    draft["status"] = "cancelled"
    assert topics(record(drafts=[draft])) == []


def test_no_dose_rules_on_patient_view():
    assert topics(record(drafts=[D()]), "patient-view") == []


def test_renal_fires_and_suppresses_guidance():
    rec = record(k.base_resources() + [k.condition("c", "CKD stage 4", "N18.4")], drafts=[D()])
    assert topics(rec) == ["dose-renal"]
    [f] = by_topic(rec, "dose-renal")
    assert fact(f, "target") == "5 mg once daily" and len(f.suggestions) == 1


def offered(f) -> list[tuple[str, str]]:
    return [(s.facts["suggested"], rendered(s.facts["choice"], f.topic, markdown=False)) for s in f.suggestions]


def test_reductions_for_two_reasons_stack_and_every_card_offers_the_same():
    res = k.base_resources() + [
        k.condition("c", "CKD stage 4", "N18.4"),
        k.med_request("f", "fluconazole 100 mg tablet", None, dosages=[dosage(100, "mg", 1)]),
    ]
    rec = record(res, drafts=[D(dosages=[dosage(15, "mg", 2)])])
    found = [f for t in ("dose-above-max", "dose-renal", "dose-cyp-inhibitor") for f in by_topic(rec, t)]
    assert len(found) == 3
    # renal + CYP stack: the escalation (10 mg BID) and the standard dose (5 mg BID) both
    # come down two steps to the floor, so there is one choice, and it is not "standard"
    assert all(offered(f) == [("5 mg once daily", "the adjusted dose")] for f in found)
    for f in found:
        assert "renal impairment and CYP3A4 inhibition stack" in fact(f, "consensus_note")
        assert "Several dose rules" in fact(f, "consensus_note")


def test_escalation_with_a_cyp_inhibitor_gets_two_labelled_choices_on_every_card():
    """Unsafe 3 of issue 12: the escalation card offered "5 mg once daily (the standard dose)" and the CYP card 5 mg BID."""
    fluconazole = k.med_request("f", "fluconazole 200 mg tablet", None, dosages=[dosage(200, "mg", 1)])
    rec = record(k.base_resources() + [fluconazole], drafts=[D(product=k.TOFA_10MG, dosages=[dosage(10, "mg", 2)])])
    cards = by_topic(rec, "dose-escalation") + by_topic(rec, "dose-cyp-inhibitor")
    assert len(cards) == 2
    for f in cards:
        assert offered(f) == [("5 mg BID", "keep the escalation, adjusted"), ("5 mg once daily", "standard dose, adjusted")]
        assert [s.is_recommended for s in f.suggestions] == [False, True]
        assert "**standard dose, adjusted: 5 mg once daily**" in fact(f, "choices")
        assert "the standard dose: 5 mg once daily" not in fact(f, "choices")


def test_escalation_with_renal_impairment_keeps_the_choice_and_accepting_it_is_still_flagged():
    ckd4 = k.condition("c", "CKD stage 4", "N18.4")
    rec = record(k.base_resources() + [ckd4], drafts=[D(dosages=[dosage(10, "mg", 2)])])
    for t in ("dose-escalation", "dose-renal"):
        [f] = by_topic(rec, t)
        assert offered(f) == [("5 mg BID", "keep the escalation, adjusted"), ("5 mg once daily", "standard dose, adjusted")]
    # accepting "keep the escalation, adjusted" leaves 5 mg BID: the renal card offers the adjusted dose
    [again] = by_topic(record(k.base_resources() + [ckd4], drafts=[D(dosages=[dosage(5, "mg", 2)])]), "dose-renal")
    assert offered(again) == [("5 mg once daily", "the adjusted dose")]
    # accepting "standard dose, adjusted" raises only the already-reduced renal card, with nothing to suggest
    rec2 = record(k.base_resources() + [ckd4], drafts=[D(dosages=[dosage(5, "mg", 1)])])
    assert topics(rec2) == ["dose-renal"]
    assert all(not f.suggestions for f in by_topic(rec2, "dose-renal"))


def test_escalation_alone_still_offers_the_standard_dose():
    rec = record(k.base_resources(), drafts=[D(dosages=[dosage(10, "mg", 2)])])
    [f] = by_topic(rec, "dose-escalation")
    assert offered(f) == [("5 mg BID", "the standard dose")]


def test_above_max_alone_offers_escalation_and_standard_dose():
    [f] = by_topic(record(drafts=[D(dosages=[dosage(15, "mg", 2)])]), "dose-above-max")
    assert [s.facts["suggested"] for s in f.suggestions] == ["10 mg BID", "5 mg BID"]
    assert f.suggestions[-1].is_recommended and not f.suggestions[0].is_recommended


def test_hepatic_c_is_critical_without_suggestion():
    rec = record(k.base_resources() + [k.condition("h", "Hepatic failure", "K72.90")], drafts=[D()])
    [f] = by_topic(rec, "dose-hepatic")
    assert f.variant == "severe" and not f.suggestions


def test_unreadable_dose_still_warns_for_renal_without_a_suggestion():
    rec = record(k.base_resources() + [k.condition("c", "CKD stage 5", "N18.5")], drafts=[D(dosages=[])])
    assert topics(rec) == ["dose-renal", "dose-unverified"]
    [f] = by_topic(rec, "dose-renal")
    assert not f.suggestions and "5 mg once daily" in fact(f, "target")


# --- every dosing/interaction fixture: suggestion resources valid and recomputing ---

FIXTURES = sorted(p for p in k.FIXTURES.glob("*/scenario.json") if p.parent.name.startswith(("dose-", "ddi-")))
REGIMENS = {r.label: r for r in (rg.IR_5_QD, rg.IR_5_BID, rg.IR_10_BID, rg.XR_11, rg.XR_22)}


def regimen_in(label: str) -> rg.Regimen:
    """"Change to tofacitinib 5 mg BID (keep the escalation, adjusted)" -> IR 5 mg BID."""
    rest = label.split("tofacitinib ", 1)[1]
    return REGIMENS[re.split(r" \(| for the course| while the inhibitor is taken", rest, maxsplit=1)[0]]


@pytest.fixture(scope="module")
def client():
    from cdshooks.app import create_app
    from cdshooks.config import Settings

    return Settings, create_app


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.parent.name)
def test_fixture_suggestions_are_valid_and_compute_to_the_intended_dose(path: Path, client):
    Settings, create_app = client
    doc = json.loads(path.read_text())
    from datetime import datetime

    now = datetime.fromisoformat(doc["asOf"].replace("Z", "+00:00"))
    app = create_app(Settings.from_env(now=now, auth_enabled=False))
    body = app.test_client().post(f"/cds-services/{doc['service']}", json=doc["request"]).get_json()
    entries = doc["request"]["context"].get("draftOrders", {}).get("entry", [])
    drafts = {e["resource"]["id"] for e in entries}
    draft_refs = {f"{e['resource']['resourceType']}/{e['resource']['id']}" for e in entries}
    offered_per_order: dict[str, set[tuple[str, ...]]] = {}
    for card in body["cards"]:
        if not card["source"]["topic"]["code"].startswith(("dose-", "ddi-")):
            continue
        for s in card.get("suggestions", []):
            for a in s["actions"]:
                if a["type"] == "delete":
                    assert a["resourceId"] in draft_refs  # a relative reference to a draft
                    continue
                res = a["resource"]
                validate_resource(res)
                if a["type"] == "create":
                    # a new order for an active, undrafted tofacitinib: never an update of a record resource
                    assert "id" not in res and res["status"] == "draft" and res["resourceType"] == "MedicationRequest"
                    assert res["priorPrescription"]["reference"].startswith("MedicationRequest/")
                    intended = regimen_in(s["label"])
                    dose = rg.read(parsers.medication_order(res, {}, is_draft=True))
                    assert dose.reading.mg_per_day == pytest.approx(intended.mg_per_day)
                    continue
                assert a["type"] == "update" and res["id"] in drafts and res["status"] == "draft"
                intended = regimen_in(s["label"])
                dose = rg.read(parsers.medication_order(res, {}, is_draft=True))
                assert dose.reading.mg_per_day == pytest.approx(intended.mg_per_day)
                assert dose.product.extended_release is intended.extended_release
                labels = tuple(x["label"] for x in card["suggestions"])
                offered_per_order.setdefault(res["id"], set()).add(labels)
    # every dose card of one draft offers the same labelled set (clinical-rules.md, "Dose reductions")
    assert all(len(v) == 1 for v in offered_per_order.values()), offered_per_order


def test_five_mg_bid_with_an_inhibitor_names_the_escalation_adjusted_override():
    fluconazole = k.med_request("f", "fluconazole 200 mg tablet", None, dosages=[dosage(200, "mg", 1)])
    [f] = by_topic(record(k.base_resources() + [fluconazole], drafts=[D()]), "dose-cyp-inhibitor")
    assert offered(f) == [("5 mg once daily", "the adjusted dose")]
    assert "Escalation adjusted for the inhibitor" in fact(f, "escalation_note")
    [g] = by_topic(record(k.base_resources() + [fluconazole], drafts=[D(dosages=[dosage(5, "mg", 1)])]), "dose-cyp-inhibitor")
    assert g.facts["escalation_note"] is None and fact(g, "escalation_note") == ""
