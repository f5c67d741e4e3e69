"""pregnancy-lactation (clinical-rules.md, revision 2): pregnancy or lactation in tofacitinib context.

Fires on every hook in tofacitinib context (a selected tofacitinib draft, or an
active tofacitinib order), one warning card:

- pregnancy: an active pregnancy Condition (value set `pregnancy`: Z33.1,
  O00-O9A, where the O09 supervision codes alone count, SNOMED CT 77386006); or
  a pregnancy status Observation (82810-3) that answers "pregnant"; or a
  positive hCG within `hcg_lookback_days` (30): a qualitative positive, or a
  quantitative result above `hcg_positive_above_iu_l` (5 IU/L = 5 mIU/mL).
- lactation: an active lactation Condition (value set `lactation`: Z39.1,
  SNOMED CT 169750002).

Pregnancy status and hCG results are read as one timeline, newest first: the
newest one that decides anything wins. "Pregnant" and a positive hCG within
the window say pregnant; "not pregnant" and a negative hCG (of any age) say
not pregnant. So a newer negative test or "not pregnant" status supersedes an
older positive one, and a positive hCG older than the window never fires. An
answer that decides nothing ("unknown", indeterminate, a number whose unit
cannot be read) is skipped. A Condition counts while it is active (resolved
ones are not in `record.conditions`); a newer "not pregnant" reading is named
on the card, as the problem list may be out of date. A male patient never
fires.

The card (USPI 8.1-8.3): limited human data and fetal harm in animal studies,
the pregnancy registry; no breastfeeding during treatment and for at least
18 hours after the last immediate-release dose, 36 hours after XR (read from
the tofacitinib orders in context); contraception; and cyclophosphamide or
mycophenolate, named when current (teratogenic).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from cdshooks.clinical import labs, tofacitinib
from cdshooks.clinical.dosing import regimens
from cdshooks.clinical.engine import rule
from cdshooks.clinical.findings import Bullets, Finding, Phrase, Series
from cdshooks.clinical.interacting_drugs import DrugHit, find
from cdshooks.clinical.labs import Result
from cdshooks.clinical.problem_list import ProblemMatch, matching
from cdshooks.clinical.therapy_status import status
from cdshooks.clinical.thresholds import Thresholds
from cdshooks.data.record import PatientRecord
from cdshooks.terminology import lookup

TOPIC = "pregnancy-lactation"
STATUS_TEST = "pregnancy-status"
HCG_TESTS = ("hcg-quantitative", "hcg-qualitative")
# Members of the triple-therapy-agents value set that are teratogenic (clinical-rules.md, this row).
TERATOGENS = frozenset({"cyclophosphamide", "mycophenolate"})
PREGNANT_SNOMED = "77386006"  # terminology.md: pregnancy status, SNOMED CT 77386006 pregnant

PREGNANT, NOT_PREGNANT = "pregnant", "not pregnant"

# Pregnancy status answers, read from the answer's text and coding displays ("la15173-0; pregnant").
_NOT_PREGNANT = re.compile(r"\b(?:not|non|never)[\s-]*(?:currently\s+)?pregnant\b|^(?:no|negative|false)$")
_UNSURE = re.compile(r"\b(?:possibl[ey]|unknown|unsure|uncertain|suspected|probabl[ey]|may\s+be|unable|declined)\b")
_PREGNANT = re.compile(r"\bpregnant\b|^(?:yes|positive|true)$")


@dataclass(frozen=True)
class Reading:
    """A pregnancy status or hCG result that decides something: PREGNANT or NOT_PREGNANT."""

    result: Result
    kind: str  # "status" | "hcg"
    answer: str

    @property
    def label(self) -> Phrase:
        """"hCG (21198-7): 250 IU/L on 2026-01-10", "pregnancy status (82810-3): Not pregnant on ..."."""
        return Phrase("reading", {"test": _test_name(self), "code": _loinc(self.result), "result": self.value,
                                  "when": self.result.when})

    @property
    def value(self) -> str:
        r = self.result
        if self.kind == "hcg" and r.measurement is None:
            return (r.answer or r.value_label).capitalize()
        return r.value_label


def _test_name(reading: Reading) -> Phrase:
    return Phrase("test_status") if reading.kind == "status" else Phrase("test_hcg")


def _loinc(r: Result) -> str | Phrase:
    code = next((c.code for c in r.lab.codings if c.code and lookup.canonical_system(c.system) == lookup.LOINC), None)
    return code or r.lab.text or Phrase("local_code")


def status_answer(r: Result) -> str | None:
    """PREGNANT / NOT_PREGNANT for a pregnancy status Observation, None when it decides nothing.

    SNOMED CT 77386006 is pregnant (the code terminology.md lists); otherwise the answer's
    text and displays are read: "not pregnant" (any coding, e.g. LOINC LA26683-5 or SNOMED
    60001007 by their display), "unknown" / "possible pregnancy" decide nothing, "pregnant"
    (e.g. LOINC LA15173-0 by its display). Another SNOMED-coded answer decides nothing.
    """
    lab = r.lab
    snomed = {c.code.strip() for c in lab.value_codings
              if c.code and lookup.canonical_system(c.system) == lookup.SNOMED}
    if PREGNANT_SNOMED in snomed:
        return PREGNANT
    parts = [p.strip() for p in (lab.value_text or "").lower().split(";")]
    parts += [(c.display or "").lower().strip() for c in lab.value_codings]
    parts = [p for p in parts if p]
    if any(_NOT_PREGNANT.search(p) for p in parts):
        return NOT_PREGNANT
    if snomed or any(_UNSURE.search(p) for p in parts):
        return None
    if any(_PREGNANT.search(p) for p in parts):
        return PREGNANT
    return None


def hcg_answer(r: Result, th: Thresholds) -> str | None:
    """PREGNANT (positive), NOT_PREGNANT (negative) or None for one hCG result.

    A number in IU/L (= mIU/mL) is positive above the threshold (5 IU/L) and negative at or
    below it, or when reported below the assay's limit ("<5"); ">2" says nothing about 5. A
    number whose unit cannot be read is not compared. Without a number: the coded or text
    answer (positive / negative; indeterminate decides nothing).
    """
    m = r.measurement
    if m is not None:
        if r.below_limit:
            return NOT_PREGNANT
        if m.value > th.hcg_positive_above_iu_l:
            return PREGNANT
        return None if r.lab.comparator in (">", ">=") else NOT_PREGNANT
    if r.lab.value is not None:
        return None  # a number in a unit that cannot be converted to IU/L
    if r.is_positive:
        return PREGNANT
    if r.is_negative:
        return NOT_PREGNANT
    return None


def readings(record: PatientRecord, th: Thresholds) -> list[Reading]:
    """Pregnancy status and hCG results that decide something, newest first.

    A positive hCG older than the window is left out (it never fires, and hides nothing);
    negative results count at any age. At the same time a positive comes first.
    """
    out = []
    for r in labs.results(record, STATUS_TEST):
        answer = status_answer(r)
        if answer is not None:
            out.append(Reading(r, "status", answer))
    for r in labs.results_any(record, HCG_TESTS):
        answer = hcg_answer(r, th)
        if answer == PREGNANT and labs.days_between(r.when, record.now) > th.hcg_lookback_days:
            continue
        if answer is not None:
            out.append(Reading(r, "hcg", answer))
    out.sort(key=lambda x: (x.result.when, x.answer == PREGNANT), reverse=True)
    return out


def _unread_hcg(record: PatientRecord, th: Thresholds) -> list[Result]:
    """hCG numbers within the window whose unit could not be converted (the card says so)."""
    found = labs.within(labs.results_any(record, HCG_TESTS), record.now, th.hcg_lookback_days)
    return [r for r in found if r.unconvertible]


def _condition_date(m: ProblemMatch):
    return m.problem.onset or m.problem.recorded


def _condition_code(m: ProblemMatch) -> str | None:
    return next((c.code for c in m.problem.codings if c.code), None)


def _condition_short(m: ProblemMatch, what: str) -> Phrase:
    """"Pregnancy (O09.90, since 2025-11-16)" for the summary; `what` is "pregnancy" or "lactation"."""
    code, when = _condition_code(m), _condition_date(m)
    form = "coded_since" if code and when else "coded" if code else "since" if when else "listed"
    return Phrase(f"short_{form}", {"what": Phrase(what), "code": code, "since": when})


def _condition_line(m: ProblemMatch, what: str) -> Phrase:
    when = _condition_date(m)
    facts = {"what": Phrase(what), "condition": m.label, "since": when}
    return Phrase("condition_line_since" if when is not None else "condition_line", facts)


def _reading_short(reading: Reading) -> Phrase:
    """"hCG 250 IU/L on 2026-01-10", "Positive hCG on ...", "Pregnancy status 'Pregnant' on ..."."""
    facts = {"result": reading.value, "when": reading.result.when}
    if reading.kind == "status":
        return Phrase("short_status", facts)
    if reading.result.measurement is not None:
        return Phrase("short_hcg", facts)
    return Phrase("short_hcg_positive", facts)


def _breastfeeding_hours(record: PatientRecord) -> tuple[Phrase, Phrase]:
    """(summary phrase, detail phrase) of USPI 8.2 for the tofacitinib products in context."""
    orders = (*tofacitinib.selected_drafts(record), *tofacitinib.active_orders(record))
    released = set()
    for order in orders:
        dose = regimens.read(order, record.now)
        if dose is not None:
            released.add(dose.product.extended_release)
    products = "xr" if released == {True} else "mixed" if released == {True, False} else "ir"
    return Phrase(f"hours_short_{products}"), Phrase(f"hours_{products}")


def _teratogens(record: PatientRecord, th: Thresholds) -> list[DrugHit]:
    """Current cyclophosphamide or mycophenolate (drafted, active, or cyclophosphamide given in the last 30 days)."""
    return [h for h in find(record, ("triple-therapy-agents",), th) if h.ingredient in TERATOGENS]


def _orders_line(record: PatientRecord) -> Series:
    orders = (*tofacitinib.selected_drafts(record), *tofacitinib.active_orders(record))
    shown: dict[tuple[str, bool, bool], Phrase] = {}  # once each: a draft may also be read as an order
    for order in orders:
        dose = regimens.read(order, record.now)
        xr = dose is not None and dose.product.extended_release
        shown.setdefault((order.label, order.is_draft, xr), Phrase("order_line", {
            "order": order.label,
            "kind": Phrase("draft") if order.is_draft else Phrase("active_order"),
            "release": Phrase("xr") if xr else Phrase("ir"),
        }))
    return Series(tuple(shown.values()), "semicolon")


@rule("order-select", "order-sign", "patient-view")
def pregnancy_lactation(record: PatientRecord, th: Thresholds) -> Iterable[Finding]:
    """pregnancy-lactation: active pregnancy (Condition, status, hCG within 30 days) or lactation (Condition)."""
    if not tofacitinib.in_context(record):
        return
    if (record.sex or "").strip().lower() == "male":
        return
    pregnancy = matching(record, "pregnancy")
    lactation = matching(record, "lactation")
    found = readings(record, th)
    newest = found[0] if found else None
    observed = newest if newest is not None and newest.answer == PREGNANT else None
    pregnant = bool(pregnancy) or observed is not None
    if not pregnant and not lactation:
        return

    therapy = status(record)
    lines = [_condition_line(m, "pregnancy") for m in pregnancy]
    for kind in ("status", "hcg"):  # the newest reading of each kind, whatever it says
        first = next((x for x in found if x.kind == kind), None)
        if first is not None:
            lines.append(Phrase("preliminary", {"reading": first.label}) if first.result.preliminary else first.label)
    lines += [_condition_line(m, "lactation") for m in lactation]
    lines += [Phrase("hcg_not_compared", {"result": r.value_label, "when": r.when}) for r in _unread_hcg(record, th)]

    if observed is not None:
        finding = _reading_short(observed)
    elif pregnancy:
        finding = _condition_short(pregnancy[0], "pregnancy")
    else:
        finding = _condition_short(lactation[0], "lactation")
    hours_short, hours = _breastfeeding_hours(record)
    teratogens = _teratogens(record, th)
    facts = {
        "finding": finding,
        "basis": Bullets(tuple(lines)),
        "threshold": f"{th.hcg_positive_above_iu_l:g}",
        "window": th.hcg_lookback_days,
        "hours": hours,
        "hours_short": hours_short,
        "tofacitinib": _orders_line(record),
        "therapy": therapy.text,
        "action": Phrase("action_new_start") if therapy.new_start else Phrase("action_continue"),
        "conflict_note": _conflict_note(pregnancy, observed, newest),
        "teratogen_note": _teratogen_note(teratogens, pregnant),
    }
    variant = "default" if pregnant and not lactation else ("lactation" if not pregnant else "pregnancy-and-lactation")
    yield Finding(TOPIC, facts=facts, variant=variant)


def _conflict_note(pregnancy: list[ProblemMatch], observed: Reading | None, newest: Reading | None) -> Phrase | None:
    """A pregnancy known from the problem list only, while a newer reading says not pregnant."""
    if observed is not None or not pregnancy or newest is None or newest.answer != NOT_PREGNANT:
        return None
    dates = [_condition_date(m) for m in pregnancy]
    if all(d is not None and d >= newest.result.when for d in dates):
        return None
    return Phrase("conflict", {"newer": newest.label})


def _teratogen_note(hits: list[DrugHit], pregnant: bool) -> Phrase | None:
    """"**Also current:** mycophenolate (...). Mycophenolate is teratogenic: ..." (None when none)."""
    if not hits:
        return None
    drugs = list(dict.fromkeys(h.ingredient for h in hits))
    drugs[0] = drugs[0][:1].upper() + drugs[0][1:]  # it opens a sentence
    several = len(drugs) > 1
    advice = ("advice_pregnant" if pregnant else "advice_contraception_several" if several
              else "advice_contraception_one")
    return Phrase("teratogens_several" if several else "teratogen", {
        "hits": Series(tuple(h.described for h in hits), "semicolon"),
        "drugs": Series(tuple(drugs), "and"),
        "advice": Phrase(advice),
    })
