"""The thin HTTP layer: Flask blueprints translating HTTP to calls and errors to codes.

`BLUEPRINTS` is the one list `create_app` registers; add a blueprint here
(GET /metrics, `metrics.bp`, is added by `create_app` only when CDSHOOKS_METRICS is on).
"""

from __future__ import annotations

from flask import Blueprint

from cdshooks.web import discovery, feedback, health, hooks, openapi

BLUEPRINTS: list[Blueprint] = [
    discovery.bp,
    hooks.bp,
    feedback.bp,
    health.bp,
    openapi.bp,
]
