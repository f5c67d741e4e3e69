"""Finding -> CDS Hooks card, using the templates in `cards/` (shipped as
package data `cdshooks.card_templates`).

A template file `cards/<topic>.toml`:

    topic = "dose-guidance"            # must equal the file name
    title = "Tofacitinib dose guidance" # source.topic.display
    indicator = "info"
    source = "USPI"                    # key in cards/_evidence.toml
    links = ["USPI", "CHEN2019"]       # evidence keys -> absolute links
    summary = "Tofacitinib {regimen}: ..."   # < 140 characters once filled
    detail = '''Markdown with {placeholders}'''
    selection_behavior = "at-most-one" # optional, default at-most-one

    [variants.severe]                  # optional; overrides any key above
    indicator = "critical"
    summary = "..."

    [suggestions.reduce-dose]          # label per Suggestion.key
    label = "Change to {regimen}"

    [[override_reasons]]               # coded, specific to the card
    code = "specialist-decision"
    display = "Specialist decision documented"

    [phrases]                          # sentences a rule picks with Phrase("preliminary")
    preliminary = "The result is preliminary."
    due = "Repeat by {due}."           # placeholders: the Phrase's facts, then the finding's

    [tables]                           # header rows for Table("overdue", rows)
    overdue = ["Test", "Due since", "Basis"]

Placeholders are filled from `Finding.facts` (and a suggestion's facts for its
label and action descriptions). A fact may be a `Phrase`, `Bullets`, `Table` or
`Series` (cdshooks.clinical.findings), rendered here as Markdown in a detail and
as one plain line in a summary; None renders as nothing, so an optional sentence
disappears. Values are escaped so that no HTML from input data reaches a client.
A `Phrase` key with a dot (`dose_notes.stacked`) names wording several cards
share, in cards/_phrases.toml.

Suggestion resources are validated here, the one place that does (FHIR R4,
`cdshooks.fhir_shapes`: a cheap check of the shapes the service builds, the full
`cdshooks.fhir_validation` for anything else): an `Action.fallback` is used when the resource is
not valid, and an `optional` action without a valid resource leaves its
suggestion out (the card still shows); any other invalid resource fails the card.
"""

from __future__ import annotations

import logging
import tomllib
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime
from functools import cache, lru_cache
from importlib import resources
from string import Formatter
from typing import Any

from cdshooks.card_identity import card_uuid, suggestion_uuid
from cdshooks.clinical.engine import failure_site
from cdshooks.clinical.findings import (
    INDICATOR_RANK,
    Bullets,
    Finding,
    Phrase,
    Series,
    Suggestion,
    SummaryOf,
    Table,
)
from cdshooks.fhir_validation import InvalidResource
from cdshooks.markdown import Markdown, escape_markdown

TOPIC_SYSTEM = "urn:tofacitinib-cds:rule"
OVERRIDE_SYSTEM = "urn:tofacitinib-cds:override-reason"
SUMMARY_MAX = 139  # the spec says "< 140 characters"
INDICATORS = frozenset({"info", "warning", "critical"})
SELECTION_BEHAVIORS = frozenset({"at-most-one", "any"})
log = logging.getLogger(__name__)


class TemplateError(ValueError):
    """A card template is malformed or a placeholder has no value."""


@dataclass(frozen=True)
class Evidence:
    key: str
    label: str
    url: str


@dataclass(frozen=True)
class CardTemplate:
    topic: str
    title: str
    data: Mapping[str, Any]

    def part(self, variant: str, key: str, default: Any = None) -> Any:
        """A template key, taken from the variant when it overrides it."""
        if variant != "default":
            variants = self.data.get("variants", {})
            if variant not in variants:
                raise TemplateError(f"{self.topic}: no variant {variant!r}")
            if key in variants[variant]:
                return variants[variant][key]
        return self.data.get(key, default)


def _templates_root():
    return resources.files("cdshooks.card_templates")


