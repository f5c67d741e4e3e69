"""The card-wording (Phrase) forms of labels that rules outside dose and interactions still join as strings.

Until pregnancy, hepatitis_b, start_risks, infection, summary, screening and monitoring hand the Phrase forms
over, both exist; these tests keep the two saying the same thing (then the string forms go).
"""

from datetime import timedelta

import pytest

from cdshooks.clinical import interacting_drugs as ddi
from cdshooks.clinical.glucocorticoids import steroid_dose
from cdshooks.clinical.monitoring_plan import LIPID_TESTS
from cdshooks.clinical.suggestions.new_orders import short_list, short_names
from cdshooks.clinical.therapy_status import regimen, regimen_described
from cdshooks.data import parsers
from tests import fixturekit as k
from tests.clinical.wording import rendered


def plain(value) -> str:
    return rendered(value, "dose-guidance", markdown=False)


def order(name, dosages=(), rxnorm=None, **kw):
    return parsers.medication_order(k.med_request("m", name, rxnorm, dosages=dosages, **kw), {})


@pytest.mark.parametrize(
    "name, dosages, weight",
    [
        ("prednisone 20 MG Oral Tablet", [k.dosage(20, "mg", 1)], None),
        ("methylprednisolone 4 MG Oral Tablet", [k.dosage(16, "mg", 1)], None),
        ("prednisone 5 MG Oral Tablet", [k.dosage(1, "mg/kg", 1)], 62),
        ("prednisone 5 MG Oral Tablet", [{"text": "as directed"}], None),
    ],
)
def test_a_glucocorticoid_dose_reads_the_same_as_a_phrase(name, dosages, weight):
    dose = steroid_dose(order(name, dosages), weight)
    assert dose is not None and plain(dose.described) == dose.label


def test_a_weight_based_dose_shows_its_arithmetic():
    dose = steroid_dose(order("prednisone 5 MG Oral Tablet", [k.dosage(1, "mg/kg", 1)]), 62)
    assert plain(dose.described) == "prednisone 5 MG Oral Tablet: 62 mg/day (from 1 mg/kg x 62 kg (doseQuantity) x 1/day (timing.repeat 1 per 1 d))"


def _hits() -> list[ddi.DrugHit]:
    fluconazole = order("Diflucan 200 mg tablet", [k.dosage(200, "mg", 1)])
    draft = parsers.medication_order(k.med_request("d", "fluconazole", None, status="draft"), {}, is_draft=True)
    given = parsers.medication_administration(k.administration("a", "Rituxan 1000 mg infusion"), {})
    completed = order("rituximab", status="completed")
    return [
        ddi.DrugHit(fluconazole, "fluconazole", role="strong CYP3A4 inhibitor", value_set="strong-cyp3a4-inhibitors"),
        ddi.DrugHit(draft, "fluconazole"),
        ddi.DrugHit(given, "rituximab", given=k.AS_OF - timedelta(days=120)),
        ddi.DrugHit(completed, "rituximab", given=k.AS_OF - timedelta(days=40)),
    ]


@pytest.mark.parametrize("index", range(4))
def test_an_interacting_drug_reads_the_same_as_a_phrase(index):
    hit = _hits()[index]
    assert plain(hit.described) == hit.label


def test_an_interacting_drug_names_its_role_product_and_order():
    assert plain(_hits()[0].described) == "fluconazole (strong CYP3A4 inhibitor; Diflucan 200 mg tablet, active order)"


@pytest.mark.parametrize("dosages", [[k.dosage(5, "mg", 2)], [{"text": "as directed"}]])
def test_a_tofacitinib_regimen_reads_the_same_as_a_phrase(dosages):
    o = order(k.TOFA_5MG[1], dosages, k.TOFA_5MG[0])
    assert plain(regimen_described(o)) == regimen(o)


@pytest.mark.parametrize("tests", [["lymphocytes-absolute", "hemoglobin", *LIPID_TESTS], ["alt", "ldl"]])
def test_short_lab_names_read_the_same_as_a_series(tests):
    assert plain(short_names(tests, LIPID_TESTS)) == short_list(tests, LIPID_TESTS)
