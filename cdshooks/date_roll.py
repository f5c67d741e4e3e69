"""Shift every FHIR date in a request, so a fixture written for `asOf` replays at any time.

`cdshooks replay --now WHEN` moves each date and dateTime by (WHEN - asOf):
a lab ten days old at `asOf` is ten days old at WHEN, and so the cards stay the
same. Only whole strings shaped like FHIR dates are touched; partial dates
(`1981`, `1981-03`) keep their precision and are left alone.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$")


def roll_string(value: str, delta: timedelta) -> str:
    """The value moved by delta when it is a FHIR date / dateTime, else unchanged."""
    if _DATE.match(value):
        try:
            return (date.fromisoformat(value) + timedelta(days=delta.days)).isoformat()
        except ValueError:  # 2026-02-30: not a date after all
            return value
    if _DATETIME.match(value):
        try:
            moved = datetime.fromisoformat(value.replace("Z", "+00:00")) + delta
        except ValueError:
            return value
        text = moved.isoformat()
        return text.replace("+00:00", "Z") if value.endswith("Z") else text
    return value


def roll_dates(node: Any, delta: timedelta) -> Any:
    """A copy of the JSON value with every date and dateTime string moved by delta."""
    if isinstance(node, dict):
        return {k: roll_dates(v, delta) for k, v in node.items()}
    if isinstance(node, list):
        return [roll_dates(v, delta) for v in node]
    if isinstance(node, str):
        return roll_string(node, delta)
    return node
