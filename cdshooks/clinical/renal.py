"""Renal function for tofacitinib dosing: Cockcroft-Gault, eGFR approximation, CKD 4/5 and dialysis.

Inputs (clinical-rules.md, Renal inputs): newest serum creatinine within 90
days, newest body weight within 1 year (actual weight), age and sex from
Patient. Without them, the newest eGFR within 90 days, labelled as an
approximation. Conditions N18.4, N18.5, N18.6 and dialysis (Z99.2, Z49.x)
count; N18.6 and dialysis are severe. Units come normalized from
`cdshooks.clinical.labs` (creatinine mg/dL, weight kg).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import TypedDict

from cdshooks.clinical import labs
from cdshooks.clinical.thresholds import Thresholds
from cdshooks.data.record import PatientRecord, Problem
from cdshooks.terminology import lookup
from cdshooks.terminology.units import display_unit

COCKCROFT_GAULT = "Cockcroft-Gault"
EGFR_APPROXIMATION = "eGFR (approximation: Cockcroft-Gault not computable)"


def cockcroft_gault(age_years: float, weight_kg: float, creatinine_mg_dl: float, female: bool) -> float:
    """Creatinine clearance (mL/min) = (140 - age) x weight / (72 x SCr), x 0.85 if female."""
    if creatinine_mg_dl <= 0 or weight_kg <= 0:
        raise ValueError("creatinine and weight must be positive")
    clcr = (140 - age_years) * weight_kg / (72 * creatinine_mg_dl)
    return clcr * 0.85 if female else clcr


@dataclass(frozen=True)
class RenalFunction:
    """The patient's renal function as measured (CLcr or eGFR) and as coded (conditions)."""

    value: float | None  # mL/min (CLcr) or mL/min/1.73 m2 (eGFR)
    unit: str | None
    method: str | None
    measured: datetime | None
    inputs: tuple[str, ...]  # "creatinine 1.6 mg/dL (2026-01-05)", ...
    conditions: tuple[Problem, ...] = ()
    condition_names: tuple[str, ...] = ()
    dialysis: bool = False
    severe: bool = False
    missing: tuple[str, ...] = ()  # why Cockcroft-Gault could not be computed

    def impaired(self, t: Thresholds) -> bool:
        """CLcr (or the eGFR approximation) <= the threshold, or a CKD 4/5 / dialysis condition."""
        by_value = self.value is not None and self.value <= t.renal_clcr_max_ml_min
        return by_value or bool(self.conditions)


def renal_conditions(record: PatientRecord) -> list[tuple[Problem, lookup.Member]]:
    """Active CKD stage 4/5, ESRD and dialysis conditions (refuted ones never reach the record)."""
    vs = lookup.load("renal-impairment")
    out = []
    for p in record.conditions:
        member = vs.match(p.codings, (p.text,))
        if member is not None:
            out.append((p, member))
    return out


class _Conditions(TypedDict):
    """The coded-condition fields of a RenalFunction, passed as keywords to each way of building one."""

    conditions: tuple[Problem, ...]
    condition_names: tuple[str, ...]
    dialysis: bool
    severe: bool


def _female(sex: str | None) -> bool | None:
    s = (sex or "").lower()
    return True if s == "female" else False if s == "male" else None


def assess(record: PatientRecord, t: Thresholds) -> RenalFunction:
    """Cockcroft-Gault when every input is there, else the eGFR approximation, plus conditions."""
    found = renal_conditions(record)
    conds = _Conditions(
        conditions=tuple(p for p, _ in found),
        condition_names=tuple(dict.fromkeys(p.text or m.name for p, m in found)),
        dialysis=any(m.properties.get("dialysis") for _, m in found),
        severe=any(m.properties.get("severity") == "severe" for _, m in found),
    )
    creat = labs.latest(record, "creatinine", t.renal_creatinine_lookback_days)
    weight = labs.latest(record, "body-weight", t.renal_weight_lookback_days)
    female = _female(record.sex)
    missing = []
    if creat is None or creat.measurement is None:
        missing.append(f"serum creatinine within {t.renal_creatinine_lookback_days} days")
    if weight is None or weight.measurement is None:
        missing.append(f"body weight within {t.renal_weight_lookback_days} days")
    if record.age is None:
        missing.append("age")
    if female is None:
        missing.append("sex")
    if not missing and creat is not None and weight is not None:  # `missing` is empty only when both are there
        clcr = _cockcroft_gault_from(record, creat, weight, bool(female))
        if clcr is not None:
            return replace(clcr, **conds)
    egfr = labs.latest(record, "egfr", t.renal_egfr_lookback_days)
    if egfr is not None and egfr.measurement is not None:
        inputs = (f"eGFR {_label(egfr)} ({egfr.when.date().isoformat()})",)
        return RenalFunction(
            egfr.measurement.value, display_unit(egfr.measurement.unit), EGFR_APPROXIMATION, egfr.when, inputs,
            missing=tuple(missing), **conds,
        )
    return RenalFunction(None, None, None, None, (), missing=tuple(missing), **conds)


def _cockcroft_gault_from(
    record: PatientRecord, creat: labs.Result, weight: labs.Result, female: bool
) -> RenalFunction | None:
    """CLcr from normalized results (None when a value is not positive)."""
    cr, wt = creat.measurement, weight.measurement
    if cr is None or wt is None or cr.value <= 0 or wt.value <= 0 or record.age is None:
        return None
    value = cockcroft_gault(record.age, wt.value, cr.value, female)
    inputs = (
        f"serum creatinine {_label(creat)} ({creat.when.date().isoformat()})",
        f"weight {_label(weight)} ({weight.when.date().isoformat()})",
        f"age {record.age}, sex {record.sex}",
    )
    return RenalFunction(round(value, 1), "mL/min", COCKCROFT_GAULT, creat.when, inputs)


def _label(result: labs.Result) -> str:
    label = result.value_label  # names the reported value when it was converted
    if result.preliminary:
        label += ", preliminary"
    return label
