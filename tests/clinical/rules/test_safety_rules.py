"""Infection and lab-safety rules on small records: who fires, which variant, what facts."""

from datetime import date

import pytest

from cdshooks import cards
from cdshooks.clinical import engine
from cdshooks.clinical.rules import infection, lab_safety, risk_groups
from cdshooks.clinical.thresholds import DEFAULT_THRESHOLDS as TH
from tests.clinical.records import lab, med, problem, record, tofa


def findings(fn, rec):
    return list(fn(rec, TH))


def test_nothing_fires_outside_tofacitinib_context():
    rec = record(labs=[lab("731-0", 1, 0.2, "10*3/uL"), lab("72493-0", 1, 9000, "IU/mL")],
                 conditions=[problem("A41.9", "Sepsis")], birth=date(1940, 1, 1))
    for hook in engine.HOOKS:
        assert engine.evaluate(rec, hook, TH) == []


@pytest.mark.parametrize(
    "code, text, fires",
    [("B25.9", "CMV disease", True), ("B37.81", "Candida esophagitis", True), ("B37.0", "Oral thrush", False),
     ("B37.3", "Vulvovaginal candidiasis", False), ("Z86.19", "History of sepsis", False),
     (None, "Septic shock", True), ("B02.9", "Zoster", True), ("B18.2", "Chronic hepatitis C", False)],
)
def test_infection_active_codes(code, text, fires):
    rec = record(meds=[tofa()], conditions=[problem(code, text)])
    assert bool(findings(infection.active_serious_infection, rec)) is fires


@pytest.mark.parametrize(
    "text, fires",
    [
        # text that names an infection without asserting it never matches by name
        ("Need for PJP prophylaxis", False),
        ("Pneumocystis pneumonia prophylaxis", False),
        ("History of herpes zoster", False),
        ("Herpes zoster vaccination", False),
        ("Aspergillosis, allergic bronchopulmonary", False),
        ("ABPA (allergic bronchopulmonary aspergillosis)", False),
        ("Tuberculosis exposure", False),
        ("Rule out sepsis", False),
        # the same infections, asserted, still fire
        ("Pneumocystis jirovecii pneumonia", True),
        ("Herpes zoster, thoracic", True),
        ("Invasive pulmonary aspergillosis", True),
        ("Sepsis due to E. coli", True),
    ],
)
def test_infection_active_text_only_conditions(text, fires):
    rec = record(meds=[tofa()], conditions=[problem(None, text)])
    assert bool(findings(infection.active_serious_infection, rec)) is fires


def test_resolved_infection_does_not_fire():
    rec = record(meds=[tofa()], conditions=[problem("B02.9", "Zoster", clinical="resolved")])
    assert findings(infection.active_serious_infection, rec) == []


def test_infection_variant_new_start_vs_on_therapy():
    cond = [problem("A41.9", "Sepsis")]
    assert findings(infection.active_serious_infection, record(drafts=[tofa(0, draft=True)], conditions=cond))[0].variant == "default"
    assert findings(infection.active_serious_infection, record(meds=[tofa()], conditions=cond))[0].variant == "on-therapy"


@pytest.mark.parametrize(
    "value, unit, variant",
    [(499, "cells/uL", "on-therapy"), (0.5, "10*3/uL", "moderate"), (899, "/mm3", "moderate"), (900, "cells/uL", None),
     (0.45, "x10^9/L", "on-therapy")],
)
def test_lymphopenia_bands(value, unit, variant):
    got = findings(lab_safety.lymphopenia, record(meds=[tofa()], labs=[lab("731-0", 3, value, unit)]))
    assert (got[0].variant if got else None) == variant


def test_lymphopenia_uses_only_the_newest_result_within_90_days():
    old_low = lab("731-0", 91, 0.2, "10*3/uL")
    assert findings(lab_safety.lymphopenia, record(meds=[tofa()], labs=[old_low])) == []
    newer_ok = lab("731-0", 2, 1.5, "10*3/uL")
    low = lab("731-0", 20, 0.2, "10*3/uL")
    assert findings(lab_safety.lymphopenia, record(meds=[tofa()], labs=[low, newer_ok])) == []


def test_unconvertible_count_is_not_used():
    assert findings(lab_safety.lymphopenia, record(meds=[tofa()], labs=[lab("731-0", 2, 0.2, "%")])) == []


@pytest.mark.parametrize(
    "value, new_start, variant",
    [(400, True, "default"), (400, False, "on-therapy"), (999, True, "moderate"), (999, False, "moderate-on-therapy"),
     (1000, False, None)],
)
def test_neutropenia_bands(value, new_start, variant):
    meds, drafts = ([], [tofa(0, draft=True)]) if new_start else ([tofa()], [])
    rec = record(meds=meds, drafts=drafts, labs=[lab("751-8", 2, value, "cells/uL")])
    got = findings(lab_safety.neutropenia, rec)
    assert (got[0].variant if got else None) == variant


