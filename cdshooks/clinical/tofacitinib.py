"""Which orders are tofacitinib, which product, and the patient's therapy context.

Shared by every rule family: "tofacitinib context", "new start" and the
therapy start date are defined once here (clinical-rules.md, Definitions).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from cdshooks.data.record import Administration, Coding, MedicationOrder, PatientRecord
from cdshooks.memo import bounded_memo
from cdshooks.terminology import lookup

# A renewal does not restart the clock: these statuses count for the start date.
START_DATE_STATUSES = frozenset({"active", "completed", "on-hold"})
_XR_MARKERS = re.compile(r"\b(XR|ER|extended[- ]release|24 ?HR)\b", re.IGNORECASE)
_SOLUTION_MARKERS = re.compile(r"\b(oral solution|solution|mg/ml)\b", re.IGNORECASE)
# A number starts where a digit run starts: without the look-behind, a run of n digits
# that is not followed by "mg" is retried from each of its digits (quadratic). A match
# inside a run would be the same match from its start, so nothing else changes.
_STRENGTH = re.compile(r"(?<!\d)(\d+(?:\.\d+)?)\s*mg\b(?!\s*/\s*ml)", re.IGNORECASE)


@dataclass(frozen=True)
class Product:
    """The tofacitinib product of an order, as far as codes and text tell."""

    name: str
    strength_mg: float | None  # per tablet; per mL for the oral solution
    extended_release: bool
    solution: bool


def product(order: MedicationOrder | Administration) -> Product | None:
    """The tofacitinib product ordered, or None if the order is not tofacitinib."""
    return _product(order.codings, order.names)


# Rules ask about the same orders many times per call, and EHRs send the same few products.
@bounded_memo(4096)
def _product(codings: tuple[Coding, ...], names: tuple[str, ...]) -> Product | None:
    member = lookup.load("tofacitinib").match(codings, names)
    if member is None:
        return None
    props = member.properties
    texts = " ".join(names) + " " + " ".join(c.display or "" for c in codings)
    form = props.get("form")
    xr = form == "xr-tablet" or (form is None and bool(_XR_MARKERS.search(texts)))
    solution = form == "solution" or (form is None and bool(_SOLUTION_MARKERS.search(texts)))
    strength = props.get("strength_mg")
    if strength is None and not solution:
        m = _STRENGTH.search(texts)
        strength = float(m.group(1)) if m else None
    if strength is None and solution:
        strength = 1.0  # the only oral solution is 1 mg/mL (terminology.md)
    return Product(member.name, float(strength) if strength is not None else None, xr, solution)


def is_tofacitinib(order: MedicationOrder | Administration) -> bool:
    return product(order) is not None


def record_orders(record: PatientRecord) -> tuple[MedicationOrder, ...]:
    """Tofacitinib MedicationRequests in the record (not drafts), any status; not those that
    are no order to give it (doNotPerform, intent plan/proposal: see `counts_as_order`)."""
    return record.derived(_record_orders)


def _record_orders(record: PatientRecord) -> tuple[MedicationOrder, ...]:
    return tuple(o for o in record.medications if o.counts_as_order and is_tofacitinib(o))


def active_orders(record: PatientRecord) -> tuple[MedicationOrder, ...]:
    return record.derived(_active_orders)


def _active_orders(record: PatientRecord) -> tuple[MedicationOrder, ...]:
    return tuple(o for o in record_orders(record) if o.status == "active")


def selected_drafts(record: PatientRecord) -> tuple[MedicationOrder, ...]:
    """Tofacitinib drafts the clinician is working on (order-select: selected ones)."""
    return record.derived(_selected_drafts)


def _selected_drafts(record: PatientRecord) -> tuple[MedicationOrder, ...]:
    return tuple(d for d in record.selected_drafts if is_tofacitinib(d))


def is_new_start(record: PatientRecord) -> bool:
    """No active tofacitinib order on record."""
    return not active_orders(record)


def in_context(record: PatientRecord) -> bool:
    """A tofacitinib draft is selected, or the patient has an active tofacitinib order."""
    return bool(selected_drafts(record)) or bool(active_orders(record))


def start_date(record: PatientRecord) -> datetime | None:
    """Earliest authoredOn of an active/completed/on-hold order; for a new start, now.

    None when the patient is on tofacitinib but no order carries a date.
    """
    dates = [
        o.authored_on
        for o in record_orders(record)
        if o.status in START_DATE_STATUSES and o.authored_on is not None
    ]
    if dates:
        return min(dates)
    if is_new_start(record):
        return record.now
    return None
