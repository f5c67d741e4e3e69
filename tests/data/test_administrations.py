"""MedicationAdministration, read leniently into PatientRecord.administrations."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from cdshooks.cli.validate import query_filters
from cdshooks.config import Settings
from cdshooks.data.builder import build_record
from cdshooks.data.gather import Gathered, gather
from cdshooks.data.parsers import Unreadable, medication_administration
from cdshooks.services import REQUIRED_PREFETCH, prefetch_templates
from tests import fixturekit as k

NOW = k.AS_OF
BASE = "https://fhir.example.org/r4"


def _read(resource: dict, medications: dict | None = None):
    return medication_administration(resource, medications or {})


def _record(*resources: dict):
    gathered = Gathered({"patient": [k.patient()], "administrations": [k.bundle(resources)]})
    return build_record(gathered, patient_id=k.PATIENT_ID, draft_orders=[], selections=None, now=NOW)


def test_reads_codeable_concept_status_and_date():
    a = _read(k.administration("a1", "Rituxan 1000 mg infusion", days_ago=120))
    assert a.id == "a1" and a.status == "completed"
    assert a.names == ("Rituxan 1000 mg infusion",)
    assert a.given.date().isoformat() == k.day(-120)[:10]
    assert a.reference == "MedicationAdministration/a1"
    assert a.label == "Rituxan 1000 mg infusion"
    assert not a.is_draft


def test_local_code_only_keeps_the_coding():
    r = k.administration("a1", "x")
    r["medicationCodeableConcept"] = {"coding": [{"system": "urn:oid:1.2.3.4", "code": "RTX-1000"}]}
    a = _read(r)
    assert a.codings[0].code == "RTX-1000" and a.names == ()


def test_contained_medication_gives_its_code_and_ingredient_names():
    r = k.administration("a1", "x")
    del r["medicationCodeableConcept"]
    r["contained"] = [{
        "resourceType": "Medication", "id": "med1",
        "code": {"coding": [{"system": "urn:oid:1.2.3.4", "code": "local-77", "display": "RTX 1000MG/100ML INFUSION"}]},
        "ingredient": [{"itemCodeableConcept": {"text": "rituximab-abbs"}}],
    }]
    r["medicationReference"] = {"reference": "#med1"}
    a = _read(r)
    assert "RTX 1000MG/100ML INFUSION" in a.names and "rituximab-abbs" in a.names


def test_bundled_medication_and_reference_display():
    r = k.administration("a1", "x")
    del r["medicationCodeableConcept"]
    r["medicationReference"] = {"reference": "Medication/m9", "display": "Truxima"}
    med = {"resourceType": "Medication", "id": "m9", "code": {"text": "rituximab-abbs 10 MG/ML"}}
    assert _read(r, {"m9": med}).names == ("Truxima", "rituximab-abbs 10 MG/ML")


@pytest.mark.parametrize("period, expected", [
    ({"start": "2025-09-15T09:00:00Z", "end": "2025-09-15T13:30:00Z"}, "2025-09-15T13:30:00+00:00"),
    ({"start": "2026-01-15T08:00:00Z"}, "2026-01-15T08:00:00+00:00"),  # still running
    ({"end": "2025-09-15"}, "2025-09-15T00:00:00+00:00"),
])
def test_effective_period_is_dated_by_its_end_else_its_start(period, expected):
    r = k.administration("a1", "rituximab")
    del r["effectiveDateTime"]
    r["effectivePeriod"] = period
    assert _read(r).given.isoformat() == expected


def test_r5_occurence_and_codeable_reference():
    r = {"resourceType": "MedicationAdministration", "id": "a1", "status": "completed",
         "medication": {"concept": {"text": "rituximab"}}, "subject": {"reference": f"Patient/{k.PATIENT_ID}"},
         "occurenceDateTime": "2025-09-15"}
    a = _read(r)
    assert a.names == ("rituximab",) and a.given == datetime(2025, 9, 15, tzinfo=UTC)


@pytest.mark.parametrize("status, kept", [
    ("completed", True), ("in-progress", True), ("Completed", True),
    ("stopped", True), ("on-hold", True), ("unknown", True), (None, True),  # kept: the rules decide
    ("not-done", False), ("entered-in-error", False), ("NOT-DONE", False),
])
def test_not_done_and_entered_in_error_are_dropped(status, kept):
    r = k.administration("a1", "rituximab")
    if status is None:
        del r["status"]
    else:
        r["status"] = status
    assert (_read(r) is not None) is kept


@pytest.mark.parametrize("change", [
    lambda r: r.pop("effectiveDateTime"),
    lambda r: r.update(effectiveDateTime="yesterday"),
    lambda r: r.update(effectiveDateTime=None, effectivePeriod={"start": 5}),
    lambda r: r.update(medicationCodeableConcept={}),
    lambda r: r.update(medicationCodeableConcept="rituximab"),
])
def test_without_a_date_or_a_medication_it_is_unreadable(change):
    r = k.administration("a1", "rituximab")
    change(r)
    with pytest.raises(Unreadable):
        _read(r)


@pytest.mark.parametrize("odd", [
    {"status": 7}, {"status": ["completed"]}, {"dosage": "IV"}, {"dosage": [{"route": {"text": "IV"}}]},
    {"medicationReference": "Medication/m1"}, {"contained": "x"}, {"effectivePeriod": []},
    {"medicationCodeableConcept": {"coding": {"code": {"x": 1}}, "text": "rituximab"}},
])
def test_odd_shapes_never_raise_anything_but_unreadable(odd):
    r = {**k.administration("a1", "rituximab"), **odd}
    try:
        _read(r)
    except Unreadable:
        pass


def test_builder_keeps_this_patients_given_administrations_and_lists_the_unreadable():
    mine = k.administration("a1", "rituximab", days_ago=120)
    theirs = k.administration("a2", "rituximab", pid="someone-else")
    not_done = k.administration("a3", "rituximab", status="not-done")
    undated = k.administration("a4", "rituximab")
    del undated["effectiveDateTime"]
    rec = _record(mine, theirs, not_done, undated)
    assert [a.id for a in rec.administrations] == ["a1"]
    assert {s.id: s.reason for s in rec.skipped} == {
        "a2": "belongs to another patient", "a4": "MedicationAdministration has no effective time",
    }


def test_an_administration_never_becomes_an_order():
    rec = _record(k.administration("a1", "rituximab"))
    assert rec.medications == () and rec.drafts == ()


def test_administrations_is_an_optional_search_of_given_administrations():
    template = prefetch_templates()["administrations"]
    resource_type, params = query_filters(template)
    assert resource_type == "MedicationAdministration"
    assert params["patient"] == ["Patient/{{context.patientId}}"]
    assert params["status"] == ["completed", "in-progress"]
    # 2.0 prefetch tokens cannot compute "12 months ago": newest first, bounded, windows applied in code
    assert params["_sort"] == ["-effective-time"] and "effective-time" not in params
    assert "administrations" not in REQUIRED_PREFETCH


def test_fixture_kit_prefetch_has_the_administrations_key():
    pre = k.prefetch([k.patient(), k.administration("a1", "rituximab")])
    assert pre["administrations"]["entry"][0]["resource"]["resourceType"] == "MedicationAdministration"
    assert set(pre) == set(prefetch_templates())


def _gather(pre: dict, server: str | None):
    settings = Settings(fhir_allowlist=(BASE,), fetch_budget_seconds=5.0) if server else Settings()
    policy = settings.fetch_policy()
    return gather(prefetch_templates(), {"patientId": k.PATIENT_ID}, pre, server, None, policy, REQUIRED_PREFETCH)


def test_missing_administrations_key_is_fetched_from_the_fhir_server(rsps):
    rsps.get(f"{BASE}/MedicationAdministration", json=k.bundle([k.administration("a1", "rituximab")]))
    pre = k.prefetch([k.patient()])
    del pre["administrations"]
    got = _gather(pre, BASE)
    assert [r["id"] for r in got.resources["administrations"]] == ["a1"]
    url = rsps.calls[0].request.url
    assert url.startswith(f"{BASE}/MedicationAdministration?patient=Patient/{k.PATIENT_ID}&status=completed")
    assert got.unavailable == frozenset()


def test_unfetchable_administrations_key_is_unavailable_not_an_error(rsps):
    rsps.get(f"{BASE}/MedicationAdministration", status=403)
    pre = k.prefetch([k.patient()])
    del pre["administrations"]
    assert _gather(pre, BASE).unavailable == frozenset({"administrations"})
    pre = k.prefetch([k.patient()])
    del pre["administrations"]
    assert _gather(pre, None).unavailable == frozenset({"administrations"})
