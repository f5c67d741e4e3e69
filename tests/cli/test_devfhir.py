"""The in-memory FHIR server of `cdshooks dev`: what the sandbox and the service's fallback ask of it.

Each test talks HTTP to a real server on a loopback port. The last test loads
every fixture at once (as `cdshooks dev` does) and checks that the service
reading the server instead of the prefetch shows the same cards.
"""

from __future__ import annotations

import json
import socket
from datetime import datetime
from pathlib import Path

import pytest
import requests

from cdshooks.app import create_app
from cdshooks.cli import devfhir
from cdshooks.cli.fixture_upload import namespaced, scenario_files, upload
from cdshooks.config import Settings
from cdshooks.services import prefetch_templates

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
LOINC = "http://loinc.org"


def observation(oid: str, patient: str, code: str, when: str | None, status: str = "final", system: str | None = LOINC) -> dict:
    coding = {"code": code, **({"system": system} if system else {})}
    resource = {
        "resourceType": "Observation",
        "id": oid,
        "status": status,
        "code": {"coding": [coding]},
        "subject": {"reference": f"Patient/{patient}"},
    }
    if when:
        resource["effectiveDateTime"] = when
    return resource


@pytest.fixture
def server():
    running = devfhir.start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def loaded(server):
    resources = [
        {"resourceType": "Patient", "id": "p1"},
        {"resourceType": "Patient", "id": "p2"},
        observation("o1", "p1", "1000-1", "2025-01-01"),
        observation("o2", "p1", "2000-2", "2025-03-01T10:00:00+02:00", status="amended"),
        observation("o3", "p1", "1000-1", "2025-02", system=None),
        observation("o4", "p1", "3000-3", None),
        observation("o5", "p2", "1000-1", "2025-04-01"),
        {"resourceType": "AllergyIntolerance", "id": "a1", "patient": {"reference": "Patient/p1"}},
        {"resourceType": "Condition", "id": "c1", "subject": {"reference": "http://elsewhere/fhir/Patient/p1"}},
    ]
    resp = requests.post(server.base_url, json=devfhir_transaction(resources), timeout=10)
    assert resp.status_code == 200, resp.text
    return server


def devfhir_transaction(resources: list[dict]) -> dict:
    from cdshooks.cli.fixture_upload import transaction

    return transaction(resources)


def ids(bundle: dict) -> list[str]:
    assert bundle["resourceType"] == "Bundle" and bundle["type"] == "searchset"
    return [e["resource"]["id"] for e in bundle.get("entry", [])]


def get(server, query: str) -> requests.Response:
    return requests.get(f"{server.base_url}/{query}", timeout=10)


def test_metadata_is_an_r4_capability_statement(server):
    resp = get(server, "metadata")
    assert resp.status_code == 200
    assert resp.headers["Content-Type"].startswith("application/fhir+json")
    assert resp.json()["resourceType"] == "CapabilityStatement" and resp.json()["fhirVersion"] == "4.0.1"


def test_preflight_allows_the_sandboxs_request_from_a_public_page(server):
    resp = requests.options(
        f"{server.base_url}/Observation/_search",
        headers={
            "Origin": "https://sandbox.cds-hooks.org",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type",
            "Access-Control-Request-Private-Network": "true",
        },
        timeout=10,
    )
    assert resp.status_code == 204
    assert resp.headers["Access-Control-Allow-Origin"] == "*"
    assert {"GET", "POST", "PUT"} <= {m.strip() for m in resp.headers["Access-Control-Allow-Methods"].split(",")}
    assert resp.headers["Access-Control-Allow-Headers"] == "authorization,content-type"
    assert resp.headers["Access-Control-Allow-Private-Network"] == "true"
    assert resp.headers["Access-Control-Max-Age"]


def test_every_answer_carries_cors_even_an_error(server):
    for resp in (get(server, "metadata"), get(server, "Patient/nobody"), get(server, "Patient?unknown=1")):
        assert resp.headers["Access-Control-Allow-Origin"] == "*"


