"""Progress of a long command on stderr: a line that updates in place on a terminal, nothing when piped.

`fixtures load` of many scenarios and `fixtures load --wait` take seconds to
minutes; on a terminal they say how far they are. Redirected to a file or a
pipe (CI logs, scripts) they stay quiet: the output is only what the command
reports when done.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    """`label done/total note`, rewritten in place; use as a context manager so the line is cleared at the end."""

    def __init__(self, label: str, total: int | None = None, stream: TextIO | None = None, interval: float = 0.1):
        self.label = label
        self.total = total
        self.stream = stream if stream is not None else sys.stderr
        isatty = getattr(self.stream, "isatty", None)
        self.enabled = bool(isatty and isatty())
        self.interval = interval
        self._last = float("-inf")
        self._shown = False

    def update(self, done: int | None = None, note: str = "", *, force: bool = False) -> None:
        """Show how far it is (at most every `interval` seconds unless `force`)."""
        if not self.enabled:
            return
        now = time.monotonic()
        if not force and now - self._last < self.interval:
            return
        self._last = now
        count = "" if done is None else f" {done}/{self.total}" if self.total is not None else f" {done}"
        text = f"{self.label}{count}{' ' + note if note else ''}"
        self.stream.write("\r" + text + "\033[K")  # \033[K: erase what a longer line left behind
        self.stream.flush()
        self._shown = True

    def clear(self) -> None:
        """Remove the line, so what the command prints next starts on a clean one."""
        if self._shown:
            self.stream.write("\r\033[K")
            self.stream.flush()
            self._shown = False

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.clear()
