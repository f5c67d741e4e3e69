"""Conformance review: strict response checks, real-client messiness, and protocol edge cases.

Every response is judged by `strict_problems` (tests/conformance.py plus the
shape rules it does not cover: allowed keys, delete `resourceId` as a relative
reference, suggestion uuids, `systemActions`). A messy but meaningful request
must give 200 with conformant cards, or a 4xx with an OperationOutcome; never a 500.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from cdshooks.app import create_app
from cdshooks.services import SERVICES
from tests import fixturekit as k
from tests.conformance import check_response, empty_values

SELECT = "/cds-services/tofacitinib-order-select"
SIGN = "/cds-services/tofacitinib-order-sign"
VIEW = "/cds-services/tofacitinib-patient-view"
SCENARIOS = sorted(k.FIXTURES.glob("*/scenario.json"))

RESPONSE_KEYS = {"cards", "systemActions"}
CARD_KEYS = {"uuid", "summary", "detail", "indicator", "source", "suggestions", "selectionBehavior",
             "overrideReasons", "links", "extension"}
SOURCE_KEYS = {"label", "url", "icon", "topic"}
SUGGESTION_KEYS = {"label", "uuid", "isRecommended", "actions"}
ACTION_KEYS = {"type", "description", "resource", "resourceId"}
LINK_KEYS = {"label", "url", "type", "appContext"}
RELATIVE_REFERENCE = re.compile(r"^[A-Z][A-Za-z]+/[A-Za-z0-9\-.]{1,64}$")


def _unknown(obj: Any, allowed: set[str], where: str) -> list[str]:
    return [f"{where}.{key} is not a CDS Hooks field" for key in sorted(set(obj) - allowed)] if isinstance(obj, dict) else []


def _strict_action(action: Any, where: str) -> list[str]:
    problems = _unknown(action, ACTION_KEYS, where)
    if not isinstance(action, dict):
        return problems + [f"{where} is not an object"]
    if action.get("type") == "delete" and not RELATIVE_REFERENCE.match(str(action.get("resourceId"))):
        problems.append(f"{where}.resourceId {action.get('resourceId')!r} is not a relative reference")
    if action.get("type") in ("create", "update") and not isinstance(action.get("resource"), dict):
        problems.append(f"{where}.resource missing for {action.get('type')}")
    return problems


def strict_problems(body: Any) -> list[str]:
    """tests/conformance.py's problems plus the stricter shape rules of CDS Hooks 2.0.1."""
    problems = check_response(body)
    if problems == ["response has no 'cards' array"]:
        return problems
    problems += _unknown(body, RESPONSE_KEYS, "$")
    if "systemActions" in body:
        actions = body["systemActions"]
        if not isinstance(actions, list) or not actions:
            problems.append("$.systemActions must be a non-empty array when present")
        for i, a in enumerate(actions if isinstance(actions, list) else []):
            problems += _strict_action(a, f"systemActions[{i}]")
    uuids: list[str] = []
    for i, card in enumerate(body["cards"]):
        where = f"cards[{i}]"
        problems += _unknown(card, CARD_KEYS, where)
        problems += _unknown(card.get("source"), SOURCE_KEYS, f"{where}.source")
        if "detail" in card and not isinstance(card["detail"], str):
            problems.append(f"{where}.detail is not a string")
        uuids.append(card.get("uuid"))
        for j, s in enumerate(card.get("suggestions") or []):
            sw = f"{where}.suggestions[{j}]"
            problems += _unknown(s, SUGGESTION_KEYS, sw)
            if "uuid" in s:
                if not isinstance(s["uuid"], str):
                    problems.append(f"{sw}.uuid is not a string")
                uuids.append(s["uuid"])
            for m, a in enumerate(s.get("actions") or []):
                problems += _strict_action(a, f"{sw}.actions[{m}]")
        for j, link in enumerate(card.get("links") or []):
            problems += _unknown(link, LINK_KEYS, f"{where}.links[{j}]")
    if len(uuids) != len(set(uuids)):
        problems.append("card and suggestion uuids are not all unique")
    return problems


