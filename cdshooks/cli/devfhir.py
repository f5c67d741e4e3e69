"""An in-memory FHIR R4 REST server for local use (`cdshooks dev`): open, loopback, synthetic data only.

What a browser-based CDS client such as the CDS Hooks sandbox and this
service's own FHIR fallback ask of a FHIR server, and nothing more:

- `GET [base]/metadata` (a CapabilityStatement naming what is supported);
- `GET [base]/[type]/[id]`, `PUT [base]/[type]/[id]`, `POST [base]/[type]`,
  `DELETE [base]/[type]/[id]`;
- search by `GET [base]/[type]?...` and `POST [base]/[type]/_search` (form
  body, the sandbox's first choice for a prefetch), with paging `next` links;
- `POST [base]` with a transaction or batch Bundle of PUT / DELETE entries
  (what `cdshooks fixtures load` sends), applied all or nothing;
- CORS on every response, and preflights answered (including Private Network
  Access: a public HTTPS page calling loopback).

Search parameters: `_id`, `_count`, `_offset`, `_sort` (`date`, `_lastUpdated`,
`_id`, `-` for descending), `patient` and `subject` (references), `status` and
`code` (tokens: `code`, `system|code`, `|code`, `system|`). A comma is OR,
a repeated parameter AND. Any other parameter or a modifier is refused with a
400 OperationOutcome naming it (strict handling): a filter silently ignored
would show cards for the wrong data.

No authentication: it binds to loopback only (`serve` refuses other hosts),
keeps everything in memory and forgets it on exit. Run it alone with
`python -m cdshooks.cli.devfhir --port 8081`.
"""

from __future__ import annotations

import argparse
import copy
import json
import logging
import re
import socket
import sys
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

log = logging.getLogger(__name__)

BASE_PATH = "/fhir"
FHIR_JSON = "application/fhir+json; charset=utf-8"
MAX_BODY_BYTES = 32 * 1024 * 1024
DEFAULT_COUNT = 500  # the sandbox lists patients from the first page of `GET Patient`
MAX_COUNT = 1000
IDLE_SECONDS = 30.0

_TYPE = re.compile(r"^[A-Z][A-Za-z]{1,63}$")
_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
_HEADER_LIST = re.compile(r"^[A-Za-z0-9\-, ]{0,512}$")
_HOST = re.compile(r"^[A-Za-z0-9.\-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$")

# Which element a `date` search (and `_sort=date`) reads, per resource type.
DATE_PATHS: Mapping[str, tuple[str, ...]] = {
    "Observation": ("effectiveDateTime", "effectiveInstant", "effectivePeriod.start", "issued"),
    "DiagnosticReport": ("effectiveDateTime", "effectivePeriod.start", "issued"),
    "Immunization": ("occurrenceDateTime",),
    "AllergyIntolerance": ("recordedDate",),
    "Encounter": ("period.start",),
    "Procedure": ("performedDateTime", "performedPeriod.start"),
    # the service's administrations query sorts by `effective-time` (the R4 search parameter's name)
    "MedicationAdministration": ("effectiveDateTime", "effectivePeriod.end", "effectivePeriod.start"),
}
# Search parameters that are another name for `date` on one resource type.
DATE_ALIASES: Mapping[str, str] = {"MedicationAdministration": "effective-time"}
# Elements a `code` token search reads.
CODE_PATHS = ("code", "medicationCodeableConcept", "vaccineCode")
RESULT_PARAMETERS = frozenset({"_count", "_offset", "_sort"})
IGNORED_PARAMETERS = frozenset({"_format", "_pretty"})
SEARCH_PARAMETERS = frozenset({"_id", "patient", "subject", "status", "code"})
# Listed in the CapabilityStatement (the prefetch's types); any type name can be stored and searched.
SERVED_TYPES = ("Patient", "MedicationRequest", "Observation", "Condition", "Immunization", "AllergyIntolerance")
CORS_METHODS = "GET, POST, PUT, DELETE, OPTIONS"
CORS_HEADERS = "accept, authorization, content-type, prefer, if-match, if-none-exist"


