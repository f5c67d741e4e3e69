"""Shared state: feedback, the shown-card ledger, suppressions and the jti cache."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cdshooks.store.model import Store

if TYPE_CHECKING:
    from cdshooks.config import Settings


def open_store(
    feedback_db: str,
    database_url: str | None = None,
    *,
    pool_size: int = 4,
    statement_timeout_ms: int = 2000,
    connect_timeout: int = 3,
    auto_upgrade: bool = False,
) -> Store:
    """The store the settings name: PostgreSQL at database_url, else the SQLite file of feedback_db (":memory:")."""
    # Deferred: the backend is chosen here only, and SQLite users never import psycopg.
    if database_url:
        from cdshooks.store.postgres import PostgresStore

        return PostgresStore(
            database_url, max_size=pool_size, statement_timeout_ms=statement_timeout_ms,
            connect_timeout=connect_timeout, auto_upgrade=auto_upgrade,
        )
    from cdshooks.store.sqlite import SqliteStore

    return SqliteStore(feedback_db)


def store_for(settings: Settings) -> Store:
    """open_store with every store setting of Settings (the app and `cdshooks db`)."""
    return open_store(
        settings.feedback_db,
        settings.database_url,
        pool_size=settings.db_pool_size,
        statement_timeout_ms=settings.db_statement_timeout_ms,
        connect_timeout=settings.db_connect_timeout_seconds,
        auto_upgrade=settings.db_upgrade_on_start,
    )
