"""Active Conditions that belong to a value set (infections, CV risk, VTE, latent TB).

Codes decide when a Condition carries ICD-10-CM or SNOMED CT codes: "History
of sepsis" coded Z86.19 is not sepsis, whatever its text says. Name patterns
are used only for Conditions with local codes or text alone.
"""

from __future__ import annotations

from dataclasses import dataclass

from cdshooks.data.parsers import ACTIVE_CLINICAL_STATUSES, DROPPED_VERIFICATION_STATUSES
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


def is_active(problem: Problem) -> bool:
    """Clinically active (or unstated) and not refuted: the builder's rule, kept for hand-built records."""
    if problem.clinical_status and problem.clinical_status not in ACTIVE_CLINICAL_STATUSES:
        return False
    return problem.verification_status not in DROPPED_VERIFICATION_STATUSES


def matching(record: PatientRecord, valueset: str) -> list[ProblemMatch]:
    """Active Conditions matching the value set, in record order."""
    return _matching([p for p in record.conditions if is_active(p)], valueset)


def ever(record: PatientRecord, valueset: str) -> list[ProblemMatch]:
    """Conditions matching the value set whatever their clinicalStatus (a history), unless refuted."""
    history = record.condition_history or record.conditions  # hand-built records may set only conditions
    return _matching([p for p in history if p.verification_status not in DROPPED_VERIFICATION_STATUSES],
                     valueset)


def _matching(problems: list[Problem], valueset: str) -> list[ProblemMatch]:
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
