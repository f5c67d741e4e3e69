"""Stable card identity: uuid5 of patient, topic and the finding's key facts (never the hook)."""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path

from cdshooks.app import create_app
from cdshooks.card_identity import card_uuid, suggestion_uuid
from cdshooks.clinical.findings import Bullets, Finding, Phrase

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def finding(**facts) -> Finding:
    base = {"value": 400, "date": date(2026, 1, 2), "note": Phrase("preliminary", {"x": 1}), "list": Bullets(("a",))}
    return Finding("lab-lymphopenia", {**base, **facts}, variant="on-therapy", order_id="MedicationRequest/1")


def test_the_uuid_is_a_name_based_uuid_and_repeats():
    first = card_uuid("p1", finding())
    assert uuid.UUID(first).version == 5
    assert card_uuid("p1", finding()) == first


def test_new_facts_a_new_uuid():
    assert card_uuid("p1", finding(value=350)) != card_uuid("p1", finding())
    assert card_uuid("p1", finding(date=date(2026, 1, 3))) != card_uuid("p1", finding())
    assert card_uuid("p1", finding(note=Phrase("preliminary", {"x": 2}))) != card_uuid("p1", finding())


def test_another_patient_variant_or_order_is_another_card():
    base = card_uuid("p1", finding())
    assert card_uuid("p2", finding()) != base
    f = finding()
    assert card_uuid("p1", Finding(f.topic, f.facts, variant="default", order_id=f.order_id)) != base
    assert card_uuid("p1", Finding(f.topic, f.facts, variant=f.variant, order_id="MedicationRequest/2")) != base


def test_working_values_and_clock_only_facts_are_not_part_of_the_identity():
    assert card_uuid("p1", finding(_dose=object())) == card_uuid("p1", finding())
    assert card_uuid("p1", finding(therapy="day 12"), ignored={"therapy"}) == card_uuid(
        "p1", finding(therapy="day 13"), ignored={"therapy"})


def test_dict_order_does_not_matter():
    assert card_uuid("p1", finding(m={"a": 1, "b": 2})) == card_uuid("p1", finding(m={"b": 2, "a": 1}))


def test_suggestion_uuids_follow_their_card():
    card = card_uuid("p1", finding())
    assert suggestion_uuid(card, "reduce", 0) == suggestion_uuid(card, "reduce", 0)
    assert len({suggestion_uuid(card, "reduce", 0), suggestion_uuid(card, "reduce", 1),
                suggestion_uuid(card_uuid("p2", finding()), "reduce", 0)}) == 3


def _call(client, scenario: dict, hook_service: str | None = None) -> dict[str, dict]:
    resp = client.post(f"/cds-services/{hook_service or scenario['service']}", json=scenario["request"])
    assert resp.status_code == 200
    return {c["source"]["topic"]["code"]: c for c in resp.get_json()["cards"]}


def _scenario(name: str) -> tuple[dict, datetime]:
    scenario = json.loads((FIXTURES / name / "scenario.json").read_text(encoding="utf-8"))
    return scenario, datetime.fromisoformat(scenario["asOf"].replace("Z", "+00:00"))


def test_two_identical_calls_return_identical_uuids(settings):
    from dataclasses import replace

    scenario, now = _scenario("lab-lymphopenia-critical-on-therapy")
    client = create_app(replace(settings, now=now)).test_client()
    first, second = _call(client, scenario), _call(client, scenario)
    assert first and {t: c["uuid"] for t, c in first.items()} == {t: c["uuid"] for t, c in second.items()}
    tomorrow = create_app(replace(settings, now=now + timedelta(days=1))).test_client()
    assert _call(tomorrow, scenario)["lab-lymphopenia"]["uuid"] == first["lab-lymphopenia"]["uuid"]


def test_the_same_advice_on_order_select_and_order_sign_is_one_card(settings):
    from dataclasses import replace

    scenario, now = _scenario("lab-lymphopenia-critical-cells-per-ul")
    client = create_app(replace(settings, now=now)).test_client()
    select = _call(client, scenario)
    sign_request = {**scenario["request"], "hook": "order-sign"}
    sign_request["context"] = {k: v for k, v in sign_request["context"].items() if k != "selections"}
    resp = client.post("/cds-services/tofacitinib-order-sign", json=sign_request)
    sign = {c["source"]["topic"]["code"]: c for c in resp.get_json()["cards"]}
    assert sign["lab-lymphopenia"]["uuid"] == select["lab-lymphopenia"]["uuid"]


def test_a_newer_lab_result_changes_the_uuid_of_the_card_it_feeds(settings):
    from dataclasses import replace

    scenario, now = _scenario("lab-lymphopenia-critical-on-therapy")
    client = create_app(replace(settings, now=now)).test_client()
    before = _call(client, scenario)
    newer = json.loads(json.dumps(scenario))
    observations = newer["request"]["prefetch"]["observations"]["entry"]
    alc = [e["resource"] for e in observations if e["resource"]["code"]["coding"][0]["code"] == "731-0"]
    copy = json.loads(json.dumps(max(alc, key=lambda r: r["effectiveDateTime"])))  # the one the card names
    copy["id"] = "newer-alc"
    copy["effectiveDateTime"] = (now - timedelta(hours=1)).isoformat().replace("+00:00", "Z")
    copy["valueQuantity"]["value"] = round(copy["valueQuantity"]["value"] * 0.9, 3)  # still below 500
    observations.append({"resource": copy})
    after = _call(client, newer)
    assert after["lab-lymphopenia"]["uuid"] != before["lab-lymphopenia"]["uuid"]
    others = (before.keys() & after.keys()) - {"lab-lymphopenia", "safety-summary"}
    assert all(before[t]["uuid"] == after[t]["uuid"] for t in others)
