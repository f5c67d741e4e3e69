"""Shared fixtures: Settings for tests, the app and its test client."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cdshooks.config import Settings

TEST_NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings for one test: auth off, fixed clock, a private feedback database."""
    return Settings(now=TEST_NOW, auth_enabled=False, feedback_db=str(tmp_path / "feedback.sqlite3"))


@pytest.fixture
def make_app(settings: Settings):
    """Build an app with the test settings, optionally overridden: make_app(max_body_bytes=10)."""
    from cdshooks.app import create_app

    def build(**overrides):
        app = create_app(replace(settings, **overrides) if overrides else settings)
        app.testing = True
        return app

    return build


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture(scope="session")
def pg_server():
    """A real PostgreSQL server for this test session (per xdist worker); skipped or failed when missing."""
    from tests.pg_server import running_server

    with running_server() as server:
        yield server


@pytest.fixture
def pg_url(pg_server):
    """The URL of a fresh, empty database on the session's server, dropped after the test."""
    name = pg_server.create_database()
    yield pg_server.url(name)
    pg_server.drop_database(name)
