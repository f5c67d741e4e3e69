"""ddi-live-vaccine (revision 2, second row): a new start less than 4 weeks after a live vaccine
(Immunization, status completed) is a warning that names the vaccine and its date."""

from dataclasses import replace

import pytest

from cdshooks import cards
from cdshooks.clinical.rules import interactions
from cdshooks.clinical.thresholds import DEFAULT_THRESHOLDS
from tests import fixturekit as k
from tests.clinical.dose_kit import by_topic, record, topics

D = k.tofacitinib_draft


def mmr(days_ago, status="completed", iid="i-mmr"):
    imm = k.immunization(iid, "03", "MMR", days_ago)
    imm["status"] = status
    return imm


def live_card(rec, hook="order-select"):
    [f] = by_topic(rec, "ddi-live-vaccine", hook)
    card = cards.render_card(f)
    card["detail"] = " ".join(card["detail"].split())
    return f, card


@pytest.mark.parametrize("days_ago", [0, 1, 14, 27])
def test_new_start_within_4_weeks_of_a_live_vaccine_is_a_warning(days_ago):
    # Nothing fired: only a live vaccine drafted beside tofacitinib was looked at.
    rec = record(k.base_resources() + [mmr(days_ago)], drafts=[D()])
    assert topics(rec) == ["ddi-live-vaccine", "dose-guidance"]
    f, c = live_card(rec)
    assert c["indicator"] == "warning"
    given = k.day(-days_ago)[:10]
    assert given in c["summary"] and "MMR" in c["summary"] and len(c["summary"]) < 140
    assert f"MMR (CVX 03), given {given}" in c["detail"]
    assert "at least 4 weeks after a live vaccine" in c["detail"]
    assert c["source"]["label"].startswith("Rubin LG et al. 2013 IDSA clinical practice guideline")
    assert c["source"]["url"] == "https://doi.org/10.1093/cid/cit684"


def test_the_card_gives_the_earliest_start_date_from_the_newest_vaccine():
    res = k.base_resources() + [mmr(20), k.immunization("i-var", "21", "varicella", 10)]
    f, c = live_card(record(res, drafts=[D()]))
    assert f.facts["vaccines"] == "varicella, MMR"
    assert f.facts["earliest"] == k.day(18)[:10]  # 28 days after the varicella dose 10 days ago


@pytest.mark.parametrize("days_ago", [28, 35, 200])
def test_four_weeks_or_more_ago_is_silent(days_ago):
    assert topics(record(k.base_resources() + [mmr(days_ago)], drafts=[D()])) == ["dose-guidance"]


@pytest.mark.parametrize("status", ["not-done", "entered-in-error"])
def test_a_vaccine_not_given_is_silent(status):
    assert topics(record(k.base_resources() + [mmr(7, status)], drafts=[D()])) == ["dose-guidance"]


def test_a_non_live_vaccine_is_silent():
    res = k.base_resources() + [k.immunization("i-rzv-3", "187", "Zoster vaccine recombinant", 7)]
    assert topics(record(res, drafts=[D()])) == ["dose-guidance"]


def test_a_live_vaccine_recorded_by_name_only_counts():
    imm = mmr(7)
    imm["vaccineCode"] = {"text": "Yellow fever vaccine (YF-Vax)"}
    f, c = live_card(record(k.base_resources() + [imm], drafts=[D()]))
    assert f.facts["vaccines"] == "yellow fever"
    assert "yellow fever (Yellow fever vaccine (YF-Vax)), given" in c["detail"]


def test_only_a_new_start():
    res = k.base_resources(on_tofacitinib=True) + [mmr(7)]
    assert "ddi-live-vaccine" not in topics(record(res, drafts=[D(mid="renewal")]))
    assert "ddi-live-vaccine" not in topics(record(res), "patient-view")


def test_only_when_tofacitinib_is_being_ordered():
    other = k.med_request("acet", "acetaminophen 500 mg", None, status="draft", days_ago=0)
    assert topics(record(k.base_resources() + [mmr(7)], drafts=[other])) == []
    unselected = record(k.base_resources() + [mmr(7)], drafts=[D(), other], selected={"acet"})
    assert "ddi-live-vaccine" not in topics(unselected)


def test_the_window_is_a_threshold():
    rec = record(k.base_resources() + [mmr(35)], drafts=[D()])
    assert DEFAULT_THRESHOLDS.live_vaccine_before_start_weeks == 4
    assert list(interactions.recent_live_vaccine(rec, DEFAULT_THRESHOLDS)) == []
    [f] = interactions.recent_live_vaccine(rec, replace(DEFAULT_THRESHOLDS, live_vaccine_before_start_weeks=6))
    assert f.facts["weeks"] == 6


def test_without_the_immunizations_prefetch_it_says_nothing():
    rec = replace(record(k.base_resources() + [mmr(7)], drafts=[D()]), unavailable=frozenset({"immunizations"}))
    assert list(interactions.recent_live_vaccine(rec, DEFAULT_THRESHOLDS)) == []


def test_with_a_live_vaccine_also_drafted_both_rows_show():
    draft = k.med_request("vax", "Varivax (varicella virus vaccine live)", None, status="draft", days_ago=0)
    found = by_topic(record(k.base_resources() + [mmr(7)], drafts=[D(), draft]), "ddi-live-vaccine")
    assert sorted(f.variant for f in found) == ["default", "recent-vaccine"]
