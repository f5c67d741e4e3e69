"""The card renderer (cdshooks/cards.py) with templates written to a temporary folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from cdshooks import cards
from cdshooks.clinical.findings import Action, Finding, Suggestion
from cdshooks.fhir_validation import InvalidResource
from tests.conformance import check_card

EVIDENCE = """
[USPI]
label = "Prescribing information"
url = "https://example.org/uspi"

[PAPER]
label = "A paper"
url = "https://example.org/paper"
"""

DOSE = """
topic = "test-dose"
title = "Test dose card"
indicator = "warning"
source = "USPI"
links = ["USPI", "PAPER"]
summary = "Reduce {drug} to {dose}"
detail = '''Ordered: {drug}. {note}'''

[variants.severe]
indicator = "critical"
summary = "Stop {drug}"

[suggestions.reduce]
label = "Change to {new_dose}"

[[override_reasons]]
code = "specialist-decision"
display = "Specialist decision documented"
"""

PLAIN = """
topic = "test-plain"
title = "Plain"
indicator = "info"
source = "PAPER"
summary = "All is well"
detail = ""
"""


@pytest.fixture(autouse=True)
def templates(tmp_path: Path, monkeypatch):
    (tmp_path / "_evidence.toml").write_text(EVIDENCE, encoding="utf-8")
    (tmp_path / "test-dose.toml").write_text(DOSE, encoding="utf-8")
    (tmp_path / "test-plain.toml").write_text(PLAIN, encoding="utf-8")
    (tmp_path / "test-liar.toml").write_text(PLAIN, encoding="utf-8")  # declares another topic
    monkeypatch.setattr(cards, "_templates_root", lambda: tmp_path)
    cards.template.cache_clear()
    cards.evidence.cache_clear()
    yield tmp_path
    cards.template.cache_clear()
    cards.evidence.cache_clear()


def draft(dose_mg: int = 5) -> dict:
    return {
        "resourceType": "MedicationRequest",
        "id": "draft-tofa",
        "status": "draft",
        "intent": "order",
        "medicationCodeableConcept": {"text": "tofacitinib"},
        "subject": {"reference": "Patient/p1"},
        "dosageInstruction": [{"text": f"{dose_mg} mg once daily"}],
    }


def dose_finding(**kw) -> Finding:
    facts = {"drug": "tofacitinib", "dose": "5 mg daily", "note": "Checked."}
    facts.update(kw.pop("facts", {}))
    return Finding(topic="test-dose", facts=facts, **kw)


def test_card_has_every_required_field_and_no_empty_ones():
    card = cards.render_card(dose_finding())
    assert card["summary"] == "Reduce tofacitinib to 5 mg daily"
    assert card["indicator"] == "warning"
    assert card["source"] == {
        "label": "Prescribing information",
        "url": "https://example.org/uspi",
        "topic": {"system": "urn:tofacitinib-cds:rule", "code": "test-dose", "display": "Test dose card"},
    }
    assert card["detail"] == "Ordered: tofacitinib. Checked."
    assert [link["url"] for link in card["links"]] == ["https://example.org/uspi", "https://example.org/paper"]
    assert card["overrideReasons"] == [
        {
            "system": "urn:tofacitinib-cds:override-reason",
            "code": "specialist-decision",
            "display": "Specialist decision documented",
        }
    ]
    assert "suggestions" not in card and "selectionBehavior" not in card
    assert check_card(card, "card") == []


def test_the_same_finding_for_the_same_patient_is_the_same_card():
    assert cards.render_card(dose_finding(), "p1")["uuid"] == cards.render_card(dose_finding(), "p1")["uuid"]
    assert cards.render_card(dose_finding(), "p1")["uuid"] != cards.render_card(dose_finding(), "p2")["uuid"]


def test_empty_detail_is_left_out():
    card = cards.render_card(Finding(topic="test-plain"))
    assert "detail" not in card and "links" not in card and "overrideReasons" not in card
    assert check_card(card, "card") == []


def test_html_from_input_data_is_escaped():
    card = cards.render_card(dose_finding(facts={"drug": "<script>x</script>", "note": "[click](http://evil)"}))
    assert "<script" not in card["detail"] and "&lt;script>" in card["detail"]
    assert "[click]" not in card["detail"] and "\\[click\\]" in card["detail"]
    assert "<" not in card["summary"] and ">" not in card["summary"]


def test_lab_values_keep_their_less_than_sign():
    """A below-limit result reads "<35 IU/mL", not "&lt;35", in clients that show detail as text."""
    card = cards.render_card(dose_finding(facts={"drug": "CMV DNA <35 IU/mL & < 5", "note": "x"}))
    assert "CMV DNA <35 IU/mL & < 5" in card["detail"]
    assert "&lt;" not in card["detail"] and "&amp;" not in card["detail"]


def test_an_entity_in_input_data_stays_text():
    card = cards.render_card(dose_finding(facts={"drug": "&lt;img src=x&gt;", "note": "x"}))
    assert "\\&lt;img src=x\\&gt;" in card["detail"]


def test_trusted_markdown_is_inserted_as_is():
    card = cards.render_card(dose_finding(facts={"note": cards.Markdown("**bold**")}))
    assert card["detail"].endswith("**bold**")


def test_missing_placeholder_is_a_template_error():
    with pytest.raises(cards.TemplateError, match="dose"):
        cards.render_card(Finding(topic="test-dose", facts={"drug": "x", "note": "y"}))


def test_long_summary_is_cut_below_140_characters():
    card = cards.render_card(dose_finding(facts={"dose": "x" * 300}))
    assert len(card["summary"]) < 140 and card["summary"].endswith("…")


def test_variant_overrides_template_keys():
    card = cards.render_card(dose_finding(variant="severe"))
    assert (card["indicator"], card["summary"]) == ("critical", "Stop tofacitinib")
    assert card["detail"] == "Ordered: tofacitinib. Checked."  # not overridden: from the base


def test_unknown_variant_is_a_template_error():
    with pytest.raises(cards.TemplateError, match="variant"):
        cards.render_card(dose_finding(variant="nope"))


def test_finding_indicator_overrides_the_template():
    assert cards.render_card(dose_finding(indicator="info"))["indicator"] == "info"


def test_invalid_indicator_is_a_template_error():
    with pytest.raises(cards.TemplateError, match="indicator"):
        cards.render_card(dose_finding(indicator="urgent"))


def test_suggestion_with_a_valid_resource():
    action = Action("update", "Change the dose", resource=draft(5))
    s = Suggestion("reduce", (action,), is_recommended=True, facts={"new_dose": "5 mg once daily"})
    card = cards.render_card(dose_finding(suggestions=(s,)))
    (sug,) = card["suggestions"]
    assert sug["label"] == "Change to 5 mg once daily"
    assert sug["isRecommended"] is True and sug["uuid"]
    assert sug["actions"] == [{"type": "update", "description": "Change the dose", "resource": draft(5)}]
    assert card["selectionBehavior"] == "at-most-one"
    assert check_card(card, "card") == []


def test_delete_action_carries_a_resource_id_string():
    action = Action("delete", "Remove the draft", resource_id="MedicationRequest/draft-tofa")
    card = cards.render_card(dose_finding(suggestions=(Suggestion("reduce", (action,), facts={"new_dose": "-"}),)))
    assert card["suggestions"][0]["actions"] == [
        {"type": "delete", "description": "Remove the draft", "resourceId": "MedicationRequest/draft-tofa"}
    ]
    assert "isRecommended" not in card["suggestions"][0]


def test_delete_without_resource_id_is_a_template_error():
    s = Suggestion("reduce", (Action("delete", "Remove"),), facts={"new_dose": "-"})
    with pytest.raises(cards.TemplateError, match="resourceId"):
        cards.render_card(dose_finding(suggestions=(s,)))


def test_invalid_suggestion_resource_is_refused():
    bad = dict(draft(), subject="Patient/p1")  # a string where a Reference belongs
    s = Suggestion("reduce", (Action("update", "Change", resource=bad),), facts={"new_dose": "x"})
    with pytest.raises(InvalidResource):
        cards.render_card(dose_finding(suggestions=(s,)))


def test_suggestion_key_without_label_template_is_a_template_error():
    s = Suggestion("unknown", (Action("update", "Change", resource=draft()),))
    with pytest.raises(cards.TemplateError, match="suggestion"):
        cards.render_card(dose_finding(suggestions=(s,)))


def test_unknown_topic_and_mismatched_topic_are_template_errors():
    with pytest.raises(cards.TemplateError, match="no card template"):
        cards.render_card(Finding(topic="does-not-exist"))
    with pytest.raises(cards.TemplateError, match="declares topic"):
        cards.render_card(Finding(topic="test-liar"))


def test_render_cards_sorts_critical_first_and_merges_exact_duplicates():
    out = cards.render_cards(
        [Finding(topic="test-plain"), dose_finding(), dose_finding(variant="severe"), Finding(topic="test-plain")]
    )
    assert [c["indicator"] for c in out] == ["critical", "warning", "info"]


def test_a_card_that_fails_to_render_is_logged_and_the_others_still_answer(caplog):
    out = cards.render_cards([Finding(topic="does-not-exist"), dose_finding(variant="severe")])
    assert [c["source"]["topic"]["code"] for c in out] == ["test-dose"]
    assert "does-not-exist" in caplog.text and "TemplateError" in caplog.text


def test_topics_lists_templates_but_not_evidence():
    assert cards.topics() == ["test-dose", "test-liar", "test-plain"]