def assert_answer(resp, *allowed_errors: int) -> dict:
    """200 with a strictly conformant body, or one of `allowed_errors` with an OperationOutcome."""
    assert resp.status_code < 500, resp.get_data(as_text=True)
    assert resp.mimetype == "application/json"
    body = resp.get_json()
    if resp.status_code == 200:
        assert strict_problems(body) == []
        return body
    assert resp.status_code in allowed_errors, resp.get_data(as_text=True)
    assert body["resourceType"] == "OperationOutcome" and body["issue"][0]["diagnostics"]
    assert empty_values(body, "$") == []
    return body


def topics(body: dict) -> list[str]:
    return sorted(c["source"]["topic"]["code"] for c in body["cards"])


# --- every fixture: strict validator -----------------------------------------


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.parent.name)
def test_every_fixture_response_passes_the_strict_validator(path: Path, settings):
    scenario = json.loads(path.read_text(encoding="utf-8"))
    now = datetime.fromisoformat(scenario["asOf"].replace("Z", "+00:00"))
    client = create_app(replace(settings, now=now)).test_client()
    resp = client.post(f"/cds-services/{scenario['service']}", json=scenario["request"])
    assert resp.status_code == 200
    assert strict_problems(resp.get_json()) == []


# --- context.patientId given as a reference ----------------------------------


@pytest.mark.parametrize(
    "url, build",
    [
        (SELECT, lambda: k.order_select(drafts=[k.tofacitinib_draft()])),
        (SIGN, lambda: k.order_sign(drafts=[k.tofacitinib_draft()])),
        (VIEW, lambda: k.patient_view()),
    ],
)
def test_patient_id_as_patient_reference_gives_the_same_cards(client, url, build):
    """`Patient/123` for `123` (seen from real EHRs) must not drop the record and fire screening cards."""
    plain = assert_answer(client.post(url, json=build()))
    req = build()
    req["context"]["patientId"] = "Patient/" + k.PATIENT_ID
    as_reference = assert_answer(client.post(url, json=req))
    assert topics(as_reference) == topics(plain)


# --- selections as real clients send them ------------------------------------


def _urn_draft_request() -> dict:
    """A draft identified only by a `urn:uuid:` fullUrl (no `id`), as drafts in an unsaved order are."""
    draft = k.tofacitinib_draft()
    del draft["id"]
    req = k.order_select(drafts=[k.tofacitinib_draft(mid="other")], selections=["urn:uuid:7f3c2a9e-1b2d-4c5e-8f90-a1b2c3d4e5f6"])
    req["context"]["draftOrders"]["entry"] = [
        {"fullUrl": "urn:uuid:7f3c2a9e-1b2d-4c5e-8f90-a1b2c3d4e5f6", "resource": draft}
    ]
    return req


def test_selection_by_bare_id_is_a_400_that_says_what_is_wanted(client):
    """The web layer's decision (tests/api/test_service_calls.py): a clear 400, not a guess."""
    req = k.order_select(drafts=[k.tofacitinib_draft()], selections=["draft-tofa"])
    body = assert_answer(client.post(SELECT, json=req), 400)
    assert "'Type/id'" in body["issue"][0]["diagnostics"]


def test_selection_by_full_url_of_a_draft_without_id_is_accepted(client):
    body = assert_answer(client.post(SELECT, json=_urn_draft_request()))
    assert "dose-guidance" in topics(body)


@pytest.mark.parametrize("selection", ["nothing-here", "MedicationRequest/nope", "urn:uuid:0000", 7, ""])
def test_selection_naming_no_draft_is_a_clear_400(client, selection):
    req = k.order_select(drafts=[k.tofacitinib_draft()], selections=[selection])
    body = assert_answer(client.post(SELECT, json=req), 400)
    assert body["issue"][0]["expression"] == ["context.selections[0]"]


