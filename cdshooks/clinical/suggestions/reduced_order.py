"""New tofacitinib orders at the reduced regimen when a CYP3A4 inhibitor is drafted on active tofacitinib.

clinical-rules.md, "Dose reductions": only drafts are updated; the reduced
regimen is a `create` of a new MedicationRequest (`draft_update.new_order`), and
the active order must be discontinued or replaced in the EHR (the card says so).
"""

from __future__ import annotations

from datetime import datetime

from cdshooks.clinical.dosing import regimens
from cdshooks.clinical.findings import Suggestion
from cdshooks.clinical.interacting_drugs import DrugHit
from cdshooks.clinical.suggestions.dose_choices import choice_suggestions
from cdshooks.clinical.thresholds import Thresholds
from cdshooks.data.record import MedicationOrder
from cdshooks.terminology import lookup

ANTI_INFECTIVE = frozenset({"antifungal", "antibiotic", "antiviral"})


def agent_class(hits: list[DrugHit]) -> str:
    """"antifungal", "antibiotic", "antiviral", "anti-infective" (several of them) or "other",
    from the `agent_class` of each drug in its value set, for the card's wording.

    "other" (fluvoxamine, diltiazem with fluoxetine, nefazodone) means that no anti-infective is
    among them: there is no course of treatment of an infection to speak of.
    """
    classes = set()
    for h in hits:
        vs = lookup.load(h.value_set) if h.value_set else None
        member = next((m for m in vs.members if m.name == h.ingredient), None) if vs else None
        classes.add(member.properties.get("agent_class", "other") if member else "other")
    anti = sorted(classes & ANTI_INFECTIVE)
    if not anti:
        return "other"
    return anti[0] if len(anti) == 1 else "anti-infective"


def reduced_tofacitinib_orders(active: tuple[MedicationOrder, ...], patient_id: str, reductions: int,
                               t: Thresholds, now: datetime) -> tuple[Suggestion, ...]:
    """The labelled new orders for each active order whose dose can be reduced (none when unread or reduced).

    `reductions`: how many reasons to reduce apply (renal, hepatic B, CYP); they
    stack. An escalated order gets the same two labelled choices a draft gets.
    """
    out: list[Suggestion] = []
    for order in active:
        dose = regimens.read(order, now)
        if dose is not None and dose.reading.readable:
            out += choice_suggestions(dose, regimens.choices(dose, reductions, t), patient_id)
    return tuple(out)
