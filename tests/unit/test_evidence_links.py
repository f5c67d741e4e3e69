"""Evidence links (clinical-rules.md, "Evidence to cite"): citations, never search URLs or internal keys."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from cdshooks import cards

CARDS = Path(__file__).resolve().parents[2] / "cards"
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
# Card bodies still being rewritten elsewhere (issue 12): their internal keys are reported, not fixed here.
PENDING = {"cmv-viremia.toml", "dose-above-max.toml", "dose-escalation.toml", "dose-guidance.toml"}


@pytest.mark.parametrize("path", sorted(p for p in CARDS.glob("*.toml") if not p.name.startswith("_")),
                         ids=lambda p: p.name)
def test_card_text_names_no_internal_key(path):
    if path.name in PENDING:
        pytest.skip("body rewritten in another change")
    data = tomllib.loads(path.read_text(encoding="utf-8"))

    def texts(d):
        for k, v in d.items():
            if k in ("source", "links", "topic", "code"):
                continue
            if isinstance(v, str):
                yield v
            elif isinstance(v, dict):
                yield from texts(v)
            elif isinstance(v, list):
                for x in v:
                    if isinstance(x, dict):
                        yield from texts(x)

    found = [(key, t[:60]) for t in texts(data) for key in KEYS if key != "USPI" and key in t]
    assert found == []


def test_attribution_lymphopenia_and_cmv_timing():
    lymph = tomllib.loads((CARDS / "lab-lymphopenia.toml").read_text(encoding="utf-8"))
    assert "SEKIGUCHI2020" in lymph["links"] and "Sekiguchi" in lymph["variants"]["moderate"]["detail"]
    pcr = tomllib.loads((CARDS / "cmv-pcr-due.toml").read_text(encoding="utf-8"))
    assert {"FAN2022", "SEKIGUCHI2020"} <= set(pcr["links"])
    assert "Fan et al." in pcr["detail"] and "Sekiguchi et al." in pcr["detail"]
    age = tomllib.loads((CARDS / "age-infection-risk.toml").read_text(encoding="utf-8"))
    assert "EMA" in age["detail"] and "no suitable alternative" not in age["summary"]