def test_selection_by_full_url_of_a_draft_with_id_counts_as_its_reference(client):
    canonical = assert_answer(client.post(SELECT, json=k.order_select(drafts=[k.tofacitinib_draft()])))
    req = k.order_select(drafts=[k.tofacitinib_draft()], selections=["https://ehr.example.org/fhir/MedicationRequest/draft-tofa"])
    req["context"]["draftOrders"]["entry"][0]["fullUrl"] = "https://ehr.example.org/fhir/MedicationRequest/draft-tofa"
    assert topics(assert_answer(client.post(SELECT, json=req))) == topics(canonical)


# --- real-client messiness: 200 or a clear 4xx, never a 500 ------------------


def _stu3_draft() -> dict:
    """STU3 shapes: doseQuantity on the Dosage itself, `context` for the encounter, string numbers."""
    d = k.tofacitinib_draft()
    dosage = d["dosageInstruction"][0]
    dosage["doseQuantity"] = dosage.pop("doseAndRate")[0]["doseQuantity"]
    dosage["timing"] = {"repeat": {"frequency": "2", "period": 1, "periodUnit": "d"}}
    d["context"] = {"reference": "Encounter/enc-1"}
    d["dispenseRequest"] = {"quantity": {"value": 60}, "expectedSupplyDuration": {"value": 30, "unit": "d"}}
    return d


def _other_drafts() -> list[dict]:
    ref = {"reference": f"Patient/{k.PATIENT_ID}"}
    return [
        {"resourceType": "ServiceRequest", "id": "sr-cbc", "status": "draft", "intent": "order",
         "code": {"coding": [{"system": k.LOINC, "code": "58410-2"}], "text": "CBC"}, "subject": ref},
        {"resourceType": "NutritionOrder", "id": "diet", "status": "draft", "intent": "order",
         "patient": ref, "dateTime": "2026-01-15", "oralDiet": {"type": [{"text": "Low salt"}]}},
    ]


def _huge_request() -> dict:
    """Thousands of observations and long texts: under every limit, so it must be answered."""
    resources = k.base_resources()
    resources += [k.observation(f"o-wt-{i}", "29463-7", 62 + i % 3, "kg", 30 + i % 300) for i in range(3000)]
    req = k.order_select(drafts=[k.tofacitinib_draft()], resources=resources)
    req["context"]["draftOrders"]["entry"][0]["resource"]["note"] = [{"text": "x" * 200_000}]
    return req


def _mutated(build, mutate):
    def make() -> dict:
        req = build()
        mutate(req)
        return req
    return make


def _select() -> dict:
    return k.order_select(drafts=[k.tofacitinib_draft()])