def test_anemia_new_start_below_9():
    rec = record(drafts=[tofa(0, draft=True)], labs=[lab("718-7", 2, 8.9, "g/dL")])
    assert findings(lab_safety.anemia, rec)[0].variant == "new-start"
    rec = record(drafts=[tofa(0, draft=True)], labs=[lab("718-7", 2, 9.0, "g/dL")])
    assert findings(lab_safety.anemia, rec) == []


def test_anemia_fall_from_pretreatment():
    pre = lab("718-7", 125, 13.0, "g/dL")  # 5 days before a start 120 days ago
    fell = lab("718-7", 2, 10.9, "g/dL")  # fall 2.1
    got = findings(lab_safety.anemia, record(meds=[tofa(120)], labs=[pre, fell]))
    assert got[0].variant == "fall"
    same = lab("718-7", 2, 11.0, "g/dL")  # fall exactly 2.0: not > 2
    assert findings(lab_safety.anemia, record(meds=[tofa(120)], labs=[pre, same])) == []


def test_pretreatment_hb_must_be_within_90_days_before_start():
    too_old = lab("718-7", 211, 14.0, "g/dL")  # 91 days before the start
    assert findings(lab_safety.anemia, record(meds=[tofa(120)], labs=[too_old, lab("718-7", 2, 10.0, "g/dL")])) == []


def test_anemia_below_8_on_therapy():
    assert findings(lab_safety.anemia, record(meds=[tofa()], labs=[lab("718-7", 2, 79, "g/L")]))[0].variant == "default"


@pytest.mark.parametrize("birth, fires", [(date(1961, 1, 15), True), (date(1961, 1, 16), False)])
def test_age_65_boundary(birth, fires):
    assert bool(findings(risk_groups.age_infection_risk, record(meds=[tofa()], birth=birth))) is fires


def test_boxed_warning_needs_age_50_for_cv_risk_but_not_for_thrombosis():
    htn = [problem("I10", "Essential hypertension")]
    assert findings(risk_groups.boxed_cv_thrombosis, record(meds=[tofa()], conditions=htn, birth=date(1980, 1, 1))) == []
    got = findings(risk_groups.boxed_cv_thrombosis, record(meds=[tofa()], conditions=htn, birth=date(1970, 1, 1)))
    assert "Essential hypertension (I10)" in cards.render_card(got[0])["summary"]
    vte = [problem("I26.99", "Pulmonary embolism")]
    assert findings(risk_groups.boxed_cv_thrombosis, record(meds=[tofa()], conditions=vte))[0].variant == "thrombosis"


def test_pulmonary_hypertension_is_not_a_cv_risk_factor():
    ph = [problem(None, "Pulmonary hypertension")]
    assert findings(risk_groups.boxed_cv_thrombosis, record(meds=[tofa()], conditions=ph, birth=date(1960, 1, 1))) == []


def test_pjp_card_suggests_valid_tmp_smx_orders():
    rec = record(meds=[tofa(), med("prednisone 20 MG Oral Tablet", 10, 40)])
    (f,) = findings(infection.pjp_prophylaxis, rec)
    card = cards.render_card(f)  # validates the MedicationRequests (fhir.resources R4B)
    resources = [a["resource"] for s in card["suggestions"] for a in s["actions"]]
    assert all(r["status"] == "draft" and r["intent"] == "order" for r in resources)
    assert all("coding" not in r["medicationCodeableConcept"] for r in resources)


def test_pjp_silent_when_prophylaxis_active_or_drafted():
    pred = med("prednisone 20 MG Oral Tablet", 10, 40)
    assert findings(infection.pjp_prophylaxis, record(meds=[tofa(), pred, med("dapsone 100 MG Oral Tablet", 5, 100)])) == []
    drafted = med("Bactrim DS", 0, draft=True)
    assert findings(infection.pjp_prophylaxis, record(meds=[tofa(), pred], drafts=[drafted])) == []


def test_ebv_strictly_above_threshold():
    at = record(meds=[tofa()], labs=[lab("36923-1", 3, 500, "IU/mL")])
    above = record(meds=[tofa()], labs=[lab("36923-1", 3, 501, "IU/mL")])
    assert findings(infection.ebv_viremia, at) == []
    assert len(findings(infection.ebv_viremia, above)) == 1


def _smoking(code: str, display: str, days_ago: float = 30, system: str = "http://snomed.info/sct"):
    from tests.clinical.records import LOINC, observation

    return observation(f"smoking-{code}", [(LOINC, "72166-2")], days_ago, value_codings=[(system, code, display)])


