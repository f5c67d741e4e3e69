"""Value set lookup: load `valuesets/<name>.json`, match codings first, then names.

File format (one value set per file, reviewed by a terminologist):

    {
      "name": "strong-cyp3a4-inhibitors",
      "title": "Strong CYP3A4 inhibitors",
      "source": "where the codes come from",
      "members": [
        {"name": "ketoconazole",
         "codes": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                    "code": "6135", "confidence": "M"}],
         "patterns": ["ketoconazole", "nizoral"],
         "properties": {}}          # optional, free-form (e.g. strength_mg)
      ]
    }

A code entry with `"prefix": true` matches every code that starts with it
(ICD-10-CM hierarchies: "B37.8" matches B37.81, B37.89). Patterns are
case-insensitive whole words (regular expressions allowed), tried on the first
`MAX_TEXT_CHARS` characters of a name.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from cdshooks.memo import BoundedMemo
from cdshooks.terminology.coding import Coding

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
CVX = "http://hl7.org/fhir/sid/cvx"
UCUM = "http://unitsofmeasure.org"

# Names are read up to here. Every position of a text is a candidate start for each of
# a value set's patterns (up to hundreds of alternatives): 100 KB of blanks in one name
# took up to half a second per value set, 4 s over all of them. No drug, condition or
# test name comes near 1,000 characters.
MAX_TEXT_CHARS = 1000

# Spellings real EHRs use for the same code system.
_SYSTEM_ALIASES = {
    "urn:oid:2.16.840.1.113883.6.88": RXNORM,
    "http://www.nlm.nih.gov/research/umls/rxnorm/": RXNORM,
    "urn:oid:2.16.840.1.113883.6.1": LOINC,
    "urn:oid:2.16.840.1.113883.6.96": SNOMED,
    "http://hl7.org/fhir/sid/icd-10": ICD10CM,
    "urn:oid:2.16.840.1.113883.6.90": ICD10CM,
    "http://hl7.org/fhir/sid/icd-10-cm/": ICD10CM,
    "urn:oid:2.16.840.1.113883.12.292": CVX,
    "http://hl7.org/fhir/sid/cvx/": CVX,
}


def canonical_system(system: str | None) -> str | None:
    """The canonical URI for a code system, tolerating common aliases."""
    if system is None:
        return None
    s = system.strip()
    return _SYSTEM_ALIASES.get(s, s)


def _canonical_code(system: str | None, code: str) -> str:
    code = code.strip()
    if system in (ICD10CM, CVX):
        code = code.upper()
    if system == CVX:
        code = code.lstrip("0") or "0"  # CVX "03" and "3" are the same vaccine
    return code


@dataclass(frozen=True)
class Member:
    """One concept of a value set: a drug ingredient, a disease group, a vaccine."""

    name: str
    codes: tuple[tuple[str, str, bool], ...]  # (system, code, is_prefix)
    patterns: tuple[str, ...]
    properties: Mapping[str, Any] = field(default_factory=dict, compare=False)


class ValueSet:
    """A named set of Members; matches codings by code, then text by name patterns."""

    def __init__(self, name: str, title: str, source: str, members: Iterable[Member],
                 text_exclusions: Iterable[str] = ()):
        self.name = name
        self.title = title
        self.source = source
        self.members = tuple(members)
        self._exact: dict[tuple[str, str], Member] = {}
        self._memo: BoundedMemo[tuple[tuple[Coding, ...], tuple[str | None, ...]], Member | None] = BoundedMemo(20_000)
        self._prefix: list[tuple[str, str, Member]] = []
        for m in self.members:
            for system, code, is_prefix in m.codes:
                if is_prefix:
                    self._prefix.append((system, code, m))
                else:
                    self._exact.setdefault((system, code), m)
        self._pattern_owner: dict[str, Member] = {}
        alternatives = []
        for i, m in enumerate(self.members):
            if m.patterns:
                group = f"m{i}"
                self._pattern_owner[group] = m
                alternatives.append(f"(?P<{group}>{'|'.join(m.patterns)})")
        self._regex = (
            re.compile(r"(?<![\w])(?:" + "|".join(alternatives) + r")(?![\w])", re.IGNORECASE)
            if alternatives
            else None
        )
        # Text that names the concept without asserting it ("history of zoster", "PJP prophylaxis"):
        # a text with any of these never matches by name (codes are not affected).
        exclusions = tuple(text_exclusions)
        self._excluded = (
            re.compile(r"(?<![\w])(?:" + "|".join(exclusions) + r")(?![\w])", re.IGNORECASE) if exclusions else None
        )

    def match_coding(self, coding: Coding) -> Member | None:
        if not coding.code:
            return None
        system = canonical_system(coding.system)
        if system is None:
            return None
        code = _canonical_code(system, coding.code)
        hit = self._exact.get((system, code))
        if hit is not None:
            return hit
        for psystem, prefix, member in self._prefix:
            if psystem == system and code.startswith(prefix):
                return member
        return None

    def match_text(self, text: str | None) -> Member | None:
        if not text or self._regex is None:
            return None
        m = self._regex.search(_head(text))
        if m is None:
            return None
        if self._excluded is not None and self._excluded.search(text):
            return None
        return self._pattern_owner[m.lastgroup] if m.lastgroup else None

    def match(self, codings: Iterable[Coding], texts: Iterable[str | None] = ()) -> Member | None:
        """Code first (any coding), then names (any text); remembered, as the same drugs and tests recur."""
        key = (tuple(codings), tuple(texts))
        try:
            return self._memo.entries[key]
        except KeyError:
            return self._memo.remember(key, self._match(*key))
        except TypeError:  # an unhashable argument (not from the record builder): no memo
            return self._match(*key)

    def _match(self, codings: tuple[Coding, ...], texts: tuple[str | None, ...]) -> Member | None:
        for c in codings:
            hit = self.match_coding(c)
            if hit is not None:
                return hit
        for t in texts:
            hit = self.match_text(t)
            if hit is not None:
                return hit
        for c in codings:  # a display is text too, when codes are local
            hit = self.match_text(c.display)
            if hit is not None:
                return hit
        return None

    def __contains__(self, coding: Coding) -> bool:
        return self.match_coding(coding) is not None

    def __repr__(self) -> str:
        return f"ValueSet({self.name!r}, {len(self.members)} members)"


def _head(text: str) -> str:
    """The first MAX_TEXT_CHARS characters, without a word cut in two (its head could match)."""
    if len(text) <= MAX_TEXT_CHARS:
        return text
    head = text[:MAX_TEXT_CHARS]
    if _is_word_char(text[MAX_TEXT_CHARS]):
        end = len(head)
        while end and _is_word_char(head[end - 1]):
            end -= 1
        head = head[:end]
    return head


def _is_word_char(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def _parse(data: dict[str, Any]) -> ValueSet:
    members = []
    for m in data["members"]:
        codes = tuple(
            (
                canonical_system(c["system"]) or "",
                _canonical_code(canonical_system(c["system"]), c["code"]),
                bool(c.get("prefix", False)),
            )
            for c in m.get("codes", ())
        )
        members.append(
            Member(
                name=m["name"],
                codes=codes,
                patterns=tuple(m.get("patterns", ())),
                properties=m.get("properties", {}),
            )
        )
    return ValueSet(data["name"], data.get("title", data["name"]), data.get("source", ""), members,
                    text_exclusions=data.get("text_exclusions", ()))


@cache
def load(name: str) -> ValueSet:
    """The value set `name` from the package data (cached for the process)."""
    text = resources.files("cdshooks.terminology").joinpath("valuesets", f"{name}.json").read_text(
        encoding="utf-8"
    )
    vs = _parse(json.loads(text))
    if vs.name != name:
        raise ValueError(f"value set file {name}.json declares name {vs.name!r}")
    return vs


def available() -> list[str]:
    """Names of every value set shipped with the package."""
    folder = resources.files("cdshooks.terminology").joinpath("valuesets")
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".json"))
