"""The FHIR fallback client: time-boxed GETs against an allowlisted `fhirServer`, with paging.

Safety properties (README "Data gathering and FHIR fallback"):
- the caller checks the allowlist first; here every request additionally stays
  under the same `fhirServer` base (a `next` link elsewhere stops paging), so
  the bearer token only ever goes to the server it was issued for;
- redirects are never followed (a 3xx is a failure);
- no cookies are kept between requests, no .netrc credentials are added;
- each response is read against the request's deadline and a size cap;
- the token and response contents are never logged.
"""

from __future__ import annotations

import http.cookiejar
import socket
import ssl
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

import orjson
import requests
from requests.adapters import HTTPAdapter

from cdshooks.data.allowlist import FhirAllowlist, parse_server_url
from cdshooks.data.bundles import failed_answer, is_bundle, next_link, resources_of

# Outbound FHIR requests of all hook calls share these threads and connections.
POOL_SIZE = 8
_CHUNK = 64 * 1024
BUDGET_SPENT = "time budget spent"  # CDSHOOKS_FETCH_BUDGET_SECONDS ran out
_lock = threading.Lock()
_session: requests.Session | None = None
_executor: ThreadPoolExecutor | None = None


class FetchError(Exception):
    """A FHIR query that produced no usable data (reason carries no token or patient data)."""


@dataclass(frozen=True)
class FetchResult:
    resources: list[dict[str, Any]]
    pages: int
    truncated: bool = False  # more pages existed than were read


class _Bearer(requests.auth.AuthBase):
    """Adds the `fhirAuthorization` token; an instance without a token still blocks .netrc."""

    def __init__(self, token: str | None) -> None:
        self._token = token

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        if self._token:
            r.headers["Authorization"] = f"Bearer {self._token}"
        return r

    @property
    def has_token(self) -> bool:
        return bool(self._token)

    def __repr__(self) -> str:  # never show the token in a traceback or log
        return "_Bearer(<redacted>)"


def session() -> requests.Session:
    """The shared, pooled Session (created on first use)."""
    global _session
    with _lock:
        if _session is None:
            s = requests.Session()
            s.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
            adapter = HTTPAdapter(pool_connections=POOL_SIZE, pool_maxsize=POOL_SIZE, max_retries=0)
            s.mount("http://", adapter)
            s.mount("https://", adapter)
            s.headers.update({"Accept": "application/fhir+json"})
            _session = s
        return _session


def executor() -> ThreadPoolExecutor:
    """The shared worker pool for parallel fetches."""
    global _executor
    with _lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=POOL_SIZE, thread_name_prefix="fhir-fetch")
        return _executor


def query_url(base: str, relative: str) -> str:
    """`fhirServer` + a resolved prefetch query (`Patient/1`, `Observation?...`)."""
    return base.rstrip("/") + "/" + relative.lstrip("/")


def under_base(url: str, base: str) -> bool:
    """Same scheme, host and port as `base`, with a path at or below base's path."""
    u, b = parse_server_url(url), parse_server_url(base)
    if u is None or b is None:
        return False
    if (u.scheme, u.host, u.effective_port) != (b.scheme, b.host, b.effective_port):
        return False
    return not b.path or u.path == b.path or u.path.startswith(b.path + "/")


def _status_reason(status: int, has_token: bool) -> str:
    """Why a non-200 answer gave no data, in words an integrator can act on."""
    if status in (404, 410):
        return f"not found (HTTP {status})"
    if status in (401, 403):
        if not has_token:
            return f"HTTP {status} (the request has no fhirAuthorization)"
        return f"HTTP {status} (the fhirAuthorization token was refused)"
    return f"HTTP {status}"


def _causes(exc: BaseException) -> list[BaseException]:
    """The exception, its causes and the exceptions in their args (urllib3 nests them)."""
    seen: list[BaseException] = []
    todo: list[BaseException] = [exc]
    while todo and len(seen) < 20:
        e = todo.pop()
        if any(e is s for s in seen):
            continue
        seen.append(e)
        todo.extend(x for x in (e.__cause__, e.__context__, getattr(e, "reason", None)) if isinstance(x, BaseException))
        todo.extend(a for a in e.args if isinstance(a, BaseException))
    return seen


def connection_reason(exc: requests.RequestException) -> str:
    """A fixed phrase for a failed connection: refused, unknown host, TLS, reset; else the type name."""
    causes = _causes(exc)
    if any(isinstance(e, ConnectionRefusedError) for e in causes):
        return "connection refused"
    if any(isinstance(e, socket.gaierror) for e in causes):
        return "host name not found"
    if isinstance(exc, requests.exceptions.SSLError) or any(isinstance(e, ssl.SSLError) for e in causes):
        return "TLS handshake failed"
    if any(isinstance(e, ConnectionResetError) for e in causes):
        return "connection reset by the server"
    return f"request failed ({type(exc).__name__})"


def _get_json(url: str, auth: _Bearer, deadline: float, max_bytes: int) -> dict[str, Any]:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise FetchError(BUDGET_SPENT)
    try:
        with session().get(
            url, auth=auth, allow_redirects=False, timeout=(remaining, remaining), stream=True
        ) as resp:
            if resp.is_redirect or 300 <= resp.status_code < 400:
                raise FetchError(f"redirect refused (HTTP {resp.status_code})")
            if resp.status_code != 200:
                raise FetchError(_status_reason(resp.status_code, auth.has_token))
            body = bytearray()
            for chunk in resp.iter_content(_CHUNK):
                body.extend(chunk)
                if len(body) > max_bytes:
                    raise FetchError("response too large")
                if time.monotonic() > deadline:
                    raise FetchError(BUDGET_SPENT)
    except requests.Timeout as exc:  # the timeout is what is left of the budget
        raise FetchError(BUDGET_SPENT) from exc
    except requests.RequestException as exc:
        raise FetchError(connection_reason(exc)) from exc
    try:
        data = orjson.loads(bytes(body))
    except orjson.JSONDecodeError as exc:
        raise FetchError("response is not JSON") from exc
    if not isinstance(data, dict):
        raise FetchError("response is not a FHIR resource")
    return data


def fetch_pages(
    url: str,
    *,
    base: str,
    token: str | None,
    allowlist: FhirAllowlist,
    deadline: float,
    max_pages: int,
    max_bytes: int,
) -> FetchResult:
    """GET `url` and follow `next` links (same server only) up to `max_pages` pages."""
    refusal = allowlist.address_refusal(base)
    if refusal:
        raise FetchError(refusal)
    auth = _Bearer(token)
    resources: list[dict[str, Any]] = []
    pages = 0
    current: str | None = url
    while current is not None and pages < max_pages:
        if not under_base(current, base) or allowlist.refusal(current):
            if pages == 0:
                raise FetchError("query URL leaves the fhirServer")
            return FetchResult(resources, pages, truncated=True)
        try:
            data = _get_json(current, auth, deadline, max_bytes)
        except FetchError:
            if pages == 0:
                raise
            # A later page failed: keep what was read, flagged as incomplete.
            return FetchResult(resources, pages, truncated=True)
        if failed_answer(data, search="?" in current):  # an information-only outcome is an empty search
            if pages == 0:
                raise FetchError("server answered with an OperationOutcome")
            return FetchResult(resources, pages, truncated=True)
        pages += 1
        resources.extend(resources_of(data))
        nxt = next_link(data) if is_bundle(data) else None
        current = urljoin(current, nxt) if nxt else None
    return FetchResult(resources, pages, truncated=current is not None)
