"""A seeded SQLite ledger and feedback for the override report tests (three topics over three ISO weeks).

Patient ids are "patient-<p>", so a report can be searched for them. NOW is
Thursday 2026-11-26 12:00 UTC; `--since 21d` starts 2026-11-05 12:00 UTC. The weeks (Mondays) are 2026-11-09, 2026-11-16 and 2026-11-23. Card by card:

topic-a (age-infection-risk)
  a1  p1  shown 11-02 (before the period), 11-10, 11-12, 11-17; dismissed 11-12, then overridden
          with reason no-alternative 11-17 (newest wins: overridden)
  a2  p2  shown 11-18; accepted
  a3  p1  shown 11-24; overridden, reason no-alternative
  a4  p3  shown 11-25; unanswered (its feedback arrives 11-27, after NOW)
  a5  p9  shown 11-01 only (before the period); overridden in the period: not counted
topic-b (hepatitis-b-screening)
  b1  p4  shown 11-11; accepted (outcome 11-11, received 11-14) and dismissed (outcome 11-13,
          received 11-13): the newest OUTCOME wins, not the latest arrival: dismissed
  b2  p5  shown 11-19; overridden, reason specialist-decision
  b3  p5  shown 11-19, 11-20; unanswered
topic-c (live-vaccine)
  c1  p6  shown 11-23; accepted
unknown uuids (not in the ledger)
  u1  dismissed; u2 accepted, then overridden with reason (newest): 2 cards, 3 entries
"""

from __future__ import annotations

from datetime import UTC, datetime

from cdshooks.feedback import FeedbackEntry, OverrideReason
from cdshooks.store.model import ShownCard, Store
from cdshooks.store.sqlite import SqliteStore

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
SINCE = "21d"
TOPIC_A, TOPIC_B, TOPIC_C = "age-infection-risk", "hepatitis-b-screening", "live-vaccine"
REASONS = "urn:tofacitinib-cds:override-reason"
NO_ALTERNATIVE = OverrideReason(system=REASONS, code="no-alternative", display="No suitable alternative for RP-ILD")
SPECIALIST = OverrideReason(system=REASONS, code="specialist-decision", display="Specialist decision documented")
SERVICE = "tofacitinib-order-sign"


def at(day: int, hour: int = 10, month: int = 11) -> datetime:
    """A moment of November 2026 (UTC)."""
    return datetime(2026, month, day, hour, 0, tzinfo=UTC)


def _shown(uuid: str, topic: str, patient: str, day: int) -> ShownCard:
    return ShownCard(
        uuid=uuid, topic=topic, indicator="warning", patient_id=f"patient-{patient}", hook="order-sign",
        service_id=SERVICE, shown_at=at(day),
    )


def _entry(card: str, outcome: str, day: int, reason: OverrideReason | None = None) -> FeedbackEntry:
    when = at(day, 11).isoformat().replace("+00:00", "Z")
    raw = {"card": card, "outcome": outcome, "outcomeTimestamp": when}
    return FeedbackEntry(
        card=card, outcome=outcome, accepted_suggestions=("s1",) if outcome == "accepted" else (),
        override_reason=reason, outcome_timestamp=when, raw=raw,
    )


# uuid, topic, patient, day of November shown (each line one ledger row, oldest first)
LEDGER_ROWS = """
a5 age-infection-risk p9 1
a1 age-infection-risk p1 2
a1 age-infection-risk p1 10
b1 hepatitis-b-screening p4 11
a1 age-infection-risk p1 12
a1 age-infection-risk p1 17
a2 age-infection-risk p2 18
b2 hepatitis-b-screening p5 19
b3 hepatitis-b-screening p5 19
b3 hepatitis-b-screening p5 20
c1 live-vaccine p6 23
a3 age-infection-risk p1 24
a4 age-infection-risk p3 25
"""
LEDGER = [
    _shown(uuid, topic, patient, int(day)) for uuid, topic, patient, day in map(str.split, LEDGER_ROWS.split("\n")[1:-1])
]

# (received on day, entries)
FEEDBACK = [
    (12, [_entry("a1", "overridden", 12)]),
    (13, [_entry("b1", "overridden", 13)]),
    (14, [_entry("b1", "accepted", 11)]),
    (15, [_entry("a5", "overridden", 15, NO_ALTERNATIVE)]),
    (17, [_entry("a1", "overridden", 17, NO_ALTERNATIVE)]),
    (18, [_entry("a2", "accepted", 18)]),
    (19, [_entry("b2", "overridden", 19, SPECIALIST)]),
    (20, [_entry("u1", "overridden", 20), _entry("u2", "accepted", 20)]),
    (21, [_entry("u2", "overridden", 21, SPECIALIST)]),
    (23, [_entry("c1", "accepted", 23)]),
    (24, [_entry("a3", "overridden", 24, NO_ALTERNATIVE)]),
    (27, [_entry("a4", "overridden", 27, NO_ALTERNATIVE)]),  # after NOW: a4 stays unanswered
]


def seed(path) -> SqliteStore:
    """A SQLite store at path holding LEDGER and FEEDBACK."""
    store = SqliteStore(path)
    fill(store)
    return store


def fill(store: Store) -> None:
    """Add LEDGER and FEEDBACK to a migrated store of either backend."""
    store.record_shown(LEDGER)
    for day, entries in FEEDBACK:
        store.record_feedback(SERVICE, entries, at(day, 12))
