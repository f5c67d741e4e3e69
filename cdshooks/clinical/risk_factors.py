"""Risk factors named on the boxed-warning card: CV risk, thrombosis, smoking.

clinical-rules.md, "Smoking (CV risk)": the newest smoking-status Observation
(72166-2) with a smoker / ex-smoker SNOMED answer, or Conditions F17.2x /
Z87.891. Hypertension, diabetes, hyperlipidaemia, CAD and stroke come from
Conditions only, never from lab values.
"""

from __future__ import annotations

import re

from cdshooks.clinical import labs
from cdshooks.clinical.findings import Phrase
from cdshooks.clinical.problem_list import matching
from cdshooks.data.record import LabResult, PatientRecord
from cdshooks.terminology import lookup

# "Never smoker", "Non-smoker": the word "smoker" in a negative answer.
_NOT_A_SMOKER = re.compile(r"\b(never|non|not|no)\b[\s-]*(a\s+)?smok", re.IGNORECASE)


def _smoking_member(lab: LabResult) -> lookup.Member | None:
    """SNOMED-coded answers are decided by the code alone (the listed codes); text only for local codes."""
    vs = lookup.load("smoking-codes")
    snomed = [c for c in lab.value_codings if c.code and lookup.canonical_system(c.system) == lookup.SNOMED]
    if snomed:
        return next((m for m in map(vs.match_coding, snomed) if m is not None), None)
    texts = [lab.value_text, *(c.display for c in lab.value_codings)]
    if any(t and _NOT_A_SMOKER.search(t) for t in texts):
        return None
    return vs.match(lab.value_codings, texts)


def smoking_answer(record: PatientRecord) -> Phrase | None:
    """The newest smoking-status answer if it says current or former smoker (boxed-cv-thrombosis wording)."""
    newest = labs.latest(record, "smoking-status")
    if newest is None:
        return None
    member = _smoking_member(newest.lab)
    if member is None:
        return None
    return Phrase("smoking", {"answer": member.name, "date": newest.when})


def cv_risk_factors(record: PatientRecord) -> list[str | Phrase]:
    """Each CV risk factor found, as shown on the card (no duplicate Conditions)."""
    found: list[str | Phrase] = list(dict.fromkeys(m.label for m in matching(record, "cv-risk-factors")))
    smoking = smoking_answer(record)
    if smoking:
        found.append(smoking)
    return found


def thrombosis_history(record: PatientRecord) -> list[str]:
    """Prior VTE / PE / arterial thrombosis Conditions."""
    return list(dict.fromkeys(m.label for m in matching(record, "vte-history")))
