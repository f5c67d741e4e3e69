"""Conformance check for a CDS Hooks 2.0 service response (cards).

`check_response(body)` returns a list of problems (empty when conformant), so a
test can show every defect of a response at once.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

TOPIC_SYSTEM = "urn:tofacitinib-cds:rule"
INDICATORS = {"info", "warning", "critical"}
SELECTION_BEHAVIORS = {"at-most-one", "any"}
ACTION_TYPES = {"create", "update", "delete"}
LINK_TYPES = {"absolute", "smart"}


def _absolute(url: Any) -> bool:
    if not isinstance(url, str):
        return False
    parts = urlparse(url)
    return parts.scheme in {"http", "https"} and bool(parts.netloc)


def empty_values(value: Any, path: str) -> list[str]:
    """Paths of null / empty strings, arrays or objects anywhere below `value`."""
    problems = []
    if value is None or value == "" or value == [] or value == {}:
        return [f"{path} is null or empty"]
    if isinstance(value, dict):
        for k, v in value.items():
            problems += empty_values(v, f"{path}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            problems += empty_values(v, f"{path}[{i}]")
    return problems


def _check_coding(coding: Any, where: str, *, display: bool) -> list[str]:
    if not isinstance(coding, dict):
        return [f"{where} is not a Coding"]
    required = ("system", "code", "display") if display else ("system", "code")
    return [f"{where}.{k} missing" for k in required if not isinstance(coding.get(k), str)]


def _check_suggestion(s: Any, where: str) -> list[str]:
    from cdshooks.fhir_validation import InvalidResource, validate_resource

    problems = []
    if not isinstance(s, dict) or not isinstance(s.get("label"), str):
        return [f"{where}.label missing"]
    if "isRecommended" in s and not isinstance(s["isRecommended"], bool):
        problems.append(f"{where}.isRecommended is not a boolean")
    for j, a in enumerate(s.get("actions", [])):
        aw = f"{where}.actions[{j}]"
        if a.get("type") not in ACTION_TYPES:
            problems.append(f"{aw}.type {a.get('type')!r}")
        if not isinstance(a.get("description"), str):
            problems.append(f"{aw}.description missing")
        if a.get("type") == "delete":
            if "resource" in a or not isinstance(a.get("resourceId"), str):
                problems.append(f"{aw}: delete needs resourceId (a string) and no resource")
        else:
            try:
                validate_resource(a.get("resource") or {})
            except InvalidResource as exc:
                problems.append(f"{aw}.resource: {exc}")
    return problems


def check_card(card: Any, where: str) -> list[str]:
    """Problems with one card."""
    if not isinstance(card, dict):
        return [f"{where} is not an object"]
    problems = []
    for key in ("uuid", "summary", "indicator"):
        if not isinstance(card.get(key), str):
            problems.append(f"{where}.{key} missing")
    if len(card.get("summary") or "") >= 140:
        problems.append(f"{where}.summary has {len(card['summary'])} characters (must be < 140)")
    if card.get("indicator") not in INDICATORS:
        problems.append(f"{where}.indicator {card.get('indicator')!r}")
    source = card.get("source")
    if not isinstance(source, dict) or not isinstance(source.get("label"), str):
        problems.append(f"{where}.source.label missing")
    else:
        if "url" in source and not _absolute(source["url"]):
            problems.append(f"{where}.source.url is not absolute")
        topic = source.get("topic")
        problems += _check_coding(topic, f"{where}.source.topic", display=False)
        if isinstance(topic, dict) and topic.get("system") != TOPIC_SYSTEM:
            problems.append(f"{where}.source.topic.system {topic.get('system')!r}")
    suggestions = card.get("suggestions")
    if bool(suggestions) != ("selectionBehavior" in card):
        problems.append(f"{where}: selectionBehavior must be present exactly when there are suggestions")
    if "selectionBehavior" in card and card["selectionBehavior"] not in SELECTION_BEHAVIORS:
        problems.append(f"{where}.selectionBehavior {card['selectionBehavior']!r}")
    for i, s in enumerate(suggestions or []):
        problems += _check_suggestion(s, f"{where}.suggestions[{i}]")
    for i, r in enumerate(card.get("overrideReasons") or []):
        problems += _check_coding(r, f"{where}.overrideReasons[{i}]", display=True)
    for i, link in enumerate(card.get("links") or []):
        lw = f"{where}.links[{i}]"
        if not isinstance(link, dict) or not isinstance(link.get("label"), str):
            problems.append(f"{lw}.label missing")
            continue
        if not _absolute(link.get("url")):
            problems.append(f"{lw}.url is not absolute")
        if link.get("type") not in LINK_TYPES:
            problems.append(f"{lw}.type {link.get('type')!r}")
        if link.get("type") == "absolute" and "appContext" in link:
            problems.append(f"{lw}.appContext on an absolute link")
    return problems + empty_values(card, where)


def check_response(body: Any) -> list[str]:
    """Problems with a whole service response; `cards` itself may be empty."""
    if not isinstance(body, dict) or not isinstance(body.get("cards"), list):
        return ["response has no 'cards' array"]
    problems = []
    uuids = [c.get("uuid") for c in body["cards"] if isinstance(c, dict)]
    if len(uuids) != len(set(uuids)):
        problems.append("card uuids are not unique")
    for i, card in enumerate(body["cards"]):
        problems += check_card(card, f"cards[{i}]")
    for key, value in body.items():
        if key != "cards":
            problems += empty_values(value, key)
    return problems
