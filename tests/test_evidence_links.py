"""Evidence links (clinical-rules.md, "Evidence to cite"): citations, never search URLs or internal keys."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from cdshooks import cards

CARDS = Path(__file__).resolve().parents[1] / "cards"
RAW = tomllib.loads((CARDS / "_evidence.toml").read_text(encoding="utf-8"))
LABEL_URL = RAW["USPI"]["url"]
DOI = re.compile(r"^https://doi\.org/10\.\d{4,9}/\S+$")
PUBMED = re.compile(r"^https://pubmed\.ncbi\.nlm\.nih\.gov/\d+/$")
SEARCHY = re.compile(r"[?&](term|q|query|search)=|/search\b", re.IGNORECASE)


@pytest.mark.parametrize("key", sorted(RAW))
def test_every_url_is_a_doi_a_pubmed_record_or_the_label(key):
    entry = RAW[key]
    url = entry["url"]
    assert not SEARCHY.search(url), f"{key}: a search URL"
    if DOI.match(url) or PUBMED.match(url) or url == LABEL_URL:
        return
    # A journal's own record is allowed only where no DOI/PMID was confirmed, and says so.
    assert url.startswith("https://") and "?" not in url, url
    assert "not confirmed" in entry.get("link_note", ""), f"{key}: {url} is neither a DOI nor a PubMed record"


@pytest.mark.parametrize("key", sorted(RAW))
def test_labels_are_citations_not_internal_keys(key):
    label = RAW[key]["label"]
    assert key not in label
    assert re.search(r"(19|20)\d\d", label) or key == "USPI", f"{key}: no year in {label!r}"


def test_sekiguchi_is_an_evidence_key():
    assert "SEKIGUCHI2020" in cards.evidence()


KEYS = sorted(RAW)
# "USPI" is also the usual abbreviation for the US prescribing information, which cards cite by that name.
SHOWN_KEYS = [key for key in KEYS if key != "USPI"]
CARD_FILES = sorted(p for p in CARDS.glob("*.toml") if not p.name.startswith("_"))


def card_texts(d):
    """Every user-visible string of a card template (not its source/links keys or codes)."""
    for k, v in d.items():
        if k in ("source", "links", "topic", "code"):
            continue
        if isinstance(v, str):
            yield v
        elif isinstance(v, dict):
            yield from card_texts(v)
        elif isinstance(v, list):
            for x in v:
                if isinstance(x, str):
                    yield x
                elif isinstance(x, dict):
                    yield from card_texts(x)


def internal_keys_in(data):
    return [(key, t[:60]) for t in card_texts(data) for key in SHOWN_KEYS if key in t]


@pytest.mark.parametrize("path", CARD_FILES, ids=lambda p: p.name)
def test_card_text_names_no_internal_key(path):
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    assert internal_keys_in(data) == []


@pytest.mark.parametrize("key", SHOWN_KEYS)
def test_an_internal_key_in_card_text_is_detected(key):
    # The check above must be able to fail: a key in any text field of a card template is found.
    data = tomllib.loads(f"""
topic = "t"
source = "{key}"
links = ["{key}"]
summary = "s"
detail = "figures from {key}."
[variants.x]
summary = "as in {key}"
[suggestions.y]
label = "per {key}"
[[override_reasons]]
code = "{key}"
display = "see {key}"
""")
    assert [k for k, _ in internal_keys_in(data)] == [key] * 4
    # Where the key belongs (source, links, codes) is not card text.
    assert internal_keys_in({"source": key, "links": [key], "code": key}) == []


def test_every_card_template_is_checked():
    assert len(CARD_FILES) >= 30
    assert {"cmv-viremia.toml", "dose-above-max.toml", "dose-escalation.toml", "dose-guidance.toml"} <= {
        p.name for p in CARD_FILES}


def test_attribution_lymphopenia_and_cmv_timing():
    lymph = tomllib.loads((CARDS / "lab-lymphopenia.toml").read_text(encoding="utf-8"))
    assert "SEKIGUCHI2020" in lymph["links"] and "Sekiguchi" in lymph["variants"]["moderate"]["detail"]
    pcr = tomllib.loads((CARDS / "cmv-pcr-due.toml").read_text(encoding="utf-8"))
    assert {"FAN2022", "SEKIGUCHI2020"} <= set(pcr["links"])
    assert "Fan et al." in pcr["detail"] and "Sekiguchi et al." in pcr["detail"]
    age = tomllib.loads((CARDS / "age-infection-risk.toml").read_text(encoding="utf-8"))
    assert "EMA" in age["detail"] and "no suitable alternative" not in age["summary"]