def test_read_and_not_found(loaded):
    assert get(loaded, "Patient/p1").json()["id"] == "p1"
    missing = get(loaded, "Patient/nobody")
    assert missing.status_code == 404 and missing.json()["resourceType"] == "OperationOutcome"


def test_post_search_form_body_equals_get(loaded):
    query = "subject=Patient%2Fp1&code=http%3A%2F%2Floinc.org%7C1000-1&_sort=-date"
    via_get = get(loaded, f"Observation?{query}").json()
    via_post = requests.post(f"{loaded.base_url}/Observation/_search", data=query, headers=FORM, timeout=10).json()
    assert ids(via_post) == ids(via_get) == ["o1"]
    # Query-string and body parameters combine (AND).
    both = requests.post(f"{loaded.base_url}/Observation/_search?patient=p1", data="code=1000-1", headers=FORM, timeout=10)
    assert sorted(ids(both.json())) == ["o1", "o3"]


def test_post_search_refuses_a_json_body(loaded):
    resp = requests.post(f"{loaded.base_url}/Observation/_search", json={"patient": "p1"}, timeout=10)
    assert resp.status_code == 415


@pytest.mark.parametrize(
    "query, expected",
    [
        ("Observation?patient=p1", ["o1", "o2", "o3", "o4"]),
        ("Observation?patient=Patient/p2", ["o5"]),
        ("Observation?subject=p2", ["o5"]),
        ("Observation?status=amended", ["o2"]),
        ("Observation?status=final,amended&patient=p2", ["o5"]),
        ("Observation?code=1000-1", ["o1", "o3", "o5"]),
        ("Observation?code=http://loinc.org|1000-1", ["o1", "o5"]),
        ("Observation?code=|1000-1", ["o3"]),
        ("Observation?code=http://loinc.org|", ["o1", "o2", "o4", "o5"]),
        ("Observation?code=http://loinc.org|2000-2,http://loinc.org|3000-3", ["o2", "o4"]),
        ("Observation?code=1000-1&code=http://loinc.org|1000-1&patient=p1", ["o1"]),  # repeated: AND
        ("Observation?_id=o4,o5", ["o4", "o5"]),
        ("AllergyIntolerance?patient=p1", ["a1"]),
        ("AllergyIntolerance?patient=p2", []),
        ("Condition?patient=p1", ["c1"]),  # an absolute reference to the same patient
        ("Observation?patient=p1&_sort=-date", ["o2", "o3", "o1", "o4"]),  # no date: last
        ("Observation?patient=p1&_sort=date", ["o1", "o3", "o2", "o4"]),
        ("Patient", ["p1", "p2"]),
        ("Immunization?patient=p1", []),
    ],
)
def test_search_semantics(loaded, query, expected):
    resp = get(loaded, query)
    assert resp.status_code == 200, resp.text
    found = ids(resp.json())
    assert (found if "_sort" in query else sorted(found)) == expected
    assert resp.json()["total"] == len(expected)


@pytest.mark.parametrize("query", ["Observation?value-quantity=5", "Observation?code:in=http://x", "Observation?_count=x", "Observation?_count=5000", "Patient?_sort=date"])
def test_unsupported_search_is_refused_naming_it(loaded, query):
    resp = get(loaded, query)
    assert resp.status_code == 400
    outcome = resp.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert query.split("?", 1)[1].split("=", 1)[0] in outcome["issue"][0]["diagnostics"]


def test_paging_next_links_stay_on_the_server_and_cover_everything(loaded):
    seen, url, pages = [], f"{loaded.base_url}/Observation?patient=p1&_sort=-date&_count=3", 0
    while url:
        bundle = requests.get(url, timeout=10).json()
        seen += ids(bundle)
        pages += 1
        nxt = [link["url"] for link in bundle["link"] if link["relation"] == "next"]
        assert not nxt or nxt[0].startswith(loaded.base_url + "/")
        url = nxt[0] if nxt else None
    assert pages == 2 and seen == ["o2", "o3", "o1", "o4"]


