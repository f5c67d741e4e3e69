"""Store fixtures: `make_store(backend, clock=...)` over both backends, each on a fresh database."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from cdshooks.store.model import Store

BACKENDS = ("sqlite", "postgresql")


@pytest.fixture
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[..., Store]]:
    """Builds stores of one backend on one fresh database (PostgreSQL: the session server), migrated."""
    made = []

    def build(backend: str, **options) -> Store:
        if backend == "sqlite":
            from cdshooks.store.sqlite import SqliteStore

            store: Store = SqliteStore(tmp_path / "var" / "store.sqlite3", **options)
        else:
            from cdshooks.store.postgres import PostgresStore

            url = request.getfixturevalue("pg_url")  # the same database for every store of this test
            store = PostgresStore(url, connect_timeout=2, **options)
            made.append(store)
        store.upgrade()
        return store

    yield build
    for store in made:
        store.close()


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, make_store: Callable[..., Store]) -> Store:
    """A migrated store of each backend in turn."""
    return make_store(request.param)
