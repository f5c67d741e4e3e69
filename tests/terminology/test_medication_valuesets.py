"""Interacting-drug and renal/hepatic value sets: well-formed data, matching by code, brand, text, contained Medication."""

import json
from importlib import resources

import pytest

from cdshooks.clinical import interacting_drugs as idrugs
from cdshooks.data import parsers
from cdshooks.data.record import Coding
from cdshooks.terminology import lookup
from cdshooks.terminology.lookup import CVX, ICD10CM, RXNORM

MINE = [
    "strong-cyp3a4-inhibitors", "moderate-cyp3a4-strong-cyp2c19-inhibitors", "moderate-cyp3a4-inhibitors",
    "strong-cyp2c19-inhibitors", "strong-cyp3a4-inducers",
    "jak-inhibitors-other", "biologic-dmards", "rituximab", "potent-immunosuppressants",
    "triple-therapy-agents", "live-vaccines", "renal-impairment", "hepatic-impairment",
]


@pytest.mark.parametrize("name", MINE)
def test_value_set_files_record_source_and_confidence(name):
    raw = json.loads(resources.files("cdshooks.terminology").joinpath("valuesets", f"{name}.json").read_text())
    assert raw["source"] and raw["members"]
    for m in raw["members"]:
        assert m["patterns"], m["name"]
        for c in m["codes"]:
            assert c["confidence"] in ("H", "M", "L")
    assert lookup.load(name).name == name


def order(resource):
    return parsers.medication_order(resource, {})


def mr(concept=None, **extra):
    r = {"resourceType": "MedicationRequest", "id": "m", "status": "active", "intent": "order"}
    if concept is not None:
        r["medicationCodeableConcept"] = concept
    r.update(extra)
    return r


CYP = ("strong-cyp3a4-inhibitors", "moderate-cyp3a4-strong-cyp2c19-inhibitors")


def test_match_by_rxnorm_code_even_with_a_misleading_display():
    o = order(mr({"coding": [{"system": RXNORM, "code": "4450", "display": "antifungal"}]}))
    assert idrugs.match(o, CYP) == "fluconazole"


def test_fluvoxamine_and_fluoxetine_by_rxnorm_ingredient_code():
    o = order(mr({"coding": [{"system": RXNORM, "code": "42355", "display": "local SSRI"}]}))
    assert idrugs.match(o, CYP) == "fluvoxamine"
    o = order(mr({"coding": [{"system": RXNORM, "code": "4493"}]}))
    assert idrugs.match(o, CYP) is None  # fluoxetine counts only with a moderate CYP3A4 inhibitor
    assert idrugs.match(o, ("strong-cyp2c19-inhibitors",)) == "fluoxetine"


def test_match_by_oid_system_alias():
    o = order(mr({"coding": [{"system": "urn:oid:2.16.840.1.113883.6.88", "code": "21212"}]}))
    assert idrugs.match(o, CYP) == "clarithromycin"


@pytest.mark.parametrize(
    "text, value_sets, expected",
    [
        ("DIFLUCAN 150MG TAB", CYP, "fluconazole"),
        ("fluvoxamine maleate 100 MG Oral Tablet", CYP, "fluvoxamine"),
        ("PROzac 20 mg capsule", ("strong-cyp2c19-inhibitors",), "fluoxetine"),
        ("Multaq 400 mg", ("moderate-cyp3a4-inhibitors",), "dronedarone"),
        ("Paxlovid (nirmatrelvir 300 mg; ritonavir 100 mg)", CYP, "ritonavir"),
        ("lopinavir / ritonavir", CYP, "lopinavir"),
        ("St. John's Wort 300 mg capsule", ("strong-cyp3a4-inducers",), "St John's wort"),
        ("Rifadin 300 mg", ("strong-cyp3a4-inducers",), "rifampin"),
        ("adalimumab-atto (Amjevita) 40 mg", ("biologic-dmards",), "adalimumab"),
        ("Ruxience (rituximab-pvvr)", ("rituximab",), "rituximab"),
        ("CellCept 500 mg", ("triple-therapy-agents",), "mycophenolate"),
        ("Prograf 1 mg capsule", ("triple-therapy-agents",), "tacrolimus"),
        ("Zostavax", ("live-vaccines",), "zoster live"),
        ("FluMist Quadrivalent", ("live-vaccines",), "live attenuated influenza"),
    ],
)
def test_match_by_brand_or_ingredient_text(text, value_sets, expected):
    assert idrugs.match(order(mr({"text": text})), value_sets) == expected