@lru_cache(maxsize=1)
def evidence() -> Mapping[str, Evidence]:
    """Citations from cards/_evidence.toml, by key."""
    raw = tomllib.loads(_templates_root().joinpath("_evidence.toml").read_text(encoding="utf-8"))
    return {k: Evidence(k, v["label"], v["url"]) for k, v in raw.items()}


@lru_cache(maxsize=1)
def phrases() -> Mapping[str, Mapping[str, str]]:
    """Wording several cards share, from cards/_phrases.toml, by section."""
    return tomllib.loads(_templates_root().joinpath("_phrases.toml").read_text(encoding="utf-8"))


@cache
def template(topic: str) -> CardTemplate:
    """The card template for a topic (cached; files are package data)."""
    path = _templates_root().joinpath(f"{topic}.toml")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise TemplateError(f"no card template for topic {topic!r}") from exc
    if data.get("topic") != topic:
        raise TemplateError(f"{topic}.toml declares topic {data.get('topic')!r}")
    return CardTemplate(topic=topic, title=data.get("title", topic), data=data)


def topics() -> list[str]:
    """Every topic that has a template."""
    return sorted(
        p.name[:-5]
        for p in _templates_root().iterdir()
        if p.name.endswith(".toml") and not p.name.startswith("_")
    )


def _display(value: Any) -> str:
    if isinstance(value, Markdown):
        return value
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (list, tuple, set, frozenset)):
        return ", ".join(_display(v) for v in value)
    return str(value)


def fill(
    text: str, facts: Mapping[str, Any], *, markdown: bool, where: str, template: CardTemplate | None = None,
    lead: bool | None = None,
) -> str:
    """Fill `{name}` placeholders; a missing fact is a template error, not a blank.

    `lead` (see _Context): None for a card template, where each fact stands alone; for a
    phrase, whether the phrase itself leads, which its first placeholder inherits only
    when nothing comes before it.
    """
    out: list[str] = []
    for literal, field_name, spec, _conversion in Formatter().parse(text):
        out.append(literal)
        if field_name is None:
            continue
        if field_name not in facts:
            raise TemplateError(f"{where}: no value for placeholder {{{field_name}}}")
        leads = True if lead is None else lead and not "".join(out)
        out.append(_render(facts[field_name], spec or "", _Context(facts, markdown, where, template, leads)))
    return "".join(out)


@dataclass(frozen=True)
class _Context:
    facts: Mapping[str, Any]
    markdown: bool
    where: str
    template: CardTemplate | None
    # The value opens its own piece of text (a fact of the template, a bullet, a table cell,
    # the start of a phrase): only there can a leading ">" open a block quote, so only
    # there is it escaped; inside a sentence it is shown as written.
    lead: bool = True


def _render(value: Any, spec: str, ctx: _Context) -> str:
    """One fact as card text: escaped for Markdown in a detail, tag-free in a summary; None is nothing."""
    if value is None:
        return ""
    if isinstance(value, Phrase):
        where = f"{ctx.where}[phrases.{value.key}]"
        return fill(_phrase_text(ctx.template, value.key, where), {**ctx.facts, **value.facts},
                    markdown=ctx.markdown, where=where, template=ctx.template, lead=ctx.lead)
    if isinstance(value, Bullets):
        items = [r for r in (_render(i, "", replace(ctx, lead=True)) for i in value.items) if r]
        return "\n".join(f"- {r}" for r in items) if ctx.markdown else _joined(items, "semicolon")
    if isinstance(value, Series):
        parts: list[str] = []
        for i in value.items:  # only the first value shown can lead
            r = _render(i, "", ctx if not parts else replace(ctx, lead=False))
            if r:
                parts.append(r)
        return _joined(parts, value.join)
    if isinstance(value, Table):
        return _table(value, ctx)
    if isinstance(value, SummaryOf):  # in that finding's own card file, with its own facts
        f, t = value.finding, template(value.finding.topic)
        where = f"cards/{t.topic}.toml[{f.variant}]"
        return fill(t.part(f.variant, "summary"), f.facts, markdown=ctx.markdown, where=where, template=t,
                    lead=ctx.lead)
    if isinstance(value, Markdown):
        return value
    rendered = format(value, spec) if spec and not isinstance(value, str) else _display(value)
    if ctx.markdown:
        # One line: a newline in input data must not open a Markdown block
        # (heading, code block, list) inside the card.
        text = " ".join(rendered.split())
        escaped = escape_markdown(text)
        return escaped[1:] if not ctx.lead and text.startswith(">") else escaped  # mid-sentence: ">" as written
    return " ".join(rendered.replace("<", "‹").replace(">", "›").split())  # noqa: RUF001


