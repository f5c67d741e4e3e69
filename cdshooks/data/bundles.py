"""Reading the shape of prefetch values and FHIR responses: Bundles, single resources, outcomes."""

from __future__ import annotations

from typing import Any


def entry_resources(bundle: dict) -> list[dict]:
    """The resources of a Bundle's entries, minus search outcomes (OperationOutcome warnings)."""
    entries = bundle.get("entry")
    if isinstance(entries, dict):
        entries = [entries]
    if not isinstance(entries, list):
        return []
    out: list[dict] = []
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        resource = entry.get("resource")
        if not isinstance(resource, dict) or is_outcome(resource):
            continue
        out.append(resource)
    return out


def is_outcome(value: Any) -> bool:
    return isinstance(value, dict) and value.get("resourceType") == "OperationOutcome"


def is_bundle(value: Any) -> bool:
    return isinstance(value, dict) and value.get("resourceType") == "Bundle"


def only_outcomes(value: Any) -> bool:
    """An OperationOutcome, or a Bundle whose entries are all OperationOutcomes (a failed query)."""
    if is_outcome(value):
        return True
    if not is_bundle(value):
        return False
    entries = value.get("entry")
    if isinstance(entries, dict):
        entries = [entries]
    if not isinstance(entries, list) or not entries:
        return False
    resources = [e.get("resource") for e in entries if isinstance(e, dict)]
    return bool(resources) and all(is_outcome(r) for r in resources)


def next_link(bundle: dict) -> str | None:
    """The Bundle's `next` paging link, if any."""
    links = bundle.get("link")
    if isinstance(links, dict):
        links = [links]
    if not isinstance(links, list):
        return None
    for link in links:
        if isinstance(link, dict) and link.get("relation") == "next":
            url = link.get("url")
            if isinstance(url, str) and url.strip():
                return url.strip()
    return None


def resources_of(value: dict) -> list[dict]:
    """A Bundle's entry resources, or a single resource as a one-element list."""
    if is_bundle(value):
        return entry_resources(value)
    return [value]
