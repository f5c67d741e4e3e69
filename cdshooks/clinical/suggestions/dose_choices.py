"""Facts and suggestions shared by the dose-* cards, and the one set of choices they all offer.

Dose rules (renal, hepatic B, CYP inhibitor, escalation, above-max) mark the
order they are about; `offer_choices` (run as an engine postprocessor) counts the
reductions that apply to that order (renal, hepatic and CYP stack, one step
each) and gives every one of its dose cards the same labelled set of regimens
(clinical-rules.md, "Dose reductions"): an escalated order with a reduction
gets "keep the escalation, adjusted" and "standard dose, adjusted".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from cdshooks.clinical.dosing import regimens
from cdshooks.clinical.dosing.regimens import Choice, OrderDose
from cdshooks.clinical.findings import Action, Finding, Phrase, Series, Suggestion
from cdshooks.clinical.rules import topics
from cdshooks.clinical.suggestions.draft_update import new_order, update_action
from cdshooks.clinical.thresholds import Thresholds
from cdshooks.data.record import PatientRecord

# Rules that reduce a dose for the patient's condition, and the reason each names
# (cards/_phrases.toml, [dose_reasons]).
CONDITION_TOPICS = {
    topics.DOSE_RENAL: Phrase("dose_reasons.renal"),
    topics.DOSE_HEPATIC: Phrase("dose_reasons.hepatic"),
    topics.DOSE_CYP_INHIBITOR: Phrase("dose_reasons.cyp"),
}
BAND_TOPICS = frozenset({topics.DOSE_ESCALATION, topics.DOSE_ABOVE_MAX})
REDUCING_TOPICS = frozenset(CONDITION_TOPICS) | BAND_TOPICS
SUGGESTION_KEY = "change-dose"  # an update of the draft
NEW_ORDER_KEY = "new-reduced-order"  # a new order replacing an active, undrafted one
# Said when the order's dose could not be read, so no exact target can be computed.
GENERIC_REDUCTION = Phrase("dosing.generic_reduction")
NOT_DETERMINABLE = Phrase("dosing.not_determinable")


def order_facts(dose: OrderDose) -> dict[str, Any]:
    """What every dose card may show about the order: regimen, daily dose, how it was read."""
    ir = dose.ir_equivalent_mg_day
    return {
        "product": dose.order.label,
        "regimen": dose.regimen_label,
        "mg_day": dose.reading.mg_per_day if dose.reading.mg_per_day is not None else NOT_DETERMINABLE,
        "ir_mg_day": round(ir, 2) if ir is not None else NOT_DETERMINABLE,
        "xr_note": Phrase("dosing.xr_counted") if dose.product.extended_release else None,
        "basis": dose.reading.basis,
        "target": None,
        "choices": None,
        "consensus_note": None,
        "_dose": dose,
    }


def reduction_finding(topic: str, dose: OrderDose, facts: dict[str, Any], variant: str = "default") -> Finding:
    """A reducing card for a draft; "adjusted" when the order is already at 5 mg once daily or below.

    The regimens it offers are filled in by `offer_choices`, which sees every
    reduction that applies to the order.
    """
    f = {**order_facts(dose), **facts}
    if not dose.reading.readable:
        f["target"] = f["choices"] = GENERIC_REDUCTION
    elif regimens.reduced(dose) is None:
        variant = "adjusted"
        f["target"] = dose.regimen_label
    return Finding(topic, f, variant=variant, order_id=dose.order.id)


def offer_choices(findings: list[Finding], record: PatientRecord, t: Thresholds) -> list[Finding]:
    """Every dose card of an order offers the same labelled regimens, the reductions stacked."""
    groups: dict[str, list[int]] = {}
    for i, f in enumerate(findings):
        if f.topic in REDUCING_TOPICS and f.order_id and f.variant not in ("severe", "inhibitor-drafted"):
            candidate = f.facts.get("_dose")
            if candidate is not None and candidate.reading.readable:
                groups.setdefault(f.order_id, []).append(i)
    out = list(findings)
    for indices in groups.values():
        group = [findings[i] for i in indices]
        dose: OrderDose = group[0].facts["_dose"]
        fired = {f.topic for f in group}
        reasons = [reason for topic, reason in CONDITION_TOPICS.items() if topic in fired]  # one per reason
        offered = regimens.choices(dose, len(reasons), t)
        if not offered:
            continue  # already at the adjusted dose: the cards say so, nothing to change
        notes = []
        if len(reasons) > 1:
            notes.append(stacked_note(reasons))
        if len(group) > 1:
            topics = Series(tuple(dict.fromkeys(f.topic for f in group)), "comma")
            notes.append(Phrase("dose_notes.several_cards", {"topics": topics}))
        facts = {
            "target": Series(tuple(c.regimen.label for c in offered), "or"),
            "choices": describe(offered),
            "consensus_note": Series(tuple(notes), "space"),
        }
        suggestions = choice_suggestions(dose, offered, record.patient_id)
        for i, f in zip(indices, group, strict=True):
            out[i] = replace(f, facts={**f.facts, **facts}, suggestions=suggestions)
    return out


def stacked_note(reasons: Iterable[Phrase]) -> Phrase:
    """The reductions for several reasons stack (cards/_phrases.toml, dose_notes.stacked)."""
    return Phrase("dose_notes.stacked", {"reasons": Series(tuple(reasons), "and")})


def choice_name(choice: Choice) -> Phrase:
    """"keep the escalation, adjusted" and the like, from cards/_phrases.toml."""
    return Phrase(f"dose_choices.{choice.kind}")


def describe(offered: Iterable[Choice]) -> Series:
    """"**keep the escalation, adjusted: 5 mg BID** or **standard dose, adjusted: 5 mg once daily**"."""
    return Series(tuple(Phrase("dose_offer.choice", {"name": choice_name(c), "regimen": c.regimen.label})
                        for c in offered), "or")


def choice_suggestions(dose: OrderDose, offered: tuple[Choice, ...], patient_id: str) -> tuple[Suggestion, ...]:
    """One suggestion per choice: an `update` of a draft, or a `create` replacing an active order."""
    out = []
    for n, choice in enumerate(offered):
        if dose.order.is_draft:
            key, action = SUGGESTION_KEY, update_action(dose, choice.regimen, patient_id)
        else:
            # optional: without a valid resource there is no suggestion, and the card's text carries the advice
            description = Phrase("actions.new_order", {"regimen": choice.regimen.label, "current": dose.regimen_label})
            key, action = NEW_ORDER_KEY, Action("create", description, resource=new_order(dose, choice.regimen,
                                                                                      patient_id), optional=True)
        # the lower choice is the recommended one: escalation is for refractory disease only
        out.append(
            Suggestion(
                key,
                (action,),
                is_recommended=n == len(offered) - 1,
                facts={
                    "suggested": choice.regimen.label,
                    "choice": choice_name(choice),
                    "current": dose.regimen_label,
                },
            )
        )
    return tuple(out)


def suppress_guidance(findings: list[Finding]) -> list[Finding]:
    """Drop `dose-guidance` for an order when another dose-* topic fires for it (ddi-* do not count)."""
    other = {f.order_id for f in findings if f.topic.startswith("dose-") and f.topic != topics.DOSE_GUIDANCE}
    return [f for f in findings if not (f.topic == topics.DOSE_GUIDANCE and f.order_id in other)]