MESSY = {
    "STU3 MedicationRequest": (SELECT, lambda: k.order_select(drafts=[_stu3_draft()])),
    "ServiceRequest and NutritionOrder drafts (select)": (
        SELECT, lambda: k.order_select(drafts=[k.tofacitinib_draft(), *_other_drafts()],
                                       selections=["MedicationRequest/draft-tofa", "ServiceRequest/sr-cbc"])),
    "only non-medication drafts selected": (
        SELECT, lambda: k.order_select(drafts=_other_drafts(), selections=["NutritionOrder/diet"])),
    "ServiceRequest and NutritionOrder drafts (sign)": (
        SIGN, lambda: k.order_sign(drafts=[k.tofacitinib_draft(), *_other_drafts()])),
    "draft with urn:uuid fullUrl and no id (sign)": (
        SIGN, lambda: _mutated(lambda: k.order_sign(drafts=[k.tofacitinib_draft()]),
                               lambda r: (r["context"]["draftOrders"]["entry"][0].update(fullUrl="urn:uuid:1f0e"),
                                          r["context"]["draftOrders"]["entry"][0]["resource"].pop("id")))()),
    "fhirAuthorization lowercase bearer, expires_in string, no scope": (
        SELECT, _mutated(_select, lambda r: r.update(
            fhirServer="http://127.0.0.1:9/fhir/",
            fhirAuthorization={"access_token": "opaque", "token_type": "bearer", "expires_in": "300", "subject": "cds"}))),
    "prefetch Bundle truncated by _count, next link, no fhirServer": (
        SELECT, _mutated(_select, lambda r: r["prefetch"]["observations"].update(
            total=4000, link=[{"relation": "next", "url": "https://ehr.example.org/fhir/Observation?page=2"}]))),
    "prefetch Bundle with a next link elsewhere than fhirServer": (
        SELECT, _mutated(_select, lambda r: (r.update(fhirServer="http://127.0.0.1:9/fhir"), r["prefetch"]["medications"].update(
            link=[{"relation": "next", "url": "https://evil.example.net/steal?page=2"}])))),
    "hookInstance not a UUID": (SELECT, _mutated(_select, lambda r: r.update(hookInstance="epic-12345"))),
    "extension in context and request": (
        SELECT, _mutated(_select, lambda r: (r.update(extension={"com.example.x": {"a": 1}}),
                                             r["context"].update(extension={"com.example.y": True})))),
    "userId PractitionerRole": (SELECT, _mutated(_select, lambda r: r["context"].update(userId="PractitionerRole/pr-1"))),
    "patient-view by the patient": (VIEW, _mutated(k.patient_view, lambda r: r["context"].update(userId=f"Patient/{k.PATIENT_ID}"))),
    "patient-view without encounterId": (VIEW, _mutated(k.patient_view, lambda r: r["context"].pop("encounterId"))),
    "prefetch patient null": (SELECT, _mutated(_select, lambda r: r["prefetch"].update(patient=None))),
    "prefetch Bundle entry as an object": (
        SELECT, _mutated(_select, lambda r: r["prefetch"]["conditions"].update(entry=r["prefetch"]["conditions"]["entry"][0]))),
    "prefetch of keys the service did not ask for": (SELECT, _mutated(_select, lambda r: r["prefetch"].update(other={"resourceType": "Bundle"}))),
    "huge but legal request": (SELECT, _huge_request),
}


@pytest.mark.parametrize("case", sorted(MESSY))
def test_messy_real_client_requests_are_answered(client, case):
    url, build = MESSY[case]
    assert_answer(client.post(url, json=build()))


# --- FHIR fallback through the HTTP app --------------------------------------

FHIR = "http://127.0.0.1:8089/fhir"  # loopback: on the default allowlist
FHIR_TOKEN = "opaque-fhir-token-7f1c"


def _igra_split() -> tuple[list[dict], dict]:
    """The base patient minus the IGRA, and the IGRA (its absence fires screen-tb)."""
    resources = k.base_resources()
    igra = next(r for r in resources if r.get("id") == "o-igra")
    return [r for r in resources if r is not igra], igra


def test_truncated_prefetch_bundle_reads_the_next_page_from_fhir_server(client):
    import responses

    first_page, igra = _igra_split()
    req = k.order_select(drafts=[k.tofacitinib_draft()], resources=first_page)
    req["prefetch"]["observations"]["link"] = [{"relation": "next", "url": f"{FHIR}/Observation?_page=2"}]
    req["fhirServer"] = FHIR + "/"  # trailing slash, as some EHRs send it
    req["fhirAuthorization"] = {"access_token": FHIR_TOKEN, "token_type": "bearer", "expires_in": "300", "subject": "cds"}
    with responses.RequestsMock() as rsps:
        rsps.get(f"{FHIR}/Observation?_page=2", json=k.bundle([igra]))
        body = assert_answer(client.post(SELECT, json=req))
        assert [c.request.headers["Authorization"] for c in rsps.calls] == [f"Bearer {FHIR_TOKEN}"]
    assert "screen-tb" not in topics(body)


