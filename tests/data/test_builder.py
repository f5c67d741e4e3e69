"""build_record(): lenient reading of plain-dict FHIR into the PatientRecord."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from cdshooks.data.builder import build_record
from cdshooks.data.gather import Gathered
from cdshooks.data.record import Coding

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
LOINC = "http://loinc.org"
SUBJECT = {"reference": "Patient/p1"}


def record(drafts=(), selections=None, unavailable=(), **keys):
    gathered = Gathered(resources={k: list(v) for k, v in keys.items()}, unavailable=frozenset(unavailable))
    return build_record(gathered, patient_id="p1", draft_orders=list(drafts), selections=selections, now=NOW)


def med_request(mid="m1", **fields):
    base = {
        "resourceType": "MedicationRequest",
        "id": mid,
        "status": "active",
        "intent": "order",
        "subject": SUBJECT,
        "medicationCodeableConcept": {
            "coding": [{"system": RXNORM, "code": "1357536", "display": "tofacitinib 5 MG Oral Tablet"}],
            "text": "Xeljanz 5 mg tablet",
        },
    }
    base.update(fields)
    return {k: v for k, v in base.items() if v is not None}


def obs(oid, loinc="2160-0", **fields):
    base = {"resourceType": "Observation", "id": oid, "status": "final", "subject": SUBJECT,
            "code": {"coding": [{"system": LOINC, "code": loinc}]}}
    base.update(fields)
    return base


# --- medications -------------------------------------------------------------


def test_medication_request_fields():
    r = record(medications=[med_request(authoredOn="2025-12-01T09:00:00Z", dosageInstruction=[{"text": "5 mg BID"}])])
    (m,) = r.medications
    assert (m.id, m.status, m.intent) == ("m1", "active", "order")
    assert m.authored_on == datetime(2025, 12, 1, 9, tzinfo=UTC)
    assert m.codings == (Coding(RXNORM, "1357536", "tofacitinib 5 MG Oral Tablet"),)
    assert m.names == ("Xeljanz 5 mg tablet", "tofacitinib 5 MG Oral Tablet")
    assert m.dosage_instructions == ({"text": "5 mg BID"},)
    assert not m.is_draft
    assert m.resource["id"] == "m1"


def test_date_only_authored_on_and_single_object_arrays():
    m = med_request(authoredOn="2025-12-01", dosageInstruction={"text": "one daily"},
                    reasonCode={"text": "ILD"}, category={"text": "outpatient"})
    (order,) = record(medications=[m]).medications
    assert order.authored_on == datetime(2025, 12, 1, tzinfo=UTC)
    assert order.dosage_instructions == ({"text": "one daily"},)


def test_text_only_medication():
    m = med_request(medicationCodeableConcept={"text": "tofacitinib 5mg po bid"})
    (order,) = record(medications=[m]).medications
    assert order.codings == ()
    assert order.names == ("tofacitinib 5mg po bid",)
    assert order.label == "tofacitinib 5mg po bid"


def test_contained_medication_with_ingredients():
    m = med_request(
        medicationCodeableConcept=None,
        medicationReference={"reference": "#med1"},
        contained=[{
            "resourceType": "Medication", "id": "med1",
            "code": {"coding": [{"system": "urn:local", "code": "X5", "display": "Xeljanz"}]},
            "ingredient": [
                {"itemCodeableConcept": {"coding": [{"system": RXNORM, "code": "1357536", "display": "tofacitinib"}]}},
                {"itemReference": {"display": "lactose"}},
            ],
        }],
    )
    (order,) = record(medications=[m]).medications
    assert {c.code for c in order.codings} == {"X5", "1357536"}
    assert order.names == ("Xeljanz", "tofacitinib", "lactose")


def test_medication_reference_resolved_from_any_bundle():
    med = {"resourceType": "Medication", "id": "med9", "code": {"text": "Xeljanz XR 11 mg"}}
    m = med_request(medicationCodeableConcept=None, medicationReference={"reference": "Medication/med9"})
    (order,) = record(medications=[m], other=[med]).medications
    assert order.names == ("Xeljanz XR 11 mg",)


def test_unresolved_reference_keeps_its_display_or_is_skipped():
    with_display = med_request(medicationCodeableConcept=None,
                               medicationReference={"reference": "Medication/gone", "display": "tofacitinib"})
    bare = med_request("m2", medicationCodeableConcept=None, medicationReference={"reference": "Medication/gone"})
    r = record(medications=[with_display, bare])
    assert [o.names for o in r.medications] == [("tofacitinib",)]
    assert [(s.resource_type, s.id) for s in r.skipped] == [("MedicationRequest", "m2")]
    assert r.skipped[0].reason == "no medication code or name"


# --- drafts and selections ---------------------------------------------------


def test_drafts_selection_flags():
    drafts = [med_request("d1", status="draft"), med_request("d2", status="draft"), med_request(None, status="draft")]
    r = record(drafts=drafts, selections=["MedicationRequest/d2"])
    assert [(d.id, d.is_draft, d.selected) for d in r.drafts] == [
        ("d1", True, False), ("d2", True, True), (None, True, True)]
    assert [d.id for d in r.selected_drafts] == ["d2", None]


def test_order_sign_selects_every_draft():
    r = record(drafts=[med_request("d1"), med_request("d2")], selections=None)
    assert all(d.selected for d in r.drafts)


def test_drafts_given_as_a_bundle_and_other_types_ignored():
    bundle = {"resourceType": "Bundle", "entry": [
        {"resource": med_request("d1")},
        {"resource": {"resourceType": "ServiceRequest", "id": "s1"}},
    ]}
    r = record(drafts=[bundle], selections=["MedicationRequest/d1"])
    assert [d.id for d in r.drafts] == ["d1"]
    assert r.skipped == ()


def test_draft_also_returned_by_the_record_query_counts_once():
    r = record(drafts=[med_request("d1", status="draft")], medications=[med_request("d1"), med_request("m2")])
    assert [d.id for d in r.drafts] == ["d1"]
    assert [m.id for m in r.medications] == ["m2"]


# --- observations ------------------------------------------------------------


def test_observations_newest_first_with_every_effective_shape():
    r = record(observations=[
        obs("undated"),
        obs("dt", effectiveDateTime="2026-01-01"),
        obs("period", effectivePeriod={"start": "2026-01-10T08:00:00Z", "end": "2026-01-11T08:00:00Z"}),
        obs("instant", effectiveInstant="2025-12-01T00:00:00Z"),
        obs("issued", issued="2026-01-12T00:00:00+01:00"),
    ])
    assert [o.id for o in r.observations] == ["issued", "period", "dt", "instant", "undated"]
    assert r.observations[1].effective == datetime(2026, 1, 10, 8, tzinfo=UTC)


@pytest.mark.parametrize("status", ["entered-in-error", "cancelled", "registered"])
def test_observation_status_filter(status):
    r = record(observations=[obs("bad", status=status), obs("ok", status="preliminary")])
    assert [o.id for o in r.observations] == ["ok"]
    assert r.observations[0].preliminary
    assert r.skipped == ()


def test_value_quantity_with_comparator():
    o = obs("q", valueQuantity={"value": 35, "comparator": "<", "unit": "mL/min", "system": "http://unitsofmeasure.org",
                                "code": "mL/min"})
    (lab,) = record(observations=[o]).observations
    assert (lab.value, lab.comparator, lab.unit, lab.unit_code) == (35.0, "<", "mL/min", "mL/min")
    assert lab.loinc_codes == {"2160-0"}


@pytest.mark.parametrize(
    "value_string, value, comparator, unit",
    [("<35", 35.0, "<", None), ("1,200", 1200.0, None, None), ("7.5 mg/L", 7.5, None, "mg/L"),
     ("not detected", None, None, None), ("1,2", None, None, None)],
)
def test_numeric_value_string(value_string, value, comparator, unit):
    (lab,) = record(observations=[obs("s", valueString=value_string)]).observations
    assert (lab.value, lab.comparator, lab.unit) == (value, comparator, unit)
    assert lab.value_text == value_string.lower()


def test_value_quantity_sent_as_a_string():
    (lab,) = record(observations=[obs("q", valueQuantity={"value": "<500", "unit": "IU/mL"})]).observations
    assert (lab.value, lab.comparator, lab.unit) == (500.0, "<", "IU/mL")


def test_coded_value_and_interpretation():
    o = obs("c", "72493-0",
            valueCodeableConcept={"coding": [{"system": "http://snomed.info/sct", "code": "260373001",
                                              "display": "Detected"}], "text": "Detected"},
            interpretation={"coding": [{"code": "A"}]})  # single object where an array belongs
    (lab,) = record(observations=[o]).observations
    assert lab.value is None
    assert lab.value_text == "260373001; detected"
    assert [c.code for c in lab.value_codings] == ["260373001"]
    assert [c.code for c in lab.interpretation] == ["A"]


def test_text_only_observation_code():
    (lab,) = record(observations=[obs("ppd", code={"text": "PPD"}, valueString="negative")]).observations
    assert (lab.text, lab.codings, lab.value_text) == ("PPD", (), "negative")


# --- conditions and immunizations --------------------------------------------


def condition(cid, clinical=None, verification=None):
    c = {"resourceType": "Condition", "id": cid, "subject": SUBJECT,
         "code": {"coding": [{"system": "http://snomed.info/sct", "code": "233703007"}], "text": "ILD"},
         "onsetDateTime": "2025-06"}
    if clinical:
        c["clinicalStatus"] = {"coding": [{"code": clinical}]}
    if verification:
        c["verificationStatus"] = {"coding": [{"code": verification}]}
    return c


def test_condition_filtering():
    r = record(conditions=[
        condition("active", "active", "confirmed"),
        condition("relapse", "relapse"),
        condition("recurrence", "recurrence", "provisional"),
        condition("unstated"),
        condition("resolved", "resolved"),
        condition("inactive", "inactive", "confirmed"),
        condition("refuted", "active", "refuted"),
        condition("error", "active", "entered-in-error"),
    ])
    assert [c.id for c in r.conditions] == ["active", "relapse", "recurrence", "unstated"]
    first = r.conditions[0]
    assert (first.text, first.clinical_status, first.verification_status) == ("ILD", "active", "confirmed")
    assert first.onset == datetime(2025, 6, 1, tzinfo=UTC)


def test_stu3_plain_code_clinical_status():
    c = condition("old")
    c["clinicalStatus"] = "resolved"
    assert record(conditions=[c]).conditions == ()


def test_immunization_filtering():
    def imm(iid, status):
        return {"resourceType": "Immunization", "id": iid, "status": status, "patient": SUBJECT,
                "vaccineCode": {"coding": [{"system": "http://hl7.org/fhir/sid/cvx", "code": "187"}],
                                "text": "Shingrix"}, "occurrenceDateTime": "2025-03-01"}

    r = record(immunizations=[imm("ok", "completed"), imm("err", "entered-in-error"), imm("no", "not-done")])
    assert [(v.id, v.text) for v in r.immunizations] == [("ok", "Shingrix")]
    assert r.immunizations[0].occurrence == datetime(2025, 3, 1, tzinfo=UTC)


def test_an_immunization_names_its_patient_in_patient_not_subject():
    def imm(iid, **who):
        return {"resourceType": "Immunization", "id": iid, "status": "completed", **who,
                "vaccineCode": {"text": "Shingrix"}, "occurrenceDateTime": "2025-03-01"}

    r = record(immunizations=[
        imm("mine", patient=SUBJECT, subject={"reference": "Patient/p2"}),  # `subject` is not an Immunization field
        imm("theirs", patient={"reference": "Patient/p2"}, subject=SUBJECT),
    ])
    assert [v.id for v in r.immunizations] == ["mine"]
    assert [(s.resource_type, s.id, s.reason) for s in r.skipped] == [
        ("Immunization", "theirs", "belongs to another patient")
    ]


# --- demographics ------------------------------------------------------------


@pytest.mark.parametrize(
    "birth, expected, precision, age",
    [("1980-05-17", date(1980, 5, 17), "day", 45), ("1980-05", date(1980, 5, 1), "month", 45),
     ("1980", date(1980, 1, 1), "year", 46), ("garbage", None, None, None)],
)
def test_partial_birth_dates(birth, expected, precision, age):
    r = record(patient=[{"resourceType": "Patient", "id": "p1", "birthDate": birth, "gender": "Female"}])
    assert (r.birth_date, r.birth_date_precision, r.age, r.sex) == (expected, precision, age, "female")


def test_other_patients_are_ignored_for_demographics():
    r = record(patient=[{"resourceType": "Patient", "id": "someone-else", "birthDate": "1950-01-01"}])
    assert r.birth_date is None
    assert [(s.resource_type, s.id) for s in r.skipped] == [("Patient", "someone-else")]


def test_resources_of_another_patient_are_skipped():
    other = obs("x", subject={"reference": "https://ehr.example/fhir/Patient/p2"})
    r = record(observations=[other, obs("mine")])
    assert [o.id for o in r.observations] == ["mine"]
    assert r.skipped[0].reason == "belongs to another patient"


# --- leniency ------------------------------------------------------------------


def test_resources_are_sorted_by_their_own_type_and_deduplicated():
    r = record(medications=[obs("o1"), med_request("m1")], observations=[obs("o1"), condition("c1")],
               patient=[{"resourceType": "Patient", "id": "p1", "gender": "male"}])
    assert [o.id for o in r.observations] == ["o1"]
    assert [m.id for m in r.medications] == ["m1"]
    assert [c.id for c in r.conditions] == ["c1"]
    assert r.sex == "male"


def test_unreadable_resources_are_skipped_and_recorded():
    r = record(observations=[
        "not even a dict",
        {"id": "no-type"},
        obs("nocode", code={"coding": "garbage"}),
        obs("weird", code={"coding": [{"code": "2160-0", "system": LOINC}]}, valueQuantity="35"),
        {"resourceType": "Condition", "id": "c-nocode", "subject": SUBJECT},
        {"resourceType": "Immunization", "id": "i-nocode", "status": "completed"},
    ])
    assert [o.id for o in r.observations] == ["weird"]
    assert [(s.resource_type, s.id, s.reason) for s in r.skipped] == [
        (None, None, "not a FHIR resource (no resourceType)"),
        (None, "no-type", "not a FHIR resource (no resourceType)"),
        ("Observation", "nocode", "Observation has no code"),
        ("Condition", "c-nocode", "Condition has no code"),
        ("Immunization", "i-nocode", "Immunization has no vaccineCode"),
    ]


def test_unavailable_keys_and_naive_now():
    gathered = Gathered(resources={}, unavailable=frozenset({"observations"}))
    r = build_record(gathered, patient_id="p1", draft_orders=[], selections=None, now=datetime(2026, 1, 15))
    assert r.unavailable == {"observations"}
    assert r.now.tzinfo is not None
    assert (r.medications, r.observations, r.birth_date) == ((), (), None)


def test_a_vaccine_drafted_as_an_immunization_is_read_as_a_draft_order():
    imm = {
        "resourceType": "Immunization",
        "id": "v1",
        "status": "not-done",
        "vaccineCode": {"coding": [{"system": "http://hl7.org/fhir/sid/cvx", "code": "03"}], "text": "MMR"},
        "patient": {"reference": "Patient/p"},
    }
    broken = {"resourceType": "Immunization", "id": "v2", "status": "not-done"}
    record = build_record(
        Gathered(resources={}, unavailable=frozenset()),
        patient_id="p",
        draft_orders=[imm, broken],
        selections=["Immunization/v1"],
        now=datetime(2026, 1, 15, tzinfo=UTC),
    )
    [draft] = record.drafts
    assert draft.is_draft and draft.status == "draft" and draft.selected
    assert draft.reference == "Immunization/v1" and draft.names == ("MMR",)
    assert [s.id for s in record.skipped] == ["v2"]


def test_a_resolved_condition_is_history_only_and_a_refuted_one_is_nowhere():
    def cond(cid, clinical=None, verification=None):
        c = {"resourceType": "Condition", "id": cid, "subject": SUBJECT, "code": {"text": "Breast cancer"}}
        if clinical:
            c["clinicalStatus"] = {"coding": [{"code": clinical}]}
        if verification:
            c["verificationStatus"] = {"coding": [{"code": verification}]}
        return c
    rec = record(conditions=[cond("active", "active"), cond("resolved", "resolved"), cond("remission", "remission"),
                             cond("refuted", "active", "refuted"), cond("error", "resolved", "entered-in-error")])
    assert [p.id for p in rec.conditions] == ["active"]
    assert [p.id for p in rec.condition_history] == ["active", "resolved", "remission"]
    assert [p.inactive for p in rec.condition_history] == [False, True, True]


def test_routes_keep_each_coded_route_and_skip_the_shapes_that_are_not_one():
    """MedicationOrder.routes: a route object per instruction; a list, a string or no route is not matched."""
    snomed = "http://snomed.info/sct"
    drafts = [
        med_request(
            "d1",
            status="draft",
            dosageInstruction=[
                {"route": {"coding": [{"system": snomed, "code": "127492001", "display": "Nasogastric route"}]}},
                {"route": {"text": " PEG ", "coding": None}},
                {"route": [{"text": "oral"}]},
                {"route": "oral"},
                {"text": "1 tab"},
            ],
        )
    ]
    (order,) = record(drafts=drafts).drafts
    assert [(r.name, [c.code for c in r.codings]) for r in order.routes] == [
        ("Nasogastric route", ["127492001"]),
        ("PEG", []),
    ]
