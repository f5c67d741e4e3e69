"""Infection rules (all hooks, tofacitinib context): active infection, CMV, EBV, PJP.

clinical-rules.md, "Infection and laboratory safety".
"""

from __future__ import annotations

from collections.abc import Iterable

from cdshooks.clinical import cmv, labs, tofacitinib
from cdshooks.clinical.engine import rule
from cdshooks.clinical.findings import Action, Bullets, Finding, Phrase, Series, Suggestion, Table
from cdshooks.clinical.glucocorticoids import SteroidDose, exposure
from cdshooks.clinical.problem_list import matching
from cdshooks.clinical.suggestions.new_orders import atovaquone_request, order_labs, tmp_smx_request
from cdshooks.clinical.therapy_status import status
from cdshooks.clinical.thresholds import Thresholds
from cdshooks.data.record import Allergy, PatientRecord
from cdshooks.terminology import lookup

ALL_HOOKS = ("order-select", "order-sign", "patient-view")


@rule(*ALL_HOOKS)
def active_serious_infection(record: PatientRecord, th: Thresholds) -> Iterable[Finding]:
    """An active serious infection Condition: do not start / interrupt (boxed warning)."""
    if not tofacitinib.in_context(record):
        return
    found = matching(record, "serious-infections")
    if not found:
        return
    therapy = status(record)
    yield Finding(
        "infection-active",
        facts={
            "infections": tuple(dict.fromkeys(m.concept for m in found)),
            "conditions": Bullets(tuple(
                Phrase("with_onset", {"condition": m.label, "onset": m.problem.onset}) if m.problem.onset else m.label
                for m in found
            )),
            "therapy": therapy.text,
        },
        variant="default" if therapy.new_start else "on-therapy",
    )


def _cmv_trend(trend: tuple[labs.Result, ...]) -> Table:
    rows = []
    for r in trend:
        notes = []
        if r.preliminary:
            notes.append(Phrase("trend_preliminary"))
        if r.measurement is not None and not cmv.in_iu(r):
            notes.append(Phrase("trend_copies"))
        elif r.measurement is None and not r.not_detected:
            notes.append(Phrase("trend_no_amount"))
        rows.append((r.when, r.value_label, Series(tuple(notes), "semicolon")))
    return Table("trend", tuple(rows))


def _result_on(r: labs.Result) -> Phrase:
    return Phrase("result_on", {"result": r.value_label, "when": r.when})


def _newer_note(v: cmv.Viremia) -> Phrase | None:
    """The newer results that cannot be compared with the threshold: they do not replace this one."""
    if not v.newer:
        return None
    shown = Series(tuple(_result_on(r) for r in v.newer), "semicolon")
    return Phrase("newer_one" if len(v.newer) == 1 else "newer_several", {"newer": shown})


def _cmv_order(record: PatientRecord, reason: str, key: str = "order-cmv-pcr") -> Suggestion:
    return order_labs(key, record, ["cmv-dna-quant"], reason)


_CMV_VARIANT = {"above-threshold": "default", "rising": "rising", "not-in-iu": "not-in-iu"}


def _why_not_comparable(r: labs.Result) -> Phrase:
    if r.measurement is not None:
        return Phrase("why_copies")
    if r.unconvertible:
        return Phrase("why_unit")
    return Phrase("why_qualitative")


def _cmv_suggestion(record: PatientRecord, v: cmv.Viremia) -> Suggestion:
    if v.level == "not-in-iu":
        return _cmv_order(
            record, "CMV DNA detected, not in IU/mL: repeat quantitative PCR in IU/mL", "order-cmv-pcr-iu"
        )
    return _cmv_order(record, "CMV DNA detected on tofacitinib: repeat quantitative PCR")


@rule(*ALL_HOOKS)
def cmv_viremia(record: PatientRecord, th: Thresholds) -> Iterable[Finding]:
    """CMV DNA > threshold (critical); detected below it and rising, or detected without an amount
    in IU/mL (warning)."""
    if not tofacitinib.in_context(record):
        return
    v = cmv.viremia(record, th)
    if v is None:
        return
    previous = v.previous
    yield Finding(
        "cmv-viremia",
        variant=_CMV_VARIANT[v.level],
        facts={
            "value": v.newest.value_label,
            "date": v.newest.when,
            "threshold": th.cmv_viremia_iu_ml,
            "previous": _result_on(previous) if previous else Phrase("previous_none"),
            "trend": _cmv_trend(v.trend),
            "notes": Series((Phrase("preliminary") if v.newest.preliminary else None, _newer_note(v)), "space"),
            "therapy": status(record).text,
            "lookback_days": th.cmv_lookback_days,
            "rising_window_days": th.cmv_rising_window_days,
            "why": _why_not_comparable(v.newest),
        },
        suggestions=(_cmv_suggestion(record, v),),
    )


_PHASE_TEXT = {
    "baseline": "baseline before a new start: a CMV PCR within the previous {interval} days",
    "early": "first {weeks} weeks of tofacitinib: every {interval} days",
    "late": "after week {weeks} of tofacitinib: every {interval} days",
    "unknown-start": "start date not on record: the after-week-{weeks} interval of {interval} days is applied",
}


