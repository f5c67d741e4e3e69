"""Our service against the AHRQ CDS Connect CQL Services on the same patient: p50 latency, theirs / ours.

The CQL Services (github.com/AHRQ-CDS/AHRQ-CDS-Connect-CQL-SERVICES, Node.js,
Express) run CQL libraries as CDS Hooks 2.0 services. They are not part of
this repository: point CDSHOOKS_BENCH_CQL_SERVICES (or `checkout`) at a
checkout with its node_modules installed (`npm ci --omit=dev`). Without one,
or without `node`, the result says what is missing and nothing is measured.

Which hook, and why patient-view on both sides. Of the two hooks the CQL
Services ship, `statin-use` needs value sets downloaded from VSAC with a UMLS
account (without one it answers 500, or with IGNORE_VSAC_ERRORS it runs its
CQL on empty value sets, a development mode whose result means nothing);
`cond-med-count-r4` (R4, counts confirmed Conditions and MedicationRequests,
one card) runs as shipped. It is a patient-view hook, so our side is our
patient-view service too: the same hook, the same hookInstance and context,
the same patient, both answering with cards. (Our order-select does a little
less work than our patient-view, so patient-view does not flatter us.)

Same patient data. Our 200-resource EHR-shaped patient-view request
(bench.patients) is the source. The CQL Services get the same request with
its prefetch re-keyed onto the keys their hook declares in discovery
(`Patient`, `Condition`, `MedicationRequest`): each key gets our resources of
the type its template queries, as the searchset Bundle an EHR would prefetch,
or our Patient resource itself; a type we have none of gets an empty Bundle.
Their CQL thus evaluates our Patient, Conditions and MedicationRequests.
They do not get our Observations and Immunizations because their hook does not
ask for them, so they parse a smaller body (about 34 KB against our 262 KB)
and run simpler logic: both make the ratio smaller, not larger.

How it is timed. Both servers run at once on loopback, each as it runs in
production: ours under gunicorn with the production settings (as
bench/http.py starts it), theirs as `bin/www` under node with
NODE_ENV=production (what their Dockerfile's pm2 config sets), bound to
127.0.0.1. One client (http.client), sequential requests, a fresh connection
for each (gunicorn's sync workers close every connection, so keep-alive would
favour only theirs), the same code for both. Requests alternate server by
server (ABBA), so a slow spell on the shared cores moves both alike. Each
server is warmed up first (node's JIT needs a few dozen calls). The latency is
from connect to the last byte of the answer; the ratio is their p50 over ours.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import shutil
import statistics
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson

from bench import http as bench_http
from bench import patients, servers

ENV_VAR = "CDSHOOKS_BENCH_CQL_SERVICES"
HOOK = "cond-med-count-r4"
OUR_HOOK = "patient-view"
REPOSITORY = "AHRQ-CDS/AHRQ-CDS-Connect-CQL-SERVICES"
WARMUP = 30
ITERATIONS = 100
MISSING = f"set {ENV_VAR} to a checkout of {REPOSITORY} with node_modules installed"

# Runs their own entry point (bin/www, which loads the libraries and hooks under
# config/) from the checkout, with its server bound to loopback: bin/www listens
# on every interface.
_LAUNCHER = (
    "process.chdir(process.env.CQL_SERVICES_ROOT);"
    "const http = require('http');"
    "const listen = http.Server.prototype.listen;"
    "http.Server.prototype.listen = function (port, ...rest) {"
    " return listen.call(this, port, '127.0.0.1', ...rest.filter(a => typeof a === 'function')); };"
    "require(require('path').resolve('bin', 'www'));"
)


@dataclass(frozen=True)
class CqlComparison:
    hook: str  # the CQL Services hook called
    our_hook: str  # the hook of our service called with the same patient
    resources: int  # in our request (bench.patients)
    body_bytes: int  # our request
    cql_services_body_bytes: int  # theirs: the same request, prefetch re-keyed onto their keys
    iterations: int  # timed requests to each server, after the warm-up
    cql_services_p50_ms: float
    ours_p50_ms: float
    ratio: float  # their p50 / ours
    ours_before_p50_ms: float | None  # our service as it was before (bench.before), served in the same run
    ratio_before: float | None  # their p50 / ours before
    cql_services_cards: int
    our_cards: int
    cql_services_version: str
    measured: bool
    reason: str  # "" when measured, else what was missing


def not_measured(reason: str, resources: int = 200, iterations: int = 0, version: str = "",
                 our_hook: str = OUR_HOOK) -> CqlComparison:
    return CqlComparison(
        hook=HOOK, our_hook=our_hook, resources=resources, body_bytes=0, cql_services_body_bytes=0,
        iterations=iterations, cql_services_p50_ms=0.0, ours_p50_ms=0.0, ratio=0.0,
        ours_before_p50_ms=None, ratio_before=None,
        cql_services_cards=0, our_cards=0, cql_services_version=version, measured=False, reason=reason,
    )


def missing(checkout: str | None) -> str:
    """What stops the comparison from running ("" when nothing does)."""
    if not checkout:
        return MISSING
    root = Path(checkout)
    if not (root / "bin" / "www").is_file() or not (root / "config" / "hooks").is_dir():
        return f"{checkout} is not a checkout of {REPOSITORY} (no bin/www or config/hooks): {MISSING}"
    if not (root / "node_modules").is_dir():
        return f"{checkout} has no node_modules: run `npm ci --omit=dev` there ({MISSING})"
    if not shutil.which("node"):
        return "node is not installed (the CQL Services need Node.js 18 or later)"
    return ""


def version(checkout: str) -> str:
    try:
        return str(json.loads((Path(checkout) / "package.json").read_text()).get("version", ""))
    except (OSError, ValueError):
        return ""


_TEMPLATE_TYPE = re.compile(r"^\s*([A-Z][A-Za-z]+)(?:[/?]|$)")


def template_type(template: str) -> str:
    """The resource type a prefetch template queries: `Condition?patient={{...}}` -> Condition."""
    m = _TEMPLATE_TYPE.match(template)
    if not m:
        raise ValueError(f"not a FHIR query a prefetch template can hold: {template!r}")
    return m.group(1)


def resources_by_type(prefetch: Mapping[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Every resource in our prefetch (single resources and searchset Bundles), grouped by type."""
    out: dict[str, list[dict[str, Any]]] = {}
    for value in prefetch.values():
        if not isinstance(value, dict):
            continue
        if value.get("resourceType") == "Bundle":
            items = [e["resource"] for e in value.get("entry", []) if isinstance(e, dict) and "resource" in e]
        else:
            items = [value]
        for r in items:
            out.setdefault(r["resourceType"], []).append(r)
    return out


