"""Tofacitinib regimens: the order's daily dose, its IR-equivalent band, and dose reductions.

Definitions (clinical-rules.md): XR 11 mg = IR 5 mg BID, XR 22 mg = IR 10 mg
BID, so an XR daily dose counts 10/11 of its mg. Bands: <= 10 mg/day guidance,
<= 20 escalation, above that above-max (limits from `Thresholds`).
Reductions (renal, hepatic B, CYP): IR 5 mg BID -> 5 mg once daily; IR 10 mg
BID -> 5 mg BID; XR 11 -> IR 5 mg once daily; XR 22 -> XR 11.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from functools import lru_cache

from cdshooks.clinical import tofacitinib as tofa
from cdshooks.clinical.dosing.daily_dose import DoseReading, daily_dose
from cdshooks.clinical.findings import Phrase
from cdshooks.clinical.thresholds import Thresholds
from cdshooks.data.record import MedicationOrder
from cdshooks.terminology import lookup

XR_TO_IR = 10.0 / 11.0  # XR 11 mg/day = IR 10 mg/day (5 mg BID)


@dataclass(frozen=True)
class Regimen:
    """A standard regimen a card can suggest; `per_day` administrations of `dose_mg`."""

    dose_mg: float
    per_day: int
    extended_release: bool = False

    @property
    def mg_per_day(self) -> float:
        return self.dose_mg * self.per_day

    @property
    def ir_equivalent_mg_day(self) -> float:
        return self.mg_per_day * (XR_TO_IR if self.extended_release else 1.0)

    @property
    def label(self) -> str:
        freq = {1: "once daily", 2: "BID"}.get(self.per_day, f"{self.per_day} times daily")
        return f"{'XR ' if self.extended_release else ''}{self.dose_mg:g} mg {freq}"

    @property
    def sig(self) -> str:
        """The instruction text for the updated order."""
        freq = {1: "once daily", 2: "twice daily"}.get(self.per_day, f"{self.per_day} times daily")
        form = "extended-release tablet " if self.extended_release else ""
        return f"{self.dose_mg:g} mg {form}by mouth {freq}"


IR_5_QD = Regimen(5, 1)
IR_5_BID = Regimen(5, 2)
IR_10_BID = Regimen(10, 2)
XR_11 = Regimen(11, 1, True)
XR_22 = Regimen(22, 1, True)


@dataclass(frozen=True)
class OrderDose:
    """A tofacitinib order with its product and daily dose read."""

    order: MedicationOrder
    product: tofa.Product
    reading: DoseReading

    @property
    def ir_equivalent_mg_day(self) -> float | None:
        mg = self.reading.mg_per_day
        if mg is None:
            return None
        return mg * (XR_TO_IR if self.product.extended_release else 1.0)

    @property
    def regimen_label(self) -> str | Phrase:
        """"5 mg BID", "XR 11 mg once daily", or "7.5 mg/day" for unusual regimens (unread: a Phrase)."""
        r = self.reading
        if r.mg_per_day is None:
            return Phrase("dosing.dose_not_determinable")
        if r.dose_mg is not None and r.per_day is not None and float(r.per_day).is_integer():
            return Regimen(r.dose_mg, int(r.per_day), self.product.extended_release).label
        xr = "XR " if self.product.extended_release else ""
        return f"{xr}{r.mg_per_day:g} mg/day"


def read(order: MedicationOrder, now: datetime | None = None) -> OrderDose | None:
    """The order's tofacitinib product and daily dose (a taper: the step in force at `now`); None if not tofacitinib."""
    return order.derived(_read, now)


def _read(order: MedicationOrder, now: datetime | None) -> OrderDose | None:
    product = tofa.product(order)
    if product is None:
        return None
    strength = None if product.solution else product.strength_mg
    concentration = product.strength_mg if product.solution else None
    reading = daily_dose(order, strength, concentration, now=now)
    return OrderDose(order, _release_from_strength(product, reading), reading)


@lru_cache(maxsize=1)
def _tablet_strengths() -> tuple[frozenset[float], frozenset[float]]:
    """(IR, XR) tablet strengths in mg, from the tofacitinib value set (5/10 and 11/22)."""
    members = lookup.load("tofacitinib").members

    def by(form: str) -> frozenset[float]:
        return frozenset(float(m.properties["strength_mg"]) for m in members if m.properties.get("form") == form)

    return by("tablet"), by("xr-tablet")


