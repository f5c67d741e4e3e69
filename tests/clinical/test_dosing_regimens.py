"""IR-equivalent bands, the reduction table, and update suggestions that are valid and recompute."""

import pytest

from cdshooks import cards
from cdshooks.clinical.dosing import regimens as rg
from cdshooks.clinical.dosing.daily_dose import daily_dose
from cdshooks.clinical.suggestions.draft_update import update_action, updated_draft
from cdshooks.clinical.thresholds import DEFAULT_THRESHOLDS as T
from cdshooks.data import parsers
from cdshooks.fhir_validation import InvalidResource, validate_resource
from tests import fixturekit as k
from tests.clinical.dose_kit import by_topic, record


def dose_of(resource) -> rg.OrderDose:
    return rg.read(parsers.medication_order(resource, {}, is_draft=True))


def draft(product=k.TOFA_5MG, dose=5, per_day=2, unit="mg"):
    return k.tofacitinib_draft(product=product, dosages=[k.dosage(dose, unit, per_day)])


@pytest.mark.parametrize(
    "product, dose, per_day, ir, band",
    [
        (k.TOFA_5MG, 5, 2, 10, "guidance"),
        (k.TOFA_5MG, 5, 1, 5, "guidance"),
        (k.TOFA_XR11, 11, 1, 10, "guidance"),
        (k.TOFA_10MG, 10, 2, 20, "escalation"),
        (k.TOFA_XR22, 22, 1, 20, "escalation"),
        (k.TOFA_5MG, 5, 3, 15, "escalation"),
        (k.TOFA_10MG, 10, 3, 30, "above-max"),
        (k.TOFA_XR22, 22, 2, 40, "above-max"),
    ],
)
def test_ir_equivalent_bands(product, dose, per_day, ir, band):
    d = dose_of(draft(product, dose, per_day))
    assert d.ir_equivalent_mg_day == pytest.approx(ir)
    assert rg.band(d.ir_equivalent_mg_day, T) == band


@pytest.mark.parametrize(
    "product, dose, per_day, expected",
    [
        (k.TOFA_5MG, 5, 2, rg.IR_5_QD),
        (k.TOFA_10MG, 10, 2, rg.IR_5_BID),
        (k.TOFA_XR11, 11, 1, rg.IR_5_QD),
        (k.TOFA_XR22, 22, 1, rg.XR_11),
        (k.TOFA_5MG, 5, 1, None),  # already the reduced dose
    ],
)
def test_reduction_table(product, dose, per_day, expected):
    assert rg.reduced(dose_of(draft(product, dose, per_day))) == expected


@pytest.mark.parametrize(
    "product, dose, per_day, times, expected",
    [
        (k.TOFA_10MG, 10, 2, 2, rg.IR_5_QD),  # 10 mg BID -> 5 mg BID -> 5 mg once daily
        (k.TOFA_XR22, 22, 1, 2, rg.IR_5_QD),  # XR 22 -> XR 11 -> IR 5 mg once daily
        (k.TOFA_5MG, 5, 2, 3, rg.IR_5_QD),  # never below 5 mg once daily
        (k.TOFA_5MG, 5, 1, 2, None),
    ],
)
def test_reductions_for_different_reasons_stack(product, dose, per_day, times, expected):
    assert rg.reduced(dose_of(draft(product, dose, per_day)), times) == expected


E, S, A = rg.ESCALATION_ADJUSTED, rg.STANDARD_ADJUSTED, rg.ADJUSTED


@pytest.mark.parametrize(
    "product, dose, per_day, reductions, expected",
    [
        # escalated with one reduction: two labelled choices (clinical-rules.md, "Dose reductions")
        (k.TOFA_10MG, 10, 2, 1, [(rg.IR_5_BID, E), (rg.IR_5_QD, S)]),
        (k.TOFA_XR22, 22, 1, 1, [(rg.XR_11, E), (rg.IR_5_QD, S)]),
        # two reductions stack both choices to the floor: one choice, the adjusted dose
        (k.TOFA_10MG, 10, 2, 2, [(rg.IR_5_QD, A)]),
        # no reduction: the standard dose; above the maximum: escalation or standard
        (k.TOFA_10MG, 10, 2, 0, [(rg.IR_5_BID, rg.STANDARD)]),
        (k.TOFA_XR22, 22, 1, 0, [(rg.XR_11, rg.STANDARD)]),
        (k.TOFA_5MG, 15, 2, 0, [(rg.IR_10_BID, rg.ESCALATION), (rg.IR_5_BID, rg.STANDARD)]),
        (k.TOFA_5MG, 15, 2, 1, [(rg.IR_5_BID, E), (rg.IR_5_QD, S)]),
        # standard dose with a reduction: the adjusted dose, never called "standard"
        (k.TOFA_5MG, 5, 2, 1, [(rg.IR_5_QD, A)]),
        (k.TOFA_XR11, 11, 1, 1, [(rg.IR_5_QD, A)]),
        (k.TOFA_5MG, 5, 1, 1, []),  # already adjusted
        (k.TOFA_5MG, 5, 2, 0, []),  # nothing to change
    ],
)
def test_choices(product, dose, per_day, reductions, expected):
    got = rg.choices(dose_of(draft(product, dose, per_day)), reductions, T)
    assert [(c.regimen, c.kind) for c in got] == expected


