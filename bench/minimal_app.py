"""The floors of the HTTP benchmark: receive the same body, parse it, answer `{"cards": []}`;
served by gunicorn the same way as the service.

`app` parses with the stdlib's json (what a plain Flask service does: the
throughput floor); `orjson_app` with orjson, the parser the service uses (the
latency floor, so the gap to it is the service's own work).
"""

from __future__ import annotations

import json

import orjson
from flask import Flask, Response, request

app = Flask(__name__)
orjson_app = Flask(f"{__name__}.orjson")


@app.post("/cds-services/<service_id>")
def minimal(service_id: str) -> Response:
    json.loads(request.get_data())
    return Response(b'{"cards": []}', mimetype="application/json")


@orjson_app.post("/cds-services/<service_id>")
def minimal_orjson(service_id: str) -> Response:
    orjson.loads(request.get_data())
    return Response(b'{"cards": []}', mimetype="application/json")