def _searchset(resources: list[dict[str, Any]]) -> dict[str, Any]:
    bundle: dict[str, Any] = {"resourceType": "Bundle", "type": "searchset", "total": len(resources)}
    if resources:
        bundle["entry"] = [
            {"fullUrl": f"urn:uuid:{r['resourceType']}-{r.get('id', i)}", "resource": r}
            for i, r in enumerate(resources)
        ]
    return bundle


def their_prefetch(our_prefetch: Mapping[str, Any], templates: Mapping[str, str]) -> dict[str, Any]:
    """Our prefetch re-keyed onto their hook's prefetch keys, by the resource type each template queries.

    A read (`Patient/{{context.patientId}}`) gets the resource itself, a search
    a searchset Bundle of ours of that type (empty when we have none).
    """
    ours = resources_by_type(our_prefetch)
    out: dict[str, Any] = {}
    for key, template in templates.items():
        rtype = template_type(template)
        found = ours.get(rtype, [])
        is_read = re.match(rf"^\s*{rtype}/", template) is not None
        out[key] = (found[0] if found else None) if is_read else _searchset(found)
    return out


# The context patient-view carries (CDS Hooks 2.0); an order hook's draftOrders and selections are not part of it.
PATIENT_VIEW_CONTEXT = ("userId", "patientId", "encounterId")


def their_request(our_request: Mapping[str, Any], templates: Mapping[str, str],
                  hook: str = "patient-view") -> dict[str, Any]:
    """The same hook call (hookInstance, context, ...) with the prefetch their hook declares.

    When our request is another hook than theirs (order-select against their
    patient-view hook), it becomes their hook's call: their hook's name and the
    context that hook carries.
    """
    out = {k: v for k, v in our_request.items() if k != "prefetch"}
    if out.get("hook") != hook:
        out["hook"] = hook
        if hook == "patient-view":
            out["context"] = {k: v for k, v in (out.get("context") or {}).items() if k in PATIENT_VIEW_CONTEXT}
    out["prefetch"] = their_prefetch(our_request.get("prefetch") or {}, templates)
    return out


def _post(port: int, path: str, body: bytes) -> tuple[int, bytes, float]:
    """One POST on a fresh connection: (status, answer, milliseconds from connect to the last byte)."""
    start = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("POST", path, body, {"Content-Type": "application/json", "Accept": "application/json"})
        resp = conn.getresponse()
        data = resp.read()
    finally:
        conn.close()
    return resp.status, data, (time.perf_counter() - start) * 1000


def _get_json(port: int, path: str) -> Any:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path, headers={"Accept": "application/json"})
        resp = conn.getresponse()
        data = resp.read()
    finally:
        conn.close()
    if resp.status != 200:
        raise RuntimeError(f"GET {path} answered {resp.status}")
    return json.loads(data)