@pytest.mark.parametrize(
    "product, dose, per_day, target, code",
    [
        (k.TOFA_5MG, 5, 2, rg.IR_5_QD, "1357541"),
        (k.TOFA_10MG, 10, 2, rg.IR_5_BID, "1357541"),  # 10 mg tablet -> 5 mg tablet
        (k.TOFA_XR11, 11, 1, rg.IR_5_QD, "1357541"),  # XR -> IR product
        (k.TOFA_XR22, 22, 1, rg.XR_11, "1741046"),
        (k.TOFA_5MG, 15, 2, rg.IR_10_BID, "2048566"),
        (("2273115", "Xeljanz XR 22 MG"), 22, 1, rg.XR_11, "1741049"),  # brand stays brand
    ],
)
def test_update_is_valid_fhir_and_recomputes_to_the_intended_dose(product, dose, per_day, target, code):
    d = dose_of(draft(product, dose, per_day))
    action = update_action(d, target, k.PATIENT_ID)
    assert action is not None and action.type == "update"
    res = action.resource
    validate_resource(res)
    assert res["id"] == "draft-tofa" and res["status"] == "draft"
    assert res["medicationCodeableConcept"]["coding"][0]["code"] == code
    again = dose_of(res)
    assert again.reading.mg_per_day == pytest.approx(target.mg_per_day)
    assert again.product.extended_release is target.extended_release


def test_solution_keeps_its_product():
    d = dose_of(draft(k.TOFA_SOLUTION, 10, 2, "mL"))
    res = update_action(d, rg.IR_5_BID, k.PATIENT_ID).resource
    assert res["medicationCodeableConcept"]["coding"][0]["code"] == k.TOFA_SOLUTION[0]
    assert daily_dose(parsers.medication_order(res, {}), concentration_mg_per_ml=1.0).mg_per_day == 10


def test_messy_draft_is_normalized_and_keeps_its_data():
    r = draft(k.TOFA_10MG, 10, 2)
    r["reasonCode"] = {"text": "MDA5 RP-ILD"}
    r["category"] = {"text": "outpatient"}
    r["note"] = {"text": "after pulse"}
    r["dosageInstruction"][0]["route"] = {"text": "oral"}
    res = update_action(dose_of(r), rg.IR_5_BID, k.PATIENT_ID).resource
    assert res["reasonCode"] == [{"text": "MDA5 RP-ILD"}] and res["note"] == [{"text": "after pulse"}]
    assert res["dosageInstruction"][0]["route"] == {"text": "oral"}


def test_invalid_extra_content_falls_back_to_a_minimal_valid_draft():
    # cdshooks.cards validates (the one place that does): the whole copy is not valid, its fallback is
    r = draft(k.TOFA_10MG, 10, 2)
    r["priority"] = "not-a-priority"
    r["vendorField"] = {"x": 1}
    action = update_action(dose_of(r), rg.IR_5_BID, k.PATIENT_ID)
    with pytest.raises(InvalidResource):
        validate_resource(action.resource)
    assert action.optional and action.fallback is not None and "priority" not in action.fallback
    validate_resource(action.fallback)
    [f] = by_topic(record(drafts=[r]), "dose-escalation")
    [emitted] = [a["resource"] for s in cards.render_card(f)["suggestions"] for a in s["actions"]]
    assert emitted == action.fallback


def test_a_draft_with_no_valid_copy_gets_its_card_without_the_suggestion():
    r = draft(k.TOFA_10MG, 10, 2)
    r["authoredOn"] = "yesterday"  # kept by the minimal copy too
    [f] = by_topic(record(drafts=[r]), "dose-escalation")
    assert f.suggestions  # the rule offers it; cards, which validates, leaves it out
    card = cards.render_card(f)
    assert "suggestions" not in card and card["summary"].startswith("Tofacitinib 10 mg BID")


def test_contained_medication_is_replaced_when_the_product_changes():
    r = draft(k.TOFA_10MG, 10, 2)
    del r["medicationCodeableConcept"]
    r["contained"] = [{"resourceType": "Medication", "id": "m", "code": {"text": "Xeljanz 10 mg tablet"}}]
    r["medicationReference"] = {"reference": "#m"}
    res = updated_draft(dose_of(r), rg.IR_5_BID, k.PATIENT_ID)
    assert "medicationReference" not in res and "contained" not in res
    assert res["medicationCodeableConcept"]["coding"][0]["code"] == "1357547"  # Xeljanz 5 mg (brand)
    validate_resource(res)


def test_null_fields_are_dropped_not_crashed_on():
    r = draft(k.TOFA_10MG, 10, 2)
    del r["medicationCodeableConcept"]
    r["medicationReference"] = {"reference": "#m", "display": "Xeljanz 10 mg tablet"}
    r["contained"] = None
    r["note"] = None
    res = update_action(dose_of(r), rg.IR_5_BID, k.PATIENT_ID).resource
    assert "contained" not in res and "note" not in res
    assert res["medicationCodeableConcept"]["coding"][0]["code"] == "1357547"


def test_draft_without_subject_gets_the_patient():
    r = draft()
    del r["subject"]
    res = update_action(dose_of(r), rg.IR_5_QD, "p-9").resource
    assert res["subject"] == {"reference": "Patient/p-9"}
