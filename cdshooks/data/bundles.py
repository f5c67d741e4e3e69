"""Reading the shape of prefetch values and FHIR responses: Bundles, single resources, outcomes."""

from __future__ import annotations

from typing import Any, TypeGuard

from cdshooks.data.elements import as_list, dicts


def entry_resources(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    """The resources of a Bundle's entries, minus search outcomes (OperationOutcome warnings)."""
    # One pass, no helper calls per entry: a prefetch Bundle may hold thousands.
    out: list[dict[str, Any]] = []
    for entry in as_list(bundle.get("entry")):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if isinstance(resource, dict) and resource.get("resourceType") != "OperationOutcome":
            out.append(resource)
    return out


def is_outcome(value: Any) -> TypeGuard[dict[str, Any]]:
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


# Issue severities that do not make an answer a failure: Epic answers an empty search
# with a searchset whose only entry is an OperationOutcome of severity "information"
# ("No results found"). Only "error" or "fatal" make the data unavailable.
BENIGN_SEVERITIES = frozenset({"information", "warning"})


def benign_outcome(value: Any) -> bool:
    """An OperationOutcome whose issues are all information or warning (at least one issue)."""
    if not is_outcome(value):
        return False
    issues = as_list(value.get("issue"))
    if not issues:
        return False  # no issue to read: cannot tell, so not benign
    for issue in issues:
        severity = issue.get("severity") if isinstance(issue, dict) else None
        if not isinstance(severity, str) or severity.strip().lower() not in BENIGN_SEVERITIES:
            return False
    return True


def failed_answer(value: Any, *, search: bool = True) -> bool:
    """A prefetch value or FHIR response that means the data could not be had.

    clinical-rules.md, "Prefetch Bundles that carry an OperationOutcome": only
    `error` or `fatal` issues make the key unavailable; an outcome whose issues
    are all information/warning means the search simply had no (more) results.
    So a Bundle fails when any OperationOutcome entry carries an error or fatal
    issue, even beside results (a partial answer is not the patient's record), and
    a Bundle of only outcomes also fails when one of them has no issue to read. A
    bare OperationOutcome is read the same way for a search (its results are then
    empty); for a read (`search=False`, e.g. Patient/123) it is always a failure:
    a read either returns the resource or did not work.
    """
    if is_outcome(value):
        return not (search and benign_outcome(value))
    if not is_bundle(value):
        return False
    return usable_resources(value, search=search) is None  # one reading of a Bundle's entries, there


def usable_resources(value: Any, *, search: bool = True) -> list[dict[str, Any]] | None:
    """The resources of a prefetch value or FHIR response, or None when it is a failed answer.

    The same as `None if failed_answer(value) else resources_of(value)`, in one
    pass over a Bundle's entries instead of two (a prefetch Bundle may hold
    thousands of them).
    """
    if not is_bundle(value):
        if failed_answer(value, search=search):
            return None
        return [] if is_outcome(value) else [value]
    resources: list[dict[str, Any]] = []
    outcomes: list[dict[str, Any]] = []
    others = False
    for entry in as_list(value.get("entry")):
        if isinstance(entry, dict):
            resource = entry.get("resource")
            if isinstance(resource, dict):
                if resource.get("resourceType") == "OperationOutcome":
                    outcomes.append(resource)
                    continue
                resources.append(resource)
            others = True
    if outcomes and (
        any(_has_error(o) for o in outcomes) if others else not all(benign_outcome(o) for o in outcomes)
    ):
        return None
    return resources


def _has_error(outcome: dict[str, Any]) -> bool:
    """An issue of severity error or fatal (or one that names no severity we know)."""
    for issue in as_list(outcome.get("issue")):
        severity = issue.get("severity") if isinstance(issue, dict) else None
        if not isinstance(severity, str) or severity.strip().lower() not in BENIGN_SEVERITIES:
            return True
    return False


def next_link(bundle: dict[str, Any]) -> str | None:
    """The Bundle's `next` paging link, if any."""
    for link in dicts(bundle.get("link")):
        if link.get("relation") == "next":
            url = link.get("url")
            if isinstance(url, str) and url.strip():
                return url.strip()
    return None


def resources_of(value: dict[str, Any]) -> list[dict[str, Any]]:
    """A Bundle's entry resources, or a single resource as a one-element list
    (none for a bare OperationOutcome: it is never patient data)."""
    if is_bundle(value):
        return entry_resources(value)
    if is_outcome(value):
        return []
    return [value]
