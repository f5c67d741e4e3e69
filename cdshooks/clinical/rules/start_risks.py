"""Risks weighed at a tofacitinib start or renewal (clinical-rules.md, "Added in revision 2").

Topics: malignancy, gi-perforation, xr-gi-narrowing. A start or renewal is a
tofacitinib draft being worked on (order-select: a selected one); these cards
never show on patient-view. A history Condition (malignancy, diverticulitis,
perforation) counts whatever its clinicalStatus, unless refuted or entered in
error; the narrowing must be on the problem list now (active).
"""

from __future__ import annotations

from collections.abc import Iterable

from cdshooks.clinical import glucocorticoids, tofacitinib
from cdshooks.clinical.dosing import regimens
from cdshooks.clinical.engine import rule
from cdshooks.clinical.findings import Bullets, Finding, Phrase, Suggestion
from cdshooks.clinical.interacting_drugs import counts, find
from cdshooks.clinical.problem_list import ProblemMatch, ever, matching
from cdshooks.clinical.suggestions.draft_update import update_action
from cdshooks.clinical.thresholds import Thresholds
from cdshooks.data.record import MedicationOrder, PatientRecord
from cdshooks.terminology import lookup


def _with_onset(m: ProblemMatch) -> Phrase:
    """"Breast cancer (C50.911), onset 2019-03-01, no longer active" (each card's `condition_item` phrases)."""
    p = m.problem
    when = p.onset or p.recorded
    onset = Phrase("onset", {"onset": when}) if when else Phrase("onset_unknown")
    return Phrase("condition_item_inactive" if p.inactive else "condition_item", {"condition": m.label, "onset": onset})


@rule("order-select", "order-sign")
def malignancy(record: PatientRecord, t: Thresholds) -> Iterable[Finding]:
    """malignancy: an active or past malignancy other than non-melanoma skin cancer, at a start or renewal."""
    if not tofacitinib.selected_drafts(record):
        return
    found = [m for m in ever(record, "malignancy") if m.concept != "non-melanoma skin cancer"]
    if not found:
        return
    first = found[0]
    when = first.problem.onset or first.problem.recorded
    yield Finding("malignancy", {
        "condition": first.problem.text or first.concept,
        "onset": when or Phrase("onset_unknown"),
        "condition_list": Bullets(tuple(_with_onset(m) for m in found)),
    })


@rule("order-select", "order-sign")
def gi_perforation(record: PatientRecord, t: Thresholds) -> Iterable[Finding]:
    """gi-perforation: a history of diverticulitis or GI perforation, at a start or renewal."""
    if not tofacitinib.selected_drafts(record):
        return
    found = ever(record, "gi-perforation-risk")
    if not found:
        return
    steroids = [d for o in record.medications if o.status == "active"
                if (d := glucocorticoids.steroid_dose(o, now=record.now)) is not None]
    nsaids = find(record, ("nsaids",), t)
    also = tuple(Phrase("raiser_glucocorticoid", {"drug": d.described}) for d in steroids) + tuple(
        Phrase("raiser_nsaid", {"drug": h.described}) for h in nsaids)
    yield Finding("gi-perforation", {
        "condition": found[0].problem.text or found[0].concept,
        "condition_list": Bullets(tuple(_with_onset(m) for m in found)),
        "raisers": Bullets(also),
        "raisers_note": None if also else Phrase("no_raisers"),
    })


@rule("order-select", "order-sign")
def xr_gi_narrowing(record: PatientRecord, t: Thresholds) -> Iterable[Finding]:
    """xr-gi-narrowing: an XR draft with severe GI narrowing on the problem list, or given through a tube."""
    narrowing = matching(record, "gi-narrowing")
    for draft in tofacitinib.selected_drafts(record):
        dose = regimens.read(draft, record.now) if counts(draft) else None
        if dose is None or not dose.product.extended_release:
            continue
        tube = _tube_routes(draft)
        if not narrowing and not tube:
            continue
        target = (
            regimens.IR_10_BID if dose.ir_equivalent_mg_day and dose.ir_equivalent_mg_day > 10 else regimens.IR_5_BID
        )
        action = update_action(dose, target, record.patient_id)
        suggestions = (
            (Suggestion("switch-to-ir", (action,), is_recommended=True, facts={"suggested": target.label}),)
            if action
            else ()
        )
        yield Finding(
            "xr-gi-narrowing",
            {
                "regimen": dose.regimen_label,
                "target": target.label,
                "why": Phrase("why_tube")
                if tube and not narrowing
                else (narrowing[0].problem.text or narrowing[0].concept),
                "condition_list": Bullets(
                    (*(_with_onset(m) for m in narrowing), *(Phrase("route", {"route": r}) for r in tube))
                ),
            },
            variant="tube" if tube else "default",
            order_id=draft.id,
            suggestions=suggestions,
        )


def _tube_routes(order: MedicationOrder) -> list[str | Phrase]:
    """The instructions' routes that mean an enteral tube (by SNOMED code, or by name: "NG", "PEG")."""
    routes = lookup.load("enteral-tube-routes")
    out: list[str | Phrase] = []
    for route in order.routes:
        label = route.name
        if routes.match(route.codings, [label]) is not None:
            out.append(label or next((c.code for c in route.codings if c.code), None) or Phrase("route_unnamed"))
    return out
