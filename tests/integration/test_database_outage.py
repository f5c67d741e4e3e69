"""PostgreSQL stopped under a running service, then started again: no restart of the service needed.

While the database is down, feedback is refused with a 503 OperationOutcome
(never a 200 for an entry that was not committed), hook calls keep answering
with their cards, and /readyz says 503. Once it is back, the same workers take
feedback and report ready again. The test has a PostgreSQL server of its own,
since stopping the session's server would break tests running beside it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import psycopg
import pytest

from tests.integration import fleet
from tests.pg_server import PgServer, running_server

pytestmark = pytest.mark.integration

WORKERS = 2
CALLS = 6  # per check: with 2 workers, enough that each of them answers some
RECOVERY_SECONDS = 30.0  # the pool reconnects within seconds; a deadline only so that a failure cannot hang


@pytest.fixture(scope="module")
def database() -> Iterator[PgServer]:
    with running_server() as server:
        yield server


@pytest.fixture(scope="module")
def client(database: PgServer, es384, tmp_path_factory) -> Iterator[fleet.Client]:
    name = database.create_database()
    server = fleet.instance(tmp_path_factory.mktemp("outage"), database.url(name), es384, workers=WORKERS).start()
    try:
        yield fleet.Client(server, es384)
    finally:
        server.stop()


def feedback(client: fleet.Client, n: int) -> int:
    return client.feedback(fleet.entry(f"outage-card-{n}", "accepted", fleet.scenario()["asOf"])).status_code


def stored_cards(database: PgServer, client: fleet.Client) -> set[str]:
    with psycopg.connect(client.server.env["CDSHOOKS_DATABASE_URL"]) as conn:
        return {row[0] for row in conn.execute("SELECT card_uuid FROM feedback")}


def test_feedback_and_readiness_fail_while_the_database_is_down_and_recover_without_a_restart(database, client):
    workers = client.server.worker_pids()
    assert [feedback(client, 0), client.get("/readyz").status_code] == [200, 200]

    database.stop()
    try:
        for n in range(1, CALLS + 1):
            refused = client.feedback(fleet.entry(f"outage-card-{n}", "accepted", fleet.scenario()["asOf"]))
            assert refused.status_code == 503, refused.text
            assert refused.json()["resourceType"] == "OperationOutcome"
            answered = client.hook()
            assert answered.status_code == 200, answered.text
            assert len(answered.json()["cards"]) == 5, "every card is shown while suppression cannot be read"
            ready = client.get("/readyz")
            assert ready.status_code == 503 and ready.json()["status"] == "unavailable", ready.text
    finally:
        database.start()

    deadline = time.monotonic() + RECOVERY_SECONDS
    while feedback(client, CALLS + 1) != 200:
        assert time.monotonic() < deadline, "feedback never recovered after PostgreSQL came back"
        time.sleep(0.2)
    assert [feedback(client, CALLS + 1 + n) for n in range(1, CALLS + 1)] == [200] * CALLS
    assert [client.get("/readyz").status_code for _ in range(CALLS)] == [200] * CALLS
    assert client.server.worker_pids() == workers, "the same workers: nothing was restarted"
    # Refused entries were not stored; the client retries them.
    held = stored_cards(database, client)
    assert not held & {f"outage-card-{n}" for n in range(1, CALLS + 1)}
    assert {f"outage-card-{n}" for n in (0, *range(CALLS + 1, 2 * CALLS + 2))} <= held
