"""The real server tiers: one Medplum in-memory FHIR server per session, two instances on PostgreSQL per module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration import fleet
from tests.integration.fhir_server import FhirServer, missing_tools
from tests.jwt_kit import SigningKey, es384  # noqa: F401


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


@pytest.fixture(scope="module")
def two_instances(pg_server, es384: SigningKey, tmp_path_factory) -> Iterator[tuple[fleet.Client, fleet.Client]]:  # noqa: F811
    """Instances A and B (2 workers each, auth on) on one fresh PostgreSQL database, for one test module."""
    # Per module, not per test: starting two instances costs seconds, so a module's tests share them.
    database = pg_server.create_database()
    tmp = tmp_path_factory.mktemp("fleet")
    servers = [fleet.instance(tmp / name, pg_server.url(database), es384) for name in ("a", "b")]
    fleet.start_all(servers)
    try:
        yield fleet.Client(servers[0], es384), fleet.Client(servers[1], es384)
    finally:
        fleet.stop_all(servers)
        pg_server.drop_database(database)
