"""Repeated and overridden cards (clinical-rules.md revision 2, alert burden).

- An override with a coded reason is honoured: the same card (same uuid) is not returned again for
  the window of its indicator (default 30 days for info and warning, 24 hours for critical). A plain
  dismissal (no reason) and an accepted suggestion suppress nothing.
- order-select then order-sign: an info card already shown on order-select is not shown again on
  order-sign (warning and critical ones are: signing is the last chance to act on them).

The store (the same one as feedback) answers both questions; while it cannot, every card is shown:
a card shown twice is better than a card lost.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from cdshooks.cards import card_topic
from cdshooks.protocol import ORDER_SELECT, ORDER_SIGN
from cdshooks.store.model import Store, StoreUnavailable

log = logging.getLogger(__name__)

# How far back an order-select showing counts as "the same ordering session" for order-sign.
REPEAT_LOOKBACK = timedelta(hours=24)
OVERRIDE = "override"  # suppressed: overridden with a reason, within the window
REPEAT = "repeat"  # suppressed: an info card already shown on order-select

Card = Mapping[str, Any]


@dataclass(frozen=True)
class Windows:
    """How long an override with a reason hides the same card, by indicator."""

    info_warning: timedelta = timedelta(days=30)
    critical: timedelta = timedelta(hours=24)

    def of(self, indicator: str) -> timedelta:
        return self.critical if indicator == "critical" else self.info_warning


@dataclass(frozen=True)
class Screened:
    """The cards to return, and the (topic, why) of each card held back."""

    shown: list[Card]
    suppressed: list[tuple[str, str]] = field(default_factory=list)
    store_failed: bool = False  # the store could not be asked: every card is shown


def screen(cards: Sequence[Card], hook: str, now: datetime, store: Store, windows: Windows) -> Screened:
    """The cards minus those overridden with a reason within their window and order-sign's repeats."""
    if not cards:
        return Screened([])
    try:
        overridden = store.overridden_with_reason([c["uuid"] for c in cards])
        info = [c["uuid"] for c in cards if c["indicator"] == "info"]
        repeats: set[str] = set()
        if hook == ORDER_SIGN and info:
            repeats = store.shown_on(info, ORDER_SELECT, since=now - REPEAT_LOOKBACK)
    except StoreUnavailable as exc:
        log.warning("suppression not applied, every card is shown: %s", exc)
        return Screened(list(cards), store_failed=True)
    shown: list[Card] = []
    suppressed: list[tuple[str, str]] = []
    for card in cards:
        when = overridden.get(card["uuid"])
        if when is not None and now - when < windows.of(card["indicator"]):
            suppressed.append((card_topic(card), OVERRIDE))
        elif card["uuid"] in repeats:
            suppressed.append((card_topic(card), REPEAT))
        else:
            shown.append(card)
    return Screened(shown, suppressed)
