"""Liveness and readiness endpoints."""

from __future__ import annotations

import os

import pytest


def test_healthz_answers_without_auth(make_app):
    resp = make_app(auth_enabled=True).test_client().get("/healthz")
    assert resp.status_code == 200
    assert resp.get_json() == {"status": "ok"}


def test_readyz_answers_without_auth(make_app):
    assert make_app(auth_enabled=True, trust_sandbox=True).test_client().get("/readyz").status_code == 200


def test_readyz_ok_when_feedback_store_is_writable(client):
    resp = client.get("/readyz")
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json() == {
        "status": "ok",
        "checks": {"settings": "ok", "cards": "ok", "feedback-store": "ok", "trusted-issuers": "ok"},
    }
    assert resp.headers["Cache-Control"] == "no-store"


def test_readyz_503_when_feedback_path_is_unusable(make_app, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the database folder should be")
    resp = make_app(feedback_db=str(blocker / "feedback.sqlite3")).test_client().get("/readyz")
    assert resp.status_code == 503
    assert resp.get_json() == {
        "status": "unavailable",
        "checks": {"settings": "ok", "cards": "ok", "feedback-store": "failed", "trusted-issuers": "ok"},
    }


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes through read-only permissions")
def test_readyz_503_when_feedback_folder_is_read_only(make_app, tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        resp = make_app(feedback_db=str(folder / "feedback.sqlite3")).test_client().get("/readyz")
    finally:
        folder.chmod(0o700)
    assert resp.status_code == 503
    assert resp.get_json()["checks"]["feedback-store"] == "failed"
