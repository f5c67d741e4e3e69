"""Hepatic impairment for tofacitinib dosing: Child-Pugh class from Conditions.

clinical-rules.md: moderate = Child-Pugh B, or cirrhosis without a class;
severe = Child-Pugh C or hepatic failure. A class stated in a Condition's text
("cirrhosis, Child-Pugh C") wins over the cirrhosis code; a stated class A
means mild (no dose change). Refuted conditions never count (the builder drops them).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from cdshooks.data.record import PatientRecord, Problem
from cdshooks.terminology import lookup

_SEVERITY = {"A": 0, "B": 1, "C": 2}


@dataclass(frozen=True)
class HepaticImpairment:
    """"B" (moderate) or "C" (severe), with the conditions it was read from."""

    child_pugh: str
    conditions: tuple[Problem, ...]
    basis: tuple[str, ...]  # "Cirrhosis (K74.60): no Child-Pugh class stated, counted as B"

    @property
    def severe(self) -> bool:
        return self.child_pugh == "C"


@cache
def _member_sets() -> tuple[tuple[lookup.Member, lookup.ValueSet], ...]:
    """One single-member value set per member, to find every member a condition matches."""
    vs = lookup.load("hepatic-impairment")
    return tuple((m, lookup.ValueSet(vs.name, vs.title, vs.source, [m])) for m in vs.members)


def _matches(p: Problem) -> list[lookup.Member]:
    return [m for m, single in _member_sets() if single.match(p.codings, (p.text,)) is not None]


def _code(p: Problem) -> str:
    codes = [c.code for c in p.codings if c.code]
    return f" ({', '.join(codes)})" if codes else ""


def assess(record: PatientRecord) -> HepaticImpairment | None:
    """Moderate or severe hepatic impairment on record, else None (mild or none)."""
    worst: str | None = None
    used: list[Problem] = []
    basis: list[str] = []
    for p in record.conditions:
        members = _matches(p)
        if not members:
            continue
        stated = {m.properties["child_pugh"] for m in members if m.properties.get("child_pugh")}
        name = p.text or members[0].name
        if stated:
            cls = max(stated, key=_SEVERITY.__getitem__)
            basis.append(f"{name}{_code(p)}: Child-Pugh {cls}")
        else:  # cirrhosis without a class counts as moderate
            cls = "B"
            basis.append(f"{name}{_code(p)}: no Child-Pugh class stated, counted as B (moderate)")
        if _SEVERITY[cls] >= 1:
            used.append(p)
            if worst is None or _SEVERITY[cls] > _SEVERITY[worst]:
                worst = cls
    if worst is None:
        return None
    return HepaticImpairment(worst, tuple(used), tuple(basis))
