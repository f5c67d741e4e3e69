"""The real FHIR server tier: one Medplum in-memory server per test session (per xdist worker)."""

from __future__ import annotations

import pytest

from tests.integration.fhir_server import FhirServer, missing_tools


@pytest.fixture(scope="session")
def fhir_server():
    missing = missing_tools()
    if missing:
        pytest.skip(
            f"FHIR server tier needs Node.js 20 and npm; {' and '.join(missing)} not found on PATH"
        )
    server = FhirServer().start()
    try:
        yield server
    finally:
        server.stop()
