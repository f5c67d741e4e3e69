"""The figures of the override report: a pure function from ledger rows and feedback to a Report.

Definitions (also in the README, "Override report"):

- Period: from `since` to `until` (the report's "now"); ledger rows by `shown_at`,
  feedback by `received_at`, both inside the period.
- Per topic: `shown` = distinct card uuids in the period's ledger rows; `returned` =
  ledger rows (times returned); `patients` = distinct patient ids.
- Each shown uuid is classified by its NEWEST feedback entry of the period (latest
  outcomeTimestamp, then latest received): `accepted`; `overridden` (an override with
  a coded reason, broken down by reason system + code with its display text);
  `dismissed` (an override without a reason); `unanswered` (no feedback).
- override rate = (overridden + dismissed) / shown; suggestion acceptance rate =
  accepted / shown; both None when shown is 0.
- Feedback whose uuid the ledger does not know is counted apart as `unknown`
  (distinct uuids by newest outcome, and entries), never dropped. Feedback for a
  card the ledger knows but did not show in the period is not counted.
- Weekly trend: the ISO week (Monday 00:00 UTC) of each card's first ledger row in
  the period; per topic and week: shown, overridden + dismissed, override rate.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from cdshooks.store.model import FeedbackRow, ShownCard

ACCEPTED, OVERRIDDEN, DISMISSED, UNANSWERED = "accepted", "overridden", "dismissed", "unanswered"


@dataclass(frozen=True)
class ReasonCount:
    """How many cards of a topic were last overridden with this coded reason."""

    system: str
    code: str
    display: str
    cards: int


@dataclass(frozen=True)
class WeekFigures:
    """One topic's cards first shown in one ISO week."""

    week: date  # the Monday
    shown: int
    overridden: int  # overridden + dismissed
    override_rate: float | None


@dataclass(frozen=True)
class TopicFigures:
    """Every figure of one topic over the period."""

    topic: str
    shown: int
    returned: int
    patients: int
    accepted: int
    overridden: int
    dismissed: int
    unanswered: int
    override_rate: float | None
    acceptance_rate: float | None
    reasons: tuple[ReasonCount, ...]
    weeks: tuple[WeekFigures, ...]


@dataclass(frozen=True)
class UnknownFeedback:
    """Feedback on uuids the ledger does not know: distinct uuids by newest outcome, and entries."""

    cards: int
    entries: int
    accepted: int
    overridden: int
    dismissed: int


@dataclass(frozen=True)
class Report:
    """The override report of one period."""

    since: datetime
    until: datetime
    topics: tuple[TopicFigures, ...]  # by topic code
    unknown: UnknownFeedback


def rate(part: int, whole: int) -> float | None:
    """part / whole, or None when there is nothing to divide (a rate of no cards is not 0)."""
    return part / whole if whole else None


def week_of(moment: datetime) -> date:
    """The Monday (UTC) of the ISO week holding this moment."""
    day = moment.astimezone(UTC).date()
    return day - timedelta(days=day.weekday())


def outcome_of(entry: FeedbackRow) -> str:
    """accepted, overridden (with a coded reason) or dismissed (an override without one)."""
    if entry.outcome == "accepted":
        return ACCEPTED
    return OVERRIDDEN if entry.with_reason else DISMISSED


def newest_feedback(feedback: Iterable[FeedbackRow]) -> dict[str, FeedbackRow]:
    """The newest entry of each card uuid: latest outcomeTimestamp, ties broken by arrival."""
    newest: dict[str, FeedbackRow] = {}
    for entry in feedback:
        seen = newest.get(entry.card_uuid)
        if seen is None or (entry.outcome_timestamp, entry.received_at) >= (seen.outcome_timestamp, seen.received_at):
            newest[entry.card_uuid] = entry
    return newest


def compute_report(
    shown: Sequence[ShownCard], feedback: Sequence[FeedbackRow], since: datetime, until: datetime
) -> Report:
    """The report of [since, until] from the ledger rows and feedback entries (rows outside are ignored)."""
    rows = sorted((r for r in shown if since <= r.shown_at <= until), key=lambda r: r.shown_at)
    entries = [f for f in feedback if since <= f.received_at <= until]
    newest = newest_feedback(f for f in entries if f.topic is not None)
    by_topic: dict[str, list[ShownCard]] = {}
    for row in rows:
        by_topic.setdefault(row.topic, []).append(row)
    topics = tuple(_topic(topic, by_topic[topic], newest) for topic in sorted(by_topic))
    return Report(since=since, until=until, topics=topics, unknown=_unknown([f for f in entries if f.topic is None]))


def _topic(topic: str, rows: list[ShownCard], newest: dict[str, FeedbackRow]) -> TopicFigures:
    first: dict[str, ShownCard] = {}
    for row in rows:  # oldest first, so the first row of a uuid stays
        first.setdefault(row.uuid, row)
    outcome = {uuid: outcome_of(newest[uuid]) if uuid in newest else UNANSWERED for uuid in first}
    count = {kind: sum(1 for o in outcome.values() if o == kind) for kind in (ACCEPTED, OVERRIDDEN, DISMISSED)}
    overridden = count[OVERRIDDEN] + count[DISMISSED]
    return TopicFigures(
        topic=topic,
        shown=len(first),
        returned=len(rows),
        patients=len({r.patient_id for r in rows}),
        accepted=count[ACCEPTED],
        overridden=count[OVERRIDDEN],
        dismissed=count[DISMISSED],
        unanswered=len(first) - sum(count.values()),
        override_rate=rate(overridden, len(first)),
        acceptance_rate=rate(count[ACCEPTED], len(first)),
        reasons=_reasons([newest[u] for u, o in outcome.items() if o == OVERRIDDEN]),
        weeks=_weeks(first, outcome),
    )


def _reasons(entries: list[FeedbackRow]) -> tuple[ReasonCount, ...]:
    """Counts by (system, code), most frequent first; the display is the first one given for that code."""
    counts: dict[tuple[str, str], int] = {}
    displays: dict[tuple[str, str], str] = {}
    for e in entries:
        key = (e.override_system or "", e.override_code or "")
        counts[key] = counts.get(key, 0) + 1
        if e.override_display and not displays.get(key):
            displays[key] = e.override_display
    ordered = sorted(counts, key=lambda k: (-counts[k], k))
    return tuple(
        ReasonCount(system=s, code=c, display=displays.get((s, c), ""), cards=counts[(s, c)]) for s, c in ordered
    )


def _weeks(first: dict[str, ShownCard], outcome: dict[str, str]) -> tuple[WeekFigures, ...]:
    shown: dict[date, int] = {}
    overridden: dict[date, int] = {}
    for uuid, row in first.items():
        week = week_of(row.shown_at)
        shown[week] = shown.get(week, 0) + 1
        overridden[week] = overridden.get(week, 0) + (outcome[uuid] in (OVERRIDDEN, DISMISSED))
    return tuple(
        WeekFigures(week=w, shown=shown[w], overridden=overridden[w], override_rate=rate(overridden[w], shown[w]))
        for w in sorted(shown)
    )


def _unknown(entries: list[FeedbackRow]) -> UnknownFeedback:
    outcomes = [outcome_of(e) for e in newest_feedback(entries).values()]
    return UnknownFeedback(
        cards=len(outcomes),
        entries=len(entries),
        accepted=outcomes.count(ACCEPTED),
        overridden=outcomes.count(OVERRIDDEN),
        dismissed=outcomes.count(DISMISSED),
    )