class FhirError(Exception):
    """A request the server refuses: HTTP status plus an OperationOutcome."""

    def __init__(self, status: int, code: str, text: str):
        super().__init__(text)
        self.status = status
        self.code = code
        self.text = text

    def outcome(self) -> dict[str, Any]:
        return operation_outcome("error", self.code, self.text)


def operation_outcome(severity: str, code: str, text: str) -> dict[str, Any]:
    return {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": severity, "code": code, "diagnostics": text}],
    }


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _path_values(resource: Mapping[str, Any], path: str) -> list[Any]:
    nodes: list[Any] = [resource]
    for part in path.split("."):
        nxt: list[Any] = []
        for node in nodes:
            value = node.get(part) if isinstance(node, dict) else None
            nxt.extend(value if isinstance(value, list) else [value] if value is not None else [])
        nodes = nxt
    return nodes


def _instant(value: Any) -> datetime | None:
    """A FHIR date, dateTime or instant as an aware datetime (partial dates: their first moment)."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    if re.fullmatch(r"\d{4}", text):
        text += "-01-01"
    elif re.fullmatch(r"\d{4}-\d{2}", text):
        text += "-01"
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def _reference_matches(ref: Any, wanted: str, default_type: str | None) -> bool:
    """Whether a Reference points at `wanted` (`Type/id`, or a bare id of `default_type` / any type)."""
    if not isinstance(ref, dict) or not isinstance(ref.get("reference"), str):
        return False
    target = ref["reference"].rstrip("/").split("/")
    if len(target) < 2:
        return False
    rtype, rid = target[-2], target[-1]
    if "/" in wanted:
        wtype, _, wid = wanted.rstrip("/").rpartition("/")
        wtype = wtype.rsplit("/", 1)[-1]
        return (rtype, rid) == (wtype, wid)
    return rid == wanted and (default_type is None or rtype == default_type)


def _token_matches(resource: Mapping[str, Any], name: str, token: str) -> bool:
    system: str | None
    system, bar, code = token.partition("|")
    if not bar:
        system, code = None, token
    if name == "status":
        return isinstance(resource.get("status"), str) and resource["status"] == code
    for path in CODE_PATHS:
        for concept in _path_values(resource, path):
            for coding in concept.get("coding") or () if isinstance(concept, dict) else ():
                if not isinstance(coding, dict):
                    continue
                if system is None:
                    ok = coding.get("code") == code
                elif system == "":
                    ok = "system" not in coding and coding.get("code") == code
                elif code == "":
                    ok = coding.get("system") == system
                else:
                    ok = coding.get("system") == system and coding.get("code") == code
                if ok:
                    return True
    return False


def _matcher(resource_type: str, name: str, value: str) -> Callable[[dict[str, Any]], bool]:
    """A predicate for one `name=value` (comma-separated values: any of them)."""
    values = [v for v in value.split(",") if v != ""]
    if not values:
        raise FhirError(400, "invalid", f"search parameter {name!r} has no value")
    if name == "_id":
        wanted = set(values)
        return lambda r: r.get("id") in wanted
    if name == "patient":

        def patient(r: dict[str, Any]) -> bool:
            refs = _path_values(r, "patient") + _path_values(r, "subject")
            return any(_reference_matches(ref, v, "Patient") for ref in refs for v in values)

        return patient
    if name == "subject":
        return lambda r: any(_reference_matches(ref, v, None) for ref in _path_values(r, "subject") for v in values)
    return lambda r: any(_token_matches(r, name, v) for v in values)


def _sort_key(resource_type: str, spec: str) -> tuple[Callable[[dict[str, Any]], Any], bool]:
    descending = spec.startswith("-")
    name = spec[1:] if descending else spec
    if name == "_id":
        return (lambda r: (0, r.get("id", ""))), descending
    if name == "_lastUpdated":

        def updated(r: dict[str, Any]) -> Any:
            dt = next((d for d in map(_instant, _path_values(r, "meta.lastUpdated")) if d), None)
            return (0, dt) if dt else None

        return updated, descending
    if resource_type in DATE_PATHS and name in ("date", DATE_ALIASES.get(resource_type)):
        paths = DATE_PATHS[resource_type]

        def date(r: dict[str, Any]) -> Any:
            for path in paths:
                for value in _path_values(r, path):
                    dt = _instant(value)
                    if dt is not None:
                        return (0, dt)
            return None

        return date, descending
    raise FhirError(400, "not-supported", f"_sort={spec!r} is not supported for {resource_type}")


def _sorted(resources: list[dict[str, Any]], resource_type: str, sort: str) -> list[dict[str, Any]]:
    """Stable multi-key sort; resources without a value for a key go last either way."""
    out = list(resources)
    for spec in reversed([s.strip() for s in sort.split(",") if s.strip()]):
        key, descending = _sort_key(resource_type, spec)
        keyed = [(key(r), r) for r in out]
        present = sorted((kr for kr in keyed if kr[0] is not None), key=lambda kr: kr[0], reverse=descending)
        out = [r for _, r in present] + [r for k, r in keyed if k is None]
    return out


def _int_parameter(name: str, value: str, low: int, high: int) -> int:
    try:
        n = int(value)
    except ValueError:
        raise FhirError(400, "invalid", f"{name}={value!r} is not a whole number") from None
    if not low <= n <= high:
        raise FhirError(400, "invalid", f"{name}={value!r} is out of range ({low}-{high})")
    return n


class Store:
    """Resources by type and id, thread-safe; every write stamps meta.versionId and meta.lastUpdated.

    Stored resources are never changed in place (a write replaces the whole
    resource), so readers may share them without copying.
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._data: dict[str, dict[str, dict[str, Any]]] = {}

    def __len__(self) -> int:
        with self._lock:
            return sum(len(v) for v in self._data.values())

    def read(self, resource_type: str, rid: str) -> dict[str, Any] | None:
        with self._lock:
            return self._data.get(resource_type, {}).get(rid)

    def _put(self, resource: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        by_id = self._data.setdefault(resource["resourceType"], {})
        old = by_id.get(resource["id"])
        version = int(old["meta"]["versionId"]) + 1 if old else 1
        stored = copy.deepcopy(resource)
        stored["meta"] = {**(stored.get("meta") or {}), "versionId": str(version), "lastUpdated": _now()}
        by_id[resource["id"]] = stored
        return stored, old is None

    def put(self, resource: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        """Create or replace; returns the stored resource and whether it was created."""
        with self._lock:
            return self._put(resource)

    def delete(self, resource_type: str, rid: str) -> bool:
        with self._lock:
            return self._data.get(resource_type, {}).pop(rid, None) is not None

    def apply(self, operations: list[tuple[str, Any]]) -> list[tuple[str, dict[str, Any] | None, bool]]:
        """Apply validated PUT / DELETE operations under one lock (a transaction)."""
        results: list[tuple[str, dict[str, Any] | None, bool]] = []
        with self._lock:
            for method, target in operations:
                if method == "PUT":
                    stored, created = self._put(target)
                    results.append((method, stored, created))
                else:
                    rtype, rid = target
                    results.append((method, None, self._data.get(rtype, {}).pop(rid, None) is not None))
        return results

    def of_type(self, resource_type: str) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._data.get(resource_type, {}).values())


def search(
    store: Store, resource_type: str, params: list[tuple[str, str]]
) -> tuple[list[dict[str, Any]], int, int, int]:
    """Matching resources of one page, the total, the page's offset and size (raises FhirError)."""
    count, offset, sort = DEFAULT_COUNT, 0, ""
    predicates: list[Callable[[dict[str, Any]], bool]] = []
    for name, value in params:
        if name in IGNORED_PARAMETERS:
            continue
        if name == "_count":
            count = _int_parameter(name, value, 0, MAX_COUNT)
        elif name == "_offset":
            offset = _int_parameter(name, value, 0, 10**9)
        elif name == "_sort":
            sort = value if not sort else f"{sort},{value}"
        elif name in SEARCH_PARAMETERS:
            predicates.append(_matcher(resource_type, name, value))
        else:
            what = "modifier" if ":" in name else "search parameter"
            raise FhirError(
                400, "not-supported",
                f"{what} {name!r} is not supported by this server (supported: "
                f"{', '.join(sorted(SEARCH_PARAMETERS | RESULT_PARAMETERS))})",
            )  # fmt: skip
    matches = [r for r in store.of_type(resource_type) if all(p(r) for p in predicates)]
    matches = _sorted(matches, resource_type, sort) if sort else sorted(matches, key=lambda r: r.get("id", ""))
    return matches[offset : offset + count], len(matches), offset, count


def searchset(
    base: str,
    resource_type: str,
    params: list[tuple[str, str]],
    page: list[dict[str, Any]],
    total: int,
    offset: int,
    count: int,
) -> dict[str, Any]:
    """A searchset Bundle with self (and next, when more matched) links."""
    kept = [(k, v) for k, v in params if k != "_offset"]

    def link(at: int) -> str:
        query = urlencode(kept + ([("_offset", str(at))] if at else []))
        return f"{base}/{resource_type}" + (f"?{query}" if query else "")

    links = [{"relation": "self", "url": link(offset)}]
    if count and offset + count < total:
        links.append({"relation": "next", "url": link(offset + count)})
    return {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "meta": {"lastUpdated": _now()},
        "type": "searchset",
        "total": total,
        "link": links,
        "entry": [
            {"fullUrl": f"{base}/{resource_type}/{r['id']}", "resource": r, "search": {"mode": "match"}} for r in page
        ],
    }


def _check_resource(resource: Any, resource_type: str | None = None, rid: str | None = None) -> dict[str, Any]:
    if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
        raise FhirError(400, "structure", "the body is not a FHIR resource (no resourceType)")
    if not _TYPE.match(resource["resourceType"]):
        raise FhirError(400, "structure", "resourceType is not a FHIR resource type name")
    if resource_type is not None and resource["resourceType"] != resource_type:
        raise FhirError(
            400, "invalid", f"resourceType {resource['resourceType']!r} does not match the URL ({resource_type})"
        )
    if rid is not None and resource.get("id") != rid:
        raise FhirError(400, "invalid", "the resource's id must equal the id in the URL")
    if "id" in resource and not (isinstance(resource["id"], str) and _ID.match(resource["id"])):
        raise FhirError(400, "invalid", "id is not a valid FHIR id ([A-Za-z0-9-.]{1,64})")
    return resource


def _entry_target(entry: Any, index: int) -> tuple[str, dict[str, Any] | tuple[str, str]]:
    where = f"entry[{index}]"
    if not isinstance(entry, dict) or not isinstance(entry.get("request"), dict):
        raise FhirError(400, "structure", f"{where}: no request")
    method = str(entry["request"].get("method", "")).upper()
    url = str(entry["request"].get("url", "")).split("?", 1)[0].strip("/")
    parts = url.split("/")
    if len(parts) != 2 or not _TYPE.match(parts[0]) or not _ID.match(parts[1]):
        raise FhirError(400, "not-supported", f"{where}: request.url must be [type]/[id]")
    if method == "PUT":
        try:
            return method, _check_resource(entry.get("resource"), parts[0], parts[1])
        except FhirError as exc:
            raise FhirError(exc.status, exc.code, f"{where}: {exc.text}") from None
    if method == "DELETE":
        return method, (parts[0], parts[1])
    raise FhirError(
        400, "not-supported", f"{where}: only PUT and DELETE entries are supported (not {method or 'none'})"
    )


def transaction(store: Store, base: str, bundle: Any) -> dict[str, Any]:
    """Apply a transaction or batch Bundle of PUT / DELETE entries, all or nothing."""
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        raise FhirError(400, "structure", "POST to the base URL takes a transaction or batch Bundle")
    kind = bundle.get("type")
    if kind not in ("transaction", "batch"):
        raise FhirError(400, "invalid", f"Bundle.type must be transaction or batch (not {kind!r})")
    entries = bundle.get("entry") or []
    if not isinstance(entries, list):
        raise FhirError(400, "structure", "Bundle.entry must be a list")
    operations = [_entry_target(e, i) for i, e in enumerate(entries)]
    out = []
    for method, stored, flag in store.apply(operations):
        if method == "PUT":
            assert stored is not None
            response = {
                "status": "201 Created" if flag else "200 OK",
                "location": f"{stored['resourceType']}/{stored['id']}/_history/{stored['meta']['versionId']}",
                "etag": f'W/"{stored["meta"]["versionId"]}"',
                "lastModified": stored["meta"]["lastUpdated"],
            }
            out.append({"fullUrl": f"{base}/{stored['resourceType']}/{stored['id']}", "response": response})
        else:
            out.append({"response": {"status": "204 No Content" if flag else "404 Not Found"}})
    return {"resourceType": "Bundle", "id": str(uuid.uuid4()), "type": f"{kind}-response", "entry": out}


def capability_statement(base: str) -> dict[str, Any]:
    search_params = [{"name": n, "type": t} for n, t in (
        ("_id", "token"), ("patient", "reference"), ("subject", "reference"), ("status", "token"), ("code", "token"),
    )]  # fmt: skip
    interactions = [{"code": c} for c in ("read", "update", "create", "delete", "search-type")]
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": _now(),
        "kind": "instance",
        "software": {"name": "cdshooks dev FHIR server (in memory, local use only)"},
        "implementation": {"description": "In-memory FHIR R4 server for local testing", "url": base},
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json", "json"],
        "rest": [
            {
                "mode": "server",
                "security": {"cors": True, "description": "Open: no authentication. Loopback only."},
                "resource": [
                    {"type": t, "interaction": interactions, "searchParam": search_params}
                    for t in SERVED_TYPES
                ],
                "interaction": [{"code": "transaction"}, {"code": "batch"}],
            }
        ],
    }