def _release_from_strength(product: tofa.Product, reading: DoseReading) -> tofa.Product:
    """XR or IR as the strength says when the text says otherwise or nothing.

    Tablets come as IR 5/10 mg and XR 11/22 mg only, so "Xeljanz 11 mg" or
    "tofacitinib 11 mg daily" is XR (else it reads as IR 11 mg/day, an
    escalation), and "5 mg tablet (ER ...)" is IR ("ER" is a loose marker).
    """
    if product.solution:
        return product
    ir, xr = _tablet_strengths()
    strength = product.strength_mg
    if strength is None and reading.per_day == 1 and reading.dose_mg is not None:
        strength = reading.dose_mg  # an ingredient-only order: the once-daily dose is the tablet
    if strength in xr and not product.extended_release:
        return replace(product, extended_release=True)
    if product.strength_mg in ir and product.extended_release:
        return replace(product, extended_release=False)
    return product


def band(ir_mg_day: float, t: Thresholds) -> str:
    """ "guidance" | "escalation" | "above-max" for an IR-equivalent daily dose."""
    if ir_mg_day <= t.dose_guidance_max_mg_day:
        return "guidance"
    if ir_mg_day <= t.dose_escalation_max_mg_day:
        return "escalation"
    return "above-max"


def reduced(dose: OrderDose, times: int = 1) -> Regimen | None:
    """The label's reduced regimen for this order, `times` reductions stacked; None if already there.

    One reduction (renal, hepatic B or CYP): IR 10 mg BID -> 5 mg BID, XR 22 -> XR 11,
    IR 5 mg BID or XR 11 -> IR 5 mg once daily. Reductions for different reasons
    stack, never below 5 mg once daily.
    """
    ir = dose.ir_equivalent_mg_day
    if ir is None or times < 1:
        return None
    if ir > IR_5_BID.mg_per_day:
        # the same halving for other high doses (15 mg/day, 12 mg BID)
        first = XR_11 if dose.product.extended_release else IR_5_BID
    elif ir > IR_5_QD.mg_per_day:
        first = IR_5_QD
    else:
        return None
    return stacked(first, times - 1)


def step_down(r: Regimen) -> Regimen:
    """One label reduction of a standard regimen, floored at 5 mg once daily."""
    if r.ir_equivalent_mg_day > IR_5_BID.mg_per_day:
        return XR_11 if r.extended_release else IR_5_BID
    return IR_5_QD if r.ir_equivalent_mg_day > IR_5_QD.mg_per_day else r


def stacked(r: Regimen, times: int) -> Regimen:
    """`times` reductions for different reasons, one after the other, never below 5 mg once daily."""
    for _ in range(max(times, 0)):
        r = step_down(r)
    return r


def standard(dose: OrderDose) -> Regimen:
    """The standard dose (5 mg BID), kept in the order's formulation (XR 11 = 5 mg BID)."""
    return XR_11 if dose.product.extended_release else IR_5_BID


def escalation(dose: OrderDose) -> Regimen:
    """The escalation dose (10 mg BID), kept in the order's formulation (XR 22)."""
    return XR_22 if dose.product.extended_release else IR_10_BID


# What a choice is called on the card (clinical-rules.md, "Dose reductions"); the
# wording lives in cards/_phrases.toml under these keys.
STANDARD, ESCALATION, ADJUSTED = "standard", "escalation", "adjusted"
ESCALATION_ADJUSTED, STANDARD_ADJUSTED = "escalation-adjusted", "standard-adjusted"


@dataclass(frozen=True)
class Choice:
    """A regimen a dose card offers, and what it is (the standard dose, the adjusted dose...)."""

    regimen: Regimen
    kind: str


def choices(dose: OrderDose, reductions: int, t: Thresholds) -> tuple[Choice, ...]:
    """The labelled regimens every dose card of this order offers; () when there is nothing to change.

    An escalated order with a reduction gets two: "keep the escalation, adjusted"
    and "standard dose, adjusted"; when stacking brings both to 5 mg once daily,
    one. Above the maximum without a reduction: the escalation and the standard
    dose. 5 mg once daily is never called the standard dose.
    """
    ir = dose.ir_equivalent_mg_day
    if ir is None:
        return ()
    where = band(ir, t)
    if where == "guidance":
        target = reduced(dose, reductions)
        return (Choice(target, ADJUSTED),) if target is not None else ()
    if reductions < 1:
        if where == "escalation":
            return (Choice(standard(dose), STANDARD),)
        return (Choice(escalation(dose), ESCALATION), Choice(standard(dose), STANDARD))
    keep = reduced(dose, reductions) if where == "escalation" else stacked(escalation(dose), reductions)
    low = stacked(standard(dose), reductions)
    if keep is None or keep == low:
        return (Choice(low, ADJUSTED),)
    return (Choice(keep, ESCALATION_ADJUSTED), Choice(low, STANDARD_ADJUSTED))
