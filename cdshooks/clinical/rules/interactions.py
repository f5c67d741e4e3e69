"""Drug interactions with tofacitinib, in both directions, one card per drug class.

order-select / order-sign: fires when a draft being worked on is part of the
pair (tofacitinib drafted with the other drug active or drafted, or the other
drug drafted while tofacitinib is active or drafted). patient-view: both
active. Topics and classes: `interacting_drugs.CLASSES` and `COMBINATIONS`
(clinical-rules.md, Interactions); dose-cyp-inhibitor is also a dose-* card for
the draft. `recent_live_vaccine` is the second ddi-live-vaccine row: a live
vaccine already given (Immunization), not an order.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from cdshooks.clinical import labs, tofacitinib
from cdshooks.clinical.dosing import regimens
from cdshooks.clinical.dosing.resume_regimen import reduction_reasons
from cdshooks.clinical.engine import rule
from cdshooks.clinical.findings import Action, Bullets, Finding, Phrase, Series, Suggestion
from cdshooks.clinical.interacting_drugs import (
    CLASSES,
    DrugHit,
    TofacitinibOrders,
    current_orders,
    drug_names,
    find_class,
    raises_card,
    tofacitinib_orders,
)
from cdshooks.clinical.problem_list import matching
from cdshooks.clinical.suggestions.dose_choices import describe, order_facts, reduction_finding, stacked_note
from cdshooks.clinical.suggestions.reduced_order import agent_class, reduced_tofacitinib_orders
from cdshooks.clinical.thresholds import Thresholds
from cdshooks.data.record import MedicationOrder, PatientRecord, Vaccination
from cdshooks.terminology import lookup

# Classes whose drafted drug the card offers to remove (the catalog's "remove the draft").
# Never dose-cyp-inhibitor: an azole, macrolide or boosted antiviral is usually the
# treatment of an infection (clinical-rules.md: no card suggests deleting an anti-infective).
_REMOVE_DRAFTED = frozenset({"ddi-jak-duplicate", "ddi-live-vaccine"})


def _tofacitinib_label(orders: tuple[MedicationOrder, ...], now: datetime) -> Series:
    """"Xeljanz 5 mg tablet (5 mg BID); ..." (cards/_phrases.toml, interactions.tofacitinib_order)."""
    labels = []
    for o in orders:
        dose = regimens.read(o, now)
        regimen = dose.regimen_label if dose else Phrase("interactions.dose_not_read")
        labels.append(Phrase("interactions.tofacitinib_order", {"order": o.label, "regimen": regimen}))
    return Series(tuple(labels), "semicolon")


def _facts(hits: list[DrugHit], tofa_orders: tuple[MedicationOrder, ...], direction: Phrase,
           now: datetime) -> dict[str, object]:
    return {
        "drugs": drug_names(hits),
        "drug_list": Bullets(tuple(h.described for h in hits)),
        "tofacitinib": _tofacitinib_label(tofa_orders, now) if tofa_orders else Phrase("interactions.tofacitinib"),
        "direction": direction,
    }


def _remove(order: MedicationOrder, what: str) -> Suggestion | None:
    if not order.reference:
        return None
    action = Action("delete", Phrase("actions.remove_draft", {"drug": what}), resource_id=order.reference)
    return Suggestion("remove-draft", (action,), facts={"removed": what})


@rule("order-select", "order-sign")
def interactions_on_orders(record: PatientRecord, t: Thresholds) -> Iterator[Finding]:
    """A card per class when a draft being worked on forms a pair with tofacitinib."""
    tofa = tofacitinib_orders(record)
    for topic, value_sets in CLASSES.items():
        hits = find_class(record, topic, t)
        if not raises_card(hits, value_sets) or not _pair_involves_selected_draft(tofa, hits):
            continue  # no hits, or only drugs that are named on the card but never raise it (IVIG)
        if topic == "dose-cyp-inhibitor":
            yield from _cyp_inhibitor(record, tofa, hits, t)
            continue
        if tofa.drafts and any(h.given is not None for h in hits):
            direction = Phrase("interactions.tofacitinib_drafted_recently_given")
        elif tofa.drafts:
            direction = Phrase("interactions.tofacitinib_drafted")
        else:
            direction = Phrase("interactions.other_drafted")
        suggestions: list[Suggestion] = []
        if topic in _REMOVE_DRAFTED:
            # Drafts are MedicationOrders (an Administration is never drafted); the isinstance narrows the type.
            suggestions += [s for h in hits if h.drafted and isinstance(h.order, MedicationOrder)
                            if (s := _remove(h.order, h.ingredient))]
            if topic == "ddi-jak-duplicate":
                suggestions += [s for d in tofa.drafts if (s := _remove(d, "tofacitinib"))]
        facts = _facts(hits, tofa.drafts or tofa.active, direction, record.now)
        variant = _variant(topic, hits)
        if topic == "ddi-cyp-inducer":
            variant = _inducer(record, hits, facts, t, new_start=not tofa.active)
        elif topic == "ddi-triple-therapy":
            facts["cyclosporine_note"] = _cyclosporine_note(hits)
            facts["administrations_note"] = _administrations_note(record, t)
        yield Finding(topic, facts, variant=variant, suggestions=tuple(suggestions))


def _variant(topic: str, hits: list[DrugHit]) -> str:
    """The triple-therapy card with IVIG among the agents says what IVIG adds (clinical-rules.md)."""
    if topic == "ddi-triple-therapy" and any(h.ingredient == "IVIG" for h in hits):
        return "with-ivig"
    return "default"


def _pair_involves_selected_draft(tofa: TofacitinibOrders, hits: list[DrugHit]) -> bool:
    tofa_selected = any(d.selected for d in tofa.drafts)
    other_selected = any(h.drafted and h.order.selected for h in hits)
    return tofa_selected or (other_selected and bool(tofa.drafts or tofa.active))


def _cyp_inhibitor(record: PatientRecord, tofa: TofacitinibOrders, hits: list[DrugHit],
                   t: Thresholds) -> Iterator[Finding]:
    """Tofacitinib drafted: reduce the draft. Inhibitor drafted on active tofacitinib: a reduced new order."""
    cls = agent_class(hits)
    if tofa.drafts:
        for draft in tofa.drafts:
            dose = regimens.read(draft, record.now)
            if dose is not None:
                facts = _facts(hits, (draft,), Phrase("direction_tofacitinib_drafted"), record.now)
                facts["why"] = _cyp_mechanism(hits)
                facts["class_note"] = Phrase("azole_note") if cls == "antifungal" else None
                facts["escalation_note"] = _escalation_adjusted_note(dose)
                yield reduction_finding("dose-cyp-inhibitor", dose, facts)
        return
    reasons = reduction_reasons(record, t)
    facts = _facts(hits, tofa.active, Phrase("direction_inhibitor_drafted"), record.now)
    facts["reduction"] = _active_reduction(tofa.active, reasons, t, record.now)
    facts["stacked_note"] = stacked_note(reasons) if len(reasons) > 1 else None
    facts["why"] = _cyp_mechanism(hits)
    facts["agent_class"] = cls
    facts["infection_note"] = Phrase("infection_note") if _serious_infection(record) else None
    # Not an anti-infective (fluvoxamine, an antidepressant; diltiazem with fluoxetine): no
    # "course" and no infection to treat, so the card does not speak of either.
    variant = "inhibitor-drafted-other" if cls == "other" else "inhibitor-drafted"
    if _already_reduced(tofa.active, record.now):
        # nothing to reduce: the card must not tell anyone to replace a correct order
        variant = "inhibitor-drafted-adjusted"
    facts["duration"] = _duration(cls)
    yield Finding("dose-cyp-inhibitor", facts, variant=variant,
                  suggestions=reduced_tofacitinib_orders(tofa.active, record.patient_id, len(reasons), t,
                                                         record.now))


def _already_reduced(active: tuple[MedicationOrder, ...], now: datetime) -> bool:
    """Every active tofacitinib order is readable and already at 5 mg once daily or below."""
    doses = [regimens.read(o, now) for o in active]
    return bool(doses) and all(d is not None and d.reading.readable and regimens.reduced(d) is None for d in doses)


def _duration(cls: str) -> Phrase:
    """How long the reduced order is for, in the new-order label."""
    return Phrase("duration_while_taken" if cls == "other" else "duration_course")


def _escalation_adjusted_note(dose: regimens.OrderDose) -> Phrase | None:
    """5 mg BID (XR 11) with the inhibitor may be an escalation already adjusted: say how to record that."""
    if dose.ir_equivalent_mg_day is not None and abs(dose.ir_equivalent_mg_day - regimens.IR_5_BID.mg_per_day) < 0.01:
        return Phrase("escalation_adjusted_note")
    return None


_BOOSTERS = ("ritonavir", "cobicistat")


def _inhibitor(hit: DrugHit) -> tuple[str, bool, str | None]:
    """(ingredient, boosted, booster): Paxlovid is nirmatrelvir boosted by ritonavir (the booster is the
    inhibitor); the booster is None when the order does not say which."""
    member = next((m for m in lookup.load(hit.value_set).members if m.name == hit.ingredient), None)
    if member is None or not member.properties.get("boosted"):
        return hit.ingredient, False, None
    text = " ".join(n for n in hit.order.names if n).lower()
    return hit.ingredient, True, next((b for b in _BOOSTERS if b in text), None)


def _inhibitor_name(ingredient: str, boosted: bool, booster: str | None) -> str | Phrase:
    """The drug that inhibits: "nirmatrelvir/ritonavir" for Paxlovid."""
    if not boosted:
        return ingredient
    return Phrase("boosted", {"drug": ingredient, "booster": booster or Phrase("booster_unknown")})


def _cyp_mechanism(hits: list[DrugHit]) -> Phrase:
    """Why the dose is reduced, naming the drugs: "a moderate CYP3A4 inhibitor (diltiazem) together
    with a strong CYP2C19 inhibitor (fluoxetine)"."""
    def names(value_set: str) -> Series | None:
        found = dict.fromkeys(_inhibitor(h) for h in hits if h.value_set == value_set)
        return Series(tuple(_inhibitor_name(*i) for i in found), "comma") if found else None

    parts = []
    if strong := names("strong-cyp3a4-inhibitors"):
        parts.append(Phrase("mechanism_strong", {"drugs": strong}))
    if both := names("moderate-cyp3a4-strong-cyp2c19-inhibitors"):
        parts.append(Phrase("mechanism_both", {"drugs": both}))
    moderate, c19 = names("moderate-cyp3a4-inhibitors"), names("strong-cyp2c19-inhibitors")
    if moderate and c19:
        parts.append(Phrase("mechanism_moderate_with_c19", {"moderate": moderate, "c19": c19}))
    if not parts:
        return Phrase("mechanism_unknown")
    why = parts[0]
    for part in parts[1:]:
        why = Phrase("mechanism_and", {"first": why, "then": part})
    return why