class Handler(BaseHTTPRequestHandler):
    """One connection; `server.store` holds the data, `server.base_path` the FHIR base path."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are separate writes: no 40 ms delayed-ACK stall
    server_version = "cdshooks-devfhir"
    timeout = IDLE_SECONDS
    server: DevFhirServer

    # -- plumbing --------------------------------------------------------
    def log_message(self, format: str, *args: Any) -> None:
        pass  # see log_request: no query strings (patient ids) in the log

    def log_request(self, code: Any = "-", size: Any = "-") -> None:
        status = int(code) if str(code).isdigit() else 0
        if status >= 400:  # successes stay quiet: fixture loading alone is hundreds of requests
            log.warning("devfhir: %s %s -> %s", self.command, urlsplit(self.path).path, status)

    def _base(self) -> str:
        host = self.headers.get("Host", "")
        if not _HOST.match(host):
            addr, port = self.server.bound_address()
            host = f"{addr}:{port}"
        return f"http://{host}{self.server.base_path}"

    def _cors(self) -> None:
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Access-Control-Expose-Headers", "Location, ETag, Content-Location, Last-Modified")

    def _send(self, status: int, body: dict[str, Any] | None, headers: Mapping[str, str] | None = None) -> None:
        data = json.dumps(body, separators=(",", ":")).encode() if body is not None else b""
        self.send_response(status)
        self._cors()
        if body is not None:
            self.send_header("Content-Type", FHIR_JSON)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            raise FhirError(411, "not-supported", "send a Content-Length (chunked bodies are not supported)")
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            raise FhirError(400, "structure", "Content-Length is not a number") from None
        if length < 0:
            raise FhirError(400, "structure", "Content-Length is negative")
        if length > MAX_BODY_BYTES:
            self.close_connection = True
            raise FhirError(413, "too-costly", f"request body above {MAX_BODY_BYTES} bytes")
        data = self.rfile.read(length) if length else b""
        if len(data) != length:
            self.close_connection = True
            raise FhirError(400, "structure", "request body shorter than its Content-Length")
        return data

    def _json_body(self) -> Any:
        data = self._body()
        try:
            return json.loads(data) if data else None
        except (ValueError, UnicodeDecodeError):
            raise FhirError(400, "structure", "request body is not JSON") from None

    def _route(self) -> tuple[list[str], list[tuple[str, str]]]:
        parts = urlsplit(self.path)
        base = self.server.base_path
        path = parts.path
        if base and not (path == base or path.startswith(base + "/")):
            raise FhirError(404, "not-found", f"the FHIR base is {base}")
        segments = [s for s in path[len(base) :].split("/") if s]
        try:
            query = parse_qsl(parts.query, keep_blank_values=True, strict_parsing=False)
        except ValueError:
            raise FhirError(400, "structure", "the query string cannot be parsed") from None
        return segments, query

    def _dispatch(self, handler: Callable[[list[str], list[tuple[str, str]]], None]) -> None:
        try:
            segments, query = self._route()
            handler(segments, query)
        except FhirError as exc:
            self._send(exc.status, exc.outcome())
        except Exception:  # a bug here must not kill the connection thread silently
            log.exception("devfhir: %s %s failed", self.command, urlsplit(self.path).path)
            self._send(500, operation_outcome("fatal", "exception", "internal error (see the server log)"))

    # -- methods ---------------------------------------------------------
    def do_OPTIONS(self) -> None:
        requested = self.headers.get("Access-Control-Request-Headers", "")
        self.send_response(204)
        self._cors()
        self.send_header("Access-Control-Allow-Methods", CORS_METHODS)
        self.send_header(
            "Access-Control-Allow-Headers", requested if requested and _HEADER_LIST.match(requested) else CORS_HEADERS
        )
        self.send_header("Access-Control-Max-Age", "600")
        if self.headers.get("Access-Control-Request-Private-Network", "").lower() == "true":
            self.send_header("Access-Control-Allow-Private-Network", "true")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self) -> None:
        self._dispatch(self._get)

    def do_HEAD(self) -> None:
        self._dispatch(self._get)

    def do_POST(self) -> None:
        self._dispatch(self._post)

    def do_PUT(self) -> None:
        self._dispatch(self._put)

    def do_DELETE(self) -> None:
        self._dispatch(self._delete)

    def _get(self, segments: list[str], query: list[tuple[str, str]]) -> None:
        if segments == ["metadata"]:
            self._send(200, capability_statement(self._base()))
        elif len(segments) == 1 and _TYPE.match(segments[0]):
            self._search(segments[0], query)
        elif len(segments) == 2 and _TYPE.match(segments[0]):
            self._read(segments[0], segments[1])
        else:
            raise FhirError(404, "not-found", "unknown path: use [type], [type]/[id] or metadata")

    def _read(self, resource_type: str, rid: str) -> None:
        if not _ID.match(rid):
            raise FhirError(400, "invalid", "not a valid FHIR id")
        found = self.server.store.read(resource_type, rid)
        if found is None:
            raise FhirError(404, "not-found", f"{resource_type}/{rid} is not known")
        self._send(200, found, {"ETag": f'W/"{found["meta"]["versionId"]}"'})

    def _search(self, resource_type: str, query: list[tuple[str, str]]) -> None:
        page, total, offset, count = search(self.server.store, resource_type, query)
        self._send(200, searchset(self._base(), resource_type, query, page, total, offset, count))

    def _post(self, segments: list[str], query: list[tuple[str, str]]) -> None:
        if not segments:
            self._send(200, transaction(self.server.store, self._base(), self._json_body()))
        elif len(segments) == 2 and segments[1] == "_search" and _TYPE.match(segments[0]):
            kind = self.headers.get("Content-Type", "").split(";", 1)[0].strip().lower()
            data = self._body()
            if data and kind != "application/x-www-form-urlencoded":
                raise FhirError(415, "not-supported", "_search takes an application/x-www-form-urlencoded body")
            try:
                form = parse_qsl(data.decode("utf-8"), keep_blank_values=True)
            except (ValueError, UnicodeDecodeError):
                raise FhirError(400, "structure", "the form body cannot be parsed") from None
            self._search(segments[0], query + form)
        elif len(segments) == 1 and _TYPE.match(segments[0]):
            resource = _check_resource(self._json_body(), segments[0])
            resource = {**resource, "id": str(uuid.uuid4())}
            stored, _ = self.server.store.put(resource)
            location = f"{self._base()}/{segments[0]}/{stored['id']}/_history/{stored['meta']['versionId']}"
            self._send(201, stored, {"Location": location, "ETag": f'W/"{stored["meta"]["versionId"]}"'})
        else:
            raise FhirError(404, "not-found", "POST goes to the base (a Bundle), [type] or [type]/_search")

    def _put(self, segments: list[str], query: list[tuple[str, str]]) -> None:
        if len(segments) != 2 or not _TYPE.match(segments[0]) or not _ID.match(segments[1]):
            raise FhirError(404, "not-found", "PUT goes to [type]/[id]")
        resource = _check_resource(self._json_body(), segments[0], segments[1])
        stored, created = self.server.store.put(resource)
        location = f"{self._base()}/{segments[0]}/{stored['id']}/_history/{stored['meta']['versionId']}"
        etag = f'W/"{stored["meta"]["versionId"]}"'
        self._send(201 if created else 200, stored, {"Location": location, "ETag": etag})

    def _delete(self, segments: list[str], query: list[tuple[str, str]]) -> None:
        if len(segments) != 2 or not _TYPE.match(segments[0]) or not _ID.match(segments[1]):
            raise FhirError(404, "not-found", "DELETE goes to [type]/[id]")
        self.server.store.delete(segments[0], segments[1])
        self._send(204, None)


class DevFhirServer(ThreadingHTTPServer):
    """The HTTP server; one thread per connection, each with an idle timeout."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, host: str, port: int, store: Store | None = None, base_path: str = BASE_PATH):
        if host not in ("127.0.0.1", "::1", "localhost"):
            raise ValueError(f"the dev FHIR server is open (no authentication): loopback only, not {host!r}")
        if host == "::1":
            self.address_family = socket.AF_INET6
        self.store = store if store is not None else Store()
        self.base_path = "/" + base_path.strip("/") if base_path.strip("/") else ""
        super().__init__((host, port), Handler)

    def bound_address(self) -> tuple[str, int]:
        """(host, port) as bound. getsockname() gives the host as a str for AF_INET and AF_INET6;
        typeshed's server_address also allows bytes, so a bytes host is decoded rather than shown as b'...'."""
        host, port = self.server_address[:2]
        return (host if isinstance(host, str) else bytes(host).decode("ascii"), port)

    @property
    def base_url(self) -> str:
        host, port = self.bound_address()
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{port}{self.base_path}"


class RunningServer:
    """A DevFhirServer serving on a background thread (`stop()` closes it)."""

    def __init__(self, server: DevFhirServer):
        self.server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="devfhir", daemon=True
        )
        self._thread.start()

    @property
    def base_url(self) -> str:
        return self.server.base_url

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(5)


def start(host: str = "127.0.0.1", port: int = 0, store: Store | None = None) -> RunningServer:
    """Bind (raises OSError when the port is taken) and serve on a background thread."""
    return RunningServer(DevFhirServer(host, port, store))


def main(argv: Iterable[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m cdshooks.cli.devfhir", description="In-memory FHIR R4 server (loopback, no auth)."
    )
    p.add_argument("--port", type=int, default=8081, help="port on 127.0.0.1 (default: 8081; 0 picks one)")
    args = p.parse_args(list(argv) if argv is not None else None)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        server = DevFhirServer("127.0.0.1", args.port)
    except OSError as exc:
        print(f"devfhir: cannot listen on 127.0.0.1:{args.port} ({exc.strerror or exc})", file=sys.stderr)
        return 2
    print(f"listening {server.base_url}", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
