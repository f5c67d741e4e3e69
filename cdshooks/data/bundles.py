"""Reading the shape of prefetch values and FHIR responses: Bundles, single resources, outcomes."""

from __future__ import annotations

from typing import Any

from cdshooks.data.elements import as_list, dicts


def entry_resources(bundle: dict) -> list[dict]:
    """The resources of a Bundle's entries, minus search outcomes (OperationOutcome warnings)."""
    # One pass, no helper calls per entry: a prefetch Bundle may hold thousands.
    out: list[dict] = []
    for entry in as_list(bundle.get("entry")):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if isinstance(resource, dict) and resource.get("resourceType") != "OperationOutcome":
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
    # Stops at the first clinical resource: in a working Bundle that is the
    # first entry, and the thousands after it are never looked at.
    any_outcome = False
    for entry in as_list(value.get("entry")):
        if isinstance(entry, dict):
            if not is_outcome(entry.get("resource")):
                return False
            any_outcome = True
    return any_outcome


def next_link(bundle: dict) -> str | None:
    """The Bundle's `next` paging link, if any."""
    for link in dicts(bundle.get("link")):
        if link.get("relation") == "next":
            url = link.get("url")
            if isinstance(url, str) and url.strip():
                return url.strip()
    return None


def resources_of(value: dict) -> list[dict]:
    """A Bundle's entry resources, or a single resource as a one-element list."""
    if is_bundle(value):
        return entry_resources(value)
    return [value]
