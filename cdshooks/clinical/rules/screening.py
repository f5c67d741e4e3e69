"""Screening before a new start (order-select / order-sign: a tofacitinib draft, none active).

clinical-rules.md, "Screening before a new start" and Definitions (TB). Here the
absence of a result is itself the finding; when a whole data source could not
be had (`record.unavailable`), the rule stays silent rather than guess.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from cdshooks.clinical import labs, tofacitinib
from cdshooks.clinical.engine import rule
from cdshooks.clinical.findings import Bullets, Finding, Phrase, Series
from cdshooks.clinical.intervals import months_as_days
from cdshooks.clinical.labs import Result
from cdshooks.clinical.problem_list import matching
from cdshooks.clinical.suggestions.new_orders import lab_short, lab_title, order_labs, order_names, short_names
from cdshooks.clinical.thresholds import Thresholds
from cdshooks.data.record import MedicationOrder, PatientRecord
from cdshooks.terminology import lookup

ORDER_HOOKS = ("order-select", "order-sign")
TB_TESTS = ("igra", "tst")
LTBI_TREATED_STATUSES = frozenset({"active", "completed"})
BASELINE_TESTS = ("lymphocytes-absolute", "neutrophils-absolute", "hemoglobin", "alt", "ast", "creatinine")
LIPID_TESTS = ("cholesterol-total", "ldl", "hdl", "triglycerides")


def screening_applies(record: PatientRecord) -> bool:
    """A tofacitinib draft is being ordered and the patient is not on tofacitinib."""
    return bool(tofacitinib.selected_drafts(record)) and tofacitinib.is_new_start(record)


def _labs_known(record: PatientRecord) -> bool:
    return "observations" not in record.unavailable


def tb_answer(r: Result, th: Thresholds) -> str | None:
    """"positive" / "negative" / "indeterminate" for an IGRA or TST result.

    A TST with a size is read by its induration: at least `tst_positive_induration_mm`
    (5 mm, the cut-off for immunosuppressed patients) is positive whatever cut-off the
    reader applied (10 or 15 mm elsewhere); below it, negative unless read as positive.
    A TST without a size, and an IGRA, are read by their stated answer.
    """
    if r.test == "tst":
        mm = labs.induration_mm(r)
        cutoff = th.tst_positive_induration_mm
        if mm is not None:
            if r.below_limit:  # "<5 mm" is under the cut-off; "<10 mm" says nothing about it
                if mm <= cutoff:
                    return "positive" if r.is_positive else "negative"
            elif mm >= cutoff:
                return "positive"
            else:
                return "positive" if r.is_positive else "negative"
    return r.answer


def _describe(r: Result, th: Thresholds) -> Phrase:
    """An IGRA or TST result as screen-tb shows it; a TST by its induration, with how it was read."""
    if r.test == "igra":
        return Phrase("igra", {"result": r.value_label, "when": r.when})
    mm = labs.induration_mm(r)
    if mm is None:
        return Phrase("tst", {"result": r.value_label, "when": r.when})
    lab = r.lab
    stated = r.answer
    return Phrase("tst_induration", {
        "mm": f"{lab.comparator or ''}{mm:g}",
        "no_unit": Phrase("tst_no_unit") if lab.value is not None and not (lab.unit or lab.unit_code) else None,
        "reported": (
            Phrase("tst_reported", {"stated": stated, "cutoff": th.tst_positive_induration_mm})
            if stated and stated != tb_answer(r, th) else None
        ),
        "when": r.when,
    })


def _ltbi_treatment(record: PatientRecord, th: Thresholds) -> tuple[list[MedicationOrder], list[MedicationOrder]]:
    """(LTBI orders authored at least the minimum ago, LTBI orders authored more recently)."""
    vs = lookup.load("ltbi-drugs")
    done, recent = [], []
    for o in record.medications:
        if o.status not in LTBI_TREATED_STATUSES or vs.match(o.codings, o.names) is None:
            continue
        if o.authored_on is None:
            continue
        if labs.days_between(o.authored_on, record.now) >= th.ltbi_min_treatment_days:
            done.append(o)
        else:
            recent.append(o)
    return done, recent


def _treatment_label(o: MedicationOrder) -> Phrase:
    return Phrase("treatment", {"order": o.label, "ordered": o.authored_on, "status": o.status})


def _earliest_start(recent: list[MedicationOrder], th: Thresholds) -> datetime | None:
    """The day the minimum treatment is reached, if the active LTBI treatment continues."""
    started = [o.authored_on for o in recent if o.status == "active" and o.authored_on is not None]
    if not started:
        return None
    return min(started) + timedelta(days=th.ltbi_min_treatment_days)


@rule(*ORDER_HOOKS)
def screen_tb(record: PatientRecord, th: Thresholds) -> Iterable[Finding]:
    """No IGRA/TST within 12 months (warning); positive at any time and untreated (critical)."""
    if not screening_applies(record) or not _labs_known(record):
        return
    results = labs.results_any(record, TB_TESTS)
    # A positive test at any time: a positive IGRA/TST does not become negative (a newer
    # negative one does not undo it, and a repeat test is not the answer to it).
    positives: list[str | Phrase] = [_describe(r, th) for r in results if tb_answer(r, th) == "positive"]
    positives += [m.label for m in matching(record, "latent-tb")]
    if positives:
        treated, recent = _ltbi_treatment(record, th)
        if treated:
            return
        start = _earliest_start(recent, th)
        yield Finding(
            "screen-tb",
            variant="untreated",
            facts={
                "positive": Series(tuple(positives), "semicolon"),
                "positive_list": Bullets(tuple(positives)),
                "treatment": (
                    Series(tuple(map(_treatment_label, recent)), "semicolon") if recent else Phrase("no_treatment")
                ),
                "start_note": Phrase("start_note", {"start": start}) if start else None,
                "min_days": th.ltbi_min_treatment_days,
                "tst_mm": th.tst_positive_induration_mm,
            },
        )
        return
    recent_screen = [
        r for r in labs.within(results, record.now, months_as_days(th.tb_screen_lookback_months))
        if tb_answer(r, th) in ("negative", "positive")
    ]
    if recent_screen:
        return
    # An indeterminate IGRA is not a negative screen: the card asks for a repeat, and says why.
    indeterminate = results[0] if results and tb_answer(results[0], th) == "indeterminate" else None
    yield Finding(
        "screen-tb",
        variant="indeterminate" if indeterminate else "default",
        facts={
            "months": th.tb_screen_lookback_months,
            "last": _describe(results[0], th) if results else Phrase("no_test"),
            "date": indeterminate.when if indeterminate else None,
            "indeterminate_note": Bullets(
                (Phrase("indeterminate", {"result": _describe(indeterminate, th)}),) if indeterminate else ()
            ),
        },
        suggestions=(order_labs("order-igra", record, ["igra"], "TB screening before tofacitinib (IGRA preferred)"),),
    )


# screen-hbv: each of these must have a result on record (any time, any answer).
HEPATITIS_TESTS = ("hbsag", "anti-hbc", "anti-hcv")


@rule(*ORDER_HOOKS)
def screen_hbv(record: PatientRecord, th: Thresholds) -> Iterable[Finding]:
    """HBsAg, anti-HBc or anti-HCV never resulted: order the missing ones only (revision 2: + anti-HCV)."""
    if not screening_applies(record) or not _labs_known(record):
        return
    missing = [t for t in HEPATITIS_TESTS if not labs.results(record, t)]
    if not missing:
        return
    names = [lab_title(t) for t in missing]
    yield Finding(
        "screen-hbv",
        facts={
            "missing": tuple(names),
            "missing_short": tuple(lab_short(t) for t in missing),
            "missing_list": Bullets(tuple(names)),
        },
        suggestions=(
            order_labs("order-hepatitis", record, missing, "Hepatitis B and C screening before tofacitinib"),
        ),
    )


@rule(*ORDER_HOOKS)
def screen_zoster(record: PatientRecord, th: Thresholds) -> Iterable[Finding]:
    """No recombinant zoster vaccine (CVX 187) on record."""
    if not screening_applies(record) or "immunizations" in record.unavailable:
        return
    vs = lookup.load("zoster-vaccines")
    other = []
    for v in record.immunizations:  # the builder already dropped entered-in-error and not-done
        member = vs.match(v.codings, [v.text])
        if member is None:
            continue
        if member.properties.get("recombinant"):
            return
        other.append(
            Phrase("other_vaccine_dated", {"vaccine": member.name, "given": v.occurrence}) if v.occurrence
            else Phrase("other_vaccine", {"vaccine": member.name})
        )
    yield Finding("screen-zoster", facts={"other_zoster": Bullets(tuple(other))})


@rule(*ORDER_HOOKS)
def screen_baseline_labs(record: PatientRecord, th: Thresholds) -> Iterable[Finding]:
    """CBC with differential, ALT/AST, creatinine within 30 days; lipids within 90 days."""
    if not screening_applies(record) or not _labs_known(record):
        return
    missing = [t for t in BASELINE_TESTS if labs.latest(record, t, th.baseline_labs_lookback_days) is None]
    if not any(labs.latest(record, t, th.baseline_lipids_lookback_days) for t in LIPID_TESTS):
        missing += list(LIPID_TESTS)
    if not missing:
        return
    names = [lab_title(t) for t in missing]
    yield Finding(
        "screen-baseline-labs",
        facts={
            "missing": tuple(names),
            "missing_short": short_names(missing, LIPID_TESTS),
            "missing_list": Bullets(tuple(names)),
            "orders": tuple(order_names(missing)),
            "days": th.baseline_labs_lookback_days,
            "lipid_days": th.baseline_lipids_lookback_days,
        },
        suggestions=(order_labs("order-baseline", record, missing, "Baseline labs before tofacitinib"),),
    )
