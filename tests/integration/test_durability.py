"""Feedback survives an instance dying: every 200 is in the database, and exactly once.

1,000 feedback posts, each one entry with its own card uuid and timestamp, go
from several client threads to instances A and B in turn, while A is killed
with SIGKILL (master and workers at once, as when its host dies) and restarted
three times. A client whose post fails (refused, reset, or a 502/503) retries
it on the other instance with a new token, as an EHR would; some of those
entries were committed before the connection broke, so the retry is a
duplicate that only the store's idempotency (card, outcome, outcomeTimestamp)
keeps single. Afterwards PostgreSQL itself is asked what it holds.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import psycopg
import pytest
import requests

from tests.integration import fleet

pytestmark = pytest.mark.integration

POSTS = 1000
CLIENTS = 6
KILL_AT = (150, 400, 650)  # A is killed once this many posts have their 200
IN_FLIGHT = 40  # posts let past a kill point before the kill lands, so some are mid-request when it does
MAX_ATTEMPTS = 20
RETRY = (502, 503)
WAIT_SECONDS = 60.0  # a stuck run fails rather than hangs


@dataclass
class Run:
    """What the clients and the killer share."""

    entries: list[dict]
    cond: threading.Condition = field(default_factory=threading.Condition)
    next_index: int = 0
    answered: dict[int, int] = field(default_factory=dict)  # entry index -> final status
    failed_attempts: int = 0
    kills: int = 0
    errors: list[str] = field(default_factory=list)

    def take(self) -> int | None:
        """The next entry to post, once the kill it would run past has happened."""
        with self.cond:
            ok = self.cond.wait_for(lambda: self.errors or self.kills >= len(KILL_AT)
                                    or len(self.answered) < KILL_AT[self.kills] + IN_FLIGHT, WAIT_SECONDS)  # fmt: skip
            if not ok or self.errors or self.next_index >= len(self.entries):
                return None
            self.next_index += 1
            return self.next_index - 1

    def done(self, index: int, status: int, failed: int) -> None:
        with self.cond:
            self.answered[index] = status
            self.failed_attempts += failed
            self.cond.notify_all()


def post_with_retries(clients: tuple[fleet.Client, fleet.Client], index: int, item: dict) -> tuple[int, int]:
    """Post one entry, first to A or B by index, the other one after each failure: (status, failures)."""
    for attempt in range(MAX_ATTEMPTS):
        client = clients[(index + attempt) % 2]
        try:
            status = client.feedback(item, timeout=10).status_code
        except requests.ConnectionError:  # refused while A is down, reset when it dies mid-request
            continue
        if status not in RETRY:
            return status, attempt
    return 0, MAX_ATTEMPTS


def client_thread(run: Run, clients: tuple[fleet.Client, fleet.Client]) -> None:
    try:
        while (index := run.take()) is not None:
            run.done(index, *post_with_retries(clients, index, run.entries[index]))
    except Exception as exc:  # reported by the test, never lost in a thread
        with run.cond:
            run.errors.append(f"client: {exc!r}")
            run.cond.notify_all()


def killer_thread(run: Run, victim: fleet.Client) -> None:
    try:
        for threshold in KILL_AT:
            with run.cond:
                if not run.cond.wait_for(lambda t=threshold: len(run.answered) >= t or run.errors, WAIT_SECONDS):
                    raise AssertionError(f"only {len(run.answered)} posts answered, waiting for {threshold}")
            victim.server.kill()
            with run.cond:
                run.kills += 1
                run.cond.notify_all()
            victim.server.restart()  # on its port; meanwhile B takes everything
    except Exception as exc:
        with run.cond:
            run.errors.append(f"killer: {exc!r}")
            run.cond.notify_all()


def stored(database_url: str) -> dict[str, list[datetime]]:
    """card uuid -> the outcomeTimestamps PostgreSQL holds for it."""
    found: dict[str, list[datetime]] = {}
    with psycopg.connect(database_url) as conn:
        for card, when in conn.execute("SELECT card_uuid, outcome_timestamp FROM feedback"):
            found.setdefault(card, []).append(when)
    return found


def test_every_200_is_stored_exactly_once_while_an_instance_is_killed_and_restarted(two_instances):
    start = datetime.fromisoformat(fleet.scenario()["asOf"])
    entries = [
        fleet.entry(str(uuid.uuid4()), "overridden", (start + timedelta(seconds=i)).isoformat().replace("+00:00", "Z"))
        for i in range(POSTS)
    ]
    run = Run(entries)
    threads = [threading.Thread(target=client_thread, args=(run, two_instances)) for _ in range(CLIENTS)]
    threads.append(threading.Thread(target=killer_thread, args=(run, two_instances[0])))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT_SECONDS * 3)
    assert not any(t.is_alive() for t in threads), "the run did not finish"
    assert run.errors == []
    assert run.kills == len(KILL_AT)
    assert run.failed_attempts > 0, "no post ever failed: the kills did not hit the run, so it proves nothing"

    ok = {entries[i]["card"] for i, status in run.answered.items() if status == 200}
    assert sorted(set(run.answered.values())) == [200], "every post got its 200, with retries"
    assert len(ok) == POSTS

    rows = stored(two_instances[0].server.env["CDSHOOKS_DATABASE_URL"])
    twice = {card: times for card, times in rows.items() if len(times) > 1}
    assert twice == {}
    assert ok <= set(rows), f"{len(ok - set(rows))} entries answered 200 are not in the database"
    assert set(rows) == ok, "the database holds entries nobody posted"
    by_card = {e["card"]: datetime.fromisoformat(e["outcomeTimestamp"]) for e in entries}
    assert all(times == [by_card[card]] for card, times in rows.items())
