"""Lenient readers for FHIR datatypes in plain dicts (CodeableConcept, Quantity, Reference).

Real EHR payloads send single objects where arrays belong, strings where
numbers belong and local codes without displays; these helpers accept all of
that and return empty values rather than raising.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from cdshooks.data.record import Coding
from cdshooks.memo import BoundedMemo

# "<35", ">= 90", "1,200", "7.5 mg/L": comparator, number, optional unit.
# The blanks after a comparator belong to it: two adjacent `\s*` around an optional
# comparator split a run of blanks in every possible way, quadratic in its length
# (16 KB of spaces took 12 s). Each blank run is now read by one quantifier only.
_NUMERIC = re.compile(
    r"^\s*(?:(<=|>=|<|>|≤|≥)\s*)?(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+)\s*([A-Za-z%µμ/].*)?$"
)
_COMPARATORS = {"≤": "<=", "≥": ">="}


def as_list(value: Any) -> list[Any]:
    """A FHIR array that may have arrived as one object, or not at all."""
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [value]


def dicts(value: Any) -> list[dict[str, Any]]:
    return [v for v in as_list(value) if isinstance(v, dict)]


def text(value: Any) -> str | None:
    """A non-blank string, stripped; anything else is None."""
    if isinstance(value, str):
        return value.strip() or None
    return None


def codings(concepts: Any) -> tuple[Coding, ...]:
    """Every coding of one CodeableConcept or a list of them."""
    if concepts is None:  # most often: an element the resource does not have
        return ()
    out: list[Coding] = []
    # as_list/dicts written out: this runs for every code of every resource read.
    for concept in concepts if type(concepts) is list else (concepts,):
        if not isinstance(concept, dict):
            continue
        found = concept.get("coding")
        if found is None:
            continue
        for c in found if type(found) is list else (found,):
            if not isinstance(c, dict):
                continue
            raw = (c.get("system"), c.get("code"), c.get("display"))
            try:
                coding = _READ_CODINGS.entries[raw]
            except KeyError:
                coding = _READ_CODINGS.remember(raw, _read_coding(*raw))
            except TypeError:  # a system, code or display that is itself an object or array
                coding = _read_coding(*raw)
            if coding is not None:
                out.append(coding)
    return tuple(out)


def _read_coding(system: Any, code: Any, display: Any) -> Coding | None:
    """A Coding of the raw values; None when it has neither code nor display."""
    code, display = text(code), text(display)
    if code is None and display is None:
        return None
    return Coding(text(system), code, display)


# The same codes recur in every request (and Codings are immutable): read each once.
_READ_CODINGS: BoundedMemo[tuple[Any, Any, Any], Coding | None] = BoundedMemo(50_000)


def names(concepts: Any) -> list[str]:
    """Human-readable names of CodeableConcepts: `text` first, then coding displays."""
    out: list[str] = []
    for concept in dicts(concepts):
        for name in [text(concept.get("text"))] + [c.display for c in codings(concept)]:
            if name and name not in out:
                out.append(name)
    return out


def status_codes(concept: Any) -> set[str]:
    """Lower-cased codes (or text) of a status CodeableConcept such as Condition.clinicalStatus."""
    if isinstance(concept, str):  # STU3 sent a plain code
        return {concept.strip().lower()}
    out = {c.code.lower() for c in codings(concept) if c.code}
    for item in dicts(concept):
        if not out and text(item.get("text")):
            out.add(item["text"].strip().lower())
    return out


def reference_id(reference: Any, resource_type: str) -> str | None:
    """The id in `Type/id`, `https://.../Type/id` or `Type/id/_history/n`."""
    ref = text(reference.get("reference")) if isinstance(reference, dict) else text(reference)
    if ref is None:
        return None
    parts = ref.split("/_history/", 1)[0].rstrip("/").split("/")
    if len(parts) >= 2 and parts[-2] == resource_type:
        return parts[-1]
    return None


def number(value: Any) -> float | None:
    """A JSON number (not a boolean), or a plain numeric string."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    parsed = numeric_string(value)
    return parsed[1] if parsed and parsed[0] is None and parsed[2] is None else None


def numeric_string(value: Any) -> tuple[str | None, float, str | None] | None:
    """("<", 35.0, None) for "<35", (None, 1200.0, None) for "1,200", else None."""
    if not isinstance(value, str):
        return None
    m = _NUMERIC.match(value)
    if not m:
        return None
    comparator, digits, unit = m.groups()
    try:
        number_value = float(digits.replace(",", ""))
    except ValueError:
        return None
    return _COMPARATORS.get(comparator, comparator), number_value, text(unit)


def first(values: Iterable[Any]) -> Any:
    """The first value that is not None."""
    return next((v for v in values if v is not None), None)