@pytest.mark.parametrize(
    "text, value_sets",
    [
        ("diltiazem 120 mg", CYP),
        ("fluconazolex", CYP),  # whole words only
        ("Shingrix (zoster vaccine recombinant)", ("live-vaccines",)),
        ("Xeljanz 5 mg", ("jak-inhibitors-other",)),
        ("rituximab 1000 mg", ("biologic-dmards",)),
    ],
)
def test_no_match(text, value_sets):
    assert idrugs.match(order(mr({"text": text})), value_sets) is None


def test_contained_medication_with_local_code_matches_by_name():
    r = mr(
        medicationReference={"reference": "#x"},
        contained=[{"resourceType": "Medication", "id": "x", "code": {"coding": [{"system": "urn:local", "code": "99", "display": "VORICONAZOLE 200MG TAB"}]}}],
    )
    assert idrugs.match(order(r), CYP) == "voriconazole"


def test_medication_reference_display_matches():
    assert idrugs.match(order(mr(medicationReference={"reference": "Medication/1", "display": "itraconazole"})), CYP) == "itraconazole"


def test_cvx_codes_with_and_without_leading_zero():
    vs = lookup.load("live-vaccines")
    assert vs.match_coding(Coding(CVX, "03")).name == "MMR"
    assert vs.match_coding(Coding(CVX, "3")).name == "MMR"
    assert vs.match_coding(Coding(CVX, "187")) is None


def test_dialysis_z49_is_a_prefix():
    vs = lookup.load("renal-impairment")
    assert vs.match_coding(Coding(ICD10CM, "Z49.31")).name == "dialysis"
    assert vs.match_coding(Coding(ICD10CM, "N18.3")) is None


def test_moderate_inhibitors_are_not_in_the_firing_sets():
    moderate = lookup.load("moderate-cyp3a4-inhibitors")
    for m in moderate.members:
        assert idrugs.match(order(mr({"text": m.name})), CYP) is None


TRIPLE = ("triple-therapy-agents",)


@pytest.mark.parametrize("text", [
    "IVIG 2 g/kg over 5 days", "IVIg 0.4 g/kg/day", "Privigen 10 % Injectable Solution", "Gamunex-C 10 g/100 mL",
    "Immune Globulin Intravenous (Human) 10%", "immune globulin (human) 10 % injection",
    "Immune Globulin Infusion (Human)", "intravenous immunoglobulin", "Human Immunoglobulin G 100 MG/ML",
    "IV immune globulin", "Octagam 10%", "Gammagard Liquid",
])
def test_ivig_is_a_triple_therapy_agent_by_name(text):
    assert idrugs.match(order(mr({"text": text})), TRIPLE) == "IVIG"


@pytest.mark.parametrize("text", [
    "Rho(D) immune globulin", "hepatitis B immune globulin (human)", "varicella zoster immune globulin",
    "Cytomegalovirus Immune Globulin Intravenous (Human)",  # hyperimmune globulins are not IVIG
    "immune globulin subcutaneous (human) 20%", "immune globulin (human), subcutaneous", "Hizentra 20%",
    "GamaSTAN immune globulin intramuscular", "immune globulin IM", "anti-thymocyte globulin",
])
def test_hyperimmune_subcutaneous_and_intramuscular_globulins_are_not_ivig(text):
    assert idrugs.match(order(mr({"text": text})), TRIPLE) is None


def test_ivig_is_named_only_on_the_triple_therapy_card():
    assert idrugs.named_only(TRIPLE) == frozenset({"IVIG"})
    assert idrugs.match(order(mr({"text": "IVIG"})), ("biologic-dmards",)) is None
