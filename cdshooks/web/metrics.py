"""GET /metrics: the Prometheus text format, no JWT (restrict it at the proxy: README "Metrics").

Registered only when `CDSHOOKS_METRICS` is on (off: a 404 like any unknown
route). Under gunicorn the values of every worker are summed from the files
in `PROMETHEUS_MULTIPROC_DIR`; without it (Flask's dev server, tests) the
process's own registry is served.
"""

from __future__ import annotations

import os

from flask import Blueprint, Response, request
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

from cdshooks import metrics

bp = Blueprint("metrics", __name__)
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
HOOK_ENDPOINT = "hooks.call_service"


def _registry() -> CollectorRegistry:
    if not os.environ.get(MULTIPROC_ENV):
        return REGISTRY
    # A fresh registry per scrape: the collector reads the workers' files each time.
    registry = CollectorRegistry()
    MultiProcessCollector(registry)
    return registry


@bp.get("/metrics")
def serve_metrics() -> Response:
    resp = Response(generate_latest(_registry()), mimetype=None, content_type=CONTENT_TYPE_LATEST)
    resp.headers["Cache-Control"] = "no-store"
    return resp


def route_name() -> str | None:
    """The service id of a hook call, else the blueprint that answered (None: no route matched)."""
    if request.endpoint == HOOK_ENDPOINT:
        return (request.view_args or {}).get("service_id")
    return request.blueprint


def observe(status: int, seconds: float) -> None:
    """Count the finished request (the request log measured `seconds`)."""
    metrics.observe_request(route_name(), status, seconds)
