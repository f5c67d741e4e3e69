"""gunicorn's logger, made safe for text a client controls (gunicorn's `logger_class` setting).

gunicorn writes client-chosen text: the path (percent-decoded, so `%0D%0A`
arrives as a real line break), a malformed request line or header line quoted
in a warning (`Invalid HTTP Header: 'Authorization Bearer <jwt>'`), and the
same quote in the 400 page it sends back. `RedactingLogger`:

- cleans every record of the error log and of the access log
  (`cdshooks.security.redact.clean`): bearer tokens and JWT-shaped strings
  redacted, control characters escaped, so one record is one line (a
  traceback keeps its own line breaks);
- writes no access line for a request the app logged itself (its WSGI environ
  marked `cdshooks.web.request_log.LOGGED`): that structured line already has
  the client, time, method, status, size and duration, and this line cost
  ~0.1 ms of CPU per request. Requests gunicorn refuses itself, or that never
  reached the app's request log, keep their access line;
- escapes each access-log field (backslash and control characters; gunicorn
  escapes `"` itself) and never logs credential headers, even if an operator
  adds `%({authorization}i)s` to the format;
- when gunicorn installs it, replaces gunicorn's error page for requests it
  refuses itself (HTML quoting the bad line) with an OperationOutcome like the
  service's own 4xx, its diagnostics cleaned the same way.
"""

from __future__ import annotations

import logging
from typing import Any

from gunicorn import util
from gunicorn.glogging import Logger

from cdshooks.security.redact import REDACTED, clean, escape_control
from cdshooks.web.request_log import LOGGED

# Request / response headers (and their CGI names) never logged, whatever the format.
_CREDENTIAL_ATOMS = frozenset(
    f"{{{name}}}{kind}"
    for header in ("authorization", "proxy-authorization", "cookie", "set-cookie")
    for name, kind in ((header, "i"), (header, "o"), ("http_" + header.replace("-", "_"), "e"))
)
_FORMATTER = logging.Formatter()
_MAX_DIAGNOSTICS = 300  # characters of gunicorn's message kept in an error response
# gunicorn's own refusals -> OperationOutcome issue code (http://hl7.org/fhir/issue-type).
_ISSUE_CODES = {400: "invalid", 403: "forbidden", 414: "too-long", 417: "not-supported", 431: "too-long",
                501: "not-supported"}


class _CleanRecord(logging.Filter):
    """Rewrites a record before any handler sees it: message and traceback cleaned."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - arguments that do not fit: never print them raw
            message = f"{record.msg} (arguments not logged)"
        record.msg, record.args = clean(str(message)), None
        if record.exc_info and not record.exc_text:
            record.exc_text = _FORMATTER.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = clean(record.exc_text, keep_newlines=True)
        if record.stack_info:
            record.stack_info = clean(record.stack_info, keep_newlines=True)
        return True


class RedactingLogger(Logger):
    """gunicorn's Logger with every record cleaned and a clean error response (see module doc)."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            if not any(isinstance(f, _CleanRecord) for f in log.filters):
                log.addFilter(_CleanRecord())

    def access(self, resp: Any, req: Any, environ: Any, request_time: Any) -> None:
        """gunicorn's access line, unless the app's request log already wrote this request's line."""
        # gunicorn passes the environ the app saw (sync and gthread workers); for a request it
        # refuses itself (handle_error) it builds a fresh one, never marked, so that line stays.
        if environ and environ.get(LOGGED):
            return
        super().access(resp, req, environ, request_time)

    def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> dict[str, Any]:
        atoms = super().atoms(resp, req, environ, request_time)
        for key, value in atoms.items():
            if key in _CREDENTIAL_ATOMS:
                atoms[key] = REDACTED
            elif isinstance(value, str):
                atoms[key] = escape_control(value.replace("\\", "\\\\"))
        return atoms

    @classmethod
    def install(cls) -> None:
        """Called by gunicorn when it loads the logger class (in the master, before workers fork)."""
        util.write_error = write_error


def write_error(sock: Any, status_int: int, reason: str, mesg: str) -> None:
    """gunicorn's error response for a request it refused itself, as an OperationOutcome."""
    import orjson

    from cdshooks.web.errors import operation_outcome

    diagnostics = clean(mesg or "")
    if len(diagnostics) > _MAX_DIAGNOSTICS:
        diagnostics = diagnostics[:_MAX_DIAGNOSTICS] + "..."
    server_error = status_int >= 500 and status_int != 501
    outcome = operation_outcome(
        diagnostics or reason,
        code=_ISSUE_CODES.get(status_int, "exception" if server_error else "invalid"),
        severity="fatal" if server_error else "error",
    )
    body = orjson.dumps(outcome)
    head = (
        f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    util.write_nonblock(sock, head.encode("latin-1") + body)
