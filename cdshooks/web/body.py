"""The request body: size-limited, parsed once with orjson, limit-checked, cached on `g.json_body`.

A body whose framing is broken is a 400 before anything reads it as JSON: a bad
chunk size or chunk terminator (gunicorn parses chunked bodies while the app
reads them, so its parse errors surface here), a connection closed mid-body,
or fewer bytes than `Content-Length` declared (gunicorn then returns a short
body, which must not be processed as if it were the whole request).
"""

from __future__ import annotations

from typing import Any

import orjson
from flask import g, request
from werkzeug.exceptions import ClientDisconnected

from cdshooks.web.context import current_settings
from cdshooks.web.errors import BadRequest, PayloadTooLarge, UnsupportedMediaType
from cdshooks.web.limits import JSONTooDeep, check_limits, loads_within_depth, too_deep

_MISSING = object()


def raw_body() -> bytes:
    """The body bytes; 413 when over the limit (declared or actual length)."""
    limit = current_settings().max_body_bytes
    declared = request.content_length
    if declared is not None and declared > limit:
        raise PayloadTooLarge(f"Request body of {declared} bytes exceeds the limit of {limit} bytes.")
    # Read at most one byte more than allowed: a chunked or lying client is
    # caught without buffering an unbounded body.
    try:
        data = _read_at_most(limit + 1, declared)
        # werkzeug's own limit truncates at `limit` and raises (413) only on a further read.
        if len(data) > limit or (len(data) == limit and request.stream.read(1)):
            raise PayloadTooLarge(f"Request body exceeds the limit of {limit} bytes.")
    except _framing_errors() as exc:
        raise BadRequest(_framing_problem(exc)) from None
    if declared is not None and len(data) < declared:
        raise BadRequest(
            f"Request body ended after {len(data)} of the {declared} bytes its Content-Length declares; "
            "nothing was processed."
        )
    return data


_CHUNKED = "Request body is not valid chunked transfer coding"
_CHUNK_PROBLEMS = {
    "InvalidChunkSize": "bad chunk size",
    "ChunkMissingTerminator": "chunk data not followed by CRLF, or the body ends before its last chunk",
    "InvalidChunkExtension": "bad chunk extension",
}


def _framing_errors() -> tuple[type[BaseException], ...]:
    """What reading a badly framed body raises: werkzeug's disconnect, and gunicorn's parse errors."""
    errors: list[type[BaseException]] = [ClientDisconnected, OSError]
    try:
        from gunicorn.http.errors import ParseException
    except ImportError:  # another WSGI server (gunicorn is the `server` extra)
        pass
    else:
        errors.append(ParseException)
    return tuple(errors)


def _framing_problem(exc: BaseException) -> str:
    """A fixed sentence per kind of error: the client's bytes are not echoed back."""
    if isinstance(exc, (ClientDisconnected, OSError)):
        return "Request body ended before it was complete (connection closed); nothing was processed."
    name = type(exc).__name__
    return f"{_CHUNKED}: {_CHUNK_PROBLEMS.get(name, f'malformed framing ({name})')}; nothing was processed."


def _read_at_most(count: int, declared: int | None) -> bytes:
    """Up to `count` body bytes, read in pieces: a 5 MB limit must not cost a 5 MB buffer per request."""
    # A declared length is read in one piece of exactly that size: werkzeug then reads
    # straight into the result (one byte more would cost it a copy of the whole body).
    piece = declared if declared else 64 * 1024
    parts: list[bytes] = []
    while count > 0:
        part = request.stream.read(min(count, piece))
        if not part:
            break
        parts.append(part)
        count -= len(part)
    return b"".join(parts)


def _check_media_type() -> None:
    """415 for a body declared as something other than JSON (CDS Hooks exchanges JSON only).

    application/json (any parameters) and the +json types (application/fhir+json) are
    read; a request without a Content-Type is read as JSON too (curl-style clients).
    """
    if request.headers.get("Content-Type") is None:
        return
    mimetype = request.mimetype
    if mimetype != "application/json" and not (mimetype.startswith("application/") and mimetype.endswith("+json")):
        raise UnsupportedMediaType(
            f"Content-Type {mimetype or request.headers['Content-Type']!r} is not JSON; send application/json."
        )


def json_body() -> Any:
    """The parsed JSON body (415 when declared as not JSON, 400 when absent or malformed); parsed once per request."""
    cached = g.get("json_body", _MISSING)
    if cached is not _MISSING:
        return cached
    _check_media_type()
    data = raw_body()
    if not data.strip():
        raise BadRequest("Request body is empty; a JSON object is required.")
    settings = current_settings()
    try:
        parsed = loads_within_depth(data, settings.max_json_depth)
    except orjson.JSONDecodeError as exc:
        raise BadRequest(f"Request body is not valid JSON: {exc}") from None
    except JSONTooDeep:
        raise too_deep(settings) from None
    check_limits(parsed, settings, depth_checked=True)  # entry counts, id lengths (security layer)
    g.json_body = parsed
    return parsed
