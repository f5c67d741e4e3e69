"""Small PatientRecords for the dosing and interaction tests: fixturekit resources through the builder."""

from __future__ import annotations

from cdshooks.clinical import engine
from cdshooks.clinical.findings import Finding, Phrase, SummaryOf
from cdshooks.clinical.thresholds import DEFAULT_THRESHOLDS
from cdshooks.data.record import PatientRecord
from tests import fixturekit as k
from tests.clinical.records import build


def record(
    resources: list[dict] | None = None,
    drafts: list[dict] = (),
    selected: set[str] | None = None,
    *,
    on_tofacitinib: bool = False,
    sex: str = "female",
    age_birth_date: str = "1981-03-02",
) -> PatientRecord:
    """The builder's record of the base patient (or these resources) and drafts (all selected by default).

    The Patient is always the one of `sex` and `age_birth_date`, whatever `resources` hold.
    """
    res = k.base_resources(on_tofacitinib=on_tofacitinib) if resources is None else resources
    others = [r for r in res if r["resourceType"] != "Patient"]
    return build([k.patient(age_birth_date, sex), *others], drafts, selected=selected, now=k.AS_OF,
                 patient_id=k.PATIENT_ID)


def findings(rec: PatientRecord, hook: str = "order-select") -> list[Finding]:
    """The findings of a call, with the standing risks that patient-view folds into the safety summary
    (its lines) counted as findings of their own: the rules under test made them."""
    return with_standing_risks(engine.evaluate(rec, hook, DEFAULT_THRESHOLDS))


def with_standing_risks(found: list[Finding]) -> list[Finding]:
    """These findings, plus each one that the safety summary carries as a standing-risk line."""
    out = list(found)
    for f in found:
        risks = f.facts.get("standing_risks") if f.topic == "safety-summary" else None
        if isinstance(risks, Phrase):
            out += [line.finding for line in risks.facts["risks"].items if isinstance(line, SummaryOf)]
    return out


def topics(rec: PatientRecord, hook: str = "order-select", only: tuple[str, ...] = ("dose-", "ddi-")) -> list[str]:
    """The dosing/interaction topics that fire (other rule families are not under test here)."""
    return sorted(f.topic for f in findings(rec, hook) if f.topic.startswith(only))


def by_topic(rec: PatientRecord, topic: str, hook: str = "order-select"):
    return [f for f in findings(rec, hook) if f.topic == topic]
