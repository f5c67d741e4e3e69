"""Card `detail` Markdown carries no raw HTML or live links from input data.

The rendered Markdown is turned into HTML the way a permissive client would:
CommonMark with raw HTML allowed and no URL sanitizing. Whatever a drug name
contains, the HTML must hold no element but the template's own paragraph.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from cdshooks import cards
from cdshooks.clinical.findings import Finding

TEMPLATE = """
topic = "test-echo"
title = "Echo"
indicator = "info"
source = "SRC"
summary = "Ordered {drug}"
detail = '''Ordered: {drug}. Checked on {when}.'''
"""
EVIDENCE = '[SRC]\nlabel = "Source"\nurl = "https://example.org/src"\n'

ATTACKS = [
    "<img src=x onerror=alert(1)>",
    "[x](javascript:alert(1))",
    "![x](javascript:alert(1))",
    "\\[x\\](javascript:alert(1))",  # the value escapes our escapes
    "\\<img src=x onerror=alert(1)>",
    "<javascript:alert(1)>",
    "<script>alert(1)</script>",
    "[x]: javascript:alert(1)\n\n[x]",
    "`<b>`",
    "&lt;img src=x onerror=alert(1)&gt;",
    "<a href='javascript:alert(1)'>tofacitinib</a>",
]


def permissive_html(markdown: str) -> str:
    md = MarkdownIt("commonmark", {"html": True})
    md.validateLink = lambda url: True  # a client that does not sanitize URLs
    return md.render(markdown)


def tags(html: str) -> set[str]:
    return {m.lower() for m in re.findall(r"<\s*/?\s*([a-zA-Z][a-zA-Z0-9]*)", html)}


@pytest.fixture
def echo_template(tmp_path: Path, monkeypatch):
    """A test-only card template echoing {drug} in summary and detail."""
    (tmp_path / "_evidence.toml").write_text(EVIDENCE, encoding="utf-8")
    (tmp_path / "test-echo.toml").write_text(TEMPLATE, encoding="utf-8")
    monkeypatch.setattr(cards, "_templates_root", lambda: tmp_path)
    cards.template.cache_clear()
    cards.evidence.cache_clear()
    yield
    cards.template.cache_clear()
    cards.evidence.cache_clear()


def card_for(drug: str) -> dict:
    return cards.render_card(Finding(topic="test-echo", facts={"drug": drug, "when": "2026-01-15"}))


@pytest.mark.usefixtures("echo_template")
@pytest.mark.parametrize("drug", ATTACKS)
def test_attack_strings_do_not_reach_card_text_unescaped(drug):
    card = card_for(drug)
    html = permissive_html(card["detail"])
    assert tags(html) <= {"p"}, html
    assert "<" not in card["summary"] and ">" not in card["summary"]


@pytest.mark.usefixtures("echo_template")
@hsettings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(drug=st.text(alphabet=st.sampled_from(list("<>[]()!\\`*_|&#;:/=\"' abcjsx\n")), max_size=40))
def test_no_input_text_creates_html_elements(drug):
    html = permissive_html(card_for(drug)["detail"])
    # Block constructs from newlines (paragraphs, code) are harmless; elements that run or link are not.
    assert not tags(html) & {"a", "img", "script", "iframe", "object", "svg", "style", "input", "form"}, html


def test_medication_name_from_a_draft_order_is_escaped_end_to_end(client):
    """A draft order whose medication text is an attack: no card text carries it raw."""
    from tests import fixturekit as k

    draft = k.tofacitinib_draft()
    draft["medicationCodeableConcept"]["text"] = "tofacitinib <img src=x onerror=alert(1)> [x](javascript:alert(1))"
    resp = client.post("/cds-services/tofacitinib-order-select", json=k.order_select(drafts=[draft]))
    assert resp.status_code == 200
    for card in resp.get_json()["cards"]:
        assert "<img" not in card["summary"] + card.get("detail", "")
        assert not re.search(r"(?<!\\)\]\(javascript:", card.get("detail", ""))  # only as escaped text
        assert not tags(permissive_html(card.get("detail", ""))) & {"a", "img", "script"}


def test_newlines_in_input_values_cannot_open_markdown_blocks():
    from cdshooks.cards import fill

    out = fill("Drug: {name}.", {"name": "x\n\n# Heading\n    code block"}, markdown=True, where="t")
    assert out == "Drug: x # Heading code block."  # one line: no heading, no code block