def _active_reduction(active: tuple[MedicationOrder, ...], reasons: tuple[Phrase, ...], t: Thresholds,
                      now: datetime) -> Series:
    """What the active tofacitinib regimen must become if the inhibitor is given (the reductions stacked)."""
    parts = []
    for o in active:
        dose = regimens.read(o, now)
        if dose is None or not dose.reading.readable:
            parts.append(Phrase("reduction_unreadable", {"order": o.label}))
            continue
        offered = regimens.choices(dose, len(reasons), t)
        if not offered:
            parts.append(Phrase("reduction_none", {"current": dose.regimen_label}))
        else:
            parts.append(Phrase("reduction_to", {"current": dose.regimen_label, "offered": describe(offered)}))
    return Series(tuple(parts), "semicolon")


@rule("patient-view")
def interactions_on_chart(record: PatientRecord, t: Thresholds) -> Iterator[Finding]:
    """patient-view: active tofacitinib with an active interacting drug (CYP: new orders, never an update)."""
    tofa = tofacitinib_orders(record)
    if not tofa.active:
        return
    for topic, value_sets in CLASSES.items():
        hits = [h for h in find_class(record, topic, t) if not h.drafted]
        if not raises_card(hits, value_sets):
            continue
        facts = _facts(hits, tofa.active, Phrase("interactions.on_chart"), record.now)
        variant, order_id = _variant(topic, hits), None
        if topic == "dose-cyp-inhibitor" and _already_reduced(tofa.active, record.now):
            continue  # patient-view shows what needs action now: the active order is already reduced
        if topic == "dose-cyp-inhibitor":
            facts["reduction"] = _active_reduction(tofa.active, reduction_reasons(record, t), t, record.now)
            facts["why"] = _cyp_mechanism(hits)
            facts["duration"] = _duration(agent_class(hits))
            variant = "on-therapy"
            facts["consensus_note"] = None  # set by offer_choices when the card is about one readable order
            dose = regimens.read(tofa.active[0], record.now) if len(tofa.active) == 1 else None
            if dose is not None and dose.reading.readable:
                # the card is about this order: it offers the same new orders as dose-renal / dose-hepatic
                facts, order_id = {**order_facts(dose), **facts}, dose.order.id
        elif topic == "ddi-cyp-inducer":
            variant = _inducer(record, hits, facts, t, new_start=False)
        elif topic == "ddi-triple-therapy":
            facts["cyclosporine_note"] = _cyclosporine_note(hits)
            facts["administrations_note"] = _administrations_note(record, t)
        yield Finding(topic, facts, variant=variant, order_id=order_id)


