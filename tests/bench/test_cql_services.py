"""The CQL Services comparison without node or a server: the prefetch re-keying and the not-measured result."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import pytest

from bench import cql_services, patients

# The prefetch the CQL Services' cond-med-count-r4 hook declares in its discovery answer.
THEIR_TEMPLATES = {
    "Patient": "Patient/{{context.patientId}}",
    "Condition": "Condition?patient={{context.patientId}}",
    "MedicationRequest": "MedicationRequest?patient={{context.patientId}}",
}


def _ids(bundle: dict[str, Any]) -> list[str]:
    return [e["resource"]["id"] for e in bundle.get("entry", [])]


def test_a_template_names_the_type_it_queries():
    assert cql_services.template_type("Patient/{{context.patientId}}") == "Patient"
    assert cql_services.template_type("Condition?patient={{context.patientId}}") == "Condition"
    assert cql_services.template_type("MedicationDispense") == "MedicationDispense"
    with pytest.raises(ValueError):
        cql_services.template_type("{{context.patientId}}")


def test_their_keys_get_our_resources_of_the_type_each_queries():
    ours = patients.request("patient-view", 200, shape="ehr")["prefetch"]
    theirs = cql_services.their_prefetch(ours, THEIR_TEMPLATES)
    assert set(theirs) == set(THEIR_TEMPLATES)
    assert theirs["Patient"] is ours["patient"]
    assert theirs["Condition"]["resourceType"] == "Bundle" and theirs["Condition"]["type"] == "searchset"
    assert _ids(theirs["Condition"]) == _ids(ours["conditions"])
    assert _ids(theirs["MedicationRequest"]) == _ids(ours["medications"])
    assert theirs["MedicationRequest"]["total"] == len(ours["medications"]["entry"])


def test_a_type_we_have_none_of_is_an_empty_search_and_a_missing_read_is_null():
    ours = patients.request("patient-view", 50, shape="skeletal")["prefetch"]
    theirs = cql_services.their_prefetch(
        ours, {"Procedure": "Procedure?patient={{context.patientId}}", "Device": "Device/{{context.deviceId}}"}
    )
    assert theirs["Procedure"] == {"resourceType": "Bundle", "type": "searchset", "total": 0}
    assert theirs["Device"] is None


def test_their_request_is_the_same_call_with_only_their_prefetch():
    ours = patients.request("patient-view", 200, shape="ehr")
    theirs = cql_services.their_request(ours, THEIR_TEMPLATES)
    assert {k: v for k, v in theirs.items() if k != "prefetch"} == {k: v for k, v in ours.items() if k != "prefetch"}
    assert theirs["hook"] == "patient-view"
    assert set(theirs["prefetch"]) == set(THEIR_TEMPLATES)
    assert "prefetch" in ours and set(ours["prefetch"]) >= {"patient", "conditions", "medications", "observations"}


def test_without_a_checkout_nothing_is_measured_and_the_reason_says_what_to_set(monkeypatch):
    monkeypatch.delenv(cql_services.ENV_VAR, raising=False)
    result = cql_services.run()
    assert result.measured is False
    assert cql_services.ENV_VAR in result.reason and cql_services.REPOSITORY in result.reason
    assert result.ratio == 0.0 and result.hook == cql_services.HOOK
    assert asdict(result)["reason"] == result.reason  # the row bench/__main__ prints and saves


def test_a_folder_that_is_not_a_checkout_or_lacks_node_modules_is_named(tmp_path, monkeypatch):
    monkeypatch.setenv(cql_services.ENV_VAR, str(tmp_path))
    assert "not a checkout" in cql_services.run().reason
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "www").write_text("")
    (tmp_path / "config" / "hooks").mkdir(parents=True)
    result = cql_services.run()
    assert not result.measured and "node_modules" in result.reason and "npm ci" in result.reason


def test_without_node_nothing_is_measured(tmp_path, monkeypatch):
    for folder in ("bin", "config/hooks", "node_modules"):
        (tmp_path / folder).mkdir(parents=True)
    (tmp_path / "bin" / "www").write_text("")
    monkeypatch.setattr(cql_services.shutil, "which", lambda name: None)
    result = cql_services.run(str(tmp_path))
    assert not result.measured and "node" in result.reason


def test_an_order_select_request_becomes_a_patient_view_call_of_the_same_patient():
    ours = patients.request("order-select", 200, shape="ehr")
    theirs = cql_services.their_request(ours, THEIR_TEMPLATES, "patient-view")
    assert theirs["hook"] == "patient-view"
    assert set(theirs["context"]) == {"userId", "patientId", "encounterId"}
    assert theirs["context"]["patientId"] == ours["context"]["patientId"]
    assert _ids(theirs["prefetch"]["Condition"]) == _ids(ours["prefetch"]["conditions"])
    assert "draftOrders" in ours["context"]  # ours is left as it was
