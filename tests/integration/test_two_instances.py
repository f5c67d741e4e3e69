"""Two instances, one PostgreSQL database: the fleet behaves as one service.

Instances A and B are separate gunicorn masters (2 workers each) on their own
ports, sharing nothing but CDSHOOKS_DATABASE_URL, with authentication on. A
token used on A is refused by B (the jti cache is the database's), feedback
given to either is in one `cdshooks report`, and an override with a reason
given to A hides that card on B.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from tests.gunicorn_server import clean_env
from tests.integration import fleet
from tests.integration.fleet import FEEDBACK_PATH, scenario

pytestmark = pytest.mark.integration
DISCOVERY = "/cds-services"


def test_a_token_accepted_by_one_instance_is_refused_by_the_other(two_instances):
    a, b = two_instances
    # Discovery: authenticated like every call, and it writes nothing the other test counts.
    once = fleet.token(a.key, DISCOVERY)
    assert a.get(DISCOVERY, jwt_token=once).status_code == 200
    replay = b.get(DISCOVERY, jwt_token=once)
    assert replay.status_code == 401, replay.text
    assert once not in replay.text
    # B does take tokens: only the one A already used is refused.
    assert b.get(DISCOVERY).status_code == 200


def report(database_url: str, since: datetime, now: datetime) -> dict:
    """`cdshooks report --format json` run as an operator would, against the shared database only."""
    done = subprocess.run(
        [sys.executable, "-m", "cdshooks.cli", "report", "--format", "json",
         "--since", since.isoformat(), "--now", now.isoformat()],
        env=clean_env(CDSHOOKS_DATABASE_URL=database_url), capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_feedback_to_either_instance_is_one_report_and_an_override_on_a_hides_the_card_on_b(two_instances):
    a, b = two_instances
    shown = a.hook()
    assert shown.status_code == 200, shown.text
    cards = shown.json()["cards"]
    assert len(cards) == 5, [c["summary"] for c in cards]
    accepted, dismissed, overridden = cards[0], cards[1], cards[2]
    reason = overridden["overrideReasons"][0]
    when = scenario()["asOf"]

    answers = [
        a.feedback(fleet.entry(accepted["uuid"], "accepted", when)),
        b.feedback(fleet.entry(dismissed["uuid"], "overridden", when)),
        a.post(FEEDBACK_PATH, {"feedback": [{
            "card": overridden["uuid"], "outcome": "overridden", "outcomeTimestamp": when,
            "overrideReason": {"reason": {"system": reason["system"], "code": reason["code"]}},
        }]}),
        b.feedback(fleet.entry("a-card-no-instance-showed", "accepted", when)),
    ]  # fmt: skip
    assert [r.status_code for r in answers] == [200] * 4, [r.text for r in answers]

    as_of = datetime.fromisoformat(when)
    clock = datetime.now(UTC)
    figures = report(a.server.env["CDSHOOKS_DATABASE_URL"], min(as_of, clock) - timedelta(days=1),
                     max(as_of, clock) + timedelta(hours=1))  # fmt: skip
    topics = {t["topic"]: t for t in figures["topics"]}
    assert {t: topics[t]["shown"] for t in topics} == {c["source"]["topic"]["code"]: 1 for c in cards}

    def outcomes(card: dict) -> tuple[int, int, int]:
        t = topics[card["source"]["topic"]["code"]]
        return t["accepted"], t["overridden"], t["dismissed"]

    assert outcomes(accepted) == (1, 0, 0)  # posted to A
    assert outcomes(dismissed) == (0, 0, 1)  # posted to B
    assert outcomes(overridden) == (0, 1, 0)  # posted to A
    assert [outcomes(c) for c in cards[3:]] == [(0, 0, 0)] * 2
    assert figures["unknown"]["entries"] == 1  # posted to B

    again = b.hook()
    assert again.status_code == 200, again.text
    uuids = [c["uuid"] for c in again.json()["cards"]]
    # The override with a reason was given to A; B reads it from the shared database.
    assert overridden["uuid"] not in uuids
    assert uuids == [c["uuid"] for c in cards if c is not overridden]
