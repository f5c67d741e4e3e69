"""Stable card identity: the same advice for the same patient and facts has the same uuid on every call.

A card's uuid is a name-based UUID (uuid5) of the patient id, the topic, the
template variant, the finding's indicator and order, and the finding's facts
(the values, dates, codes and resource ids the rule used), never the service or
the hook: the same advice on order-select, order-sign and patient-view is one
card, so a client that hides a dismissed card keeps it hidden and feedback
traces back to its topic. New facts (a newer result, a different dose) give a
new uuid. Facts whose name starts with "_" are the rules' working values, not
part of the advice; a card file may list facts that change with the clock
alone (`identity_ignores`, e.g. days on therapy), which would otherwise give
the same advice a new uuid every day. A finding shown inside another card (a
standing risk as a line of the safety summary) counts with its own card's
`identity_ignores`.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable, Collection, Mapping
from datetime import date, datetime
from enum import Enum
from functools import cache
from typing import Any

import orjson

from cdshooks.clinical.findings import Finding

# Fixed for the life of the service: changing it changes every card's uuid (and ends every suppression).
NAMESPACE = uuid.UUID("6f1d3c1e-5b0a-4c55-9a43-2f0d8e7b9c21")

IgnoresOf = Callable[[str], Collection[str]]  # topic -> the facts its card file leaves out of identity


def _none(topic: str) -> Collection[str]:
    return ()


def canonical(value: Any, ignores_of: IgnoresOf = _none) -> Any:
    """A JSON value that is equal for equal facts (no object ids, sets sorted, dates as text)."""
    kind: type = type(value)
    if kind in _AS_IS:
        return value
    if kind is tuple or kind is list:
        return [canonical(v, ignores_of) for v in value]
    if kind is dict:
        return {str(k): canonical(v, ignores_of) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if kind is Finding:  # a card's line about another finding: its identity, not its clock
        return ["Finding", _key(value, ignores_of(value.topic), ignores_of)]
    names = _compared_fields(kind)
    if names is not None:  # a dataclass: Phrase, Bullets, Series, Table, a value of the record
        return [kind.__name__, {n: canonical(getattr(value, n), ignores_of) for n in names}]
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Enum):
        return canonical(value.value, ignores_of)
    if isinstance(value, (str, int, float, bool)):  # subclasses of the plain types
        return value
    if isinstance(value, Mapping):
        return {str(k): canonical(v, ignores_of) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, tuple) and hasattr(value, "_asdict"):  # a NamedTuple
        return [type(value).__name__, canonical(value._asdict(), ignores_of)]
    if isinstance(value, (set, frozenset)):
        return sorted((canonical(v, ignores_of) for v in value), key=orjson.dumps)
    if isinstance(value, (list, tuple)):
        return [canonical(v, ignores_of) for v in value]
    return repr(value)


_AS_IS = frozenset({str, int, float, bool, type(None)})


@cache
def _compared_fields(kind: type) -> tuple[str, ...] | None:
    """The fields of a dataclass that take part in equality, in name order; None for other types."""
    if not dataclasses.is_dataclass(kind):
        return None
    return tuple(sorted(f.name for f in dataclasses.fields(kind) if f.compare))


def _key(finding: Finding, ignored: Collection[str], ignores_of: IgnoresOf) -> list[Any]:
    facts = {k: v for k, v in finding.facts.items() if not k.startswith("_") and k not in ignored}
    return [finding.topic, finding.variant, finding.indicator, finding.order_id, canonical(facts, ignores_of)]


def card_uuid(patient_id: str, finding: Finding, ignored: Collection[str] = (), ignores_of: IgnoresOf = _none) -> str:
    """The uuid of the card a finding becomes, for this patient (`ignores_of`: for the findings inside it)."""
    name = orjson.dumps([patient_id, *_key(finding, ignored, ignores_of)], option=orjson.OPT_SORT_KEYS)
    return str(uuid.uuid5(NAMESPACE, name.decode()))


def suggestion_uuid(card: str, key: str, index: int) -> str:
    """A suggestion's uuid: its card's, its template key and its place (acceptedSuggestions trace back)."""
    return str(uuid.uuid5(NAMESPACE, f"{card}/{key}/{index}"))