def _cyclosporine_note(hits: list[DrugHit]) -> Phrase | None:
    """With cyclosporine the card says what it adds (cards/ddi-triple-therapy.toml, clinical-rules.md)."""
    return Phrase("cyclosporine_note") if any(h.ingredient == "cyclosporine" for h in hits) else None


def _administrations_note(record: PatientRecord, t: Thresholds) -> Phrase | None:
    """Without the administration records (the optional `administrations` prefetch key), the card's
    agents and its IVIG wording rest on orders alone: say what was not checked."""
    if "administrations" not in record.unavailable:
        return None
    return Phrase("administrations_not_checked", {"days": t.triple_therapy_recent_exposure_days})


def _inducer(
    record: PatientRecord, hits: list[DrugHit], facts: dict[str, Any], t: Thresholds, *, new_start: bool
) -> str:
    """The ddi-cyp-inducer variant: "ltbi" when the inducer is latent TB treatment (its facts added)."""
    regimen = _ltbi_regimen(record, hits)
    if regimen is None:
        return "default"
    name, basis = regimen
    facts["regimen"] = name
    facts["ltbi_basis"] = basis
    facts["timing"] = (
        Phrase("timing_new_start", {"days": t.ltbi_min_treatment_days}) if new_start else Phrase("timing_on_therapy")
    )
    return "ltbi"


