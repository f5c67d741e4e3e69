"""The CDS Hooks sandbox's drafts, and Epic / Oracle Health sigs, get the dose cards a structured order gets."""

from __future__ import annotations

from dataclasses import replace

import pytest

from cdshooks.app import create_app
from tests import fixturekit as k
from tests.clinical.sandbox_shapes import sandbox_draft

SELECT = "/cds-services/tofacitinib-order-select"


@pytest.fixture
def client(settings):
    return create_app(replace(settings, now=k.AS_OF, auth_enabled=False)).test_client()


def _dose_cards(client, draft: dict) -> list[tuple[str, str, tuple[str, ...]]]:
    resp = client.post(SELECT, json=k.order_select(drafts=[draft]))
    assert resp.status_code == 200, resp.get_data(as_text=True)
    out = []
    for c in resp.get_json()["cards"]:
        topic = c["source"]["topic"]["code"]
        if topic.startswith("dose-"):
            labels = tuple(s["label"] for s in c.get("suggestions", []))
            out.append((topic, c["indicator"], labels))
    return sorted(out)


def _structured(mg: float, per_day: int, product=k.TOFA_5MG) -> dict:
    return k.tofacitinib_draft(mid="request-123", product=product, dosages=[k.dosage(mg, "mg", per_day)])


@pytest.mark.parametrize(
    ("pills", "per_day", "mg", "topic"),
    [(1, 2, 5, "dose-guidance"), (2, 2, 10, "dose-escalation"), (1, 1, 5, "dose-guidance")],
)
def test_sandbox_pill_draft_gets_the_cards_of_the_structured_order(client, pills, per_day, mg, topic):
    sandbox = _dose_cards(client, sandbox_draft(k.TOFA_5MG[0], k.TOFA_5MG[1], pills, per_day))
    structured = _dose_cards(client, _structured(mg, per_day))
    assert [t for t, _, _ in sandbox] == [topic]
    assert sandbox == structured


def test_sandbox_pill_draft_is_not_dose_unverified(client):
    # Before `{pill}` was read as a tablet, every sandbox order got only dose-unverified.
    topics = [t for t, _, _ in _dose_cards(client, sandbox_draft(k.TOFA_5MG[0], k.TOFA_5MG[1], 2, 2))]
    assert "dose-unverified" not in topics


def test_pill_without_a_known_strength_is_never_guessed(client):
    # an ingredient-only order ("tofacitinib", no strength): a tablet count cannot be turned into mg
    draft = sandbox_draft("1357536", "tofacitinib", 2, 2)
    assert [t for t, _, _ in _dose_cards(client, draft)] == ["dose-unverified"]


@pytest.mark.parametrize(
    "sig",
    [
        "Take 1 tablet (5 mg total) by mouth 2 (two) times daily",
        "Take 5 mg by mouth every 12 (twelve) hours",
        "1 (one) tablet every 12 (twelve) hours",
    ],
)
def test_epic_spelled_out_numbers(client, sig):
    text_only = k.tofacitinib_draft(mid="request-123", dosages=[{"text": sig}])
    assert _dose_cards(client, text_only) == _dose_cards(client, _structured(5, 2))


def test_patient_instruction_is_read_when_there_is_no_text(client):
    draft = k.tofacitinib_draft(mid="request-123", dosages=[{"patientInstruction": "Take 2 tablets twice daily"}])
    assert [t for t, _, _ in _dose_cards(client, draft)] == ["dose-escalation"]


def test_oracle_health_local_timing_code_and_tab_unit(client):
    dosage = {
        "timing": {"code": {"coding": [{"system": "https://fhir.cerner.com/ec/codeSet/4003", "code": "696530",
                                        "display": "BID"}], "text": "BID"}},
        "doseAndRate": [{"doseQuantity": {"value": 1, "unit": "tab(s)"}}],
    }
    draft = k.tofacitinib_draft(mid="request-123", dosages=[dosage])
    assert _dose_cards(client, draft) == _dose_cards(client, _structured(5, 2))


def _current_sandbox(pills: int, per_day: int, *, dates: bool, stu3_dose: bool = False) -> dict:
    """The sandbox's createFhirResource as of its current source: with a dispense request (its default
    state) it adds `intent: "order"` and a single-object `category`; `boundsPeriod` only when dates
    were picked; a chosen Condition's code goes into `reasonCode` as a single object."""
    draft = sandbox_draft(k.TOFA_5MG[0], k.TOFA_5MG[1], pills, per_day)
    draft["intent"] = "order"
    draft["reasonCode"] = {"coding": [{"system": k.SNOMED, "code": "396230008", "display": "Dermatomyositis"}]}
    dosage = draft["dosageInstruction"][0]
    if not dates:
        del dosage["timing"]["repeat"]["boundsPeriod"]
    if stu3_dose:
        dosage["doseQuantity"] = dosage.pop("doseAndRate")[0]["doseQuantity"]
    return draft


@pytest.mark.parametrize("dates", [True, False])
@pytest.mark.parametrize("stu3_dose", [False, True])
@pytest.mark.parametrize(("pills", "mg", "topic"), [(2, 10, "dose-escalation"), (1, 5, "dose-guidance")])
def test_current_sandbox_shapes(client, dates, stu3_dose, pills, mg, topic):
    sandbox = _dose_cards(client, _current_sandbox(pills, 2, dates=dates, stu3_dose=stu3_dose))
    assert [t for t, _, _ in sandbox] == [topic]
    assert sandbox == _dose_cards(client, _structured(mg, 2))


def test_a_taper_draft_reads_its_first_step_and_the_card_says_so(client):
    # 10 mg BID for 14 days, then 5 mg BID: read as 10 mg BID (escalation), never summed (30 mg/day)
    steps = [
        {**k.dosage(10, "mg", 2), "sequence": 1},
        {**k.dosage(5, "mg", 2), "sequence": 2},
    ]
    steps[0]["timing"]["repeat"]["boundsDuration"] = {"value": 14, "unit": "days", "system": k.UCUM, "code": "d"}
    resp = client.post(SELECT, json=k.order_select(drafts=[k.tofacitinib_draft(mid="request-123", dosages=steps)]))
    cards = [c for c in resp.get_json()["cards"] if c["source"]["topic"]["code"].startswith("dose-")]
    assert [c["source"]["topic"]["code"] for c in cards] == ["dose-escalation"]
    assert "taper read" in cards[0]["detail"]
