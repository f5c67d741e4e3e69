"""Active Conditions that belong to a value set (infections, CV risk, VTE, latent TB).

The record holds only Conditions that may apply: the builder drops refuted and
entered-in-error ones, and keeps the inactive ones in `condition_history` only.

Codes decide when a Condition carries ICD-10-CM or SNOMED CT codes: "History
of sepsis" coded Z86.19 is not sepsis, whatever its text says. Name patterns
are used only for Conditions with local codes or text alone.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from cdshooks.data.record import PatientRecord, Problem
from cdshooks.terminology import lookup

_STANDARD_SYSTEMS = frozenset({lookup.ICD10CM, lookup.SNOMED})


@dataclass(frozen=True)
class ProblemMatch:
    problem: Problem
    concept: str  # the value set member's name ("sepsis")

    @property
    def label(self) -> str:
        """What the card shows: the Condition's own text and its code."""
        coded = next((c for c in self.problem.codings if c.code), None)
        name = self.problem.text or (coded.display if coded and coded.display else self.concept)
        return f"{name} ({coded.code})" if coded else name


def matching(record: PatientRecord, valueset: str) -> list[ProblemMatch]:
    """Active Conditions matching the value set, in record order."""
    return _matching(record.conditions, valueset)


def ever(record: PatientRecord, valueset: str) -> list[ProblemMatch]:
    """Conditions matching the value set whatever their clinicalStatus (a history), unless refuted."""
    return _matching(record.condition_history, valueset)


def _matching(problems: Iterable[Problem], valueset: str) -> list[ProblemMatch]:
    vs = lookup.load(valueset)
    out = []
    for p in problems:
        coded = any(lookup.canonical_system(c.system) in _STANDARD_SYSTEMS and c.code for c in p.codings)
        if coded:
            member = next((m for m in map(vs.match_coding, p.codings) if m is not None), None)
        else:
            member = vs.match((), [p.text, *(c.display for c in p.codings)])
        if member is not None:
            out.append(ProblemMatch(p, member.name))
    return out