_RIFAMYCINS = ("rifampin", "rifapentine")
_TB_TESTS = ("igra", "tst")


def _ltbi_regimen(record: PatientRecord, hits: list[DrugHit]) -> tuple[Phrase, Phrase | Series] | None:
    """(regimen, why it is read as latent TB treatment) when the inducer is an LTBI regimen
    (clinical-rules.md, ddi-cyp-inducer: rifampin 4R, isoniazid + rifapentine 3HP/1HP), else None.

    A rifamycin counts as LTBI treatment when no active TB is on record and either latent TB is
    (a latent TB Condition, or a positive IGRA/TST at any time) or rifapentine is given with
    isoniazid (3HP/1HP: regimens for latent TB only). Rifampin with isoniazid is named 3HR.
    """
    rifamycins = [r for r in _RIFAMYCINS if any(h.ingredient == r for h in hits)]
    if not rifamycins or any(m.concept == "active tuberculosis" for m in matching(record, "serious-infections")):
        return None  # TB disease is being treated (and infection-active says so), not latent TB
    ltbi_drugs = lookup.load("ltbi-drugs")
    isoniazid = any(
        (m := ltbi_drugs.match(o.codings, o.names)) is not None and m.name == "isoniazid"
        for o in current_orders(record)
    )
    latent: list[str | Phrase] = [m.label for m in matching(record, "latent-tb")]
    latent += [Phrase("ltbi_positive_test", {"test": r.test.upper(), "date": r.when.date()})
               for r in labs.results_any(record, _TB_TESTS) if r.is_positive][:1]
    if "rifapentine" in rifamycins and (isoniazid or latent):
        basis = Series(tuple(latent), "semicolon") if latent else Phrase("ltbi_rifapentine_with_isoniazid")
        return Phrase("regimen_isoniazid_rifapentine" if isoniazid else "regimen_rifapentine"), basis
    if latent:
        return Phrase("regimen_isoniazid_rifampin" if isoniazid else "regimen_rifampin"), Series(tuple(latent),
                                                                                              "semicolon")
    return None


