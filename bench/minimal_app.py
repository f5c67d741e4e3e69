"""The baseline for the HTTP benchmark: receive the same body, parse it with the
same JSON library, answer `{"cards": []}`; served by gunicorn the same way."""

from __future__ import annotations

import orjson
from flask import Flask, Response, request

app = Flask(__name__)


@app.post("/cds-services/<service_id>")
def minimal(service_id: str) -> Response:
    orjson.loads(request.get_data())
    return Response(b'{"cards": []}', mimetype="application/json")
