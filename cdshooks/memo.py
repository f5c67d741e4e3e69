"""Process-wide memos keyed by values read from requests, bounded in entries and in characters.

The same drug codes, lab codes and units recur in every request, so remembering
what they read to saves most of the reading. But the keys come from clients:
`functools.lru_cache(maxsize=n)` bounds how many keys it keeps, not how large
they are (a 1 MB "display" is as welcome as "Hemoglobin"). These memos also
bound the characters their keys hold, and start over when either bound is
reached: what recurs is back after a few calls. They hold codes, names and
units, never whole resources, and are never logged.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
F = TypeVar("F", bound=Callable[..., Any])

DEFAULT_MAX_CHARS = 2_000_000  # characters of strings in keys, per memo (a few MB at most)


def characters(value: Any) -> int:
    """Characters of the strings in a key (tuples and NamedTuples walked; other values count 1)."""
    if isinstance(value, str):
        return len(value)
    if isinstance(value, tuple):
        return sum(characters(v) for v in value) + 1
    return 1


class BoundedMemo(Generic[K, V]):
    """A dict to look up in directly (`memo.entries.get(key)`), filled through `remember`."""

    def __init__(self, max_entries: int, max_chars: int = DEFAULT_MAX_CHARS) -> None:
        self.max_entries = max_entries
        self.max_chars = max_chars
        self.entries: dict[K, V] = {}
        self._chars = 0

    def remember(self, key: K, value: V) -> V:
        """Store and return `value`; the memo starts over first if the key would exceed a bound."""
        size = characters(key)
        if size > self.max_chars:
            return value  # never kept: it alone would fill the memo
        if len(self.entries) >= self.max_entries or self._chars + size > self.max_chars:
            self.clear()
        self.entries[key] = value
        self._chars += size
        return value

    def clear(self) -> None:
        self.entries.clear()
        self._chars = 0

    def __len__(self) -> int:
        return len(self.entries)


def bounded_memo(max_entries: int, max_chars: int = DEFAULT_MAX_CHARS) -> Callable[[F], F]:
    """Memoize a function of hashable, request-derived arguments (positional only) in a BoundedMemo."""

    def decorate(fn: F) -> F:
        memo: BoundedMemo[tuple[Any, ...], Any] = BoundedMemo(max_entries, max_chars)
        missing = object()

        @functools.wraps(fn)
        def wrapper(*args: Any) -> Any:
            try:
                found = memo.entries.get(args, missing)
            except TypeError:  # an unhashable argument: compute, do not keep
                return fn(*args)
            if found is missing:
                found = memo.remember(args, fn(*args))
            return found

        wrapper.memo = memo  # type: ignore[attr-defined]  # for tests and cache_clear-style resets
        return wrapper  # type: ignore[return-value]

    return decorate
