"""Small PatientRecords for the dosing and interaction tests, from fixturekit resources."""

from __future__ import annotations

from cdshooks.clinical import engine
from cdshooks.clinical.thresholds import DEFAULT_THRESHOLDS
from cdshooks.data import parsers
from cdshooks.data.record import PatientRecord
from tests import fixturekit as k


def record(
    resources: list[dict] | None = None,
    drafts: list[dict] = (),
    selected: set[str] | None = None,
    *,
    on_tofacitinib: bool = False,
    sex: str = "female",
    age_birth_date: str = "1981-03-02",
) -> PatientRecord:
    """A record like the builder makes: base patient + extra resources, drafts (all selected by default)."""
    from datetime import date

    res = k.base_resources(on_tofacitinib=on_tofacitinib) if resources is None else resources
    by = lambda t: [r for r in res if r["resourceType"] == t]  # noqa: E731
    labs = [x for x in (parsers.lab_result(o) for o in by("Observation")) if x is not None]
    labs.sort(key=lambda x: x.effective, reverse=True)
    return PatientRecord(
        patient_id=k.PATIENT_ID,
        now=k.AS_OF,
        birth_date=date.fromisoformat(age_birth_date),
        sex=sex,
        medications=tuple(parsers.medication_order(m, {}) for m in by("MedicationRequest")),
        drafts=tuple(
            parsers.medication_order(d, {}, is_draft=True, selected=selected is None or d["id"] in selected)
            for d in drafts
        ),
        observations=tuple(labs),
        conditions=tuple(p for p in (parsers.problem(c) for c in by("Condition")) if p is not None),
        condition_history=tuple(p for p in (parsers.any_problem(c) for c in by("Condition")) if p is not None),
        immunizations=tuple(v for v in (parsers.vaccination(i) for i in by("Immunization")) if v is not None),
    )


def findings(rec: PatientRecord, hook: str = "order-select"):
    return engine.evaluate(rec, hook, DEFAULT_THRESHOLDS)


def topics(rec: PatientRecord, hook: str = "order-select", only: tuple[str, ...] = ("dose-", "ddi-")) -> list[str]:
    """The dosing/interaction topics that fire (other rule families are not under test here)."""
    return sorted(f.topic for f in findings(rec, hook) if f.topic.startswith(only))


def by_topic(rec: PatientRecord, topic: str, hook: str = "order-select"):
    return [f for f in findings(rec, hook) if f.topic == topic]
