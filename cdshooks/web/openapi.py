"""GET /openapi.json: the OpenAPI 3 description of this service (cdshooks/openapi.json), no auth.

tests/api/test_openapi.py keeps the document true: every fixture's real
response validates against it, and schemathesis fuzzes the app from it.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any

import orjson
from flask import Blueprint, Response

bp = Blueprint("openapi", __name__)


@lru_cache(maxsize=1)
def document() -> dict[str, Any]:
    """The packaged OpenAPI document."""
    return json.loads(resources.files("cdshooks").joinpath("openapi.json").read_text(encoding="utf-8"))


@bp.get("/openapi.json")
def openapi() -> Response:
    return Response(orjson.dumps(document()), mimetype="application/json")
