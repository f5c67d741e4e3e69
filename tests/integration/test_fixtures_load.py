"""`cdshooks fixtures load` puts each scenario on a real FHIR server as its own patient."""

from __future__ import annotations

from pathlib import Path

import pytest

from cdshooks.cli import commands as cli

pytestmark = pytest.mark.integration
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def test_load_then_read_back_by_scenario_name(fhir_server, capsys):
    scenario = next(p.parent for p in sorted(FIXTURES.glob("*/scenario.json")))
    assert cli.main(["fixtures", "load", "--fhir-server", fhir_server.base_url, "--wait", "5", str(scenario)]) == 0
    assert capsys.readouterr().out.startswith(f"{scenario.name}: patientId={scenario.name} (")
    patient = fhir_server.request("GET", f"Patient/{scenario.name}")
    assert patient["id"] == scenario.name
    found = fhir_server.request("GET", f"Condition?subject=Patient/{scenario.name}")
    assert found.get("total", 0) >= 1


def test_load_fails_when_the_server_is_unreachable(capsys):
    assert cli.main(["fixtures", "load", "--fhir-server", "http://127.0.0.1:9", str(FIXTURES)]) == 1
    assert "cdshooks fixtures load:" in capsys.readouterr().err
