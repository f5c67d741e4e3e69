"""Wording a rule picks by name (Phrase) and values it hands over as lists or tables, rendered by cards."""

from __future__ import annotations

from pathlib import Path

import pytest

from cdshooks import cards
from cdshooks.clinical.findings import Action, Bullets, Finding, Phrase, Series, Suggestion, Table
from cdshooks.fhir_validation import InvalidResource

EVIDENCE = """
[USPI]
label = "Prescribing information"
url = "https://example.org/uspi"
"""

SHARED = """
[notes]
shared = "Said by several cards about {drug}."

[series]
separator = ", "
and = " and "
or = " or "
semicolon = "; "
space = " "
comma = ", "
"""

CARD = """
topic = "test-words"
title = "Wording"
indicator = "info"
source = "USPI"
summary = "{drug}: {why}"
detail = '''{note}

{items}

{rows}'''

[phrases]
preliminary = "The result of {date} is preliminary."
bold = "**Stop {drug}**"
plain = "on {drug}"
stop = "Discontinue {drug}"

[tables]
results = ["Test", "Result"]

[suggestions.stop]
label = "Stop it"
"""


@pytest.fixture(autouse=True)
def templates(tmp_path: Path, monkeypatch):
    (tmp_path / "_evidence.toml").write_text(EVIDENCE, encoding="utf-8")
    (tmp_path / "_phrases.toml").write_text(SHARED, encoding="utf-8")
    (tmp_path / "test-words.toml").write_text(CARD, encoding="utf-8")
    monkeypatch.setattr(cards, "_templates_root", lambda: tmp_path)
    for cached in (cards.template, cards.evidence, cards.phrases):
        cached.cache_clear()
    yield
    for cached in (cards.template, cards.evidence, cards.phrases):
        cached.cache_clear()


def card(**facts) -> dict:
    base = {"drug": "tofacitinib", "why": "why", "note": None, "items": None, "rows": None}
    return cards.render_card(Finding("test-words", {**base, **facts}))


def test_a_phrase_is_the_cards_own_sentence_filled_with_its_facts():
    assert card(note=Phrase("preliminary", {"date": "2026-01-02"}))["detail"] == (
        "The result of 2026-01-02 is preliminary."
    )


def test_a_phrase_falls_back_to_the_finding_facts_and_keeps_its_markdown():
    assert card(note=Phrase("bold"))["detail"] == "**Stop tofacitinib**"


def test_a_dotted_phrase_key_is_shared_wording():
    assert card(note=Phrase("notes.shared"))["detail"] == "Said by several cards about tofacitinib."


def test_none_renders_as_nothing_so_an_optional_sentence_disappears():
    assert "detail" not in card()


def test_an_unknown_phrase_is_a_template_error_and_the_card_is_not_rendered():
    with pytest.raises(cards.TemplateError, match=r"phrases\.nope"):
        card(note=Phrase("nope"))


def test_bullets_escape_each_value_from_input_data_and_skip_empty_ones():
    detail = card(items=Bullets(("Cellulitis <script>", "", None, Phrase("stop"))))["detail"]
    assert detail == "- Cellulitis &lt;script>\n- Discontinue tofacitinib"


def test_a_value_with_a_newline_stays_one_bullet():
    assert card(items=Bullets(("a\n# heading",)))["detail"] == "- a # heading"


def test_a_table_takes_its_header_row_from_the_card_file_and_escapes_cells():
    detail = card(rows=Table("results", (("ALC", "400 | cells"), ("ANC", None))))["detail"]
    assert detail == "| Test | Result |\n|---|---|\n| ALC | 400 \\| cells |\n| ANC |  |"


def test_an_empty_table_renders_as_nothing():
    assert "detail" not in card(rows=Table("results", ()))


def test_a_table_without_its_header_row_is_a_template_error():
    with pytest.raises(cards.TemplateError, match=r"tables\.missing"):
        card(rows=Table("missing", (("a", "b"),)))


