"""HTTP error types and the FHIR OperationOutcome body every error response carries.

Views (and the input limits) raise an `ApiError` subclass; the one error map,
`register_error_handlers`, turns it, the domain exceptions below them (a request
that does not conform: 400, too many feedback entries: 413, required data
neither prefetched nor fetchable: 412), any werkzeug HTTP error and any
unexpected exception into an OperationOutcome response. A stack trace never
reaches the client: real bugs are logged server-side and answered with a bare 500.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import orjson
from flask import Flask, Response
from werkzeug.exceptions import HTTPException

from cdshooks import metrics
from cdshooks.data.gather import DataUnavailable
from cdshooks.feedback import TooManyEntries
from cdshooks.protocol import InvalidRequest
from cdshooks.store.model import StoreUnavailable
from cdshooks.web import request_log

log = logging.getLogger(__name__)

FHIR_JSON = "application/fhir+json"

# werkzeug status -> OperationOutcome issue code (http://hl7.org/fhir/issue-type).
_ISSUE_CODE_FOR_STATUS = {
    400: "invalid",
    401: "login",
    403: "forbidden",
    404: "not-found",
    405: "not-supported",
    412: "incomplete",
    413: "too-costly",
    415: "not-supported",
    429: "throttled",
    503: "transient",
}


def operation_outcome(
    diagnostics: str,
    *,
    code: str = "invalid",
    severity: str = "error",
    expression: str | None = None,
) -> dict[str, Any]:
    """A FHIR R4 OperationOutcome with one issue (no empty fields)."""
    issue: dict[str, Any] = {"severity": severity, "code": code, "diagnostics": diagnostics}
    if expression:
        issue["expression"] = [expression]
    return {"resourceType": "OperationOutcome", "issue": [issue]}


def outcome_response(status: int, outcome: dict[str, Any]) -> Response:
    """An OperationOutcome as a JSON response with the given status."""
    return Response(orjson.dumps(outcome), status=status, mimetype="application/json")


class ApiError(Exception):
    """An error the client caused (or a precondition it did not meet): a 4xx."""

    status = 400
    code = "invalid"

    def __init__(
        self, diagnostics: str, *, expression: str | None = None, more_issues: list[dict[str, Any]] | None = None
    ):
        super().__init__(diagnostics)
        self.diagnostics = diagnostics
        self.expression = expression
        self.more_issues = more_issues or []  # further OperationOutcome issues after the first

    def response(self) -> Response:
        body = operation_outcome(self.diagnostics, code=self.code, expression=self.expression)
        body["issue"].extend(self.more_issues)
        return outcome_response(self.status, body)


class BadRequest(ApiError):
    status, code = 400, "invalid"


class Unauthorized(ApiError):
    """Authentication failed; the body says no more than that (no oracle for attackers)."""

    status, code = 401, "login"

    def response(self) -> Response:
        resp = super().response()
        resp.headers["WWW-Authenticate"] = "Bearer"
        return resp


class Forbidden(ApiError):
    status, code = 403, "forbidden"


class NotFound(ApiError):
    status, code = 404, "not-found"


class MethodNotAllowed(ApiError):
    status, code = 405, "not-supported"


class PreconditionFailed(ApiError):
    """Required data was neither prefetched nor fetchable (CDS Hooks: 412)."""

    status, code = 412, "incomplete"

    @classmethod
    def for_prefetch(cls, required: Mapping[str, str], optional: Mapping[str, str]) -> PreconditionFailed:
        """One issue per prefetch key, required ones (errors) first, then optional ones (warnings)."""
        issues = [
            _prefetch_issue(key, why, "error", "Required") for key, why in sorted(required.items())
        ] + [_prefetch_issue(key, why, "warning", "Optional") for key, why in sorted(optional.items())]
        first, rest = issues[0], issues[1:]
        return cls(first["diagnostics"], expression=first["expression"][0], more_issues=rest)


def prefetch_diagnostics(key: str, why: str, kind: str = "Required") -> str:
    """The text of a 412 issue, e.g. "Required prefetch key 'patient' unavailable: not prefetched; ..."."""
    return f"{kind} prefetch key {key!r} unavailable: {why}."


def _prefetch_issue(key: str, why: str, severity: str, kind: str) -> dict[str, Any]:
    return {
        "severity": severity,
        "code": "incomplete",
        "diagnostics": prefetch_diagnostics(key, why, kind),
        "expression": [f"prefetch.{key}"],
    }


class PayloadTooLarge(ApiError):
    status, code = 413, "too-costly"


class UnsupportedMediaType(ApiError):
    status, code = 415, "not-supported"


class ServiceUnavailable(ApiError):
    """The store cannot be reached or did not answer in time; the client may retry."""

    status, code = 503, "transient"

    def response(self) -> Response:
        resp = super().response()
        resp.headers["Retry-After"] = "5"
        return resp


def _http_error(exc: HTTPException) -> Response:
    status = exc.code or 500
    if status >= 500:
        return _server_error(exc)
    body = operation_outcome(
        exc.description or exc.name, code=_ISSUE_CODE_FOR_STATUS.get(status, "processing")
    )
    resp = outcome_response(status, body)
    if status == 405 and hasattr(exc, "valid_methods") and exc.valid_methods:
        resp.headers["Allow"] = ", ".join(exc.valid_methods)
    return resp


def _server_error(exc: BaseException) -> Response:
    log.error("unhandled error while serving a request", exc_info=exc)
    body = operation_outcome("Internal error; the incident was logged.", code="exception", severity="fatal")
    return outcome_response(500, body)


def _invalid_request(exc: InvalidRequest) -> Response:
    return BadRequest(exc.diagnostics, expression=exc.expression).response()


def _too_many_entries(exc: TooManyEntries) -> Response:
    return PayloadTooLarge(exc.diagnostics, expression=exc.expression).response()


def _data_unavailable(exc: DataUnavailable) -> Response:
    # Key names are the service's own template keys; reasons are fixed phrases.
    request_log.note(missing_prefetch=exc.reasons, missing_optional_prefetch=exc.optional)
    metrics.count_fhir_fetches(exc)  # the failed fetches behind a 412 (a 200's are the pipeline's to count)
    return PreconditionFailed.for_prefetch(exc.reasons, exc.optional).response()


def _store_unavailable(exc: StoreUnavailable) -> Response:
    # The reason (a file name, a driver message) goes to the log, not to the client.
    log.error("store unavailable: %s", exc)
    return ServiceUnavailable("The feedback store is unavailable; nothing was stored. Retry later.").response()


def register_error_handlers(app: Flask) -> None:
    """The one error map: ApiError, domain exceptions, werkzeug HTTP errors and bugs to OperationOutcomes."""
    app.register_error_handler(ApiError, lambda exc: exc.response())
    # Flask picks the handler of the most specific class: TooManyEntries is an InvalidRequest.
    app.register_error_handler(InvalidRequest, _invalid_request)
    app.register_error_handler(TooManyEntries, _too_many_entries)
    app.register_error_handler(DataUnavailable, _data_unavailable)
    app.register_error_handler(StoreUnavailable, _store_unavailable)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _server_error)
