"""Which hook shows what (clinical-rules.md revision 2): the scope of a call and the cards it allows."""

from __future__ import annotations

from datetime import date

import pytest

from cdshooks.clinical import engine
from cdshooks.clinical.findings import Finding, SummaryOf
from cdshooks.clinical.rules.hook_scope import Scope, is_standing_risk, scope_of, shows
from cdshooks.clinical.thresholds import DEFAULT_THRESHOLDS
from tests.clinical.records import build, lab, med, patient, problem, tofa

ON_TOFACITINIB = [patient(), tofa(30)]


def scope(*drafts: dict, selected=None, hook="order-select", resources=ON_TOFACITINIB) -> Scope:
    return scope_of(build(resources, drafts, selected=selected), hook)


@pytest.mark.parametrize(
    "draft, expected",
    [
        (med("acetaminophen 500 MG Oral Tablet", 0, 500, 3, draft=True, oid="d"), Scope("order-select")),
        (tofa(0, draft=True, oid="d"), Scope("order-select", tofacitinib=True)),
        (med("fluconazole 200 MG Oral Tablet", 0, 200, draft=True, oid="d"), Scope("order-select", interacting=True)),
        (med("MMR vaccine live", 0, draft=True, oid="d"), Scope("order-select", interacting=True)),
        (med("prednisone 20 MG Oral Tablet", 0, 20, draft=True, oid="d"), Scope("order-select", glucocorticoid=True)),
        # a skin preparation does not interact (systemic classes only) and a cream is no systemic steroid
        (med("ketoconazole 2 % Topical Cream", 0, draft=True, oid="d"), Scope("order-select")),
        (med("hydrocortisone 1 % Topical Cream", 0, draft=True, oid="d"), Scope("order-select")),
    ],
)
def test_the_scope_names_what_is_drafted(draft, expected):
    assert scope(draft) == expected


def test_order_select_counts_only_the_selected_drafts():
    drafts = (tofa(0, draft=True, oid="t"), med("acetaminophen 500 MG Oral Tablet", 0, 500, draft=True, oid="a"))
    assert scope(*drafts, selected={"a"}) == Scope("order-select")
    assert scope(*drafts, selected={"t"}) == Scope("order-select", tofacitinib=True)


def test_order_sign_counts_every_draft_and_an_ended_draft_none():
    fluconazole = med("fluconazole 200 MG Oral Tablet", 0, 200, draft=True, oid="f")
    assert scope(fluconazole, hook="order-sign") == Scope("order-sign", interacting=True)
    assert scope({**fluconazole, "status": "cancelled"}, hook="order-sign") == Scope("order-sign")


def test_patient_view_has_no_draft_scope():
    assert scope(hook="patient-view") == Scope("patient-view")


ORDER_CASES = [
    # (scope flags, topic, indicator, shown)
    ({"tofacitinib": True}, "boxed-cv-thrombosis", "warning", True),
    ({"tofacitinib": True}, "dose-guidance", "info", True),
    ({}, "boxed-cv-thrombosis", "warning", False),
    ({}, "cmv-viremia", "critical", False),  # an unrelated draft: no card at all
    ({"interacting": True}, "dose-cyp-inhibitor", "warning", True),
    ({"interacting": True}, "ddi-live-vaccine", "critical", True),
    ({"interacting": True}, "cmv-viremia", "critical", True),
    ({"interacting": True}, "cmv-viremia", "warning", False),
    ({"interacting": True}, "age-infection-risk", "warning", False),
    ({"interacting": True}, "pjp-prophylaxis", "warning", False),
    ({"glucocorticoid": True}, "pjp-prophylaxis", "warning", True),
    ({"glucocorticoid": True}, "infection-active", "critical", True),
    ({"glucocorticoid": True}, "ddi-triple-therapy", "info", False),
]


@pytest.mark.parametrize("hook", ["order-select", "order-sign"])
@pytest.mark.parametrize("flags, topic, indicator, shown", ORDER_CASES)
def test_order_hooks_show_what_the_draft_is_about(hook, flags, topic, indicator, shown):
    assert shows(Scope(hook, **flags), topic, indicator) is shown


@pytest.mark.parametrize(
    "topic, indicator, shown",
    [
        ("safety-summary", "info", True),
        ("monitor-labs-due", "info", True),  # due tests
        ("cmv-pcr-due", "warning", True),
        ("lab-lymphopenia", "critical", True),
        ("lab-lymphopenia", "info", False),  # ALC 500-899: a line of the summary
        ("age-infection-risk", "warning", False),
        ("boxed-cv-thrombosis", "warning", False),
        ("ddi-triple-therapy", "info", False),
        ("ddi-rituximab", "info", False),
        ("pjp-prophylaxis", "warning", True),
    ],
)
def test_patient_view_shows_what_needs_action_now(topic, indicator, shown):
    assert shows(Scope("patient-view"), topic, indicator) is shown


def test_standing_risks_are_the_four_topics_and_the_moderate_lymphopenia():
    assert is_standing_risk(Finding("boxed-cv-thrombosis", variant="thrombosis"))
    assert is_standing_risk(Finding("lab-lymphopenia", variant="moderate"))
    assert not is_standing_risk(Finding("lab-lymphopenia", variant="on-therapy"))  # ALC < 500: critical
    assert not is_standing_risk(Finding("dose-guidance"))


def test_on_patient_view_the_standing_risks_are_folded_into_the_summary():
    resources = [
        patient(birth=date(1956, 6, 1)),
        tofa(30),
        lab("731-0", 5, 0.65, "10*3/uL"),
        problem("I10", "Essential hypertension"),
    ]
    found = engine.evaluate(build(resources), "patient-view", DEFAULT_THRESHOLDS)
    (summary,) = [f for f in found if f.topic == "safety-summary"]
    lines = [line.finding.topic for line in summary.facts["standing_risks"].facts["risks"].items
             if isinstance(line, SummaryOf)]
    assert sorted(lines) == ["age-infection-risk", "boxed-cv-thrombosis", "lab-lymphopenia"]
    assert not any(is_standing_risk(f) for f in found)


def test_without_standing_risks_the_summary_has_none():
    found = engine.evaluate(build(ON_TOFACITINIB), "patient-view", DEFAULT_THRESHOLDS)
    (summary,) = [f for f in found if f.topic == "safety-summary"]
    assert summary.facts["standing_risks"] is None
