"""GET /cds-services."""

from __future__ import annotations

import json
from pathlib import Path

import cdshooks
from cdshooks.services import observation_codes
from tests import fixturekit

EXPECTED = {
    "tofacitinib-order-select": "order-select",
    "tofacitinib-order-sign": "order-sign",
    "tofacitinib-patient-view": "patient-view",
}


def test_lists_the_three_services_with_their_hooks(client):
    resp = client.get("/cds-services")
    assert resp.status_code == 200
    assert resp.mimetype == "application/json"
    services = resp.get_json()["services"]
    assert {s["id"]: s["hook"] for s in services} == EXPECTED
    for s in services:
        for key in ("title", "description", "usageRequirements"):
            assert isinstance(s[key], str) and s[key].strip(), (s["id"], key)


def test_prefetch_keys_match_the_fixture_kit(client):
    for s in client.get("/cds-services").get_json()["services"]:
        assert set(s["prefetch"]) == set(fixturekit.prefetch([fixturekit.patient()]))
        assert s["prefetch"]["patient"] == "Patient/{{context.patientId}}"
        for key in ("medications", "observations", "conditions"):
            assert "subject=Patient/{{context.patientId}}" in s["prefetch"][key]
        assert "patient=Patient/{{context.patientId}}" in s["prefetch"]["immunizations"]
        assert "status=active,on-hold,completed" in s["prefetch"]["medications"]


def test_observation_prefetch_names_every_exact_loinc_code_of_the_lab_catalog(client):
    path = Path(cdshooks.__file__).parent / "terminology" / "valuesets" / "lab-tests.json"
    catalog = json.loads(path.read_text(encoding="utf-8"))
    exact = {
        c["code"]
        for m in catalog["members"]
        for c in m["codes"]
        if c["system"] == "http://loinc.org" and not c.get("prefix")
    }
    query = client.get("/cds-services").get_json()["services"][0]["prefetch"]["observations"]
    codes_param = next(p for p in query.split("?", 1)[1].split("&") if p.startswith("code="))
    listed = codes_param[len("code=") :].split(",")
    assert {c.split("|", 1)[1] for c in listed} == exact
    assert all(c.startswith("http://loinc.org|") for c in listed)
    assert len(listed) == len(set(listed)) == len(observation_codes())
    assert "_sort=-date" in query and "_count=" in query


def test_prefetch_tokens_use_only_context_fields(client):
    for s in client.get("/cds-services").get_json()["services"]:
        for template in s["prefetch"].values():
            tokens = [t.split("}}")[0] for t in template.split("{{")[1:]]
            assert tokens and all(t == "context.patientId" for t in tokens)


def test_discovery_rejects_post(client):
    resp = client.post("/cds-services", json={})
    assert resp.status_code == 405
    assert resp.get_json()["resourceType"] == "OperationOutcome"


def test_allergies_is_declared_in_discovery_and_in_the_openapi_document(client):
    from cdshooks.services import REQUIRED_PREFETCH
    from cdshooks.web.openapi import document

    schemas = document()["components"]["schemas"]
    for s in client.get("/cds-services").get_json()["services"]:
        assert s["prefetch"]["allergies"].startswith("AllergyIntolerance?patient={{context.patientId}}")
        assert set(schemas["HookRequest"]["properties"]["prefetch"]["properties"]) == set(s["prefetch"])
        assert set(schemas["Service"]["properties"]["prefetch"]["properties"]) == set(s["prefetch"])
        assert "AllergyIntolerance" in s["usageRequirements"]
    assert "allergies" not in REQUIRED_PREFETCH
    assert "optional" in schemas["HookRequest"]["properties"]["prefetch"]["properties"]["allergies"]["description"]


def test_administrations_is_declared_in_discovery_and_in_the_openapi_document(client):
    from cdshooks.services import REQUIRED_PREFETCH
    from cdshooks.web.openapi import document

    schemas = document()["components"]["schemas"]
    for s in client.get("/cds-services").get_json()["services"]:
        assert s["prefetch"]["administrations"].startswith(
            "MedicationAdministration?patient=Patient/{{context.patientId}}&status=completed,in-progress"
        )
        assert set(schemas["HookRequest"]["properties"]["prefetch"]["properties"]) == set(s["prefetch"])
        assert set(schemas["Service"]["properties"]["prefetch"]["properties"]) == set(s["prefetch"])
        assert "MedicationAdministration" in s["usageRequirements"]
    assert "administrations" not in REQUIRED_PREFETCH
    for schema in ("HookRequest", "Service"):
        described = schemas[schema]["properties"]["prefetch"]["properties"]["administrations"]["description"]
        assert "optional" in described
