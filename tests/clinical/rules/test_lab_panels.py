"""Lab suggestions order panels: one ServiceRequest per panel with a missing part, never one per component."""

import json
from importlib import resources

from cdshooks import cards
from cdshooks.clinical.rules import monitoring, screening
from cdshooks.clinical.suggestions.new_orders import order_labs, orders_for
from cdshooks.clinical.thresholds import DEFAULT_THRESHOLDS as TH
from tests.card_kit import service_request_codes
from tests.clinical.records import lab, record, tofa

DRAFT = tofa(0, draft=True)
CBC_PANEL, HEPATIC_PANEL, CREATININE, LIPID_PANEL = "57021-8", "24325-3", "2160-0", "57698-3"


def test_nothing_on_record_gives_four_panel_orders_for_baseline():
    (f,) = screening.screen_baseline_labs(record(drafts=[DRAFT]), TH)
    card = cards.render_card(f)  # the resources are validated as R4 ServiceRequests here
    assert service_request_codes(card) == [CBC_PANEL, HEPATIC_PANEL, CREATININE, LIPID_PANEL]
    assert "CBC with automated differential, Hepatic function panel, Creatinine, serum, Lipid panel" in card["detail"]


def test_missing_alc_anc_and_hb_is_one_cbc_order():
    present = [lab("1742-6", 5, 20, "U/L"), lab("1920-8", 5, 20, "U/L"), lab("2160-0", 5, 0.7, "mg/dL"),
               lab("13457-7", 80, 100, "mg/dL")]
    (f,) = screening.screen_baseline_labs(record(drafts=[DRAFT], labs=present), TH)
    card = cards.render_card(f)
    assert service_request_codes(card) == [CBC_PANEL]
    assert len(card["summary"]) < 140 and "ALC, ANC, Hb" in card["summary"]


def test_missing_ast_only_orders_the_hepatic_panel():
    present = [lab("731-0", 5, 1.4, "10*3/uL"), lab("751-8", 5, 4, "10*3/uL"), lab("718-7", 5, 13, "g/dL"),
               lab("1742-6", 5, 20, "U/L"), lab("2160-0", 5, 0.7, "mg/dL"), lab("13457-7", 80, 100, "mg/dL")]
    (f,) = screening.screen_baseline_labs(record(drafts=[DRAFT], labs=present), TH)
    assert service_request_codes(cards.render_card(f)) == [HEPATIC_PANEL]


def test_monitoring_with_nothing_since_start_orders_cbc_hepatic_and_lipid_panels_once_each():
    rec = record(meds=[tofa(60)])
    (f,) = monitoring.monitor_labs_due_patient_view(rec, TH)
    card = cards.render_card(f)
    assert service_request_codes(card) == [CBC_PANEL, HEPATIC_PANEL, LIPID_PANEL]
    assert "CBC: absolute lymphocytes" in card["detail"]  # the table still says which part is overdue


def test_tests_outside_any_panel_are_ordered_on_their_own():
    assert orders_for(["hbsag", "anti-hbc"]) == ["hbsag", "anti-hbc"]
    s = order_labs("k", record(), ["cmv-dna-quant", "hemoglobin", "platelets"], "why")
    assert [a.resource["code"]["coding"][0]["code"] for a in s.actions] == ["72493-0", CBC_PANEL]


def test_panel_value_set_records_confidence_and_source():
    raw = json.loads(resources.files("cdshooks.terminology").joinpath("valuesets", "lab-panels.json").read_text())
    assert "terminology.md" in raw["source"]
    for m in raw["members"]:
        assert m["properties"]["components"]
        for c in m["codes"]:
            assert c["system"] == "http://loinc.org" and c["confidence"] in ("H", "M", "L")
