"""Alert burden over HTTP (clinical-rules.md revision 2): which hook shows what, stable uuids, honoured
overrides, order-sign repeats and the shown-card ledger, with the store the app really uses."""

from __future__ import annotations

import copy
import json
from datetime import timedelta
from pathlib import Path

import pytest

from cdshooks.store.model import StoreUnavailable
from cdshooks.store.sqlite import SqliteStore
from tests.conftest import TEST_NOW

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
OVERRIDE_SYSTEM = "urn:tofacitinib-cds:override-reason"


def scenario(name: str) -> dict:
    return json.loads((FIXTURES / name / "scenario.json").read_text(encoding="utf-8"))


RENEWAL = scenario("hook-scope-tofacitinib-renewal-age-69-alc-650")


def call(client, doc: dict, hook: str | None = None) -> list[dict]:
    request = copy.deepcopy(doc["request"])
    service = doc["service"]
    if hook is not None:
        request["hook"] = hook
        service = f"tofacitinib-{hook}"
        if hook == "order-sign":
            request["context"].pop("selections", None)
    resp = client.post(f"/cds-services/{service}", json=request)
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()["cards"]


def by_topic(cards: list[dict]) -> dict[str, dict]:
    return {c["source"]["topic"]["code"]: c for c in cards}


def feedback(client, card: dict, outcome: str = "overridden", reason: str | None = None, at=TEST_NOW) -> None:
    entry: dict = {"card": card["uuid"], "outcome": outcome, "outcomeTimestamp": at.isoformat().replace("+00:00", "Z")}
    if reason is not None:
        entry["overrideReason"] = {"reason": {"system": OVERRIDE_SYSTEM, "code": reason}}
    if outcome == "accepted":
        entry["acceptedSuggestions"] = [{"id": card["suggestions"][0]["uuid"]}]
    resp = client.post("/cds-services/tofacitinib-order-select/feedback", json={"feedback": [entry]})
    assert resp.status_code == 200, resp.get_json()


@pytest.mark.parametrize(
    "name",
    [
        "hook-scope-unrelated-draft-acetaminophen-age-69-alc-650",
        "hook-scope-empty-sandbox-draft-age-69-alc-650",
        "composite-mda5-chart-unrelated-draft",
    ],
)
def test_an_unrelated_or_empty_draft_gets_no_card(client, name):
    assert call(client, scenario(name)) == []


def test_the_same_call_twice_gives_the_same_uuids(client):
    first, second = call(client, RENEWAL), call(client, RENEWAL)
    assert [c["uuid"] for c in first] == [c["uuid"] for c in second]
    assert len({c["uuid"] for c in first}) == len(first) == 5


def test_a_newer_lab_result_changes_the_uuid_of_the_card_it_feeds_only(client):
    before = by_topic(call(client, RENEWAL))
    newer = copy.deepcopy(RENEWAL)
    obs = newer["request"]["prefetch"]["observations"]["entry"]
    alc = copy.deepcopy(next(e for e in obs if e["resource"]["id"] == "o-alc"))
    alc["resource"]["id"] = "o-alc-newer"
    alc["resource"]["valueQuantity"]["value"] = 0.7
    alc["resource"]["effectiveDateTime"] = "2026-01-12T12:00:00Z"
    obs.append(alc)
    after = by_topic(call(client, newer))
    assert after.keys() == before.keys()
    assert after["lab-lymphopenia"]["uuid"] != before["lab-lymphopenia"]["uuid"]
    assert "700" in after["lab-lymphopenia"]["summary"]
    for topic in ("age-infection-risk", "boxed-cv-thrombosis", "ddi-triple-therapy", "dose-guidance"):
        assert after[topic]["uuid"] == before[topic]["uuid"], topic


def test_an_override_with_a_reason_hides_the_card_for_its_window(make_app, settings):
    client = make_app().test_client()
    boxed = by_topic(call(client, RENEWAL))["boxed-cv-thrombosis"]
    feedback(client, boxed, reason="benefit-outweighs-risk")
    assert "boxed-cv-thrombosis" not in by_topic(call(client, RENEWAL))
    assert "age-infection-risk" in by_topic(call(client, RENEWAL))  # only that card
    # 29 days later it is still hidden; after the 30-day window (warning) it is back, same uuid.
    later = make_app(now=TEST_NOW + timedelta(days=29)).test_client()
    assert "boxed-cv-thrombosis" not in by_topic(call(later, RENEWAL))
    after = make_app(now=TEST_NOW + timedelta(days=30, minutes=1)).test_client()
    assert by_topic(call(after, RENEWAL))["boxed-cv-thrombosis"]["uuid"] == boxed["uuid"]


