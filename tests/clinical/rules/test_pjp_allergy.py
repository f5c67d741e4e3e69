"""pjp-prophylaxis (revision 2): EULAR wording, and atovaquone instead of TMP-SMX with a sulfonamide allergy."""

import pytest

from cdshooks import cards
from cdshooks.clinical.rules import infection
from cdshooks.clinical.thresholds import DEFAULT_THRESHOLDS as TH
from cdshooks.data.record import Coding
from tests.clinical.records import allergy, med, record, tofa

SNOMED = "http://snomed.info/sct"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
ON_PRED = [tofa(), med("prednisone 20 MG Oral Tablet", 10, 40)]
LONG_GC = [tofa(), med("methylprednisolone 1000 MG Injection", 2, 1000)]


def sulfa(text="Sulfa drugs", codings=(), verification="confirmed"):
    return allergy("a1", [text] if text else [], codings, verification=verification)


def card_for(rec):
    (f,) = infection.pjp_prophylaxis(rec, TH)
    return f, cards.render_card(f)


def medication_texts(card):
    return [a["resource"]["medicationCodeableConcept"]["text"] for s in card["suggestions"] for a in s["actions"]]


def test_eular_wording_and_why_the_service_fires_from_15_mg():
    _, card = card_for(record(meds=ON_PRED))
    assert '"seems to be beneficial"' in card["detail"]
    assert "15-30 mg prednisolone for more than 2-4 weeks" in card["detail"]
    assert "because tofacitinib is added to other immunosuppressants" in card["detail"]
    assert "No sulfonamide-antibiotic allergy is on record" in card["detail"]


@pytest.mark.parametrize(
    "allergy",
    [
        sulfa(),
        sulfa("Bactrim"),
        sulfa("co-trimoxazole intolerance"),
        sulfa("Sulfonamide antibiotics"),
        sulfa(None, [Coding(SNOMED, "91939003")]),
        sulfa(None, [Coding(SNOMED, "294505008")]),
        sulfa("local code", [Coding(RXNORM, "10831")]),
        sulfa("substance", [Coding(RXNORM, "10180")]),
    ],
)
def test_sulfonamide_allergy_suggests_atovaquone_names_the_allergy_and_mentions_dapsone(allergy):
    rec = record(meds=ON_PRED, allergies=(allergy,))
    f, card = card_for(rec)
    assert f.variant == "sulfa-allergy"
    assert medication_texts(card) == ["atovaquone 750 mg/5 mL oral suspension"]
    sr = card["suggestions"][0]["actions"][0]["resource"]
    assert "coding" not in sr["medicationCodeableConcept"]  # never an invented code
    assert sr["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"]["value"] == 1500
    assert rec.allergies[0].label in card["detail"]
    assert "dapsone" in card["detail"] and "G6PD" in card["detail"] and "cross-reactivity" in card["detail"]
    assert "TMP-SMX" not in card["suggestions"][0]["label"]
    assert "atovaquone" in card["summary"] and len(card["summary"]) < 140


def test_other_allergies_keep_tmp_smx():
    penicillin = allergy("a2", ["Penicillin"])
    sulfasalazine = allergy("a3", ["Sulfasalazine"])  # not "sulfa" as a word
    f, card = card_for(record(meds=ON_PRED, allergies=(penicillin, sulfasalazine)))
    assert f.variant == "default"
    assert all("sulfamethoxazole" in t for t in medication_texts(card))


def test_without_the_allergy_list_the_card_says_the_check_was_not_done():
    f, card = card_for(record(meds=ON_PRED, unavailable=frozenset({"allergies"})))
    assert f.variant == "allergies-unknown"
    assert "Allergy check not done" in card["detail"]
    assert "allergies not checked" in card["summary"]
    assert all("sulfamethoxazole" in t for t in medication_texts(card))


@pytest.mark.parametrize("meds", [ON_PRED, LONG_GC])
@pytest.mark.parametrize("extra", [{}, {"unavailable": frozenset({"allergies"})}, {"allergies": (sulfa(),)}])
def test_summaries_stay_short(meds, extra):
    _, card = card_for(record(meds=meds, **extra))
    assert len(card["summary"]) < 140, card["summary"]
