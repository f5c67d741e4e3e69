"""malignancy, gi-perforation and xr-gi-narrowing at a tofacitinib start or renewal (revision 2)."""

import pytest

from cdshooks import cards
from cdshooks.clinical.rules import start_risks
from cdshooks.clinical.thresholds import DEFAULT_THRESHOLDS as TH
from tests import fixturekit as k
from tests.clinical.dose_kit import record


def run(fn, rec):
    return list(fn(rec, TH))


@pytest.mark.parametrize(
    "icd, text, clinical, fires",
    [
        ("C50.911", "Breast cancer", "active", True),
        ("Z85.3", "History of breast cancer", "resolved", True),  # a history counts whatever its status
        ("C83.30", "Diffuse large B-cell lymphoma", "remission", True),
        ("C44.91", "Basal cell carcinoma of skin", "active", False),  # non-melanoma skin cancer never counts
        ("Z85.828", "History of other malignant neoplasm of skin", "resolved", False),
        (None, "Adenocarcinoma of lung", "active", True),  # text only
        (None, "History of basal cell carcinoma", "resolved", False),
        (None, "Family history of breast cancer", "active", False),
    ],
)
def test_malignancy(icd, text, clinical, fires):
    cond = k.condition("c", text, icd, clinical=clinical, onset_days_ago=800)
    rec = record(k.base_resources() + [cond], drafts=[k.tofacitinib_draft()])
    assert bool(run(start_risks.malignancy, rec)) is fires


def test_malignancy_refuted_never_counts_and_patient_view_never_shows_it():
    cond = k.condition("c", "Breast cancer", "C50.911", verification="refuted")
    assert run(start_risks.malignancy, record(k.base_resources() + [cond], drafts=[k.tofacitinib_draft()])) == []
    active = k.condition("c", "Breast cancer", "C50.911")
    assert run(start_risks.malignancy, record(k.base_resources(on_tofacitinib=True) + [active])) == []


def test_malignancy_card_names_the_condition_and_its_onset():
    cond = k.condition("c", "Breast cancer", "C50.911", onset_days_ago=800)
    [f] = run(start_risks.malignancy, record(k.base_resources() + [cond], drafts=[k.tofacitinib_draft()]))
    card = cards.render_card(f)
    assert "Breast cancer" in card["summary"] and "2023-" in card["summary"] and len(card["summary"]) < 140


@pytest.mark.parametrize(
    "icd, text, fires",
    [("K57.32", "Diverticulitis of large intestine", True), ("K57.30", "Diverticulosis of large intestine", False),
     ("K63.1", "Perforation of intestine", True), ("K25.5", "Chronic gastric ulcer with perforation", True),
     ("K25.7", "Chronic gastric ulcer without hemorrhage or perforation", False),
     (None, "Diverticulosis without diverticulitis", False), (None, "Sigmoid diverticulitis", True)],
)
def test_gi_perforation(icd, text, fires):
    cond = k.condition("c", text, icd, clinical="resolved", onset_days_ago=2000)
    rec = record(k.base_resources() + [cond], drafts=[k.tofacitinib_draft()])
    assert bool(run(start_risks.gi_perforation, rec)) is fires


def test_gi_perforation_names_the_glucocorticoid_dose_and_a_systemic_nsaid_not_a_gel():
    cond = k.condition("c", "Diverticulitis", "K57.92")
    nsaid = k.med_request("n", "naproxen 500 MG Oral Tablet", None, dosages=[k.dosage(500, "mg", 2)])
    gel = k.med_request("g", "diclofenac 1 % topical gel", None)
    rec = record(k.base_resources() + [cond, nsaid, gel], drafts=[k.tofacitinib_draft()])
    [f] = run(start_risks.gi_perforation, rec)
    detail = cards.render_card(f)["detail"]
    assert "prednisone 10 MG Oral Tablet: 10 mg/day" in detail and "naproxen" in detail and "diclofenac" not in detail


XR = k.TOFA_XR11


@pytest.mark.parametrize(
    "product, problem, route, fires",
    [
        (XR, ("K56.69", "Other intestinal obstruction"), None, True),
        (XR, ("K50.012", "Crohn's disease of small intestine with intestinal obstruction"), None, True),
        (XR, (None, "Esophageal stricture"), None, True),
        (k.TOFA_5MG, ("K56.69", "Other intestinal obstruction"), None, False),  # an IR draft: the near miss
        (XR, None, {"coding": [{"system": k.SNOMED, "code": "127490009", "display": "Gastrostomy route"}]}, True),
        (XR, None, {"text": "per PEG"}, True),
        (XR, None, {"text": "oral"}, False),
    ],
)
def test_xr_gi_narrowing(product, problem, route, fires):
    dosage = k.dosage(11 if product == XR else 5, "mg", 1 if product == XR else 2)
    if route:
        dosage["route"] = route
    extra = [k.condition("c", problem[1], problem[0])] if problem else []
    rec = record(k.base_resources() + extra, drafts=[k.tofacitinib_draft(product=product, dosages=[dosage])])
    assert bool(run(start_risks.xr_gi_narrowing, rec)) is fires


def test_xr_22_moves_to_ir_10_bid_and_the_update_recomputes():
    dosage = k.dosage(22, "mg", 1)
    rec = record(k.base_resources() + [k.condition("c", "Pyloric stenosis", "K31.1")],
                 drafts=[k.tofacitinib_draft(product=k.TOFA_XR22, dosages=[dosage])])
    [f] = run(start_risks.xr_gi_narrowing, rec)
    [s] = f.suggestions
    res = s.actions[0].resource
    assert s.facts["suggested"] == "10 mg BID" and res["medicationCodeableConcept"]["coding"][0]["code"] == "2048566"