@pytest.mark.parametrize(
    "code, display, fires",
    [
        ("266919005", "Never smoker", False),  # Epic's display of the never-smoked code
        ("8392000", "Non-smoker", False),
        ("266919005", "Never smoked tobacco", False),
        ("8517006", "Ex-smoker", True),
        ("77176002", "Smoker", True),
        ("449868002", "Current every day smoker", True),
        ("local-7", "Current smoker", True),  # local code: the text decides
        ("local-8", "Never smoker", False),
    ],
)
def test_smoking_status_is_decided_by_its_snomed_code(code, display, fires):
    system = "urn:local" if code.startswith("local") else "http://snomed.info/sct"
    rec = record(meds=[tofa()], labs=[_smoking(code, display, system=system)], birth=date(1970, 1, 1))
    assert bool(findings(risk_groups.boxed_cv_thrombosis, rec)) is fires


@pytest.mark.parametrize(
    "name, counts",
    [("Bactrim DS 800-160 MG Oral Tablet", True), ("Septra DS", True), ("co-trimoxazole 960 mg", True),
     ("sulfamethoxazole 800 MG / trimethoprim 160 MG Oral Tablet", True), ("trimethoprim/sulfa DS", True),
     ("SMX-TMP DS", True), ("atovaquone 750 MG/5ML Oral Suspension", True),
     ("trimethoprim 100 MG Oral Tablet", False)],  # trimethoprim alone (UTI) is not PJP prophylaxis
)
def test_pjp_prophylaxis_spellings(name, counts):
    pred = med("prednisone 20 MG Oral Tablet", 10, 60)
    rec = record(meds=[tofa(), pred, med(name, 5, 1)])
    assert (findings(infection.pjp_prophylaxis, rec) == []) is counts


def test_anemia_card_states_the_configured_thresholds():
    from dataclasses import replace

    th = replace(TH, hb_new_start_below_g_dl=10.0, hb_warning_below_g_dl=8.5)
    (f,) = list(lab_safety.anemia(record(drafts=[tofa(0, draft=True)], labs=[lab("718-7", 2, 9.5, "g/dL")]), th))
    card = cards.render_card(f)
    assert "below 10 g/dL" in card["summary"] and "below 9 g/dL" not in card["detail"]
    (f,) = list(lab_safety.anemia(record(meds=[tofa()], labs=[lab("718-7", 2, 8.2, "g/dL")]), th))
    assert "below 8.5 g/dL" in cards.render_card(f)["detail"]


def test_cmv_critical_card_names_the_newer_result_that_cannot_replace_it():
    rec = record(meds=[tofa()], labs=[lab("72493-0", 10, 1850, "IU/mL"), lab("4996-5", 2, text="detected")])
    (f,) = findings(infection.cmv_viremia, rec)
    card = cards.render_card(f)
    assert card["indicator"] == "critical" and "1,850 IU/mL" in card["summary"]
    assert "The newer result (detected on 2026-01-13) cannot be compared with the threshold" in card["detail"]
    assert "no amount in IU/mL: not compared with IU thresholds" in card["detail"]  # its trend row


NON_IU_SUMMARY = ("CMV DNA detected; the result cannot be compared with the 500 IU/mL threshold: "
                  "repeat quantitative PCR in IU/mL")


@pytest.mark.parametrize(
    "detected, why",
    [(lab("29604-6", 1, 2000, "copies/mL"), "Copies/mL are specific to the assay"),
     (lab("4996-5", 1, text="detected"), "A qualitative result reports no amount."),
     (lab("72493-0", 1, 40, "ng/mL"), "Its unit cannot be converted to IU/mL.")],
    ids=["copies", "qualitative", "unconvertible"],
)
def test_cmv_detected_not_in_iu_card_asks_for_a_quantitative_pcr_in_iu(detected, why):
    rec = record(meds=[tofa()], labs=[lab("72493-0", 5, text="not detected"), detected])
    (f,) = findings(infection.cmv_viremia, rec)
    card = cards.render_card(f)
    assert card["indicator"] == "warning" and card["summary"] == NON_IU_SUMMARY
    assert why in card["detail"] and "cannot be compared with the 500 IU/mL reactivation threshold" in card["detail"]
    (suggestion,) = card["suggestions"]
    assert suggestion["label"] == "Repeat quantitative CMV PCR in IU/mL (LOINC 72493-0)"
    (action,) = suggestion["actions"]
    assert action["type"] == "create" and action["resource"]["resourceType"] == "ServiceRequest"
    assert action["resource"]["code"]["coding"] == [{"system": "http://loinc.org", "code": "72493-0"}]


def test_cmv_non_iu_warning_is_the_same_order_as_cmv_pcr_due():
    # one way of building the CMV ServiceRequest: the pcr-due suggestion and this one differ only in reason
    due = findings(infection.cmv_pcr_due, record(meds=[tofa()], labs=[lab("72493-0", 40, text="not detected")]))
    non_iu = findings(infection.cmv_viremia, record(meds=[tofa()], labs=[lab("4996-5", 1, text="detected")]))
    a, b = due[0].suggestions[0].actions[0].resource, non_iu[0].suggestions[0].actions[0].resource
    assert {k: v for k, v in a.items() if k != "reasonCode"} == {k: v for k, v in b.items() if k != "reasonCode"}
