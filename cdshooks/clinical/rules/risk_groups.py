"""Patient risk groups (all hooks, tofacitinib context): age, boxed CV/thrombosis warning."""

from __future__ import annotations

from collections.abc import Iterable

from cdshooks.clinical import tofacitinib
from cdshooks.clinical.engine import rule
from cdshooks.clinical.findings import Bullets, Finding, Phrase, Series
from cdshooks.clinical.risk_factors import cv_risk_factors, thrombosis_history
from cdshooks.clinical.thresholds import Thresholds
from cdshooks.data.record import PatientRecord

ALL_HOOKS = ("order-select", "order-sign", "patient-view")


@rule(*ALL_HOOKS)
def age_infection_risk(record: PatientRecord, th: Thresholds) -> Iterable[Finding]:
    """Age >= 65: higher serious-infection rate (USPI)."""
    if not tofacitinib.in_context(record) or record.age is None:
        return
    if record.age >= th.age_infection_risk_years:
        yield Finding("age-infection-risk", facts={"age": record.age, "threshold": th.age_infection_risk_years})


@rule(*ALL_HOOKS)
def boxed_cv_thrombosis(record: PatientRecord, th: Thresholds) -> Iterable[Finding]:
    """Age >= 50 with a CV risk factor, or any prior thrombosis: boxed warning."""
    if not tofacitinib.in_context(record):
        return
    thrombosis = thrombosis_history(record)
    risks = cv_risk_factors(record) if record.age is not None and record.age >= th.age_cv_risk_years else []
    if not thrombosis and not risks:
        return
    named = (*risks, *(Phrase("prior_thrombosis", {"condition": t}) for t in thrombosis))
    yield Finding(
        "boxed-cv-thrombosis",
        facts={
            "age": record.age if record.age is not None else Phrase("age_unknown"),
            "age_threshold": th.age_cv_risk_years,
            "factors": Series(named, "semicolon"),
            "factor_list": Bullets(named),
        },
        variant="default" if risks else "thrombosis",
    )
