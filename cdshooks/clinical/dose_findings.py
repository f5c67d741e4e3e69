"""Facts and suggestions shared by the dose-* cards, and their one-suggestion merge.

Dose-reducing rules (renal, hepatic B, CYP inhibitor, escalation, above-max)
put the regimens they would offer in `facts["_targets"]`; `merge_suggestions`
(run as an engine postprocessor) turns them into update suggestions, and when
several rules apply to the same draft, every card offers the same single
regimen: the lowest of all (clinical-rules.md: "suggest the lowest applicable
regimen once, not conflicting updates").
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from cdshooks.cards import Markdown, escape_markdown
from cdshooks.clinical import regimens
from cdshooks.clinical.draft_update import update_action
from cdshooks.clinical.findings import Finding, Suggestion
from cdshooks.clinical.regimens import OrderDose, Regimen
from cdshooks.data.record import PatientRecord

REDUCING_TOPICS = frozenset({"dose-renal", "dose-hepatic", "dose-cyp-inhibitor", "dose-escalation", "dose-above-max"})
# Rules that reduce a dose for the patient's condition (as opposed to the dose bands).
CONDITION_TOPICS = frozenset({"dose-renal", "dose-hepatic", "dose-cyp-inhibitor"})
BAND_TOPICS = frozenset({"dose-escalation", "dose-above-max"})
SUGGESTION_KEY = "change-dose"
# Said when the order's dose could not be read, so no exact target can be computed.
GENERIC_REDUCTION = "5 mg once daily (5 mg BID if 10 mg BID was intended; XR 22 mg: XR 11 mg)"


def order_facts(dose: OrderDose) -> dict[str, Any]:
    """What every dose card may show about the order: regimen, daily dose, how it was read."""
    ir = dose.ir_equivalent_mg_day
    xr_note = " (XR counted as IR-equivalent: XR 11 mg = 10 mg/day)" if dose.product.extended_release else ""
    return {
        "product": dose.order.label,
        "regimen": dose.regimen_label,
        "mg_day": dose.reading.mg_per_day if dose.reading.mg_per_day is not None else "not determinable",
        "ir_mg_day": round(ir, 2) if ir is not None else "not determinable",
        "xr_note": xr_note,
        "basis": dose.reading.basis,
        "target": "",
        "consensus_note": "",
        "_dose": dose,
        "_targets": (),
    }


def reduction_finding(topic: str, dose: OrderDose, facts: dict[str, Any], variant: str = "default") -> Finding:
    """A reducing card for a draft: the label's reduced regimen, or "adjusted" when already there."""
    f = {**order_facts(dose), **facts}
    if not dose.reading.readable:
        f["target"] = GENERIC_REDUCTION
    else:
        target = regimens.reduced(dose)
        if target is None:
            variant = "adjusted"
            f["target"] = dose.regimen_label
        else:
            f["target"] = target.label
            f["_targets"] = (target,)
    return Finding(topic, f, variant=variant, order_id=dose.order.id)


def bullet_list(lines: list[str]) -> Markdown:
    """A Markdown bullet list of values from input data (escaped)."""
    return Markdown("\n".join(f"- {escape_markdown(line)}" for line in lines))


def merge_suggestions(findings: list[Finding], record: PatientRecord) -> list[Finding]:
    """Attach dose suggestions; several rules on one draft -> one regimen (the lowest) on each card."""
    groups: dict[str, list[int]] = {}
    for i, f in enumerate(findings):
        if f.topic in REDUCING_TOPICS and f.order_id and f.facts.get("_targets"):
            groups.setdefault(f.order_id, []).append(i)
    out = list(findings)
    for indices in groups.values():
        dose: OrderDose = findings[indices[0]].facts["_dose"]
        if len(indices) == 1:
            offered = list(findings[indices[0]].facts["_targets"])
            note = ""
        else:
            all_targets = [r for i in indices for r in findings[i].facts["_targets"]]
            group_topics = {findings[i].topic for i in indices}
            if group_topics & BAND_TOPICS and group_topics & CONDITION_TOPICS:
                # The band card brings the order back to the standard dose, and the
                # renal/hepatic/CYP reduction applies to that dose: offer the reduced
                # standard dose at once, so accepting it does not raise a new card.
                all_targets.append(regimens.reduced_standard())
            offered = [regimens.lowest(all_targets, dose)]
            topics = ", ".join(dict.fromkeys(findings[i].topic for i in indices))
            note = (
                f"Several dose rules apply to this order ({topics}); every card suggests the same "
                f"regimen, the lowest of them: {offered[0].label}."
            )
        suggestions = _suggestions(dose, offered, record.patient_id)
        for i in indices:
            f = findings[i]
            facts = {**f.facts, "consensus_note": note}
            if len(offered) == 1:
                facts["target"] = offered[0].label
            out[i] = replace(f, facts=facts, suggestions=suggestions)
    return out


def _suggestions(dose: OrderDose, offered: list[Regimen], patient_id: str) -> tuple[Suggestion, ...]:
    out = []
    for n, regimen in enumerate(offered):
        action = update_action(dose, regimen, patient_id)
        if action is not None:  # no valid resource: the card's text carries the advice
            out.append(Suggestion(SUGGESTION_KEY, (action,), is_recommended=n == len(offered) - 1,
                                  facts={"suggested": regimen.label}))
    return tuple(out)


def suppress_guidance(findings: list[Finding]) -> list[Finding]:
    """Drop `dose-guidance` for an order when another dose-* topic fires for it (ddi-* do not count)."""
    other = {f.order_id for f in findings if f.topic.startswith("dose-") and f.topic != "dose-guidance"}
    return [f for f in findings if not (f.topic == "dose-guidance" and f.order_id in other)]