@pytest.mark.parametrize(
    ("items", "join", "expected"),
    [
        (("a",), "and", "a"),
        (("a", "b"), "and", "a and b"),
        (("a", "b", "c"), "and", "a, b and c"),
        (("a", "b"), "or", "a or b"),
        (("a", "b"), "semicolon", "a; b"),
        (("a", "b", "c"), "comma", "a, b, c"),
    ],
)
def test_a_series_runs_values_into_one_line(items, join, expected):
    assert card(why=Series(items, join))["summary"] == f"tofacitinib: {expected}"


def test_in_a_summary_the_values_inside_a_phrase_lose_their_tags():
    assert card(why=Phrase("plain", {"drug": "<b>x</b>"}))["summary"] == "tofacitinib: on ‹b›x‹/b›"  # noqa: RUF001


def test_in_a_summary_bullets_are_one_line():
    assert card(why=Bullets(("x <y", "z")))["summary"] == "tofacitinib: x ‹y; z"  # noqa: RUF001


def test_an_action_description_is_a_phrase_of_the_card():
    finding = Finding(
        "test-words",
        {"drug": "tofacitinib", "why": "w", "note": None, "items": None, "rows": None},
        suggestions=(Suggestion("stop", (Action("delete", Phrase("stop"), resource_id="MedicationRequest/1"),)),),
    )
    action = cards.render_card(finding)["suggestions"][0]["actions"][0]
    assert action["description"] == "Discontinue tofacitinib"


def _suggested(action: Action) -> Finding:
    return Finding(
        "test-words",
        {"drug": "tofacitinib", "why": "w", "note": None, "items": None, "rows": None},
        suggestions=(Suggestion("stop", (action,)),),
    )


VALID = {"resourceType": "MedicationRequest", "status": "draft", "intent": "order",
         "subject": {"reference": "Patient/p1"}, "medicationCodeableConcept": {"text": "tofacitinib"}}
INVALID = {**VALID, "priority": "not-a-priority"}


def test_a_valid_resource_is_emitted_as_it_is():
    action = cards.render_card(_suggested(Action("update", "x", resource=VALID, fallback={"x": 1})))
    assert action["suggestions"][0]["actions"][0]["resource"] == VALID


def test_the_fallback_is_emitted_when_the_resource_is_not_valid_r4():
    small = {**VALID, "medicationCodeableConcept": {"text": "tofacitinib 5 mg tablet"}}
    card_json = cards.render_card(_suggested(Action("update", "x", resource=INVALID, fallback=small)))
    assert card_json["suggestions"][0]["actions"][0]["resource"] == small


def test_an_optional_action_without_a_valid_resource_leaves_only_its_suggestion_out():
    card_json = cards.render_card(_suggested(Action("update", "x", resource=INVALID, fallback=INVALID, optional=True)))
    assert card_json["summary"] == "tofacitinib: w"
    assert "suggestions" not in card_json and "selectionBehavior" not in card_json


def test_an_invalid_resource_of_a_required_action_fails_the_card():
    with pytest.raises(InvalidResource):
        cards.render_card(_suggested(Action("update", "x", resource=INVALID, fallback=INVALID)))


def test_a_leading_gt_is_escaped_where_a_value_opens_the_text_and_shown_as_written_inside_a_sentence():
    # ">" opens a block quote only at the start of a line: a fact of the template, a bullet, a
    # table cell and the start of a phrase escape it; a value inside a sentence shows it as written.
    assert card(note=">5")["detail"] == "\\>5"
    assert card(note=Phrase("preliminary", {"date": ">5"}))["detail"] == "The result of >5 is preliminary."
    assert card(note=Phrase("plain", {"drug": Phrase("bold", {"drug": ">5"})}))["detail"] == "on **Stop >5**"
    assert card(items=Bullets((">5", Phrase("stop", {"drug": ">5"}))))["detail"] == "- \\>5\n- Discontinue >5"
    assert card(rows=Table("results", ((">5", ">6"),)))["detail"].endswith("| \\>5 | \\>6 |")


def test_in_a_series_only_the_first_value_shown_can_open_the_text():
    assert card(note=Series((None, ">5", ">6"), "semicolon"))["detail"] == "\\>5; >6"
    assert card(note=Phrase("preliminary", {"date": Series((">5", ">6"))}))["detail"] == (
        "The result of >5 and >6 is preliminary."
    )
