"""dose-cyp-inhibitor (revision 2): fluvoxamine counts, and so does a moderate CYP3A4 inhibitor
together with a strong CYP2C19 inhibitor (two drugs); a moderate CYP3A4 inhibitor alone does not."""

import pytest

from cdshooks import cards
from cdshooks.clinical.dosing.resume_regimen import reduction_reasons
from cdshooks.clinical.thresholds import DEFAULT_THRESHOLDS
from tests import fixturekit as k
from tests.clinical.dose_kit import by_topic, record, topics
from tests.clinical.wording import rendered

D = k.tofacitinib_draft


def other(name, status="active", oid="other", rxnorm=None):
    return k.med_request(oid, name, rxnorm, status=status, days_ago=0 if status == "draft" else 20)


def card(rec, hook="order-select"):
    [f] = by_topic(rec, "dose-cyp-inhibitor", hook)
    return f, cards.render_card(f)


@pytest.mark.parametrize("med", [other("fluvoxamine 100 mg tablet"), other("Luvox 50 mg"),
                                 other("local antidepressant code", rxnorm="42355")])
def test_fluvoxamine_alone_reduces_the_tofacitinib_draft(med):
    # It was in no firing value set: the draft kept 5 mg BID with a fluconazole-like inhibitor.
    rec = record(k.base_resources() + [med], drafts=[D()])
    assert topics(rec) == ["dose-cyp-inhibitor"]
    f, c = card(rec)
    assert f.facts["drugs"] == "fluvoxamine"
    assert c["summary"] == "Tofacitinib 5 mg BID with fluvoxamine: reduce to 5 mg once daily"
    assert "both a moderate CYP3A4 and a strong CYP2C19 inhibitor (fluvoxamine)" in c["detail"]
    assert "Azoles" not in c["detail"]


def test_fluvoxamine_drafted_on_active_tofacitinib_is_not_worded_as_an_anti_infective():
    # The anti-infective wording ("the course of the CYP3A4 inhibitor ... the treatment of an
    # infection: keep it") was wrong for an antidepressant.
    f, c = card(record(drafts=[other("fluvoxamine 100 mg tablet", "draft", oid="fvx")], on_tofacitinib=True))
    assert f.variant == "inhibitor-drafted-other"
    assert f.facts["agent_class"] == "other"
    assert c["summary"].startswith("fluvoxamine ordered on active tofacitinib: reduce tofacitinib while")
    assert "infection" not in c["detail"] and "course" not in c["detail"]
    assert "5 mg BID must be reduced to **the adjusted dose: 5 mg once daily**" in c["detail"]
    assert "not an anti-infective" in c["detail"]
    assert "discontinue or replace the active tofacitinib order in the EHR" in c["detail"]
    [s] = f.suggestions
    [a] = s.actions
    assert a.type == "create"  # never a delete of the inhibitor
    codes = [r["code"] for r in c["overrideReasons"]]
    assert "tofacitinib-held" not in codes and "no-alternative-agent" not in codes


@pytest.mark.parametrize("moderate", ["diltiazem 120 mg", "verapamil 80 mg", "Cresemba 186 mg", "amiodarone 200 mg",
                                      "aprepitant 80 mg", "ciprofloxacin 500 mg", "imatinib 400 mg"])
def test_moderate_cyp3a4_with_a_strong_cyp2c19_inhibitor_fires_naming_both(moderate):
    res = k.base_resources() + [other(moderate, oid="mod"), other("fluoxetine 20 mg capsule", oid="c19")]
    rec = record(res, drafts=[D()])
    assert topics(rec) == ["dose-cyp-inhibitor"]
    f, c = card(rec)
    name = f.facts["drugs"].split(", ")[0]
    assert f.facts["drugs"] == f"{name}, fluoxetine"
    assert (f"a moderate CYP3A4 inhibitor ({name}) together with a strong CYP2C19 inhibitor (fluoxetine)"
            in c["detail"])
    assert "moderate CYP3A4 inhibitor;" in c["detail"] and "strong CYP2C19 inhibitor;" in c["detail"]
    assert c["summary"] == f"Tofacitinib 5 mg BID with {name}, fluoxetine: reduce to 5 mg once daily"


@pytest.mark.parametrize("partner", ["Prozac 20 mg", "ticlopidine 250 mg", "fluoxetine (local code)"])
def test_every_strong_cyp2c19_inhibitor_completes_the_pair(partner):
    med = other(partner, oid="c19", rxnorm="4493" if "local" in partner else None)
    rec = record(k.base_resources() + [other("diltiazem 120 mg", oid="mod"), med], drafts=[D()])
    assert topics(rec) == ["dose-cyp-inhibitor"]


