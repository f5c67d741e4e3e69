"""One structured JSON log line per request (logger `cdshooks.requests`).

Fields: time the request arrived (ISO 8601, UTC), client address, method,
path kind, service id, hook, hookInstance, status, response body size in bytes
(when declared), duration in ms, card count, auth outcome category (on a 401
also `authDetail`, e.g. the expected and received `aud`); on a 412
`missingPrefetch` (and `missingOptionalPrefetch`): each prefetch key that could
not be had -> why. Never the path itself (it can carry tokens or patient ids:
`kind` and a vetted service id stand for it), headers, tokens, JWTs,
fhirAuthorization, or resource contents. Views add what only they know with
`note(hook=..., hook_instance=..., card_count=..., missing_prefetch=...)`;
otherwise hook and hookInstance come from the body the web layer parsed
(`g.json_body`).

This line is the request's only line under gunicorn: once it is written, the
WSGI environ is marked (`LOGGED`) and gunicorn's logger writes no access line
for it (`cdshooks.web.gunicorn_log`). Requests gunicorn refuses itself never
reach the app, so they keep gunicorn's access line.
"""

from __future__ import annotations

import logging
import re
import time
from typing import Any

import orjson
from flask import Flask, Response, g, request

from cdshooks.config import Settings
from cdshooks.security.redact import has_token
from cdshooks.web import metrics

logger = logging.getLogger("cdshooks.requests")

_SAFE_ID = re.compile(r"[A-Za-z0-9._:\-]{1,128}")
_NOTE_KEY = "request_log_note"
_MAX_REASON = 200
_MAX_KEYS = 20
# Set in the WSGI environ once this request's line is written: gunicorn then skips its access line.
LOGGED = "cdshooks.logged"


def _safe(value: Any) -> str | None:
    """An identifier fit for the log, or None (odd input, or a JWT-shaped id, is never echoed verbatim)."""
    if isinstance(value, str) and _SAFE_ID.fullmatch(value) and not has_token(value):
        return value
    return None if value is None else "<invalid>"


def _reasons(value: Any) -> dict[str, str] | None:
    """key -> reason maps (the service's own keys and fixed phrases), bounded all the same."""
    if not isinstance(value, dict) or not value:
        return None
    return {str(_safe(k)): str(v)[:_MAX_REASON] for k, v in list(value.items())[:_MAX_KEYS]}


def note(**fields: Any) -> None:
    """Add fields to this request's log line (hook, hook_instance, card_count)."""
    g.setdefault(_NOTE_KEY, {}).update(fields)


def _service_and_kind(path: str) -> tuple[str | None, str]:
    parts = path.strip("/").split("/")
    if parts[0] != "cds-services":
        return None, "other"
    if len(parts) == 1:
        return None, "discovery"
    kind = "feedback" if len(parts) == 3 and parts[2] == "feedback" else "service"
    return _safe(parts[1]), kind


def _from_body(noted: dict[str, Any]) -> None:
    """Hook and hookInstance from the body the web layer parsed (never parsed again here)."""
    body = g.get("json_body")
    if isinstance(body, dict):
        noted.setdefault("hook", body.get("hook"))
        noted.setdefault("hook_instance", body.get("hookInstance"))


def _card_count(response: Response) -> int | None:
    if response.status_code != 200 or not response.is_json or response.is_streamed:
        return None
    try:
        body = response.get_json(silent=True)
    except Exception:  # noqa: BLE001 - any body that is not JSON: the log says nothing of cards
        return None
    cards = body.get("cards") if isinstance(body, dict) else None
    return len(cards) if isinstance(cards, list) else None


def _iso_utc(epoch: float) -> str:
    """`2026-01-15T12:00:00.123Z`: sortable, and the same in every worker and host whatever their zone."""
    # strftime on gmtime: cheaper than datetime.isoformat, and this runs on every request.
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch)) + f".{int(epoch % 1 * 1000):03d}Z"


def record(response: Response, seconds: float, arrived: float | None = None) -> dict[str, Any]:
    """The log record for the finished request, which took `seconds` and arrived at `arrived` (epoch)."""
    service, kind = _service_and_kind(request.path)
    noted = dict(g.get(_NOTE_KEY, {}))
    if kind == "service":
        _from_body(noted)
    entry: dict[str, Any] = {
        "event": "request",
        "time": _iso_utc(time.time() - seconds if arrived is None else arrived),
        # The peer gunicorn accepted (a proxy's address behind one), as its access line had; vetted
        # like any id, since a WSGI middleware could have set it from a header.
        "client": _safe(request.environ.get("REMOTE_ADDR")),
        "method": request.method,
        "kind": kind,
        "service": service,
        "hook": _safe(noted.get("hook")),
        "hookInstance": _safe(noted.get("hook_instance")),
        "status": response.status_code,
        # What the response declares (Content-Length); a streamed body has none and the field is left out.
        "bytes": response.content_length,
        "durationMs": round(seconds * 1000, 1),
        "cards": noted["card_count"]
        if "card_count" in noted
        else (_card_count(response) if kind == "service" else None),
        "auth": g.get("auth_outcome", "off"),
        "authDetail": g.get("auth_detail") or None,  # which identifiers did not match (never the token)
        "missingPrefetch": _reasons(noted.get("missing_prefetch")),
        "missingOptionalPrefetch": _reasons(noted.get("missing_optional_prefetch")),
    }
    return {k: v for k, v in entry.items() if v is not None}


def init_app(app: Flask, settings: Settings) -> None:
    """Time every request and log one line when it ends (and count it, with metrics on)."""
    if not logger.handlers and not logging.getLogger().handlers:
        # Nothing configured logging (e.g. gunicorn without --log-config): still emit the lines.
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)

    def start() -> None:
        g.request_started = time.perf_counter()
        g.request_arrived = time.time()  # wall clock for the line's time; perf_counter for its duration

    def finish(response: Response) -> Response:
        seconds = time.perf_counter() - g.get("request_started", time.perf_counter())
        try:
            # Only a line that is written stands in for gunicorn's: with INFO off for this logger
            # the environ stays unmarked and gunicorn's access line is kept.
            if logger.isEnabledFor(logging.INFO):
                logger.info(orjson.dumps(record(response, seconds, g.get("request_arrived"))).decode())
                request.environ[LOGGED] = True
            if settings.metrics_enabled:  # the same measurement as the log line's
                metrics.observe(response.status_code, seconds)
        except Exception:  # logging must never turn a good answer into a 500
            logger.exception("request log line failed")
        return response

    # Before the JWT check (create_app states the order): refused requests are timed and logged too.
    app.before_request(start)
    app.after_request(finish)
