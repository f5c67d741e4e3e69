"""What the shared store holds, as values, and the one interface both backends implement.

The store keeps four things: feedback entries, the shown-card ledger, the
overrides that suppress a card, and the `jti` replay cache. SQLite is the
embedded default; PostgreSQL (`CDSHOOKS_DATABASE_URL`) is shared by several
instances. Nothing above this interface knows which one it talks to.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from cdshooks.feedback import FeedbackEntry


@dataclass(frozen=True)
class ShownCard:
    """One card the service returned: the ledger row (no patient data but the id)."""

    uuid: str
    topic: str
    indicator: str  # info | warning | critical
    patient_id: str
    hook: str  # order-select | order-sign | patient-view
    service_id: str
    shown_at: datetime  # timezone-aware


@dataclass(frozen=True)
class FeedbackRow:
    """One stored feedback entry, joined to the ledger row of its card (None fields: unknown uuid)."""

    card_uuid: str
    service_id: str
    outcome: str  # accepted | overridden
    accepted_suggestions: tuple[str, ...]
    override_system: str | None
    override_code: str | None
    override_display: str | None
    outcome_timestamp: datetime
    received_at: datetime
    topic: str | None
    hook: str | None
    patient_id: str | None

    @property
    def with_reason(self) -> bool:
        """An override that names a reason (a plain dismissal has none)."""
        return self.outcome == "overridden" and bool(self.override_code)


# The ledger rows of some cards, newest last, keyed (uuid, service) and (uuid, None) for any service.
ShownIndex = Mapping[tuple[str, str | None], ShownCard]


def newest_shown(rows: Iterable[ShownCard]) -> dict[tuple[str, str | None], ShownCard]:
    """The newest of these ledger rows (given oldest first) per uuid and service, and per uuid over all."""
    found: dict[tuple[str, str | None], ShownCard] = {}
    for card in rows:
        found[(card.uuid, card.service_id)] = card
        found[(card.uuid, None)] = card
    return found


def joined_feedback(
    card: str, service_id: str, outcome: str, accepted: Sequence[str],
    override: tuple[str | None, str | None, str | None],  # system, code, display
    outcome_at: datetime, received_at: datetime, shown: ShownIndex,
) -> FeedbackRow:
    """A stored entry joined to its card's ledger row: the one of the service it was posted to, else any."""
    row = shown.get((card, service_id)) or shown.get((card, None))
    system, code, display = override
    return FeedbackRow(
        card_uuid=card, service_id=service_id, outcome=outcome, accepted_suggestions=tuple(accepted),
        override_system=system, override_code=code, override_display=display, outcome_timestamp=outcome_at,
        received_at=received_at, topic=row.topic if row else None, hook=row.hook if row else None,
        patient_id=row.patient_id if row else None,
    )


class StoreUnavailable(Exception):
    """The store cannot be reached or did not answer in time (feedback -> 503)."""


class Store(Protocol):
    def record_feedback(self, service_id: str, entries: Sequence[FeedbackEntry], received_at: datetime) -> int:
        """Store all entries in one transaction, each (card, outcome, outcomeTimestamp) once; returns the new."""

    def record_shown(self, cards: Sequence[ShownCard]) -> None:
        """Add cards to the shown-card ledger (a uuid shown again gets a new row)."""

    def overridden_with_reason(self, uuids: Collection[str]) -> dict[str, datetime]:
        """For each of these card uuids overridden with a reason: the newest such outcomeTimestamp."""

    def shown_on(self, uuids: Collection[str], hook: str, since: datetime | None = None) -> set[str]:
        """Those of these card uuids that the ledger shows as returned on this hook (since then, if given)."""

    def feedback_since(self, since: datetime) -> list[FeedbackRow]:
        """Feedback received since then, joined to the ledger, oldest first."""

    def shown_since(self, since: datetime) -> list[ShownCard]:
        """Ledger rows since then, oldest first."""

    def purge_shown(self, before: datetime) -> int:
        """Delete ledger rows older than the retention; returns how many went."""

    def first_use(self, iss: str, jti: str, expires_at: float) -> bool:
        """Record a token id; False when it was already used and has not expired (atomic)."""

    def purge_tokens(self, now: float) -> int:
        """Forget token ids whose tokens expired before `now` (epoch seconds); returns how many went."""

    def check(self) -> None:
        """Raise StoreUnavailable unless the store answers and its schema is current."""

    def topics_of(self, uuids: Collection[str]) -> dict[str, str]:
        """The topic of each of these card uuids the ledger knows (its newest row's)."""

    def upgrade(self) -> list[int]:
        """Apply the schema migrations the store still needs; returns the versions applied."""

    def schema_version(self) -> int:
        """The schema version the store records (0: none yet)."""