def _phrase_text(t: CardTemplate | None, key: str, where: str) -> str:
    """A card's own `[phrases]` entry, or `section.name` in cards/_phrases.toml."""
    if "." in key:
        section, _, name = key.partition(".")
        text = phrases().get(section, {}).get(name)
    else:
        text = t.data.get("phrases", {}).get(key) if t else None
    if not isinstance(text, str):
        raise TemplateError(f"{where}: no such phrase")
    return text


def _joined(items: list[str], join: str) -> str:
    words = phrases()["series"]
    if join == "and" and len(items) > 1:
        return words["separator"].join(items[:-1]) + words["and"] + items[-1]
    return words.get(join, words["separator"]).join(items)


def _table(value: Table, ctx: _Context) -> str:
    rows = [[_render(cell, "", replace(ctx, lead=True)) for cell in row] for row in value.rows]
    if not rows:
        return ""
    if not ctx.markdown:
        return _joined([", ".join(c for c in row if c) for row in rows], "semicolon")
    headers = ctx.template.data.get("tables", {}).get(value.key) if ctx.template else None
    if not isinstance(headers, list) or len(headers) != len(rows[0]):
        raise TemplateError(f"{ctx.where}: no header row tables.{value.key} of {len(rows[0])} columns")
    out = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    out += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(out)


def _identity_ignores(topic: str) -> Collection[str]:
    ignored = template(topic).data.get("identity_ignores", ())
    return ignored if isinstance(ignored, list) else ()


def render_card(finding: Finding, patient_id: str = "") -> dict[str, Any]:
    """One CDS Hooks card (no null or empty fields); its uuid is stable (cdshooks.card_identity)."""
    # deferred: the check loads the models (pydantic import cost) when first used
    from cdshooks.fhir_shapes import validate_emitted

    t = template(finding.topic)
    v = finding.variant
    where = f"cards/{t.topic}.toml[{v}]"
    indicator = finding.indicator or t.part(v, "indicator")
    if indicator not in INDICATORS:
        raise TemplateError(f"{where}: indicator {indicator!r}")
    summary = fill(t.part(v, "summary"), finding.facts, markdown=False, where=where, template=t)
    if len(summary) > SUMMARY_MAX:
        summary = summary[: SUMMARY_MAX - 1].rstrip() + "…"
    ev = evidence()
    source_key = t.part(v, "source")
    if source_key not in ev:
        raise TemplateError(f"{where}: unknown evidence key {source_key!r}")
    source = ev[source_key]
    card_id = card_uuid(patient_id, finding, _identity_ignores(t.topic), _identity_ignores)
    card: dict[str, Any] = {
        "uuid": card_id,
        "summary": summary,
        "indicator": indicator,
        "source": {
            "label": source.label,
            "url": source.url,
            "topic": {"system": TOPIC_SYSTEM, "code": t.topic, "display": t.title},
        },
    }
    detail_t = t.part(v, "detail")
    if detail_t:
        detail = fill(detail_t, finding.facts, markdown=True, where=where, template=t).strip()
        if detail:
            card["detail"] = detail
    suggestions = [
        _render_suggestion(t, v, s, finding.facts, validate_emitted, suggestion_uuid(card_id, s.key, i))
        for i, s in enumerate(finding.suggestions)
    ]
    if any(s is not None for s in suggestions):
        card["suggestions"] = [s for s in suggestions if s is not None]
        behavior = t.part(v, "selection_behavior", "at-most-one")
        if behavior not in SELECTION_BEHAVIORS:
            raise TemplateError(f"{where}: selection_behavior {behavior!r}")
        card["selectionBehavior"] = behavior
    reasons = t.part(v, "override_reasons", [])
    if reasons:
        card["overrideReasons"] = [
            {"system": OVERRIDE_SYSTEM, "code": r["code"], "display": r["display"]} for r in reasons
        ]
    links = []
    for key in t.part(v, "links", []):
        if key not in ev:
            raise TemplateError(f"{where}: unknown evidence key {key!r} in links")
        links.append({"label": ev[key].label, "url": ev[key].url, "type": "absolute"})
    if links:
        card["links"] = links
    return card


