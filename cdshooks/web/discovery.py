"""GET /cds-services: the discovery document."""

from __future__ import annotations

import orjson
from flask import Blueprint, Response

from cdshooks.services import discovery_document

bp = Blueprint("discovery", __name__)


@bp.get("/cds-services")
def discovery() -> Response:
    return Response(orjson.dumps(discovery_document()), mimetype="application/json")
