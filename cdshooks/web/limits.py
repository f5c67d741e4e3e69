"""Input limits on a parsed hook or feedback request (the body size is the web layer's).

`check_limits(body, settings)` raises `InputLimitExceeded`, an `ApiError`: the
error map in `web.errors` answers it as a 400 with an OperationOutcome. It checks
sizes only, never types: a value of the wrong type is left for request validation.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import orjson

from cdshooks.config import Settings
from cdshooks.web.errors import ApiError

MAX_COMMENT_LENGTH = 4000  # feedback overrideReason.userComment, stored as given


class InputLimitExceeded(ApiError):
    """The request is well-formed JSON but larger than the service accepts (400)."""

    status, code = 400, "too-costly"


def nesting_depth_exceeds(value: Any, limit: int) -> bool:
    """Whether JSON nests deeper than `limit` containers (iterative: no recursion limit)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        children: Iterable[Any]
        if isinstance(node, dict):
            children = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


# Byte tables for `text_nesting_depth_exceeds`: brackets become "(" / ")", quotes
# stay (to find strings), every other byte is deleted.
_BRACKETS = bytes.maketrans(b"[{]}", b"(())")
_NOT_STRUCTURE = bytes(b for b in range(256) if b not in b'"[]{}')


def text_nesting_depth_exceeds(data: bytes, limit: int) -> bool:
    """`nesting_depth_exceeds` on the JSON text a value was parsed from (valid JSON only).

    A few whole-buffer byte operations instead of a Python walk over every
    container: about 20 times faster on a hook request.
    """
    if b"\\" in data:  # escaped backslashes and quotes are string content, not delimiters
        data = data.replace(b"\\\\", b"").replace(b'\\"', b"")
    # Quotes now alternate open/close. Strings without brackets collapse to '""'
    # and vanish; if a quote is left, some string holds a bracket: drop string contents.
    outside = data.translate(_BRACKETS, _NOT_STRUCTURE).replace(b'""', b"")
    if b'"' in outside:
        outside = b"".join(outside.split(b'"')[::2])
    # Each pass removes the innermost level of every container, so the text
    # empties after exactly `depth` passes.
    for _ in range(limit):
        if not outside:
            return False
        outside = outside.replace(b"()", b"")
    return bool(outside)


def _orjson_depth_limit() -> int | None:
    """The nesting depth orjson.loads accepts (1024 since 3.9.15); None if it is not what we expect."""
    try:
        orjson.loads(b"[" * 1024 + b"]" * 1024)
    except orjson.JSONDecodeError:
        return None
    try:
        orjson.loads(b"[" * 1025 + b"]" * 1025)
    except orjson.JSONDecodeError:
        return 1024
    return None


_ORJSON_DEPTH = _orjson_depth_limit()
# Body size from which wrapping (fixed cost) beats the text pass (cost per byte); measured.
WRAP_FROM_BYTES = 48 * 1024


class JSONTooDeep(ValueError):
    """Valid JSON nesting deeper than the limit."""


def loads_within_depth(data: bytes, limit: int) -> Any:
    """orjson.loads(data), raising JSONTooDeep when it nests deeper than `limit` containers.

    orjson itself refuses documents deeper than 1024 levels. Parsing a large body
    inside 1024 - limit one-element arrays turns that refusal into our limit: a
    fixed ~0.1 ms instead of a second pass over the whole text (about a fifth of
    the parse time, ~1 ms for a 400 KB body). Small bodies get the text pass,
    which is cheaper for them. Malformed JSON raises orjson.JSONDecodeError with
    positions in `data` itself, as a plain orjson.loads would.
    """
    padding = _ORJSON_DEPTH - limit if _ORJSON_DEPTH is not None else -1
    if padding >= 0 and len(data) >= WRAP_FROM_BYTES:
        try:
            value = orjson.loads(b"".join((b"[" * padding, data, b"]" * padding)))  # one copy of data, not two
        except orjson.JSONDecodeError:
            orjson.loads(data)  # malformed: raises with positions in `data`; if not, it is only too deep
            raise JSONTooDeep(limit) from None
        # Each wrapper must hold exactly one value, or `data` was not one JSON text
        # ("", "1,2", "1],[2" parse once wrapped): then orjson says what is wrong with it.
        try:
            for _ in range(padding):
                (value,) = value  # unpacking checks "exactly one" in one step
        except ValueError:
            pass
        else:
            return value
    # An orjson that limits depth otherwise, a limit above its own, or not one JSON text.
    value = orjson.loads(data)
    if text_nesting_depth_exceeds(data, limit):
        raise JSONTooDeep(limit)
    return value


def _get(value: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def _entries(bundle: Any) -> list[Any]:
    entries = bundle.get("entry") if isinstance(bundle, dict) else None
    return entries if isinstance(entries, list) else []


def prefetch_entry_count(prefetch: Any) -> int:
    """Resources in the prefetch: each Bundle counts its entries, any other value counts one."""
    if not isinstance(prefetch, dict):
        return 0
    return sum(len(_entries(v)) if _get(v, "resourceType") == "Bundle" else 1 for v in prefetch.values())


def _echoed_strings(body: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    """(FHIRPath-like expression, value) of strings the service echoes back or stores."""
    yield "hookInstance", body.get("hookInstance")
    context = body.get("context")
    for name in ("userId", "patientId", "encounterId"):
        yield f"context.{name}", _get(context, name)
    for i, entry in enumerate(_entries(_get(context, "draftOrders"))):
        yield f"context.draftOrders.entry[{i}].resource.id", _get(entry, "resource", "id")
    feedback = body.get("feedback")
    for i, item in enumerate(feedback if isinstance(feedback, list) else []):
        yield f"feedback[{i}].card", _get(item, "card")
        accepted = _get(item, "acceptedSuggestions")
        for j, suggestion in enumerate(accepted if isinstance(accepted, list) else []):
            yield f"feedback[{i}].acceptedSuggestions[{j}].id", _get(suggestion, "id")


def too_deep(settings: Settings) -> InputLimitExceeded:
    return InputLimitExceeded(f"JSON nests deeper than {settings.max_json_depth} levels")


def check_limits(body: Any, settings: Settings, *, depth_checked: bool = False) -> None:
    """Reject a parsed request that exceeds the configured limits (InputLimitExceeded).

    `depth_checked`: it was parsed by `loads_within_depth`, so depth needs no second look.
    """
    if not depth_checked and nesting_depth_exceeds(body, settings.max_json_depth):
        raise too_deep(settings)
    if not isinstance(body, dict):
        return
    if prefetch_entry_count(body.get("prefetch")) > settings.max_prefetch_entries:
        raise InputLimitExceeded(
            f"prefetch holds more than {settings.max_prefetch_entries} resources", expression="prefetch"
        )
    draft_orders = _entries(_get(body, "context", "draftOrders"))
    if len(draft_orders) > settings.max_draft_orders:
        raise InputLimitExceeded(
            f"more than {settings.max_draft_orders} draft orders", expression="context.draftOrders"
        )
    for expression, value in _echoed_strings(body):
        if isinstance(value, str) and len(value) > settings.max_id_length:
            raise InputLimitExceeded(f"longer than {settings.max_id_length} characters", expression=expression)
    feedback = body.get("feedback")
    for i, item in enumerate(feedback if isinstance(feedback, list) else []):
        comment = _get(item, "overrideReason", "userComment")
        if isinstance(comment, str) and len(comment) > MAX_COMMENT_LENGTH:
            raise InputLimitExceeded(
                f"longer than {MAX_COMMENT_LENGTH} characters",
                expression=f"feedback[{i}].overrideReason.userComment",
            )
