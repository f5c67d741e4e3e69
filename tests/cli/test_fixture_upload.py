"""Fixture scenarios become patients of their own on a FHIR server."""

from __future__ import annotations

import json

from cdshooks.cli.fixture_upload import namespaced, patient_id_for, server_resources, transaction, upload
from tests import fixturekit as k


def _write(folder, name, request):
    (folder / name).mkdir(parents=True)
    doc = {"description": name, "service": "x", "asOf": "2026-01-15T12:00:00Z", "expect": {"topics": []}}
    (folder / name / "scenario.json").write_text(json.dumps({**doc, "request": request}))


def test_patient_takes_the_scenario_name_and_references_follow():
    req = namespaced("dose-standard", k.order_select([k.tofacitinib_draft()]))
    assert req["context"]["patientId"] == "dose-standard"
    assert req["prefetch"]["patient"]["id"] == "dose-standard"
    for entry in req["prefetch"]["observations"]["entry"]:
        assert entry["resource"]["subject"]["reference"] == "Patient/dose-standard"
        assert entry["resource"]["id"].endswith(tuple(f"-{o['id']}" for o in k.base_resources()))


def test_other_ids_are_tagged_consistently_with_selections():
    req = namespaced("a", k.order_select([k.tofacitinib_draft()]))
    draft = req["context"]["draftOrders"]["entry"][0]["resource"]
    assert draft["id"] != "draft-tofa" and draft["id"].endswith("-draft-tofa")
    assert req["context"]["selections"] == [f"MedicationRequest/{draft['id']}"]


def test_two_scenarios_never_share_an_id():
    a = {r["id"] for r in server_resources(namespaced("a", k.patient_view()))}
    b = {r["id"] for r in server_resources(namespaced("b", k.patient_view()))}
    assert a and not a & b


def test_names_that_are_not_fhir_ids_get_a_stable_tag():
    assert patient_id_for("with space") == patient_id_for("with space") != "with space"
    assert patient_id_for("x" * 65) != "x" * 65


def test_original_request_is_untouched():
    original = k.patient_view()
    snapshot = json.dumps(original, sort_keys=True)
    namespaced("a", original)
    assert json.dumps(original, sort_keys=True) == snapshot


def test_prefetch_with_null_or_operation_outcome_has_no_server_equivalent():
    req = k.patient_view()
    assert len(server_resources(req)) == len(k.base_resources(on_tofacitinib=True))
    req["prefetch"]["immunizations"] = None
    assert server_resources(req) is None
    req["prefetch"]["immunizations"] = {"resourceType": "OperationOutcome", "issue": []}
    assert server_resources(req) is None


def test_transaction_puts_each_resource_at_its_id():
    bundle = transaction([k.patient()])
    assert bundle["type"] == "transaction"
    assert bundle["entry"][0]["request"] == {"method": "PUT", "url": f"Patient/{k.PATIENT_ID}"}


def test_upload_posts_one_transaction_per_scenario_and_skips_missing_data(tmp_path):
    _write(tmp_path, "on-therapy", k.patient_view())
    missing = k.patient_view()
    missing["prefetch"]["conditions"] = None
    _write(tmp_path, "no-conditions", missing)
    posted = []
    done, skipped = upload("http://fhir.test/r4", tmp_path, post=lambda url, b: posted.append((url, b)))
    assert [(u.scenario, u.patient_id) for u in done] == [("on-therapy", "on-therapy")]
    assert done[0].resources == len(posted[0][1]["entry"]) == len(k.base_resources(on_tofacitinib=True))
    assert [url for url, _ in posted] == ["http://fhir.test/r4"]
    assert len(skipped) == 1 and skipped[0].startswith("no-conditions:")


def test_contained_resources_keep_their_local_ids():
    draft = k.tofacitinib_draft()
    draft["contained"] = [{"resourceType": "Medication", "id": "med1", "code": {"text": "fluconazole"}}]
    draft["medicationReference"] = {"reference": "#med1"}
    out = namespaced("a", k.order_select([draft]))["context"]["draftOrders"]["entry"][0]["resource"]
    assert out["contained"][0]["id"] == "med1" and out["medicationReference"] == {"reference": "#med1"}
    assert out["id"] != draft["id"]
