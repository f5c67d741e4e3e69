"""The patient's Observations, grouped by code and read into LabResults only when asked for.

A year of labs is most of a realistic prefetch, and the rules read the newest
one or two results of a few tests. Reading every Observation into a LabResult
up front cost more than everything else in a hook call (about 10 us each), so
the builder only indexes them: per Observation, its code (as a group key), its
date and its position. `ObservationIndex.newest_first(groups)` then reads one
result at a time, newest first, and stops where the caller stops.

The index is also a `Sequence[LabResult]` (every readable Observation, newest
first, undated last in arrival order), for a reader that wants them all. It is
what every `PatientRecord.observations` holds: records are only ever built by
`data.builder` (tests too), so the rules have one way to read results.
"""

from __future__ import annotations

import logging
from collections.abc import Hashable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast, overload

from cdshooks.data.dates import parse_datetime
from cdshooks.data.elements import codings, text
from cdshooks.data.parsers import Unreadable, observation_counts, observation_time, read_lab
from cdshooks.data.record import Coding, LabResult

log = logging.getLogger(__name__)

_UNREAD = object()  # an entry not read yet (None: read, and not a usable LabResult)
_SLOW_KEY = object()  # tags a group key made by the exact (slow) reading of `code`


@dataclass(frozen=True)
class ObservationGroup:
    """Observations whose `code` reads the same: the inputs of a lab-test lookup."""

    codings: tuple[Coding, ...]
    text: str | None  # code.text


def group_key(code: Any) -> Hashable:
    """A key for an Observation.code: two codes with equal keys read to the same codings and text.

    The usual shape (an object with a list of coding objects) is keyed by its raw
    values, without reading them: equal raw values read the same. One coding is
    keyed flat, several as tuples: the two never compare equal (a JSON value is
    never a tuple). Anything else is keyed by its reading, tagged so it never
    equals a raw key. A raw key may hold unhashable values (a code sent as an
    object): the caller falls back to `slow_group_key` when hashing fails.
    """
    if type(code) is dict:
        coding = code.get("coding", ())
        if type(coding) is list or type(coding) is tuple:
            try:
                if len(coding) == 1:  # nearly always: the key without building a list
                    c = coding[0]
                    return (code.get("text"), c.get("system"), c.get("code"), c.get("display"))
                return (code.get("text"), *[(c.get("system"), c.get("code"), c.get("display")) for c in coding])
            except AttributeError:  # a coding that is not an object
                pass
    return slow_group_key(code)


def slow_group_key(code: Any) -> Hashable:
    """The key of any `code`, by its reading (tagged: never equal to a raw key)."""
    group = group_of(code)
    return (_SLOW_KEY, group.codings, group.text)


def group_of(code: Any) -> ObservationGroup:
    """How an Observation.code reads: its codings and text."""
    return ObservationGroup(codings(code), text(code.get("text")) if isinstance(code, dict) else None)


class ObservationIndex(Sequence[LabResult]):
    """Observations of one patient by group, each read into a LabResult at most once."""

    def __init__(self) -> None:
        self._resources: list[dict[str, Any]] = []
        self._dates: list[datetime | None] = []
        self._read: list[Any] = []
        self._keys: list[Hashable] = []  # each one's group key
        self._members: dict[Hashable, list[int]] = {}  # group key -> positions, in arrival order
        self._groups: dict[Hashable, ObservationGroup] = {}
        self._all: tuple[LabResult, ...] | None = None
        self.unreadable: list[tuple[str | None, str]] = []  # (id, reason) found while reading

    def add(self, resource: dict[str, Any]) -> None:
        """Index one Observation (left out if its status does not count); Unreadable if it has no code."""
        # The usual final result skips the lenient status reading (a call per Observation matters here).
        if resource.get("status") != "final" and not observation_counts(resource):
            return
        code = resource.get("code")
        key = group_key(code)
        try:
            members = self._members.get(key)
        except TypeError:  # a raw value that is itself an object or array: key it by its reading
            key = slow_group_key(code)
            members = self._members.get(key)
        if members is None:
            group = group_of(code)
            if not group.codings and not group.text:
                raise Unreadable("Observation has no code")
            self._groups[key] = group
            members = self._members[key] = []
        members.append(len(self._resources))
        self._resources.append(resource)
        self._keys.append(key)
        # effectiveDateTime is how nearly every lab result is dated: read it first, the rest if it fails.
        effective = parse_datetime(resource.get("effectiveDateTime"))
        self._dates.append(effective if effective is not None else observation_time(resource))
        self._read.append(_UNREAD)

    def groups(self) -> dict[Hashable, ObservationGroup]:
        """Each distinct code among the Observations, by group key."""
        return self._groups

    def newest_first(self, keys: Sequence[Hashable]) -> Iterator[LabResult]:
        """The dated LabResults of these groups, newest first (ties: arrival order), read lazily."""
        positions = [i for key in keys for i in self._members.get(key, ()) if self._dates[i] is not None]
        if len(keys) > 1:
            positions.sort()  # arrival order, so that equal dates keep it below
        dates = self._dates
        # stable: ties keep arrival order; positions holds only dated Observations, so no None here
        positions.sort(key=lambda i: cast(datetime, dates[i]), reverse=True)
        for i in positions:
            lab = self._lab(i)
            if lab is not None:
                yield lab

    def _lab(self, i: int) -> LabResult | None:
        """Entry i as a LabResult, read on first use (None if it cannot be read)."""
        lab = self._read[i]
        if lab is _UNREAD:
            resource = self._resources[i]
            group = self._groups[self._keys[i]]
            try:
                # Code and date were read when indexing: not again.
                lab = read_lab(resource, group.codings, group.text, self._dates[i])
            except Exception as exc:  # noqa: BLE001 - lenient by contract: one odd result never fails the call
                reason = str(exc) if isinstance(exc, Unreadable) else f"unreadable ({type(exc).__name__})"
                log.info("skipped unreadable Observation: %s", reason)
                self.unreadable.append((text(resource.get("id")), reason))
                lab = None
            self._read[i] = lab
        return lab

    def _everything(self) -> tuple[LabResult, ...]:
        if self._all is None:
            dated = list(self.newest_first(list(self._members)))
            undated = (self._lab(i) for i, d in enumerate(self._dates) if d is None)
            self._all = tuple(dated + [lab for lab in undated if lab is not None])
        return self._all

    @overload
    def __getitem__(self, index: int) -> LabResult: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[LabResult]: ...

    def __getitem__(self, index):
        return self._everything()[index]

    def __len__(self) -> int:
        return len(self._everything())

    def __iter__(self) -> Iterator[LabResult]:
        return iter(self._everything())

    def __eq__(self, other: object) -> bool:
        """Equal to any sequence of the same LabResults (another index included)."""
        if isinstance(other, Sequence) and not isinstance(other, (str, bytes)):
            return self._everything() == tuple(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # equal to tuples, so not hashable like them

    def __repr__(self) -> str:
        return f"ObservationIndex({len(self._resources)} observations in {len(self._groups)} groups)"
