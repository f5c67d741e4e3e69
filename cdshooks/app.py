"""The Flask application factory."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import orjson
from flask import Flask
from flask.json.provider import JSONProvider

from cdshooks.config import Settings
from cdshooks.housekeeping import Purger
from cdshooks.store import store_for
from cdshooks.store.model import StoreUnavailable
from cdshooks.web import BLUEPRINTS, auth, cors, metrics, release, request_log
from cdshooks.web.context import attach
from cdshooks.web.errors import register_error_handlers


class OrjsonProvider(JSONProvider):
    """Flask's JSON (jsonify, request.get_json) through orjson: several times faster."""

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        return orjson.dumps(obj, option=orjson.OPT_NON_STR_KEYS).decode()

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return orjson.loads(s)


def create_app(settings: Settings | None = None) -> Flask:
    """A configured app; settings from the environment when none are given."""
    settings = settings or Settings.from_env()
    app = Flask(__name__)
    app.json = OrjsonProvider(app)
    # werkzeug also enforces the limit on the input stream (413 for chunked bodies).
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    store = store_for(settings)
    if settings.db_upgrade_on_start:
        try:
            store.upgrade()
        except StoreUnavailable as exc:
            # Hooks still answer without the store; /readyz fails and the store retries on first use.
            logging.getLogger("cdshooks.store").error("schema upgrade at start failed: %s", exc)
    attach(app, settings, store)
    register_error_handlers(app)
    # The order a request meets the layers, stated here only (before_request hooks run in
    # registration order, after_request hooks in reverse):
    # 1. CORS answers a preflight before anything else, and adds its headers to every response;
    # 2. the request log times every other request and logs one line, refused ones included;
    # 3. the JWT check, last before the view;
    # 4. after every other after_request hook (so registered first), the parsed body is handed
    #    to the response, to be freed once the response is sent.
    release.init_app(app)
    cors.init_app(app, settings)
    request_log.init_app(app, settings)
    auth.init_app(app, settings)
    # Not a layer: the ledger's retention is kept by a thread of each worker, started by its first request.
    app.before_request(Purger(store, timedelta(days=settings.ledger_retention_days)).ensure_started)
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)
    if settings.metrics_enabled:  # off: /metrics is a 404 like any unknown route
        app.register_blueprint(metrics.bp)
    return app