@rule("order-select", "order-sign")
def recent_live_vaccine(record: PatientRecord, t: Thresholds) -> Iterator[Finding]:
    """A new start less than 4 weeks after a live vaccine (clinical-rules.md, ddi-live-vaccine, second row).

    New start: a tofacitinib draft (order-select: a selected one) and no active tofacitinib order.
    A live vaccine given: an Immunization with status completed, its vaccine in the live-vaccines
    value set (CVX, or the name), given less than `live_vaccine_before_start_weeks` ago. Without
    the immunizations prefetch (record.unavailable) the rule cannot know, and says nothing.
    """
    drafts = tofacitinib.selected_drafts(record)
    if not drafts or not tofacitinib.is_new_start(record) or "immunizations" in record.unavailable:
        return
    wait_days = t.live_vaccine_before_start_weeks * 7
    live = lookup.load("live-vaccines")
    given: list[tuple[Vaccination, datetime, str, int]] = []  # (vaccination, when given, vaccine, days ago)
    for v in record.immunizations:
        if v.status != "completed" or v.occurrence is None:
            continue
        member = live.match(v.codings, [v.text])
        if member is None:
            continue
        days = labs.days_between(v.occurrence, record.now)
        if days < wait_days:  # a date after now (clock skew) counts as today
            given.append((v, v.occurrence, member.name, max(days, 0)))
    if not given:
        return
    given.sort(key=lambda g: g[1], reverse=True)
    newest = given[0][1]
    earliest = (newest + timedelta(days=wait_days)).date()
    yield Finding(
        "ddi-live-vaccine",
        facts={
            "vaccines": ", ".join(dict.fromkeys(name for _, _, name, _ in given)),
            "vaccine_list": Bullets(tuple(_vaccination_label(v, when, name, days) for v, when, name, days in given)),
            "last_date": newest.date().isoformat(),
            "earliest": earliest.isoformat(),
            "weeks": t.live_vaccine_before_start_weeks,
            "tofacitinib": _tofacitinib_label(drafts, record.now),
        },
        variant="recent-vaccine",
    )


def _vaccination_label(v: Vaccination, when: datetime, name: str, days: int) -> Phrase:
    """"MMR (M-M-R II, CVX 03), given 2026-01-01 (14 days ago)" for the card."""
    cvx = next((c.code for c in v.codings if c.code and lookup.canonical_system(c.system) == lookup.CVX), None)
    shown = v.text or next((c.display for c in v.codings if c.display), None)
    parts = tuple(p for p in (shown if shown and shown.lower() != name.lower() else None,
                              Phrase("vaccine_cvx", {"code": cvx}) if cvx else None) if p)
    details = Phrase("vaccine_details", {"items": Series(parts, "comma")}) if parts else None
    ago = Phrase("today") if days == 0 else Phrase("days_ago" if days != 1 else "day_ago", {"days": days})
    return Phrase("vaccination", {"vaccine": name, "details": details, "date": when.date(), "ago": ago})


def _serious_infection(record: PatientRecord) -> bool:
    """An active serious infection Condition (the `infection-active` value set)."""
    return bool(matching(record, "serious-infections"))