def test_the_window_is_configuration(make_app):
    client = make_app(suppress_days=2).test_client()
    boxed = by_topic(call(client, RENEWAL))["boxed-cv-thrombosis"]
    feedback(client, boxed, reason="benefit-outweighs-risk")
    assert "boxed-cv-thrombosis" in by_topic(call(make_app(suppress_days=2, now=TEST_NOW + timedelta(days=3))
                                                  .test_client(), RENEWAL))


def test_a_critical_card_comes_back_after_24_hours(make_app):
    doc = scenario("hook-scope-interacting-draft-fluconazole-with-critical-cmv-viremia")
    client = make_app().test_client()
    cmv = by_topic(call(client, doc))["cmv-viremia"]
    assert cmv["indicator"] == "critical"
    feedback(client, cmv, reason=cmv["overrideReasons"][0]["code"])
    assert "cmv-viremia" not in by_topic(call(make_app(now=TEST_NOW + timedelta(hours=23)).test_client(), doc))
    assert "cmv-viremia" in by_topic(call(make_app(now=TEST_NOW + timedelta(hours=25)).test_client(), doc))


def test_a_plain_dismissal_suppresses_nothing(client):
    boxed = by_topic(call(client, RENEWAL))["boxed-cv-thrombosis"]
    feedback(client, boxed)  # overridden without a reason: dismissed
    assert boxed["uuid"] in {c["uuid"] for c in call(client, RENEWAL)}


def test_an_accepted_suggestion_suppresses_nothing(client):
    doc = scenario("hook-scope-interacting-draft-fluconazole-with-critical-cmv-viremia")
    cmv = by_topic(call(client, doc))["cmv-viremia"]
    feedback(client, cmv, outcome="accepted")
    assert cmv["uuid"] in {c["uuid"] for c in call(client, doc)}


def test_order_sign_repeats_only_the_warning_and_critical_cards_of_order_select(client):
    selected = by_topic(call(client, RENEWAL, "order-select"))
    signed = by_topic(call(client, RENEWAL, "order-sign"))
    info = {t for t, c in selected.items() if c["indicator"] == "info"}
    assert info == {"dose-guidance", "ddi-triple-therapy", "lab-lymphopenia"}
    assert set(signed) == set(selected) - info == {"age-infection-risk", "boxed-cv-thrombosis"}


def test_order_sign_without_an_order_select_shows_every_card(client):
    assert len(call(client, RENEWAL, "order-sign")) == 5


def test_every_card_returned_is_in_the_ledger_with_its_hook_and_nothing_held_back_is(client, settings):
    boxed = by_topic(call(client, RENEWAL))["boxed-cv-thrombosis"]
    feedback(client, boxed, reason="benefit-outweighs-risk")
    shown = call(client, RENEWAL, "order-sign")
    rows = SqliteStore(settings.feedback_db).shown_since(TEST_NOW - timedelta(days=1))
    assert [(r.hook, r.topic) for r in rows[5:]] == [("order-sign", c["source"]["topic"]["code"]) for c in shown]
    assert {r.patient_id for r in rows} == {RENEWAL["request"]["context"]["patientId"]}
    assert boxed["uuid"] not in {r.uuid for r in rows[5:]}


def test_cards_are_returned_when_the_ledger_cannot_be_written_or_read(app, monkeypatch, caplog):
    store = app.extensions["cdshooks"]["store"]

    def down(*args, **kwargs):
        raise StoreUnavailable("SQLite store feedback.sqlite3: disk I/O error")

    for method in ("record_shown", "overridden_with_reason", "shown_on"):
        monkeypatch.setattr(store, method, down)
    cards = call(app.test_client(), RENEWAL)
    assert len(cards) == 5
    assert "ledger not written" in caplog.text and "suppression not applied" in caplog.text
    assert RENEWAL["request"]["context"]["patientId"] not in caplog.text


def test_a_patient_view_shows_the_standing_risks_as_lines_of_the_summary(client):
    doc = scenario("composite-mda5-chart-patient-view")
    (summary,) = call(client, doc)
    assert summary["source"]["topic"]["code"] == "safety-summary"
    assert "**Standing risks**" in summary["detail"]
    assert "- Boxed warning (MACE, thrombosis): age 55 with Essential hypertension (I10)" in summary["detail"]
    assert "- Tofacitinib with tacrolimus, cyclophosphamide: off-label triple therapy" in summary["detail"]


def test_the_composite_renewal_signed_after_its_order_select_repeats_only_the_warning(client):
    # README, "Alert burden": order-select 3 cards, then order-sign 1.
    doc = scenario("composite-mda5-chart-tofacitinib-renewal")
    assert sorted(by_topic(call(client, doc, "order-select"))) == [
        "boxed-cv-thrombosis", "ddi-triple-therapy", "dose-guidance"
    ]
    assert sorted(by_topic(call(client, doc, "order-sign"))) == ["boxed-cv-thrombosis"]
