"""Where the patient stands with tofacitinib: new start, renewal, days on therapy."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from cdshooks.clinical import labs, tofacitinib
from cdshooks.clinical.dosing import daily_dose as dosing
from cdshooks.clinical.findings import Phrase
from cdshooks.data.record import MedicationOrder, PatientRecord


@dataclass(frozen=True)
class TherapyStatus:
    new_start: bool
    start: datetime | None
    days_on: int | None

    @property
    def text(self) -> Phrase:
        """One phrase for a card ("new start", "on tofacitinib since 2025-09-17 (day 120)"): cards/_phrases.toml,
        [therapy]."""
        if self.new_start:
            return Phrase("therapy.new_start")
        if self.start is None:
            return Phrase("therapy.start_not_recorded")
        return Phrase("therapy.since", {"start": self.start.date(), "day": self.days_on})


def status(record: PatientRecord) -> TherapyStatus:
    new = tofacitinib.is_new_start(record)
    start = tofacitinib.start_date(record)
    days_on = labs.days_between(start, record.now) if start is not None and not new else None
    return TherapyStatus(new, start, days_on)


def is_renewal(record: PatientRecord) -> bool:
    """A tofacitinib draft while an active tofacitinib order exists."""
    return bool(tofacitinib.selected_drafts(record)) and bool(tofacitinib.active_orders(record))


def _mg_per_day(order: MedicationOrder) -> float | None:
    product = tofacitinib.product(order)
    strength = product.strength_mg if product else None
    reading = dosing.daily_dose(
        order, strength_mg=strength, concentration_mg_per_ml=strength if product and product.solution else None
    )
    return reading.mg_per_day


def regimen_described(order: MedicationOrder) -> Phrase:
    """"tofacitinib 5 MG Oral Tablet, 10 mg/day" (or "dose not readable") for a card: cards/_phrases.toml, [therapy]."""
    mg = _mg_per_day(order)
    dose = Phrase("therapy.mg_per_day", {"mg": mg}) if mg is not None else Phrase("therapy.dose_not_readable")
    return Phrase("therapy.regimen", {"order": order.label, "dose": dose})