def test_transaction_is_all_or_nothing(server):
    good = {"resourceType": "Patient", "id": "ok"}
    bundle = devfhir_transaction([good])
    bundle["entry"].append({"resource": {"resourceType": "Patient", "id": "x"}, "request": {"method": "PUT", "url": "Patient/y"}})
    resp = requests.post(server.base_url, json=bundle, timeout=10)
    assert resp.status_code == 400 and "entry[1]" in resp.json()["issue"][0]["diagnostics"]
    assert get(server, "Patient/ok").status_code == 404


def test_put_twice_keeps_the_id_and_bumps_the_version(server):
    url = f"{server.base_url}/Patient/p9"
    first = requests.put(url, json={"resourceType": "Patient", "id": "p9"}, timeout=10)
    second = requests.put(url, json={"resourceType": "Patient", "id": "p9", "gender": "female"}, timeout=10)
    assert (first.status_code, second.status_code) == (201, 200)
    assert get(server, "Patient/p9").json()["meta"]["versionId"] == "2"
    assert requests.put(url, json={"resourceType": "Patient", "id": "other"}, timeout=10).status_code == 400
    assert requests.put(url, data="{not json", timeout=10).status_code == 400


def test_a_short_body_is_refused_not_processed(server):
    with socket.create_connection(server.server.server_address[:2], timeout=5) as conn:
        conn.sendall(b"PUT /fhir/Patient/p1 HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"resourceType\"")
        conn.shutdown(socket.SHUT_WR)
        answer = conn.recv(4096).decode()
    assert answer.startswith("HTTP/1.1 400")
    assert get(server, "Patient/p1").status_code == 404


def test_only_loopback_binds():
    with pytest.raises(ValueError, match="loopback"):
        devfhir.DevFhirServer("0.0.0.0", 0)


@pytest.fixture(scope="module")
def every_fixture(tmp_path_factory):
    running = devfhir.start()
    apps: dict = {}
    feedback = str(tmp_path_factory.mktemp("devfhir") / "feedback.sqlite3")

    def app_at(as_of: datetime):
        # One app per evaluation time (the fixtures share one): building an app per scenario is the slow part.
        if as_of not in apps:
            apps[as_of] = create_app(
                Settings(
                    now=as_of, auth_enabled=False, feedback_db=feedback,
                    fhir_allowlist=(running.base_url,), fetch_budget_seconds=20.0,
                )
            )  # fmt: skip
        return apps[as_of]

    try:
        done, _ = upload(running.base_url, FIXTURES)
        assert len(done) >= 0.8 * len(scenario_files(FIXTURES))
        yield running, {u.scenario for u in done}, app_at
    finally:
        running.stop()


def _topics(response) -> list[str]:
    assert response.status_code == 200, response.get_data(as_text=True)
    return sorted(c["source"]["topic"]["code"] for c in response.get_json()["cards"])


@pytest.mark.parametrize("path", scenario_files(FIXTURES), ids=lambda p: p.parent.name)
def test_every_fixture_from_the_server_shows_its_cards(path: Path, every_fixture):
    # All scenarios on one server at once, as `cdshooks dev` holds them: no search may leak across patients.
    running, loaded, app_at = every_fixture
    name = path.parent.name
    if name not in loaded:
        pytest.skip("the prefetch holds null or an OperationOutcome on purpose: no server equivalent")
    scenario = json.loads(path.read_text(encoding="utf-8"))
    request = namespaced(name, scenario["request"])
    as_of = datetime.fromisoformat(scenario["asOf"].replace("Z", "+00:00"))
    patient = request["context"]["patientId"]
    for key, template in prefetch_templates().items():
        if "?" in template:
            bundle = get(running, template.replace("{{context.patientId}}", patient)).json()
            for resource in (e["resource"] for e in bundle.get("entry", [])):
                refs = [resource.get(f, {}).get("reference") for f in ("subject", "patient")]
                assert f"Patient/{patient}" in refs, f"{key}: {resource['resourceType']}/{resource['id']} of {refs}"
    app = app_at(as_of)
    without_prefetch = {k: v for k, v in request.items() if k != "prefetch"}
    resp = app.test_client().post(f"/cds-services/{scenario['service']}", json={**without_prefetch, "fhirServer": running.base_url})
    assert _topics(resp) == sorted(scenario["expect"]["topics"])
