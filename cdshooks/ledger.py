"""The shown-card ledger: each card the service returns (uuid, topic, indicator, patient id, hook,
service, time; no other patient data), so feedback can be joined to its rule and repeats recognised.

Cards matter more than the ledger: a write that fails is logged and counted, never an error.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from cdshooks.cards import card_topic
from cdshooks.store.model import ShownCard, Store, StoreUnavailable

log = logging.getLogger(__name__)


def record(
    store: Store, cards: Sequence[Mapping[str, Any]], *, hook: str, patient_id: str, service_id: str, now: datetime
) -> bool:
    """Add the returned cards to the ledger; False when the store could not take them."""
    if not cards:
        return True
    rows = [
        ShownCard(
            uuid=c["uuid"], topic=card_topic(c), indicator=c["indicator"],
            patient_id=patient_id, hook=hook, service_id=service_id, shown_at=now,
        )
        for c in cards
    ]
    try:
        store.record_shown(rows)
    except StoreUnavailable as exc:
        log.warning("shown-card ledger not written (%d cards): %s", len(rows), exc)
        return False
    return True
