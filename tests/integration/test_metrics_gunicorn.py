"""GET /metrics under a real gunicorn with 2 workers: the totals are every worker's, whichever answers.

N hook calls and M feedback posts, then /metrics read several times: each read
must show exactly N and M. Then each worker in turn is killed (SIGKILL) and
replaced: once both are gone, no live process served any of the calls, so
totals that still equal N and M can only come from the shared metric folder;
and counters never go backwards when a worker dies.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from tests import fixturekit as k
from tests.conftest import TEST_NOW
from tests.gunicorn_server import STARTUP_SECONDS, GunicornServer

pytestmark = pytest.mark.integration

SERVICE = "tofacitinib-order-select"
HOOK_CALLS = 20
FEEDBACK_POSTS = 5
SCRAPES = 6
WORKERS = 2
STALE = "counter_1.db"


@pytest.fixture(scope="module", params=["gunicorn-config", "cdshooks-serve"])
def server(request, tmp_path_factory) -> Iterator[GunicornServer]:
    """gunicorn -c with a folder given (a stale file in it), or `cdshooks serve` making its own.

    `cdshooks serve` builds the app in the master, before forking: the folder must be set
    before that, not only in gunicorn's on_starting.
    """
    tmp = tmp_path_factory.mktemp("metrics-gunicorn")
    env = {"CDSHOOKS_NOW": TEST_NOW.isoformat()}
    if request.param == "gunicorn-config":
        folder = tmp / "metrics"
        folder.mkdir()
        (folder / STALE).write_bytes(b"a previous run's file")  # emptied at start, or reads fail
        env["PROMETHEUS_MULTIPROC_DIR"] = str(folder)
    gunicorn = GunicornServer(tmp, cli=request.param == "cdshooks-serve", workers=WORKERS, **env).start()
    try:
        yield gunicorn
    finally:
        gunicorn.stop()


def url(server: GunicornServer, path: str) -> str:
    return f"http://127.0.0.1:{server.port}{path}"


def totals(server: GunicornServer) -> dict[str, float]:
    """The sums this test checks, from one GET /metrics."""
    resp = requests.get(url(server, "/metrics"), timeout=10)
    assert resp.status_code == 200
    sums = {"requests": 0.0, "cards": 0.0, "feedback": 0.0}
    for family in text_string_to_metric_families(resp.text):
        for s in family.samples:
            if s.name == "cdshooks_requests_total" and s.labels == {"service": SERVICE, "status": "200"}:
                sums["requests"] += s.value
            elif s.name == "cdshooks_cards_total":
                sums["cards"] += s.value
            elif s.name == "cdshooks_feedback_total":
                sums["feedback"] += s.value
    return sums


def replace_a_worker(server: GunicornServer, pid: int) -> None:
    """SIGKILL one worker and wait until gunicorn has started its replacement and it answers."""
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + STARTUP_SECONDS
    while True:
        pids = server.worker_pids()
        if pid not in pids and len(pids) == WORKERS:
            break
        assert time.monotonic() < deadline, f"worker {pid} was not replaced:\n{server.log()[-3000:]}"
        time.sleep(0.05)
    # The new worker warms up before it accepts; until then the survivor answers.
    while requests.get(url(server, "/healthz"), timeout=STARTUP_SECONDS).status_code != 200:
        time.sleep(0.05)


def test_totals_are_exact_whichever_worker_answers_and_survive_workers_dying(server):
    if "PROMETHEUS_MULTIPROC_DIR" in server.env:
        assert not (Path(server.env["PROMETHEUS_MULTIPROC_DIR"]) / STALE).exists()
    cards = 0
    for _ in range(HOOK_CALLS):
        resp = requests.post(url(server, f"/cds-services/{SERVICE}"), json=k.order_select([k.tofacitinib_draft()]),
                             timeout=30)  # fmt: skip
        assert resp.status_code == 200, resp.text
        cards += len(orjson.loads(resp.content)["cards"])
    assert cards  # the fixture fires cards, or the card total proves nothing
    for i in range(FEEDBACK_POSTS):
        entry = {"card": f"card-{i}", "outcome": "overridden", "outcomeTimestamp": "2026-01-15T12:00:00Z"}
        resp = requests.post(url(server, f"/cds-services/{SERVICE}/feedback"), json={"feedback": [entry]}, timeout=10)
        assert resp.status_code == 200, resp.text
    expected = {"requests": HOOK_CALLS, "cards": cards, "feedback": FEEDBACK_POSTS}

    for _ in range(SCRAPES):
        assert totals(server) == expected
    first, second = sorted(server.worker_pids())
    replace_a_worker(server, first)
    for _ in range(SCRAPES):
        assert totals(server) == expected
    replace_a_worker(server, second)  # now no live worker served any of the calls
    assert not server.worker_pids() & {first, second}
    for _ in range(SCRAPES):
        assert totals(server) == expected
