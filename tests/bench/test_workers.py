"""The workers benchmark's FHIR-fallback call: no prefetch, and a stub that holds the same patient."""

from __future__ import annotations

import orjson
import requests

from bench import workers


def test_the_fallback_call_has_no_prefetch_and_its_fhir_server_answers_with_the_patient():
    body, stub = workers._fallback_body(40)
    try:
        call = orjson.loads(body)
        assert "prefetch" not in call
        assert call["fhirServer"] == f"http://127.0.0.1:{stub.server_port}"
        patient_id = call["context"]["patientId"]
        found = requests.get(f"{call['fhirServer']}/Patient/{patient_id}", timeout=5)
        assert found.status_code == 200 and found.json()["id"] == patient_id
        labs = requests.get(f"{call['fhirServer']}/Observation?patient={patient_id}", timeout=5).json()
        assert labs["resourceType"] == "Bundle" and len(labs["entry"]) > 10
    finally:
        stub.shutdown()