def test_no_prefetch_fetches_everything_from_a_fhir_server_with_trailing_slash(client):
    import responses

    prefetched = assert_answer(client.post(SELECT, json=_select()))
    req = _select()
    resources = k.base_resources()
    del req["prefetch"]
    req["fhirServer"] = FHIR + "/"
    req["fhirAuthorization"] = {"access_token": FHIR_TOKEN, "token_type": "Bearer", "expires_in": 300, "subject": "cds"}
    with responses.RequestsMock() as rsps:
        rsps.get(f"{FHIR}/Patient/{k.PATIENT_ID}", json=resources[0])
        for rtype in ("MedicationRequest", "Observation", "Condition", "Immunization"):
            rsps.get(re.compile(rf"{re.escape(FHIR)}/{rtype}\?.*"),
                     json=k.bundle(r for r in resources if r["resourceType"] == rtype))
        body = assert_answer(client.post(SELECT, json=req))
        assert all("//" not in c.request.url.split("://", 1)[1].split("?")[0] for c in rsps.calls)
    assert topics(body) == topics(prefetched)


def test_required_prefetch_as_operation_outcome_without_fhir_server_is_412(client):
    req = _select()
    req["prefetch"]["medications"] = {"resourceType": "OperationOutcome",
                                      "issue": [{"severity": "error", "code": "timeout"}]}
    body = assert_answer(client.post(SELECT, json=req), 412)
    assert body["issue"][0]["code"] == "incomplete"
    assert "medications" in body["issue"][0]["diagnostics"]


def test_malformed_request_is_400_not_412_even_without_data(client):
    """Shape errors are judged before data: a broken request never reads as 'data unavailable'."""
    req = _select()
    del req["prefetch"]
    req["context"]["userId"] = 42
    assert_answer(client.post(SELECT, json=req), 400)


# --- discovery ----------------------------------------------------------------

HOOK_CONTEXT_TOKENS = {  # root-level primitive context fields of each hook (hook definitions)
    "order-select": {"userId", "patientId", "encounterId"},
    "order-sign": {"userId", "patientId", "encounterId"},
    "patient-view": {"userId", "patientId", "encounterId"},
}
USER_TOKENS = {"userPractitionerId", "userPractitionerRoleId", "userPatientId", "userRelatedPersonId"}


def test_discovery_is_complete_and_its_prefetch_tokens_are_legal(client):
    resp = client.get("/cds-services")
    assert resp.status_code == 200 and resp.mimetype == "application/json"
    body = resp.get_json()
    assert set(body) == {"services"} and empty_values(body, "$") == []
    assert {s["id"] for s in body["services"]} == set(SERVICES)
    for service in body["services"]:
        assert set(service) <= {"hook", "title", "description", "id", "prefetch", "usageRequirements", "extension"}
        assert all(isinstance(service[key], str) for key in ("hook", "title", "description", "id", "usageRequirements"))
        for key, template in service["prefetch"].items():
            tokens = re.findall(r"\{\{(.*?)\}\}", template)
            assert tokens, key
            for token in tokens:
                name = token.strip()
                assert name in USER_TOKENS or (
                    name.startswith("context.") and name[len("context."):] in HOOK_CONTEXT_TOKENS[service["hook"]]
                ), (key, token)
            assert "{" not in re.sub(r"\{\{.*?\}\}", "", template) and "}" not in re.sub(r"\{\{.*?\}\}", "", template)


# --- errors: JSON, CORS, no empty values --------------------------------------


def _too_big(client) -> Any:
    return client.post(SELECT, data=b"{" + b" " * 2048 + b"}", content_type="application/json")


