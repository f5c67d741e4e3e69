"""A code from a code system: the one value terminology lookups take and the record carries."""

from __future__ import annotations

from typing import NamedTuple


class Coding(NamedTuple):
    """system, code, display; a tuple so that hashing it (value-set lookups, memos) costs no Python call."""

    system: str | None
    code: str | None
    display: str | None = None
