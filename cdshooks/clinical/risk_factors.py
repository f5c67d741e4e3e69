"""Risk factors named on the boxed-warning card: CV risk, thrombosis, smoking.

clinical-rules.md, "Smoking (CV risk)": the newest smoking-status Observation
(72166-2) with a smoker / ex-smoker SNOMED answer, or Conditions F17.2x /
Z87.891. Hypertension, diabetes, hyperlipidaemia, CAD and stroke come from
Conditions only, never from lab values.
"""

from __future__ import annotations

from cdshooks.clinical import labs
from cdshooks.clinical.problem_list import matching
from cdshooks.data.record import PatientRecord
from cdshooks.terminology import lookup


def smoking_answer(record: PatientRecord) -> str | None:
    """The newest smoking-status answer if it says current or former smoker."""
    newest = labs.latest(record, "smoking-status")
    if newest is None:
        return None
    member = lookup.load("smoking-codes").match(newest.lab.value_codings, [newest.lab.value_text])
    if member is None:
        return None
    return f"{member.name} (smoking status {newest.when.date().isoformat()})"


def cv_risk_factors(record: PatientRecord) -> list[str]:
    """Each CV risk factor found, as shown on the card (no duplicates)."""
    found = [m.label for m in matching(record, "cv-risk-factors")]
    smoking = smoking_answer(record)
    if smoking:
        found.append(smoking)
    return list(dict.fromkeys(found))


def thrombosis_history(record: PatientRecord) -> list[str]:
    """Prior VTE / PE / arterial thrombosis Conditions."""
    return list(dict.fromkeys(m.label for m in matching(record, "vte-history")))
