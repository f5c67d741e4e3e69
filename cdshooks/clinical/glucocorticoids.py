"""Systemic glucocorticoid exposure in prednisone-equivalent mg/day (PJP rule).

clinical-rules.md, "Glucocorticoids for PJP": an active order of >= 15 mg/day
prednisone-equivalent, or an IV methylprednisolone pulse (>= 250 mg/day) in
the last 30 days. Factors from the `glucocorticoids` value set
(terminology.md). Daily doses come from the shared dose reader; an order whose
dose cannot be read is reported as unread, never guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from cdshooks.clinical import labs
from cdshooks.clinical.dosing import daily_dose as dosing
from cdshooks.clinical.findings import Phrase
from cdshooks.clinical.thresholds import Thresholds
from cdshooks.data.record import MedicationOrder, PatientRecord
from cdshooks.terminology import lookup

# Topical, inhaled, ocular... glucocorticoids are not systemic immunosuppression.
_NON_SYSTEMIC = re.compile(
    r"\b(topical|cream|ointment|lotion|gel|foam|ophthalmic|eye|otic|ear|nasal|inhal\w*|"
    r"enema|rectal|suppositor\w*|dental|paste|cutaneous|transdermal)\b",
    re.IGNORECASE,
)
# (?<!\d): a digit run is tried once, from its start (as in tofacitinib._STRENGTH: linear).
_STRENGTH = re.compile(r"(?<!\d)(\d+(?:\.\d+)?)\s*mg\b(?!\s*/\s*(ml|g)\b)", re.IGNORECASE)
PULSE_STATUSES = frozenset({"active", "completed", "on-hold"})


@dataclass(frozen=True)
class SteroidDose:
    order: MedicationOrder
    drug: str  # value set member ("methylprednisolone")
    mg_per_day: float | None  # of the drug itself
    prednisone_eq_mg_day: float | None
    basis: str

    @property
    def described(self) -> Phrase:
        """"prednisone 20 MG Oral Tablet: 20 mg/day" for a card (cards/_phrases.toml, [glucocorticoids])."""
        if self.mg_per_day is None:
            return Phrase("glucocorticoids.unread", {"order": self.order.label, "basis": self.basis})
        eq = (Phrase("glucocorticoids.prednisone_equivalent", {"mg": self.prednisone_eq_mg_day})
              if self.drug != "prednisone" else None)
        # A weight-based order shows its arithmetic, so the weight used can be checked.
        # A taper says which step was read (the one in force today).
        shown = "mg/kg" in self.basis or self.basis.startswith("taper read")
        how = Phrase("glucocorticoids.read_from", {"basis": self.basis}) if shown else None
        return Phrase("glucocorticoids.dose", {"order": self.order.label, "mg": self.mg_per_day, "eq": eq, "how": how})


def steroid_dose(order: MedicationOrder, body_weight_kg: float | None = None,
                 now: datetime | None = None) -> SteroidDose | None:
    """The order as a systemic glucocorticoid dose, or None if it is not one.

    `body_weight_kg` turns a weight-based order (1 mg/kg: common in MDA5 disease) into mg/day;
    of a taper, the step in force at `now` is read (without `now`, the first step).
    """
    member = lookup.load("glucocorticoids").match(order.codings, order.names)
    if member is None:
        return None
    if any(_NON_SYSTEMIC.search(t) for t in [*order.names, *order.route_names] if t):
        return None
    strength = next((float(m.group(1)) for n in order.names if (m := _STRENGTH.search(n))), None)
    reading = dosing.daily_dose(order, strength_mg=strength, body_weight_kg=body_weight_kg, now=now)
    if reading.mg_per_day is None:
        return SteroidDose(order, member.name, None, None, reading.problem or reading.basis)
    factor = float(member.properties.get("prednisone_factor", 1.0))
    return SteroidDose(order, member.name, reading.mg_per_day, round(reading.mg_per_day * factor, 2), reading.basis)


@dataclass(frozen=True)
class Exposure:
    """Glucocorticoid doses that reach the PJP threshold, and those that could not be read."""

    high_dose: tuple[SteroidDose, ...]
    pulses: tuple[SteroidDose, ...]
    unreadable: tuple[SteroidDose, ...]

    @property
    def reaches_threshold(self) -> bool:
        return bool(self.high_dose or self.pulses)


def exposure(record: PatientRecord, th: Thresholds) -> Exposure:
    """Active (or drafted) orders >= threshold; methylprednisolone pulses in the lookback."""
    current = [o for o in record.medications if o.status == "active"] + list(record.selected_drafts)
    weight = labs.latest(record, "body-weight", th.dose_weight_lookback_days)
    weight_kg = weight.measurement.value if weight and weight.measurement else None
    high: list[SteroidDose] = []
    unreadable: list[SteroidDose] = []
    pulses: list[SteroidDose] = []
    for o in current:
        dose = steroid_dose(o, weight_kg, record.now)  # a taper: the step the patient is on today
        if dose is None:
            continue
        if dose.prednisone_eq_mg_day is None:
            unreadable.append(dose)
        elif dose.prednisone_eq_mg_day >= th.pjp_prednisone_eq_mg_day:
            high.append(dose)
    for o in record.medications:
        if o.status not in PULSE_STATUSES or o.authored_on is None:
            continue
        if labs.days_between(o.authored_on, record.now) > th.pjp_pulse_lookback_days:
            continue
        dose = steroid_dose(o, weight_kg)  # a past pulse: its (first) dose, not today's
        if (
            dose is not None
            and dose.drug == "methylprednisolone"
            and (dose.mg_per_day or 0) >= th.pjp_pulse_methylpred_mg_day
            and dose not in high
        ):
            pulses.append(dose)
    return Exposure(tuple(high), tuple(pulses), tuple(unreadable))
