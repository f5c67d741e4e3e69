"""Log hygiene for text a client controls: tokens redacted, control characters escaped.

Used for every line gunicorn writes (`cdshooks/gunicorn_log.py`) and for the
identifiers in the service's own request log. Two rules:

- **Tokens never reach a log.** `Bearer <anything>` and JWT-shaped strings
  become `[redacted]` wherever they appear (a malformed header line gunicorn
  quotes, a path, a request line). JWT-shaped: a run of base64url characters
  and dots holding a base64url JSON header (`{"` encodes as `eyJ`) followed by
  another segment, or three dot-joined segments of 16 or more characters (the
  length of any real signature and header).
- **One record, one line.** CR, LF, the other C0 and C1 control characters,
  DEL and the Unicode line and paragraph separators become `\\xNN` / `\\uNNNN`,
  so a client cannot start a forged log line (`GET /healthz%0D%0A127.0.0.1 ...`:
  gunicorn percent-decodes the path before it logs it).

Both passes are linear in the input: candidate words are maximal runs (no
backtracking), separators are matched possessively, escaping is a table lookup.
"""

from __future__ import annotations

import re

REDACTED = "[redacted]"

_BEARER = re.compile(r"(?i)(?<![A-Za-z0-9])(bearer)(?:%20|[ \t+])[ \t+]*+[^\s'\",;+][^\s'\",;]*+")
_WORD = re.compile(r"[A-Za-z0-9_.\-]{16,}+")
_SEGMENT_MIN = 16

_CONTROL_CODES = [*range(0x00, 0x20), *range(0x7F, 0xA0), 0x2028, 0x2029]
_ESCAPES = {c: (f"\\x{c:02x}" if c < 0x100 else f"\\u{c:04x}") for c in _CONTROL_CODES}
_ESCAPES_BUT_NEWLINE = {c: e for c, e in _ESCAPES.items() if c != 0x0A}


def _is_jwt_shaped(word: str) -> bool:
    parts = word.split(".")
    if len(parts) < 2:
        return False
    if any(part.startswith("eyJ") for part in parts[:-1]):
        return True
    run = 0
    for part in parts:
        run = run + 1 if len(part) >= _SEGMENT_MIN else 0
        if run == 3:
            return True
    return False


def _word(match: re.Match[str]) -> str:
    return REDACTED if _is_jwt_shaped(match.group()) else match.group()


def redact(text: str) -> str:
    """The text with bearer tokens and JWT-shaped strings replaced by `[redacted]`."""
    if "bearer" in text.lower():
        text = _BEARER.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    return _WORD.sub(_word, text) if "." in text else text


def has_token(text: str) -> bool:
    """Whether the text holds something `redact` would remove."""
    return redact(text) != text


def escape_control(text: str, *, keep_newlines: bool = False) -> str:
    """Control characters as `\\xNN` (newlines kept when asked: a traceback's own lines)."""
    return text.translate(_ESCAPES_BUT_NEWLINE if keep_newlines else _ESCAPES)


def clean(text: str, *, keep_newlines: bool = False) -> str:
    """Fit for a log line: control characters escaped, tokens redacted."""
    return redact(escape_control(text, keep_newlines=keep_newlines))
