"""FHIR fallback: no prefetch, a slow FHIR stub on loopback; total vs the slowest query."""

from __future__ import annotations

import logging
import statistics
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import orjson
import requests

from bench import patients
from cdshooks.app import create_app
from cdshooks.config import Settings

# Artificial server delay per resource type (seconds): the slowest is Observation.
DELAYS = {"Patient": 0.04, "MedicationRequest": 0.08, "Observation": 0.15, "Condition": 0.06, "Immunization": 0.05}


@dataclass(frozen=True)
class FallbackResult:
    slowest_single_query_ms: float
    hook_total_ms: float
    ratio: float
    queries: int


def _stub(resources: list[dict]) -> ThreadingHTTPServer:
    by_type: dict[str, list[dict]] = {}
    for r in resources:
        by_type.setdefault(r["resourceType"], []).append(r)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = urlsplit(self.path).path.strip("/")
            rtype = path.split("/")[0]
            time.sleep(DELAYS.get(rtype, 0.05))
            if "/" in path:  # read
                body = next((r for r in by_type.get(rtype, []) if r["id"] == path.split("/")[1]), None)
            else:
                entries = [{"resource": r} for r in by_type.get(rtype, [])]
                body = {"resourceType": "Bundle", "type": "searchset", "entry": entries}
            data = orjson.dumps(body)
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", "application/fhir+json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def run(resources: int = 200, iterations: int = 10) -> FallbackResult:
    req = patients.request("order-select", resources)
    prefetch = req.pop("prefetch")
    everything = [prefetch["patient"]] + [
        e["resource"] for key in ("medications", "observations", "conditions", "immunizations") for e in prefetch[key]["entry"]
    ]
    server = _stub(everything)
    base = f"http://127.0.0.1:{server.server_port}"
    req["fhirServer"] = base
    app = create_app(Settings(auth_enabled=False, now=patients.AS_OF, feedback_db=":memory:", fhir_allowlist=(base,)))
    client = app.test_client()
    url = f"/cds-services/{patients.SERVICE['order-select']}"
    body = orjson.dumps(req)
    session = requests.Session()
    singles = []
    for rtype in DELAYS:
        path = f"{rtype}/{patients.k.PATIENT_ID}" if rtype == "Patient" else rtype
        t = time.perf_counter()
        session.get(f"{base}/{path}").raise_for_status()
        singles.append((time.perf_counter() - t) * 1000)
    totals = []
    logging.disable(logging.INFO)  # the request log lines would drown the table
    for _ in range(iterations):
        t = time.perf_counter()
        r = client.post(url, data=body, headers={"Content-Type": "application/json"})
        totals.append((time.perf_counter() - t) * 1000)
        if r.status_code != 200:
            raise RuntimeError(f"fallback call: HTTP {r.status_code} {r.data[:300]!r}")
    logging.disable(logging.NOTSET)
    server.shutdown()
    slowest, total = max(singles), statistics.median(totals)
    return FallbackResult(round(slowest, 1), round(total, 1), round(total / slowest, 2), len(singles))
