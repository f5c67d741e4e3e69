"""Value sets for pregnancy-lactation (revision 2): Conditions, pregnancy status and hCG, and their prefetch."""

import json
from importlib import resources

import pytest

from cdshooks.data.record import Coding
from cdshooks.services import observation_codes, prefetch_templates
from cdshooks.terminology import lookup
from cdshooks.terminology.lookup import ICD10CM, LOINC, SNOMED


@pytest.mark.parametrize("name", ["pregnancy", "lactation"])
def test_value_set_files_record_source_and_confidence(name):
    raw = json.loads(resources.files("cdshooks.terminology").joinpath("valuesets", f"{name}.json").read_text())
    assert raw["source"] and raw["members"]
    for m in raw["members"]:
        for c in m["codes"]:
            assert c["confidence"] in ("H", "M", "L")
    assert lookup.load(name).name == name


@pytest.mark.parametrize("code", ["Z33.1", "O09.90", "O09.511", "O26.891", "O00.101", "O9A.211"])
def test_pregnancy_codes_from_terminology_md(code):
    assert lookup.load("pregnancy").match_coding(Coding(ICD10CM, code)) is not None


def test_supervision_of_high_risk_pregnancy_alone_counts_and_is_named():
    member = lookup.load("pregnancy").match_coding(Coding(ICD10CM, "O09.90"))
    assert member is not None and member.name == "supervision of high-risk pregnancy"


@pytest.mark.parametrize("code", ["Z33.2", "Z34.00", "Z3A.12", "Z39.1", "Z87.59", "N96"])
def test_codes_not_listed_for_pregnancy_do_not_match(code):
    assert lookup.load("pregnancy").match_coding(Coding(ICD10CM, code)) is None


def test_snomed_pregnant_and_lactation_codes():
    assert lookup.load("pregnancy").match_coding(Coding(SNOMED, "77386006")) is not None
    assert lookup.load("lactation").match_coding(Coding(SNOMED, "169750002")) is not None
    assert lookup.load("lactation").match_coding(Coding(ICD10CM, "Z39.1")) is not None


@pytest.mark.parametrize("text, expected", [
    ("Pregnant", "pregnancy"), ("Pregnancy, 12 weeks", "pregnancy"), ("Lactating mother", "lactation"),
    ("Breastfeeding", "lactation"), ("Breast-feeding", "lactation"),
    ("Not pregnant", None), ("History of pregnancy loss", None), ("Pregnancy test", None),
    ("Not breastfeeding", None), ("Weaned", None), ("Postpartum", None),
])
def test_text_only_conditions(text, expected):
    found = [name for name in ("pregnancy", "lactation") if lookup.load(name).match_text(text)]
    assert found == ([expected] if expected else [])


@pytest.mark.parametrize("code, test", [
    ("82810-3", "pregnancy-status"), ("2106-3", "hcg-qualitative"), ("2118-8", "hcg-qualitative"),
    ("2119-6", "hcg-quantitative"), ("21198-7", "hcg-quantitative"),
])
def test_pregnancy_status_and_hcg_are_lab_tests(code, test):
    assert lookup.load("lab-tests").match_coding(Coding(LOINC, code)).name == test


@pytest.mark.parametrize("code", ["82810-3", "2106-3", "2118-8", "2119-6", "21198-7"])
def test_the_observations_prefetch_asks_for_pregnancy_status_and_hcg(code):
    assert f"{LOINC}|{code}" in observation_codes()
    assert f"{LOINC}|{code}" in prefetch_templates()["observations"]