@pytest.mark.parametrize("alone", ["diltiazem 120 mg", "fluoxetine 20 mg capsule", "ticlopidine 250 mg"])
def test_either_half_of_the_pair_alone_does_not_fire(alone):
    assert topics(record(k.base_resources() + [other(alone)], drafts=[D()])) == ["dose-guidance"]


@pytest.mark.parametrize("status", ["stopped", "completed", "entered-in-error"])
def test_a_partner_order_that_does_not_count_leaves_the_moderate_inhibitor_alone(status):
    res = k.base_resources() + [other("diltiazem 120 mg", oid="mod"), other("fluoxetine 20 mg", status, oid="c19")]
    assert topics(record(res, drafts=[D()])) == ["dose-guidance"]


def test_a_topical_moderate_inhibitor_is_no_partner():
    drops = k.med_request("eye", "ciprofloxacin 0.3 % Ophthalmic Solution", None, days_ago=5,
                          dosages=[{"text": "1 drop in each eye"}])
    res = k.base_resources() + [drops, other("fluoxetine 20 mg", oid="c19")]
    assert topics(record(res, drafts=[D()])) == ["dose-guidance"]


def test_cyclosporine_with_fluoxetine_is_a_cyp_card_as_well_as_triple_therapy():
    res = k.base_resources() + [other("Neoral 100 mg", oid="csa"), other("fluoxetine 20 mg", oid="c19")]
    rec = record(res, drafts=[D()])
    assert topics(rec) == ["ddi-triple-therapy", "dose-cyp-inhibitor"]
    f, _ = card(rec)
    assert f.facts["drugs"] == "cyclosporine, fluoxetine"


def test_a_drug_that_counts_alone_is_not_also_listed_as_a_partner():
    res = k.base_resources() + [other("fluconazole 200 mg", oid="flu"), other("fluoxetine 20 mg", oid="c19")]
    f, _ = card(record(res, drafts=[D()]))
    assert f.facts["drugs"] == "fluconazole"


def test_moderate_inhibitor_drafted_while_on_tofacitinib_and_fluoxetine():
    res = k.base_resources(on_tofacitinib=True) + [other("fluoxetine 20 mg", oid="c19")]
    f, c = card(record(res, drafts=[other("diltiazem 120 mg", "draft", oid="dil")]))
    assert f.variant == "inhibitor-drafted-other"
    assert f.facts["drugs"] == "diltiazem, fluoxetine"
    assert "(diltiazem) together with a strong CYP2C19 inhibitor (fluoxetine)" in c["detail"]


def test_an_anti_infective_partner_keeps_the_anti_infective_wording():
    res = k.base_resources(on_tofacitinib=True) + [other("fluoxetine 20 mg", oid="c19")]
    f, c = card(record(res, drafts=[other("erythromycin 500 mg tablet", "draft", oid="ery")]))
    assert f.variant == "inhibitor-drafted"
    assert f.facts["agent_class"] == "antibiotic"
    assert "the course of the antibiotic" in c["detail"]


def test_an_unrelated_draft_beside_an_incomplete_pair_gets_no_card():
    res = k.base_resources(on_tofacitinib=True)
    assert topics(record(res, drafts=[other("fluoxetine 20 mg", "draft", oid="c19")])) == []


def test_patient_view_names_the_pair():
    res = k.base_resources(on_tofacitinib=True) + [other("diltiazem 120 mg", oid="mod"), other("fluoxetine 20 mg", oid="c19")]
    f, c = card(record(res), "patient-view")
    assert f.variant == "on-therapy"
    assert "(diltiazem) together with a strong CYP2C19 inhibitor (fluoxetine)" in c["detail"]


def test_the_pair_is_a_reduction_reason_for_resuming_after_neutropenia():
    res = k.base_resources(on_tofacitinib=True) + [other("diltiazem 120 mg", oid="mod"), other("fluoxetine 20 mg", oid="c19")]
    reasons = reduction_reasons(record(res), DEFAULT_THRESHOLDS)
    assert [rendered(r, "lab-neutropenia") for r in reasons] == ["CYP3A4 inhibition (diltiazem, fluoxetine)"]


@pytest.mark.parametrize("drug, duration", [("fluvoxamine 100 mg tablet", "while the inhibitor is taken"),
                                            ("voriconazole 200 mg", "for the course")])
def test_the_new_order_label_fits_the_class(drug, duration):
    _, c = card(record(drafts=[other(drug, "draft", oid="inh")], on_tofacitinib=True))
    [s] = c["suggestions"]
    assert s["label"] == f"New order: tofacitinib 5 mg once daily {duration} (the adjusted dose; discontinue the active 5 mg BID order)"
