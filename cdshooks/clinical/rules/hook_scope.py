"""Which hook shows what (clinical-rules.md revision 2, alert burden): a card must be about what the
clinician is doing at that moment.

- order-select / order-sign: with a tofacitinib draft (order-select: a selected one) every applicable
  rule may fire. With only a draft of a drug that interacts with tofacitinib, or of a glucocorticoid,
  the interaction or PJP card, plus any critical finding (it changes whether the new drug is safe).
  Any other draft (acetaminophen, a statin, an empty draft) gets no card at all.
- patient-view: the safety summary plus the cards that need action now (critical and warning findings,
  due tests). The standing risks (age, boxed-warning factors, ALC 500-899, triple therapy, recent
  rituximab) are lines of the summary (rules/summary.py folds them in), not cards.

`scope_of` reads the record; `shows` is the policy on each card's topic and final indicator (the
indicator is the template's unless the rule set one, so it is applied to rendered cards).
"""

from __future__ import annotations

from dataclasses import dataclass

from cdshooks.clinical import glucocorticoids, interacting_drugs, tofacitinib
from cdshooks.clinical.findings import Finding
from cdshooks.clinical.rules.topics import CLASSES, COMBINATIONS
from cdshooks.data.record import MedicationOrder, PatientRecord
from cdshooks.protocol import ORDER_HOOKS, PATIENT_VIEW

# The interaction cards: one per drug class, the CYP-inhibitor dose card among them.
INTERACTION_TOPICS = frozenset({*CLASSES, *COMBINATIONS})
PJP_TOPIC = "pjp-prophylaxis"
# On patient-view these are lines of the safety summary, never cards of their own; so is ALC 500-899
# (lab-lymphopenia's info variant, STANDING_RISK_VARIANTS): below 500 it is critical, and a card.
STANDING_RISK_TOPICS = frozenset({"age-infection-risk", "boxed-cv-thrombosis", "ddi-triple-therapy", "ddi-rituximab"})
STANDING_RISK_VARIANTS = frozenset({("lab-lymphopenia", "moderate")})
# What a patient-view card may be besides critical and warning: the summary and the tests due.
PATIENT_VIEW_INFO_TOPICS = frozenset({"safety-summary", "monitor-labs-due"})
_INTERACTING_VALUE_SETS = tuple(
    dict.fromkeys(v for sets in (*CLASSES.values(), *COMBINATIONS.values()) for v in sets)
)


@dataclass(frozen=True)
class Scope:
    """What the call is about: the hook, and on an order hook what is being drafted (with a tofacitinib
    draft the rest is not read: every card may show)."""

    hook: str
    tofacitinib: bool = False  # a (selected) tofacitinib draft: a start or a renewal
    interacting: bool = False  # a (selected) draft of a drug that interacts with tofacitinib
    glucocorticoid: bool = False  # a (selected) systemic glucocorticoid draft


def is_standing_risk(finding: Finding) -> bool:
    """A finding the patient-view summary shows as a line instead of a card."""
    return finding.topic in STANDING_RISK_TOPICS or (finding.topic, finding.variant) in STANDING_RISK_VARIANTS


def scope_of(record: PatientRecord, hook: str) -> Scope:
    """The scope of a call: on order-select only the selected drafts count (`selections`)."""
    if hook not in ORDER_HOOKS:
        return Scope(hook)
    if tofacitinib.selected_drafts(record):
        return Scope(hook, tofacitinib=True)  # every card may show: what else is drafted does not matter
    drafts = [d for d in record.selected_drafts if interacting_drugs.counts(d)]
    return Scope(
        hook,
        interacting=any(_interacts(d) for d in drafts),
        glucocorticoid=any(glucocorticoids.steroid_dose(d) is not None for d in drafts),
    )


def _interacts(order: MedicationOrder) -> bool:
    return interacting_drugs.match(order, _INTERACTING_VALUE_SETS) is not None


def shows(scope: Scope, topic: str, indicator: str) -> bool:
    """Whether a card of this topic and indicator belongs in a response of this scope."""
    if scope.hook == PATIENT_VIEW:
        if topic in STANDING_RISK_TOPICS:
            return False  # a line of the safety summary
        return indicator in ("critical", "warning") or topic in PATIENT_VIEW_INFO_TOPICS
    if scope.tofacitinib:
        return True
    if indicator == "critical" and (scope.interacting or scope.glucocorticoid):
        return True
    return (scope.interacting and topic in INTERACTION_TOPICS) or (scope.glucocorticoid and topic == PJP_TOPIC)
