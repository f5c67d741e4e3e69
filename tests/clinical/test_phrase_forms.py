"""The card-wording (Phrase) forms of the labels rules hand to cards: glucocorticoid doses, interacting
drugs, tofacitinib regimens and short lab names, rendered as plain text (cards/_phrases.toml)."""

from datetime import timedelta

import pytest

from cdshooks.clinical import interacting_drugs as ddi
from cdshooks.clinical.glucocorticoids import steroid_dose
from cdshooks.clinical.monitoring_plan import LIPID_TESTS
from cdshooks.clinical.suggestions.new_orders import short_names
from cdshooks.clinical.therapy_status import regimen_described
from cdshooks.data import parsers
from tests import fixturekit as k
from tests.clinical.wording import rendered


def plain(value) -> str:
    return rendered(value, "dose-guidance", markdown=False)


def order(name, dosages=(), rxnorm=None, **kw):
    return parsers.medication_order(k.med_request("m", name, rxnorm, dosages=dosages, **kw), {})


@pytest.mark.parametrize(
    "name, dosages, expected",
    [
        ("prednisone 20 MG Oral Tablet", [k.dosage(20, "mg", 1)], "prednisone 20 MG Oral Tablet: 20 mg/day"),
        (
            "methylprednisolone 4 MG Oral Tablet",
            [k.dosage(16, "mg", 1)],
            "methylprednisolone 4 MG Oral Tablet: 16 mg/day, 20 mg/day prednisone-equivalent",
        ),
        (
            "prednisone 5 MG Oral Tablet",
            [{"text": "as directed"}],
            "prednisone 5 MG Oral Tablet (dose not readable: no dose in text 'as directed';"
            " no frequency in text 'as directed')",
        ),
    ],
)
def test_a_glucocorticoid_dose_names_its_order_and_its_prednisone_equivalent(name, dosages, expected):
    dose = steroid_dose(order(name, dosages))
    assert dose is not None and plain(dose.described) == expected


def test_a_weight_based_dose_shows_its_arithmetic():
    dose = steroid_dose(order("prednisone 5 MG Oral Tablet", [k.dosage(1, "mg/kg", 1)]), 62)
    assert plain(dose.described) == "prednisone 5 MG Oral Tablet: 62 mg/day (from 1 mg/kg x 62 kg (doseQuantity) x 1/day (timing.repeat 1 per 1 d))"


def _hits() -> list[ddi.DrugHit]:
    fluconazole = order("Diflucan 200 mg tablet", [k.dosage(200, "mg", 1)])
    draft = parsers.medication_order(k.med_request("d", "fluconazole", None, status="draft"), {}, is_draft=True)
    given = parsers.medication_administration(k.administration("a", "Rituxan 1000 mg infusion"), {})
    completed = order("rituximab", status="completed")
    return [
        ddi.DrugHit(fluconazole, "fluconazole", value_set="strong-cyp3a4-inhibitors"),
        ddi.DrugHit(draft, "fluconazole"),
        ddi.DrugHit(given, "rituximab", given=k.AS_OF - timedelta(days=120)),
        ddi.DrugHit(completed, "rituximab", given=k.AS_OF - timedelta(days=40)),
    ]


def test_an_interacting_drug_names_its_role_product_and_where_it_was_found():
    assert [plain(h.described) for h in _hits()] == [
        "fluconazole (strong CYP3A4 inhibitor; Diflucan 200 mg tablet, active order)",
        "fluconazole (draft order)",
        f"rituximab given {(k.AS_OF - timedelta(days=120)).date()} (Rituxan 1000 mg infusion, administration record)",
        f"rituximab (completed order, last given about {(k.AS_OF - timedelta(days=40)).date()})",
    ]


@pytest.mark.parametrize(
    "dosages, expected",
    [
        ([k.dosage(5, "mg", 2)], "tofacitinib 5 MG Oral Tablet, 10 mg/day"),
        ([{"text": "as directed"}], "tofacitinib 5 MG Oral Tablet, dose not readable"),
    ],
)
def test_a_tofacitinib_regimen_names_the_daily_dose(dosages, expected):
    assert plain(regimen_described(order(k.TOFA_5MG[1], dosages, k.TOFA_5MG[0]))) == expected


@pytest.mark.parametrize(
    "tests, expected",
    [(["lymphocytes-absolute", "hemoglobin", *LIPID_TESTS], "ALC, Hb, lipids"), (["alt", "ldl"], "ALT, LDL")],
)
def test_short_lab_names_call_a_whole_lipid_panel_lipids(tests, expected):
    assert plain(short_names(tests, LIPID_TESTS)) == expected
