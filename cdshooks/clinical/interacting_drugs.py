"""Which interacting drugs the patient is on or is being ordered, by class (value sets).

Only orders that count are considered: an active MedicationRequest in the
record, or a draft in draftOrders (a draft whose status says it is ended,
e.g. stopped or cancelled, does not count). Recent exposure (clinical-rules.md
Definitions) adds drugs whose effect outlasts the order: rituximab given in the
last 12 months, cyclophosphamide and IVIG in the last 30 days, from a completed
order ("given" read from the order: see `given_on`) or a MedicationAdministration
(completed or in-progress, dated by its effective time; the optional
`administrations` prefetch key). Some members are only named on their class's
card, never raise it alone (IVIG on ddi-triple-therapy: `named_only`). Matching
is by code first, then by name (ingredient and brand, whole words), on the
medication concept, a referenced or contained Medication and the order's text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from cdshooks.clinical import tofacitinib as tofa
from cdshooks.clinical.findings import Phrase
from cdshooks.clinical.rules.topics import CLASSES, COMBINATIONS
from cdshooks.clinical.thresholds import DEFAULT_THRESHOLDS, Thresholds
from cdshooks.data.record import Administration, MedicationOrder, PatientRecord
from cdshooks.terminology import lookup

# A draft with one of these statuses is not being ordered.
ENDED_STATUSES = frozenset({"stopped", "cancelled", "completed", "entered-in-error", "on-hold", "revoked"})

# CLASSES (topic -> value sets) and COMBINATIONS (topic -> a pair of value sets) are the
# rules': the topic codes are named in clinical/rules/ only.

# The value sets whose drugs the card names by what they do ("strong CYP3A4 inhibitor": the
# reason the dose is reduced); the words are cards/_phrases.toml [drug_roles].
ROLE_VALUE_SETS = frozenset({
    "strong-cyp3a4-inhibitors",
    "moderate-cyp3a4-strong-cyp2c19-inhibitors",
    "moderate-cyp3a4-inhibitors",
    "strong-cyp2c19-inhibitors",
})


# Classes whose interaction is systemic (CYP3A4 exposure, added systemic immunosuppression):
# a skin, scalp or eye preparation (ketoconazole shampoo, tacrolimus ointment,
# cyclosporine eye drops, all common in dermatomyositis) does not count.
# Topical JAK inhibitors still count: their own label advises against other JAK inhibitors.
SYSTEMIC_ONLY = frozenset({
    "strong-cyp3a4-inhibitors", "moderate-cyp3a4-strong-cyp2c19-inhibitors", "moderate-cyp3a4-inhibitors",
    "strong-cyp2c19-inhibitors", "strong-cyp3a4-inducers", "triple-therapy-agents", "potent-immunosuppressants",
    "nsaids",  # diclofenac gel is not a GI perforation risk
})
_LOCAL_FORM = re.compile(
    r"\b(topical|cutaneous|cream|ointment|shampoo|lotion|foam|gel|patch|ophthalmic|eye drops?|otic|ear drops?)\b",
    re.IGNORECASE,
)


def is_local_preparation(order: MedicationOrder | Administration) -> bool:
    """A skin, scalp, eye or ear preparation, by its name or the route of its instructions."""
    return order.derived(_is_local_preparation)  # asked once per interaction class


def _is_local_preparation(order: MedicationOrder | Administration) -> bool:
    texts = list(order.names) + [c.display or "" for c in order.codings]
    for d in order.dosage_instructions:
        route = d.get("route") if isinstance(d, Mapping) else None
        if isinstance(route, Mapping):
            texts.append(str(route.get("text") or ""))
            texts += [str(c.get("display") or "") for c in _codings(route)]
    return any(_LOCAL_FORM.search(t) for t in texts if t)


def _codings(concept: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    codings = concept.get("coding")
    codings = codings if isinstance(codings, list) else [codings]
    return [c for c in codings if isinstance(c, Mapping)]


@dataclass(frozen=True)
class DrugHit:
    """An order of an interacting drug, with the ingredient it was recognized as.

    order: the order; for recent exposure from a MedicationAdministration, the Administration.
    given: for recent exposure, the date it was last given (a completed order: as far as the
    order tells, see `given_on`; an administration: its effective time, not after now);
    None for active and draft orders.
    value_set: the value set it was recognized in (one of ROLE_VALUE_SETS: the card names the drug's role).
    """

    order: MedicationOrder | Administration
    ingredient: str
    given: datetime | None = None
    value_set: str = ""

    @property
    def drafted(self) -> bool:
        return self.order.is_draft

    @property
    def described(self) -> Phrase:
        """"fluconazole (Diflucan 200 mg tablet, draft order)" for the card; an administration:
        "rituximab given 2026-03-02 (Rituxan 1000 mg infusion, administration record)"
        (cards/_phrases.toml, [drug_hits] and [drug_roles])."""
        given: Phrase | None = None
        if isinstance(self.order, Administration) and self.given is not None:
            given = Phrase("drug_hits.given", {"date": self.given.date()})
            where = Phrase("drug_hits.administration")
        elif self.given is not None:
            where = Phrase("drug_hits.completed", {"date": self.given.date()})
        else:
            where = Phrase("drug_hits.draft" if self.drafted else "drug_hits.active")
        role = (Phrase("drug_hits.role", {"role": Phrase(f"drug_roles.{self.value_set}")})
                if self.value_set in ROLE_VALUE_SETS else None)
        facts = {"ingredient": self.ingredient, "given": given, "role": role, "where": where}
        if self.order.label.lower() == self.ingredient.lower():
            return Phrase("drug_hits.hit", facts)
        return Phrase("drug_hits.hit_named", {**facts, "name": self.order.label})


def counts(order: MedicationOrder) -> bool:
    """Active (record) or draft (draftOrders) orders count; ended ones do not, nor a record
    order with doNotPerform or intent plan/proposal (drafts count whatever their intent)."""
    if order.is_draft:
        return order.status not in ENDED_STATUSES
    return order.status == "active" and order.counts_as_order


def current_orders(record: PatientRecord) -> tuple[MedicationOrder, ...]:
    """Every order that counts: the drafts first, then the record's active orders."""
    return record.derived(_current_orders)


def _current_orders(record: PatientRecord) -> tuple[MedicationOrder, ...]:
    return tuple(o for o in (*record.drafts, *record.medications) if counts(o))


def match(order: MedicationOrder | Administration, value_sets: tuple[str, ...]) -> str | None:
    """The ingredient name the order matches in any of the value sets, else None."""
    found = _match(order, value_sets)
    return found[0] if found else None


def _match(order: MedicationOrder | Administration, value_sets: tuple[str, ...]) -> tuple[str, str] | None:
    """(ingredient, value set) of the first value set the order matches."""
    if tofa.is_tofacitinib(order):
        return None  # a second tofacitinib order is a renewal, not an interaction
    for name in value_sets:
        if name in SYSTEMIC_ONLY and is_local_preparation(order):
            continue
        member = lookup.load(name).match(order.codings, order.names)
        if member is not None:
            return member.name, name
    return None


def _hit(order: MedicationOrder | Administration, ingredient: str, value_set: str,
         given: datetime | None = None) -> DrugHit:
    return DrugHit(order, ingredient, given=given, value_set=value_set)


def find(record: PatientRecord, value_sets: tuple[str, ...], t: Thresholds = DEFAULT_THRESHOLDS) -> list[DrugHit]:
    """Interacting orders that count, drafts first, one per order; then recent exposures."""
    hits = []
    for o in current_orders(record):
        found = _match(o, value_sets)
        if found is not None:
            hits.append(_hit(o, *found))
    for value_set in value_sets:
        recent = RECENT_EXPOSURE.get(value_set)
        if recent is not None:
            ingredients, days_field = recent
            hits += [h for h in recent_exposure(record, (value_set,), getattr(t, days_field))
                     if ingredients is None or h.ingredient in ingredients]
    return hits


# Value set -> (members that count when given recently (None: all), Thresholds field of the window).
# Tacrolimus, cyclosporine and mycophenolate are daily drugs: only an active order counts;
# cyclophosphamide pulses and IVIG courses are given and completed, and count for 30 days.
RECENT_EXPOSURE: dict[str, tuple[frozenset[str] | None, str]] = {
    "rituximab": (None, "rituximab_recent_exposure_days"),
    "triple-therapy-agents": (frozenset({"cyclophosphamide", "IVIG"}), "triple_therapy_recent_exposure_days"),
}
RECENT_EXPOSURE_STATUSES = frozenset({"completed"})  # active orders already count as current
# MedicationAdministration statuses that say the drug was given. not-done and entered-in-error
# never reach the record; stopped, on-hold and unknown do not count either.
GIVEN_STATUSES = frozenset({"completed", "in-progress"})


def given_on(order: MedicationOrder, now: datetime) -> datetime | None:
    """When a completed order was last given, as far as the order tells.

    The latest end of `dispenseRequest.validityPeriod` or of a
    `dosageInstruction.timing.repeat.boundsPeriod` (the last dose falls on or
    before it), never later than now; without either, `authoredOn` (the order
    date: an infusion order is usually given within days of it). None when the
    order carries no date at all.
    """
    if order.course_end is not None:  # read by the builder
        return min(order.course_end, now)
    return order.authored_on


def recent_exposure(record: PatientRecord, value_sets: tuple[str, ...], days: int) -> list[DrugHit]:
    """A drug in the value sets given within the last `days` days: completed record orders,
    then the newest administration of each drug (completed or in-progress).

    Reusable by any rule that treats recent exposure as current (ddi-rituximab,
    ddi-triple-therapy; hbv-positive: rituximab in the last 12 months). An
    active order is not listed here: `find` already counts it.
    """
    hits = []
    for o in record.medications:
        if o.status not in RECENT_EXPOSURE_STATUSES or not o.counts_as_order:
            continue
        found = _match(o, value_sets)
        if found is None:
            continue
        when = given_on(o, record.now)
        if when is not None and _within(when, record.now, days):
            hits.append(_hit(o, *found, given=when))
    return hits + _recent_administrations(record, value_sets, days)


def _within(when: datetime, now: datetime, days: int) -> bool:
    return (now - when).total_seconds() / 86400 <= days  # a date after now (clock skew) counts as now


def _recent_administrations(record: PatientRecord, value_sets: tuple[str, ...], days: int) -> list[DrugHit]:
    """The newest given administration of each drug in the value sets within the window, newest first
    (a course is many administrations: the card names the drug once, with the last date)."""
    newest: dict[tuple[str, str], tuple[datetime, DrugHit]] = {}  # drug -> (when given, hit)
    for a in record.administrations:
        if a.status not in GIVEN_STATUSES:
            continue
        found = _match(a, value_sets)
        when = min(a.given, record.now)
        if found is None or not _within(when, record.now, days):
            continue
        seen = newest.get(found)
        if seen is None or when > seen[0]:
            newest[found] = (when, _hit(a, *found, given=when))
    return [hit for _, hit in sorted(newest.values(), key=lambda wh: wh[0], reverse=True)]


def find_class(record: PatientRecord, topic: str, t: Thresholds = DEFAULT_THRESHOLDS) -> list[DrugHit]:
    """Every drug that counts for an interaction topic: `find` over its value sets, then a pair
    (COMBINATIONS) when both of its drugs are there, as two different orders.

    A drug already counted alone (fluconazole is also a strong CYP2C19 inhibitor) is not a
    partner again; when the pair is incomplete, neither of its drugs is listed.
    """
    hits = find(record, CLASSES[topic], t)
    pair = COMBINATIONS.get(topic)
    if pair is None:
        return hits
    counted = {id(h.order) for h in hits}
    first, second = (
        [h for h in find(record, (value_set,), t) if id(h.order) not in counted] for value_set in pair
    )
    if any(a.order is not b.order for a in first for b in second):
        hits += first + [b for b in second if all(b.order is not a.order for a in first)]
    return hits


@dataclass(frozen=True)
class TofacitinibOrders:
    """The tofacitinib side of an interaction: drafts that count and active record orders."""

    drafts: tuple[MedicationOrder, ...]
    active: tuple[MedicationOrder, ...]


def tofacitinib_orders(record: PatientRecord) -> TofacitinibOrders:
    drafts = tuple(d for d in record.drafts if counts(d) and tofa.is_tofacitinib(d))
    return TofacitinibOrders(drafts, tofa.active_orders(record))


@cache
def named_only(value_sets: tuple[str, ...]) -> frozenset[str]:
    """Members named on their class's card but never raising it alone (property `named_only`).

    IVIG: clinical-rules.md, ddi-triple-therapy, "IVIG is named on the same card when another
    agent is current (IVIG alone raises no card)".
    """
    return frozenset(
        m.name for name in value_sets for m in lookup.load(name).members if m.properties.get("named_only")
    )


def raises_card(hits: list[DrugHit], value_sets: tuple[str, ...]) -> bool:
    """Whether the hits raise their class's card: at least one is not a named-only member."""
    quiet = named_only(value_sets)
    return any(h.ingredient not in quiet for h in hits)


def drug_names(hits: list[DrugHit]) -> str:
    """Distinct ingredient names, in order: "fluconazole, clarithromycin"."""
    return ", ".join(dict.fromkeys(h.ingredient for h in hits))
