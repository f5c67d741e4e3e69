"""The test FHIR server answers the service's own prefetch queries like a real server."""

from __future__ import annotations

import urllib.error

import pytest

from cdshooks.cli.fixture_upload import namespaced, server_resources
from cdshooks.services import prefetch_templates
from tests import fixturekit as k

pytestmark = pytest.mark.integration


@pytest.fixture
def patient_view(fhir_server):
    """The on-therapy base patient, loaded under ids of its own."""
    request = namespaced("test-fhir-server", k.patient_view())
    fhir_server.load(server_resources(request))
    return request


def _query(template: str, patient_id: str) -> str:
    return template.replace("{{context.patientId}}", patient_id)


def _ids(bundle: dict) -> set[str]:
    return {e["resource"]["id"] for e in bundle.get("entry", [])}


@pytest.mark.parametrize("key", ["medications", "observations", "conditions", "immunizations"])
def test_prefetch_queries_return_what_the_prefetch_holds(fhir_server, patient_view, key):
    expected = _ids(patient_view["prefetch"][key])
    assert expected, "the base patient has data for every key"
    answer = fhir_server.request("GET", _query(prefetch_templates()[key], patient_view["context"]["patientId"]))
    assert answer["resourceType"] == "Bundle" and answer["type"] == "searchset"
    assert _ids(answer) == expected


def test_patient_read_keeps_the_id(fhir_server, patient_view):
    pid = patient_view["context"]["patientId"]
    answer = fhir_server.request("GET", _query(prefetch_templates()["patient"], pid))
    assert answer["resourceType"] == "Patient" and answer["id"] == pid


def test_searches_do_not_leak_across_patients(fhir_server, patient_view):
    other = namespaced("another-patient", k.patient_view())
    fhir_server.load(server_resources(other))
    query = _query(prefetch_templates()["observations"], patient_view["context"]["patientId"])
    assert _ids(fhir_server.request("GET", query)) == _ids(patient_view["prefetch"]["observations"])


def test_newest_observation_first(fhir_server, patient_view):
    query = _query(prefetch_templates()["observations"], patient_view["context"]["patientId"])
    dates = [e["resource"]["effectiveDateTime"] for e in fhir_server.request("GET", query)["entry"]]
    assert dates == sorted(dates, reverse=True)


def test_unknown_resource_is_404(fhir_server):
    with pytest.raises(urllib.error.HTTPError) as err:
        fhir_server.request("GET", "Patient/does-not-exist")
    assert err.value.code == 404



def test_reset_forgets_everything(fhir_server, patient_view):
    fhir_server.reset()
    with pytest.raises(urllib.error.HTTPError) as err:
        fhir_server.request("GET", f"Patient/{patient_view['context']['patientId']}")
    assert err.value.code == 404
