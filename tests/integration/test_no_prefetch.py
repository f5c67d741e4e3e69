"""Every fixture scenario, its data on a real FHIR server and no prefetch: the same cards.

Each scenario is loaded as a patient of its own (`cdshooks.cli.fixture_upload`),
then the hook is called twice through the app: once with the prefetch, once
with `fhirServer` pointing at the server (allowlisted) and no prefetch, as the
CDS Hooks sandbox and EHRs that do not prefetch would call it.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pytest

from cdshooks.app import create_app
from cdshooks.cli.fixture_upload import namespaced, scenario_files, server_resources

pytestmark = pytest.mark.integration
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
SCENARIOS = scenario_files(FIXTURES)


def _topics(response) -> list[str]:
    assert response.status_code == 200, response.get_data(as_text=True)
    return sorted(c["source"]["topic"]["code"] for c in response.get_json()["cards"])


def _request(path: Path) -> dict:
    return namespaced(path.parent.name, json.loads(path.read_text(encoding="utf-8"))["request"])


def test_most_scenarios_can_be_put_on_a_server():
    # Only scenarios about missing data (a null or OperationOutcome prefetch) have no server equivalent.
    loadable = [p for p in SCENARIOS if server_resources(_request(p))]
    assert len(loadable) >= 0.8 * len(SCENARIOS) > 0


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.parent.name)
def test_same_topics_without_prefetch(path: Path, fhir_server, settings):
    request = _request(path)
    resources = server_resources(request)
    if not resources:
        pytest.skip("the prefetch holds null or an OperationOutcome on purpose: no server equivalent")
    # One scenario at a time: the in-memory server's searches scan every resource it holds.
    fhir_server.reset()
    fhir_server.load(resources)
    scenario = json.loads(path.read_text(encoding="utf-8"))
    as_of = datetime.fromisoformat(scenario["asOf"].replace("Z", "+00:00"))
    app = create_app(
        replace(
            settings,
            now=as_of,
            auth_enabled=False,
            fhir_allowlist=(fhir_server.base_url,),
            fetch_budget_seconds=20.0,  # a busy CI machine must not turn into a 412
        )
    )
    client = app.test_client()
    url = f"/cds-services/{scenario['service']}"

    with_prefetch = _topics(client.post(url, json=request))
    fetched = {k: v for k, v in request.items() if k != "prefetch"}
    without_prefetch = _topics(client.post(url, json={**fetched, "fhirServer": fhir_server.base_url}))

    assert with_prefetch == sorted(scenario["expect"]["topics"])
    assert without_prefetch == with_prefetch
