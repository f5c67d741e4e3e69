"""Laboratory safety rules (all hooks, tofacitinib context): ALC, ANC, Hb, liver injury (ALT/AST).

clinical-rules.md, "Infection and laboratory safety" and "Lab recency": the
newest result within the lookback (90 days) decides; older results never
fire; a value whose unit cannot be normalized is not used. An ALC derived from
the lymphocyte percentage and the WBC of the same specimen counts like a
measured one, and the card says it was derived (`labs`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from cdshooks.clinical import labs, tofacitinib
from cdshooks.clinical.dosing import resume_regimen
from cdshooks.clinical.engine import rule
from cdshooks.clinical.findings import Bullets, Finding, Phrase, Series
from cdshooks.clinical.labs import Result
from cdshooks.clinical.therapy_status import status
from cdshooks.clinical.thresholds import Thresholds
from cdshooks.data.record import PatientRecord
from cdshooks.terminology.units import cells_per_ul

ALL_HOOKS = ("order-select", "order-sign", "patient-view")


def _count_facts(r: Result, cells: float) -> dict[str, Any]:
    return {
        "cells": f"{cells:,.0f}",
        "value": r.value_label,
        "date": r.when,
        "preliminary_note": Phrase("preliminary") if r.preliminary else None,
    }


def _newest_count(record: PatientRecord, test: str, th: Thresholds) -> tuple[Result, float] | None:
    r = labs.latest(record, test, within_days=th.lab_lookback_days)
    cells = cells_per_ul(r.measurement) if r else None
    return (r, cells) if r is not None and cells is not None else None


@rule(*ALL_HOOKS)
def lymphopenia(record: PatientRecord, th: Thresholds) -> Iterable[Finding]:
    """ALC < 500 cells/uL critical; 500-899 info (CMV risk factor)."""
    if not tofacitinib.in_context(record):
        return
    found = _newest_count(record, "lymphocytes-absolute", th)
    if found is None:
        return
    r, cells = found
    therapy = status(record)
    if cells < th.alc_critical_below:
        variant = "default" if therapy.new_start else "on-therapy"
    elif cells < th.alc_info_below:
        variant = "moderate"
    else:
        return
    facts = _count_facts(r, cells) | {
        # derived: from the lymphocyte % and the WBC (labs.py)
        "alc": Phrase("alc_derived") if r.derived_from else Phrase("alc"),
        "therapy": therapy.text,
        "critical_below": f"{th.alc_critical_below:,.0f}",
        "info_below": f"{th.alc_info_below:,.0f}",
    }
    yield Finding("lab-lymphopenia", facts=facts, variant=variant)


@rule(*ALL_HOOKS)
def neutropenia(record: PatientRecord, th: Thresholds) -> Iterable[Finding]:
    """ANC < 500 cells/uL critical; 500-999 warning."""
    if not tofacitinib.in_context(record):
        return
    found = _newest_count(record, "neutrophils-absolute", th)
    if found is None:
        return
    r, cells = found
    therapy = status(record)
    if cells < th.anc_critical_below:
        variant = "default" if therapy.new_start else "on-therapy"
    elif cells < th.anc_warning_below:
        variant = "moderate" if therapy.new_start else "moderate-on-therapy"
    else:
        return
    facts = _count_facts(r, cells) | {
        "therapy": therapy.text,
        "critical_below": f"{th.anc_critical_below:,.0f}",
        "warning_below": f"{th.anc_warning_below:,.0f}",
    }
    if variant == "moderate-on-therapy":
        # the regimen the patient was on, reduced where a reduction applies: never the label's 5 mg BID for all
        facts["resume"] = resume_regimen.describe(resume_regimen.resume(record, th))
    yield Finding("lab-neutropenia", facts=facts, variant=variant)


def pretreatment_hb(record: PatientRecord, th: Thresholds) -> Result | None:
    """The newest Hb in the 90 days before the tofacitinib start date (Definitions)."""
    start = tofacitinib.start_date(record)
    if start is None:
        return None
    for r in labs.newest_first_any(record, ("hemoglobin",)):  # read back only to the start
        if r.when < start and r.measurement is not None:
            return r if labs.days_between(r.when, start) <= th.pretreatment_hb_lookback_days else None
    return None


@rule(*ALL_HOOKS)
def anemia(record: PatientRecord, th: Thresholds) -> Iterable[Finding]:
    """Hb < 8 g/dL or a fall > 2 g/dL from pre-treatment; new start and Hb < 9 g/dL."""
    if not tofacitinib.in_context(record):
        return
    r = labs.latest(record, "hemoglobin", within_days=th.lab_lookback_days)
    if r is None or r.measurement is None:
        return
    hb = r.measurement.value
    therapy = status(record)
    reasons: list[Phrase] = []
    if therapy.new_start:
        if hb < th.hb_new_start_below_g_dl:
            reasons.append(Phrase("below_new_start"))
        variant = "new-start"
    else:
        if hb < th.hb_warning_below_g_dl:
            reasons.append(Phrase("below_warning"))
        pre = pretreatment_hb(record, th)
        # pretreatment_hb only returns a measured result; the check narrows the Optional.
        if pre is not None and pre.measurement is not None and r.when >= (tofacitinib.start_date(record) or r.when):
            fall = round(pre.measurement.value - hb, 2)
            if fall > th.hb_fall_g_dl:
                reasons.append(Phrase("fall", {"fall": fall, "pre_hb": pre.measurement.value, "pre_date": pre.when}))
        variant = "default" if hb < th.hb_warning_below_g_dl else "fall"
    if not reasons:
        return
    yield Finding(
        "lab-anemia",
        variant=variant,
        facts={
            "hb": f"{hb:g}",
            "date": r.when,
            "reasons": Bullets(tuple(reasons)),
            "therapy": therapy.text,
            "fall_g_dl": th.hb_fall_g_dl,
            "warning_below": th.hb_warning_below_g_dl,
            "new_start_below": th.hb_new_start_below_g_dl,
            "preliminary_note": Phrase("preliminary") if r.preliminary else None,
        },
    )


@dataclass(frozen=True)
class LiverTest:
    """An ALT or AST result against its upper limit of normal."""

    name: str  # "ALT" / "AST"
    result: Result
    uln: float  # U/L
    uln_from_lab: bool  # the Observation's own referenceRange.high, else the default

    @property
    def multiple(self) -> float:
        measurement = self.result.measurement
        if measurement is None:  # liver_tests builds LiverTest from measured results only
            raise ValueError(f"{self.name} result without a measurement")
        return measurement.value / self.uln

    def facts(self) -> dict[str, Any]:
        return {"test": self.name, "value": self.result.value_label, "date": self.result.when,
                "multiple": self.multiple, "uln": self.uln}

    def line(self) -> Phrase:
        """The liver-injury card's bullet for this test, naming where its ULN came from."""
        where = Phrase("uln_from_lab") if self.uln_from_lab else Phrase("uln_default")
        return Phrase("test_line", self.facts() | {"where": where})