def _cards(status: int, data: bytes, who: str) -> int:
    """The number of cards of a 200 JSON answer; an error that names the server otherwise (no body echoed)."""
    if status != 200:
        raise RuntimeError(f"{who} answered {status}")
    try:
        answer = json.loads(data)
    except ValueError as e:
        raise RuntimeError(f"{who} answered 200 with no valid JSON ({e})") from None
    if not isinstance(answer, dict) or not isinstance(answer.get("cards"), list):
        raise RuntimeError(f"{who} answered 200 without a cards array")
    return len(answer["cards"])


@contextlib.contextmanager
def _cql_services(checkout: str, port: int) -> Iterator[None]:
    env = {"PORT": str(port), "NODE_ENV": "production", "CARD_LOGGING": "off", "CQL_SERVICES_ROOT": checkout}
    with servers.process(["node", "-e", _LAUNCHER], env=env):
        yield


def run(checkout: str | None = None, resources: int = 200, iterations: int = ITERATIONS,
        warmup: int = WARMUP, our_hook: str = OUR_HOOK, before: Path | None = None) -> CqlComparison:
    """Both servers at once, requests alternating between them; p50 of each and their ratio.

    With `before` (a tree of an older commit, bench.before) our service as it was
    is served too and takes its turn in the same rotation.

    `our_hook` is patient-view, the hook theirs answers (see the module's
    docstring); order-select is there to compare with (their request is then
    made from our order-select request's patient, as a patient-view call).
    """
    checkout = checkout or os.environ.get(ENV_VAR) or None
    reason = missing(checkout)
    if reason or checkout is None:
        return not_measured(reason or MISSING, resources, our_hook=our_hook)
    checkout = str(Path(checkout).resolve())
    ver = version(checkout)
    our_request = patients.request(our_hook, resources, shape="ehr")
    ours_body = orjson.dumps(our_request)
    ours_path = f"/cds-services/{patients.SERVICE[our_hook]}"
    theirs_path = f"/cds-services/{HOOK}"
    their_port = servers.free_port()
    ours = [bench_http.Server("ours", bench_http.SERVICE_APP, recycle=True)]
    if before is not None:
        ours.append(bench_http.Server("ours before", bench_http.SERVICE_APP, root=before, recycle=True))
    try:
        with contextlib.ExitStack() as stack:
            stack.enter_context(_cql_services(checkout, their_port))
            our_urls = stack.enter_context(bench_http.serving(ours, bench_http._env(), ours_body, our_hook))
            ports = {name: int(urlsplit(url).port or 80) for name, url in our_urls.items()}
            servers.wait_until_answering(f"http://127.0.0.1:{their_port}/cds-services", timeout=60)
            services = _get_json(their_port, "/cds-services").get("services", [])
            hook = next((s for s in services if s.get("id") == HOOK), None)
            if hook is None:
                return not_measured(f"the CQL Services at {checkout} have no {HOOK} hook (config/hooks)", resources,
                                    version=ver, our_hook=our_hook)
            theirs_body = orjson.dumps(
                their_request(our_request, hook.get("prefetch") or {}, hook.get("hook", "patient-view"))
            )
            calls = {"theirs": lambda: _post(their_port, theirs_path, theirs_body)}
            for name, port in ports.items():
                calls[name] = lambda port=port: _post(port, ours_path, ours_body)
            their_status, their_answer, _ = calls["theirs"]()
            their_cards = _cards(their_status, their_answer, f"the CQL Services' {HOOK}")
            our_status, our_answer, _ = calls["ours"]()
            our_cards = _cards(our_status, our_answer, f"our {our_hook}")
            times: dict[str, list[float]] = {name: [] for name in calls}
            for i, name in enumerate(bench_http.alternating_order(list(calls), warmup + iterations)):
                status, _, ms = calls[name]()
                if status != 200:
                    raise RuntimeError(f"{name} answered {status} during the run")
                if i >= len(calls) * warmup:
                    times[name].append(ms)
    except (RuntimeError, TimeoutError, OSError) as e:
        return not_measured(f"the comparison did not run: {e}", resources, iterations, ver, our_hook)
    theirs_p50 = statistics.median(times["theirs"])
    ours_p50 = statistics.median(times["ours"])
    before_p50 = statistics.median(times["ours before"]) if times.get("ours before") else None
    return CqlComparison(
        hook=HOOK, our_hook=our_hook, resources=resources, body_bytes=len(ours_body),
        cql_services_body_bytes=len(theirs_body), iterations=iterations,
        cql_services_p50_ms=round(theirs_p50, 2), ours_p50_ms=round(ours_p50, 2),
        ratio=round(theirs_p50 / ours_p50, 1),
        ours_before_p50_ms=round(before_p50, 2) if before_p50 else None,
        ratio_before=round(theirs_p50 / before_p50, 1) if before_p50 else None,
        cql_services_cards=their_cards, our_cards=our_cards,
        cql_services_version=ver, measured=True, reason="",
    )
