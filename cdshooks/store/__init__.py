"""Shared state: feedback, the shown-card ledger, suppressions and the jti cache."""

from __future__ import annotations

from cdshooks.store.model import Store


def open_store(feedback_db: str) -> Store:
    """The store the settings name: the SQLite file of CDSHOOKS_FEEDBACK_DB (":memory:" for replays)."""
    from cdshooks.store.sqlite import SqliteStore  # deferred: the backend is chosen here only

    return SqliteStore(feedback_db)