def _render_suggestion(
    t: CardTemplate, variant: str, s: Suggestion, facts, validate, suggestion_id: str
) -> dict[str, Any] | None:
    """The suggestion as CDS Hooks JSON; None when an optional action has no valid resource."""
    where = f"cards/{t.topic}.toml[suggestions.{s.key}]"
    spec = t.data.get("suggestions", {}).get(s.key)
    if spec is None:
        raise TemplateError(f"{where}: no such suggestion template")
    facts = {**facts, **s.facts}
    label = fill(spec["label"], facts, markdown=False, where=where, template=t)
    actions = []
    for a in s.actions:
        description = _render(a.description, "", _Context(facts, False, where, t))
        action: dict[str, Any] = {"type": a.type, "description": description}
        if a.type == "delete":
            if not a.resource_id:
                raise TemplateError(f"{where}: delete action without resourceId")
            action["resourceId"] = a.resource_id  # a string in 2.0.1
        else:
            if a.resource is None:
                raise TemplateError(f"{where}: {a.type} action without resource")
            try:
                action["resource"] = _valid_resource(a.resource, a.fallback, validate)
            except InvalidResource:
                if a.optional:
                    return None  # the card's text carries the advice
                raise
        actions.append(action)
    out: dict[str, Any] = {"label": label, "uuid": suggestion_id, "actions": actions}
    if s.is_recommended:
        out["isRecommended"] = True
    return out


def _valid_resource(resource: Mapping[str, Any], fallback: Mapping[str, Any] | None, validate) -> dict[str, Any]:
    """The resource, else the fallback, validated; InvalidResource when neither is valid R4."""
    try:
        return validate(resource)
    except InvalidResource:
        if fallback is None:
            raise
        return validate(fallback)


def card_topic(card: Mapping[str, Any]) -> str:
    """The topic code of a rendered card (`source.topic.code`)."""
    return str(card["source"]["topic"]["code"])


def render_cards(findings: Iterable[Finding], patient_id: str = "") -> list[dict[str, Any]]:
    """Cards for all findings, critical first, exact duplicates merged."""
    cards = []
    seen: set[tuple[Any, ...]] = set()
    for f in findings:
        try:
            card = render_card(f, patient_id)
        except Exception as exc:  # noqa: BLE001 - like a failing rule: one card must not take the others down
            _log_render_failure(f, exc)
            continue
        key = (card_topic(card), card["summary"], card.get("detail"))
        if key in seen:
            continue
        seen.add(key)
        cards.append(card)
    cards.sort(key=lambda c: INDICATOR_RANK[c["indicator"]])
    return cards


def _log_render_failure(f: Finding, exc: Exception) -> None:
    log.error("card %s[%s] failed to render (%s); it is missing from this response",
              f.topic, f.variant, failure_site(exc))
