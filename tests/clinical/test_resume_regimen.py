"""lab-neutropenia (ANC 500-999 on therapy): resume the regimen the patient was on, reduced where due, never higher."""

from __future__ import annotations

from dataclasses import replace

import pytest

from cdshooks.app import create_app
from tests import fixturekit as k

CKD4 = k.condition("c-ckd4", "Chronic kidney disease, stage 4 (severe)", "N18.4", "431857002")
FLUCONAZOLE = k.med_request("m-fluc", "fluconazole 200 MG Oral Tablet", "4450", days_ago=5,
                            dosages=[k.dosage(200, "mg", 1)])


def _neutropenia_detail(settings, product, dosages, extra=()) -> str:
    res = k.without(k.base_resources(on_tofacitinib=True), "m-tofa", "o-anc")
    res += [k.med_request("m-tofa", product[1], product[0], days_ago=120, dosages=dosages),
            k.observation("o-anc", "751-8", 0.8, "10*3/uL", 3), *extra]
    client = create_app(replace(settings, now=k.AS_OF, auth_enabled=False)).test_client()
    body = client.post("/cds-services/tofacitinib-patient-view", json=k.patient_view(res)).get_json()
    [card] = [c for c in body["cards"] if c["source"]["topic"]["code"] == "lab-neutropenia"]
    assert card["indicator"] == "warning"
    return card["detail"]


def _resume(detail: str) -> str:
    return detail.split("never a higher dose: **", 1)[1].split("**", 1)[0]


def test_ckd_patient_on_5mg_once_daily_resumes_5mg_once_daily_not_bid(settings):
    # The card used to say "resume at 5 mg twice daily" for everybody: double this patient's dose.
    detail = _neutropenia_detail(settings, k.TOFA_5MG, [k.dosage(5, "mg", 1)], [CKD4])
    assert _resume(detail).startswith("5 mg once daily")
    assert "twice daily" not in detail and "BID" not in _resume(detail)
    assert _resume(detail) == "5 mg once daily (the regimen interrupted, already the reduced dose for renal impairment)"


def test_standard_dose_resumes_as_it_was(settings):
    assert _resume(_neutropenia_detail(settings, k.TOFA_5MG, [k.dosage(5, "mg", 2)])) == "5 mg BID (the regimen interrupted)"


def test_xr_resumes_as_xr_11(settings):
    assert _resume(_neutropenia_detail(settings, k.TOFA_XR11, [k.dosage(11, "mg", 1)])).startswith(
        "XR 11 mg once daily"
    )


def test_xr_with_renal_impairment_resumes_ir_5mg_once_daily(settings):
    got = _resume(_neutropenia_detail(settings, k.TOFA_XR11, [k.dosage(11, "mg", 1)], [CKD4]))
    assert got.startswith("5 mg once daily (reduced from XR 11 mg once daily for renal impairment")


def test_two_reductions_stack_from_10mg_bid_to_5mg_once_daily(settings):
    got = _resume(_neutropenia_detail(settings, k.TOFA_10MG, [k.dosage(10, "mg", 2)], [CKD4, FLUCONAZOLE]))
    assert got == ("5 mg once daily (the label's dose, reduced for renal impairment, CYP3A4 inhibition (fluconazole), "
                   "stacked; the escalation 10 mg BID is not resumed)")


@pytest.mark.parametrize("dosages", [[{"text": "as directed"}]])
def test_an_unread_active_dose_gives_no_number(settings, dosages):
    got = _resume(_neutropenia_detail(settings, k.TOFA_5MG, dosages))
    assert "could not be read" in got and "never a higher dose" in got


def test_an_active_taper_resumes_the_step_in_force_today(settings):
    # 10 mg BID for 60 days, then 5 mg BID; the order is 120 days old, so today's step is 5 mg BID
    steps = [{**k.dosage(10, "mg", 2), "sequence": 1}, {**k.dosage(5, "mg", 2), "sequence": 2}]
    steps[0]["timing"] = {"repeat": {**steps[0]["timing"]["repeat"],
                                     "boundsDuration": {"value": 60, "unit": "days", "system": k.UCUM, "code": "d"}}}
    detail = _neutropenia_detail(settings, k.TOFA_5MG, steps)
    assert _resume(detail) == "5 mg BID (the regimen interrupted)"


@pytest.mark.parametrize(
    "product, dose, per_day, extra, expected",
    [
        # the label's 5 mg BID (XR: XR 11), never the escalation interrupted (clinical-rules.md, lab-neutropenia)
        (k.TOFA_10MG, 10, 2, (), "5 mg BID (the label's dose; the escalation 10 mg BID is not resumed)"),
        (k.TOFA_XR22, 22, 1, (), "XR 11 mg once daily (the label's dose; the escalation XR 22 mg once daily is not resumed)"),
        (k.TOFA_10MG, 10, 2, (CKD4,),
         "5 mg once daily (the label's dose, reduced for renal impairment; the escalation 10 mg BID is not resumed)"),
    ],
)
def test_an_escalated_patient_resumes_the_label_dose_not_the_escalation(settings, product, dose, per_day, extra, expected):
    detail = _neutropenia_detail(settings, product, [k.dosage(dose, "mg", per_day)], list(extra))
    assert _resume(detail) == expected
