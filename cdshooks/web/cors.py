"""CORS on every response (errors and 404s included) and unauthenticated preflights.

Browser-based CDS clients (the CDS Hooks sandbox, SMART apps) need it. Origins
come from `Settings.cors_origins`; `*` allows any origin. Preflight `OPTIONS`
is answered here, before any authentication check runs.
"""

from __future__ import annotations

from flask import Flask, Response, g, request

from cdshooks.config import Settings

ALLOW_HEADERS = "authorization, content-type"
ALLOW_METHODS = "GET, POST, OPTIONS"
PREFLIGHT_MAX_AGE = "600"
# x-cds-evaluation-time: the time a hook response's cards were evaluated at (web/hooks.py).
EXPOSE_HEADERS = "content-type, x-cds-evaluation-time"


def init_app(app: Flask, settings: Settings) -> None:
    """Install the preflight handler (first in line) and the CORS response headers."""
    origins = frozenset(settings.cors_origins)
    allow_any = "*" in origins

    def allowed_origin() -> str | None:
        if allow_any:
            return "*"
        origin = request.headers.get("Origin")
        return origin if origin in origins else None

    def preflight() -> Response | None:
        if request.method != "OPTIONS":
            return None
        # Answered before the JWT check runs: the request log must not call it "off".
        g.auth_outcome = "not-required"
        return Response(status=204)

    def add_headers(response: Response) -> Response:
        origin = allowed_origin()
        if not allow_any:
            response.vary.add("Origin")
        if origin is None:
            return response
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Allow-Headers"] = ALLOW_HEADERS
        response.headers["Access-Control-Allow-Methods"] = ALLOW_METHODS
        response.headers["Access-Control-Expose-Headers"] = EXPOSE_HEADERS
        if request.method == "OPTIONS":
            response.headers["Access-Control-Max-Age"] = PREFLIGHT_MAX_AGE
        return response

    # First in line (create_app says why): a preflight never meets the JWT check.
    app.before_request(preflight)
    app.after_request(add_headers)
