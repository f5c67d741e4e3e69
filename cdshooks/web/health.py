"""GET /healthz (liveness) and GET /readyz (readiness), for orchestrators; no auth.

Liveness only says the process answers. Readiness says it can do its job:
settings loaded, card templates readable, the feedback store writable (a
full disk or a read-only volume would otherwise surface as failed feedback
calls), and, with authentication on, a usable trusted-issuers configuration
(as loaded at start: a missing or invalid file means every call would be a
401). Neither reveals configuration values: a failed check is named, and the
trusted-issuers check says what to fix (the setting and the line/column or
field, never the path or the file's contents) under `details`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
from flask import Blueprint, Response, current_app

from cdshooks.web.context import EXTENSION, current_store

bp = Blueprint("health", __name__)


def _json(body: dict[str, Any], status: int = 200) -> Response:
    resp = Response(orjson.dumps(body), status=status, mimetype="application/json")
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.get("/healthz")
def healthz() -> Response:
    return _json({"status": "ok"})


def _settings_loaded() -> None:
    if current_app.extensions.get(EXTENSION, {}).get("settings") is None:
        raise RuntimeError("settings not loaded")


def _cards_readable() -> None:
    from cdshooks.cards import evidence

    if not evidence():  # the packaged cards/ folder is readable
        raise RuntimeError("no card evidence")


class NotReady(Exception):
    """A failed check whose message is safe to show (no configuration values)."""


def _trusted_issuers_usable() -> None:
    from cdshooks.web.auth import TRUST_PROBLEM_KEY

    problem = current_app.extensions.get(TRUST_PROBLEM_KEY)
    if problem:
        raise NotReady(problem)


def _feedback_writable() -> None:
    """The store answers, takes (then releases) a write lock, and its schema is current."""
    current_store().check()


CHECKS: dict[str, Callable[[], None]] = {
    "settings": _settings_loaded,
    "cards": _cards_readable,
    "feedback-store": _feedback_writable,
    "trusted-issuers": _trusted_issuers_usable,
}


@bp.get("/readyz")
def readyz() -> Response:
    results: dict[str, str] = {}
    details: dict[str, str] = {}
    for name, check in CHECKS.items():
        try:
            check()
            results[name] = "ok"
        except NotReady as exc:
            results[name], details[name] = "failed", str(exc)
        except Exception as exc:  # noqa: BLE001 - any failure means "not ready"; the reason goes to the log
            current_app.logger.warning("readiness check %s failed: %s", name, type(exc).__name__)
            results[name] = "failed"
    ready = all(v == "ok" for v in results.values())
    body: dict[str, Any] = {"status": "ok" if ready else "unavailable", "checks": results}
    if details:
        body["details"] = details
    return _json(body, 200 if ready else 503)