@rule(*ALL_HOOKS)
def cmv_pcr_due(record: PatientRecord, th: Thresholds) -> Iterable[Finding]:
    """No CMV DNA result within the monitoring interval (or baseline for a new start)."""
    if not tofacitinib.in_context(record):
        return
    s = cmv.pcr_schedule(record, th)
    if not s.overdue:
        return
    phase = _PHASE_TEXT[s.phase].format(interval=s.interval_days, weeks=th.cmv_early_phase_weeks)
    last = Phrase("last", {"result": s.last.value_label, "when": s.last.when}) if s.last else Phrase("last_none")
    yield Finding(
        "cmv-pcr-due",
        variant="baseline" if s.phase == "baseline" else "default",
        facts={
            "interval_days": s.interval_days,
            "phase": phase,
            "last": last,
            "therapy": status(record).text,
            "early_days": th.cmv_pcr_interval_early_days,
            "late_days": th.cmv_pcr_interval_late_days,
            "weeks": th.cmv_early_phase_weeks,
        },
        suggestions=(_cmv_order(record, f"CMV surveillance on tofacitinib ({phase})"),),
    )


@rule(*ALL_HOOKS)
def ebv_viremia(record: PatientRecord, th: Thresholds) -> Iterable[Finding]:
    """Newest quantitative EBV DNA > threshold within the lookback."""
    if not tofacitinib.in_context(record):
        return
    newest = labs.latest(record, "ebv-dna-quant", within_days=th.ebv_lookback_days)
    if newest is None or newest.measurement is None or not newest.quantified or newest.measurement.unit != "[IU]/mL":
        return
    if newest.measurement.value <= th.ebv_viremia_iu_ml:
        return
    yield Finding(
        "ebv-viremia",
        facts={
            "value": newest.value_label,
            "date": newest.when,
            "threshold": th.ebv_viremia_iu_ml,
            "preliminary_note": Phrase("preliminary") if newest.preliminary else None,
        },
    )


def _on_pjp_prophylaxis(record: PatientRecord) -> bool:
    vs = lookup.load("pjp-prophylaxis")
    current = [o for o in record.medications if o.status == "active"] + list(record.drafts)
    return any(vs.match(o.codings, o.names) for o in current)


def _short(dose: SteroidDose) -> Phrase:
    facts = {"drug": dose.drug.capitalize(), "mg": dose.mg_per_day, "eq_mg": dose.prednisone_eq_mg_day}
    return Phrase("dose_short" if dose.drug == "prednisone" else "dose_short_eq", facts)


def sulfonamide_allergies(record: PatientRecord) -> list[Allergy]:
    """Active, not refuted sulfonamide-antibiotic allergies (the builder already dropped the others)."""
    vs = lookup.load("sulfonamide-allergy")
    return [a for a in record.allergies if vs.match(a.codings, a.texts) is not None]


def _tmp_smx_suggestions(record: PatientRecord) -> tuple[Suggestion, ...]:
    return (
        Suggestion(
            "tmp-smx-daily",
            (Action("create", Phrase("action_tmp_smx_daily"), tmp_smx_request(record)),),
            is_recommended=True,
        ),
        Suggestion(
            "tmp-smx-three-weekly",
            (
                Action(
                    "create", Phrase("action_tmp_smx_three_weekly"), tmp_smx_request(record, three_times_weekly=True)
                ),
            ),
        ),
    )


@rule(*ALL_HOOKS)
def pjp_prophylaxis(record: PatientRecord, th: Thresholds) -> Iterable[Finding]:
    """Glucocorticoid >= 15 mg/day prednisone-eq (or a pulse) without PJP prophylaxis.

    With an active sulfonamide-antibiotic allergy the suggestion is atovaquone, not TMP-SMX;
    without the allergy list (`allergies` unavailable) the card says the check was not done.
    """
    if not tofacitinib.in_context(record) or _on_pjp_prophylaxis(record):
        return
    exp = exposure(record, th)
    if not exp.reaches_threshold:
        return
    doses = [d.described for d in exp.high_dose] + [
        Phrase("pulse_dose", {"dose": d.described, "ordered": d.order.authored_on})
        for d in exp.pulses
        if d.order.authored_on is not None  # always: exposure() counts only dated pulses
    ]
    allergies_known = "allergies" not in record.unavailable
    sulfa = sulfonamide_allergies(record) if allergies_known else []
    facts = {
        "glucocorticoid": (
            _short(exp.high_dose[0]) if exp.high_dose else Phrase("pulse", {"dose": _short(exp.pulses[0])})
        ),
        "doses": Bullets(tuple(doses)),
        "threshold": th.pjp_prednisone_eq_mg_day,
        "pulse_mg": th.pjp_pulse_methylpred_mg_day,
        "pulse_days": th.pjp_pulse_lookback_days,
    }
    if sulfa:
        yield Finding(
            "pjp-prophylaxis",
            variant="sulfa-allergy",
            facts=facts
            | {
                "allergy": Series(tuple(a.label for a in sulfa), "semicolon"),
                "allergy_list": Bullets(tuple(
                    Phrase("allergy_status", {"allergy": a.label, "status": a.verification_status})
                    if a.verification_status else a.label
                    for a in sulfa
                )),
            },
            suggestions=(
                Suggestion(
                    "atovaquone-daily",
                    (Action("create", Phrase("action_atovaquone_daily"), atovaquone_request(record)),),
                    is_recommended=True,
                ),
            ),
        )
        return
    yield Finding(
        "pjp-prophylaxis",
        variant="default" if allergies_known else "allergies-unknown",
        facts=facts,
        suggestions=_tmp_smx_suggestions(record),
    )
