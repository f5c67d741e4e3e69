"""The app on PostgreSQL (CDSHOOKS_DATABASE_URL): feedback committed there, 503 and not ready while it is down."""

from __future__ import annotations

import pytest

from cdshooks.store.model import StoreUnavailable
from cdshooks.store.postgres import PostgresStore
from cdshooks.store.replay import FallbackReplayCache
from cdshooks.web.auth import replay_cache
from tests.api.test_feedback import ACCEPTED, URL


@pytest.fixture
def pg_app(make_app, pg_url):
    app = make_app(database_url=pg_url, db_upgrade_on_start=True, db_connect_timeout_seconds=2)
    yield app
    app.extensions["cdshooks"]["store"].close()


def test_feedback_is_committed_to_postgresql(pg_app, pg_url):
    assert pg_app.test_client().post(URL, json={"feedback": [ACCEPTED]}).status_code == 200
    other = PostgresStore(pg_url)  # another instance sees it
    assert [e["card_uuid"] for e in other.entries()] == [ACCEPTED["card"]]
    other.close()


def test_while_the_database_is_down_feedback_is_503_and_readyz_fails_but_hooks_answer(pg_app, pg_server, caplog):
    client = pg_app.test_client()
    assert client.get("/readyz").status_code == 200
    pg_server.stop()
    try:
        resp = client.post(URL, json={"feedback": [ACCEPTED]})
        assert resp.status_code == 503 and resp.get_json()["resourceType"] == "OperationOutcome"
        ready = client.get("/readyz")
        assert ready.status_code == 503 and ready.get_json()["checks"]["feedback-store"] == "failed"
        assert client.get("/cds-services").status_code == 200  # discovery needs no store
    finally:
        pg_server.start()
    assert client.get("/readyz").status_code == 200
    assert client.post(URL, json={"feedback": [ACCEPTED]}).status_code == 200


def test_with_a_database_url_the_jti_check_uses_the_store_first(settings, tmp_path):
    from dataclasses import replace

    store = PostgresStore("postgresql://cds@127.0.0.1:1/cds", connect_timeout=2)
    cache = replay_cache(replace(settings, jti_cache="memory"), store)
    assert isinstance(cache, FallbackReplayCache)
    assert cache.first_use("iss", "j", 2e9) and not cache.first_use("iss", "j", 2e9)  # the local cache, store down
    assert cache.degraded
    with pytest.raises(StoreUnavailable):
        store.first_use("iss", "j", 2e9)
    store.close()