@pytest.mark.parametrize("call, status", [
    (lambda c: c.post(SELECT, data=b"{", content_type="application/json"), 400),
    (lambda c: c.post("/cds-services/no-such-service", json=_select()), 404),
    (lambda c: c.get(SELECT), 405),
    (lambda c: c.post(SELECT, json={k2: v for k2, v in _select().items() if k2 != "prefetch"}), 412),
    (_too_big, 413),
    (lambda c: c.post(SELECT + "/feedback", json={"feedback": [{"card": "c"}]}), 400),
])
def test_error_responses_are_operation_outcomes_with_cors(make_app, call, status):
    client = make_app(max_body_bytes=1024 if status == 413 else 5 * 1024 * 1024).test_client()
    client.environ_base["HTTP_ORIGIN"] = "https://ehr.example.org"
    resp = call(client)
    assert_answer(resp, status)
    assert resp.status_code == status
    assert resp.headers["Access-Control-Allow-Origin"] in ("*", "https://ehr.example.org")


# --- feedback for a real card -------------------------------------------------


def test_feedback_names_a_returned_card_and_its_suggestion(client, app):
    from cdshooks.web.context import EXTENSION

    scenario = json.loads((k.FIXTURES / "dose-renal-ckd4" / "scenario.json").read_text(encoding="utf-8"))
    resp = create_app(replace(app.extensions[EXTENSION]["settings"], now=k.AS_OF)).test_client().post(
        f"/cds-services/{scenario['service']}", json=scenario["request"])
    card = next(c for c in resp.get_json()["cards"] if c.get("suggestions"))
    suggestion = card["suggestions"][0]["uuid"]
    reason = card["overrideReasons"][0]
    feedback = {"feedback": [
        {"card": card["uuid"], "outcome": "accepted", "acceptedSuggestions": [{"id": suggestion}],
         "outcomeTimestamp": "1985-04-12T23:20:50.52Z"},
        {"card": card["uuid"], "outcome": "overridden", "outcomeTimestamp": "2026-01-15T12:00:00Z",
         "overrideReason": {"reason": {"system": reason["system"], "code": reason["code"]}, "userComment": "Discussed"}},
    ]}
    url = f"/cds-services/{scenario['service']}/feedback"
    assert client.post(url, json=feedback).status_code == 200
    stored = app.extensions[EXTENSION]["store"].entries(scenario["service"])
    assert [(e["card_uuid"], e["outcome"]) for e in stored] == [(card["uuid"], "accepted"), (card["uuid"], "overridden")]
    assert stored[0]["accepted_suggestions"] == [suggestion]
    assert (stored[1]["override_code"], stored[1]["override_comment"]) == (reason["code"], "Discussed")


@pytest.mark.parametrize("stray", ["x", 3, ["MedicationRequest/1"], {"resourceType": "Bundle", "entry": "x"}])
def test_patient_view_ignores_a_stray_draft_orders_of_any_shape(client, stray):
    """draftOrders is no patient-view field, so it is not validated: it must not crash the call (fuzz find)."""
    req = k.patient_view()
    req["context"]["draftOrders"] = stray
    assert_answer(client.post(VIEW, json=req))


@pytest.mark.parametrize("stray", [["MedicationRequest/something-else"], ["draft-tofa"], []])
def test_order_sign_ignores_stray_selections(client, stray):
    """order-sign has no `selections`; one sent anyway must not hide the cards of the drafts being signed."""
    scenario = json.loads((k.FIXTURES / "dose-renal-ckd4" / "scenario.json").read_text(encoding="utf-8"))
    req = scenario["request"]
    req["hook"] = "order-sign"
    del req["context"]["selections"]
    plain = assert_answer(create_app_at(client, k.AS_OF).post(SIGN, json=req))
    assert "dose-renal" in topics(plain)
    req["context"]["selections"] = stray
    assert topics(assert_answer(create_app_at(client, k.AS_OF).post(SIGN, json=req))) == topics(plain)


def create_app_at(client, now: datetime):
    """A client for an app like `client`'s, evaluating at `now`."""
    from cdshooks.web.context import EXTENSION

    return create_app(replace(client.application.extensions[EXTENSION]["settings"], now=now)).test_client()