def liver_tests(record: PatientRecord, th: Thresholds) -> list[LiverTest]:
    """The newest ALT and the newest AST within the lookback, each against its ULN."""
    out = []
    for test, name in (("alt", "ALT"), ("ast", "AST")):
        r = labs.latest(record, test, within_days=th.lab_lookback_days)
        if r is None or r.measurement is None:
            continue
        uln = labs.upper_limit(r)
        out.append(LiverTest(name, r, uln if uln else th.liver_default_uln_u_l, uln is not None))
    return out


@rule(*ALL_HOOKS)
def liver_injury(record: PatientRecord, th: Thresholds) -> Iterable[Finding]:
    """liver-injury: the newest ALT or AST within 90 days > 3 x ULN (clinical-rules.md, revision 2)."""
    if not tofacitinib.in_context(record):
        return
    high = [t for t in liver_tests(record, th) if t.multiple > th.liver_injury_uln_multiple]
    if not high:
        return
    therapy = status(record)
    hbv = tuple(Phrase("hbv_marker", {"marker": r.lab.text or r.test.upper(), "date": r.when})
                for r in labs.results_any(record, ("hbsag", "anti-hbc")) if r.is_positive)[:2]
    facts: dict[str, Any] = {
        "tests": Series(tuple(Phrase("test_short", t.facts()) for t in high), "and"),
        "test_list": Bullets(tuple(t.line() for t in high)),
        "multiple": f"{th.liver_injury_uln_multiple:g}",
        "therapy": therapy.text,
        "hbv_note": Phrase("hbv_note", {"markers": Series(hbv, "semicolon")}) if hbv else Phrase("hbv_note_none"),
    }
    ck = labs.latest(record, "ck", within_days=th.lab_lookback_days)
    # Not in the catalog row: AST and ALT also come from muscle, and these patients have myositis.
    facts["ck_note"] = (
        Phrase("ck_note", {"ck": ck.value_label, "ck_date": ck.when}) if ck is not None and ck.measurement
        else Phrase("ck_none"))
    yield Finding("liver-injury", facts=facts, variant="default" if therapy.new_start else "on-therapy")
