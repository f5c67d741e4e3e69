"""Topical and eye preparations are not systemic interactions; names in other spellings still match."""

import pytest

from tests import fixturekit as k
from tests.clinical.dose_kit import record, topics

D = k.tofacitinib_draft


def active(name, route=None, oid="other"):
    mr = k.med_request(oid, name, None, status="active", days_ago=20, dosages=[{"text": "apply as directed"}])
    if route:
        mr["dosageInstruction"][0]["route"] = {"text": route}
    return mr


@pytest.mark.parametrize(
    "name, route",
    [
        # common in dermatomyositis: scalp (ketoconazole shampoo), skin (tacrolimus ointment), sicca (cyclosporine drops)
        ("ketoconazole 2 % Medicated Shampoo", None),
        ("ketoconazole 20 MG/ML Topical Cream", None),
        ("ketoconazole", "Topical"),
        ("tacrolimus 0.1 % Topical Ointment", None),
        ("cycloSPORINE 0.05 % Ophthalmic Emulsion", None),
        ("cyclosporine", "Ophthalmic"),
    ],
)
def test_topical_and_eye_preparations_do_not_fire(name, route):
    rec = record(k.base_resources() + [active(name, route)], drafts=[D()])
    assert topics(rec) == ["dose-guidance"]


@pytest.mark.parametrize(
    "name, topic",
    [
        ("ketoconazole 200 MG Oral Tablet", "dose-cyp-inhibitor"),
        ("tacrolimus 1 MG Oral Capsule", "ddi-triple-therapy"),
        ("cyclosporine 100 MG Oral Capsule", "ddi-triple-therapy"),
        # a topical JAK inhibitor keeps its card: its own label advises against other JAK inhibitors
        ("ruxolitinib 1.5 % Topical Cream", "ddi-jak-duplicate"),
    ],
)
def test_systemic_forms_still_fire(name, topic):
    rec = record(k.base_resources() + [active(name)], drafts=[D()])
    assert topic in topics(rec)


@pytest.mark.parametrize("name", ["St. John\u2019s wort 300 mg capsule", "Saint John\u2019s Wort extract", "St Johns Wort"])
def test_st_johns_wort_with_typographic_apostrophe(name):
    rec = record(k.base_resources() + [active(name)], drafts=[D()])
    assert "ddi-cyp-inducer" in topics(rec)
