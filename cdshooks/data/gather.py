"""Data gathering: prefetch first, then fetch only what is missing from an allowlisted fhirServer.

Per prefetch key (CDS Hooks 2.0 "Providing FHIR Resources to a CDS Service"):
- key absent                     -> fetch it
- `null`                         -> the client has no data; not an error, not fetched
- empty Bundle                   -> no data
- a Bundle of only OperationOutcomes whose issues are all information/warning
  (Epic's empty search), or such a bare OperationOutcome for a search key
                                 -> no data (an empty result; not fetched)
- OperationOutcome with an error/fatal issue (or a Bundle of only such
  outcomes), any OperationOutcome for a read key, or junk
                                 -> fetch it when possible, else unavailable
- Bundle with a `next` link      -> use it, and read further pages when fetching is possible
A key that is needed (`required`) and cannot be had raises DataUnavailable (the
web layer answers 412); an optional one is reported in `Gathered.unavailable`.
Either way the reason is kept per key, "<why it was not in the prefetch>;
<why it was not fetched>", in fixed phrases (never a URL, token or patient
data): e.g. "not prefetched; fetch failed: connection refused".
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Collection, Mapping
from concurrent.futures import Future, wait
from dataclasses import dataclass, field
from functools import partial
from typing import Any
from urllib.parse import quote, urljoin

from cdshooks.data.allowlist import allowlist_for
from cdshooks.data.bundles import is_bundle, next_link, usable_resources
from cdshooks.data.fhir_client import (
    BUDGET_SPENT,
    FetchError,
    FetchResult,
    executor,
    fetch_pages,
    query_url,
    under_base,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FetchPolicy:
    """What the FHIR fallback may do: which servers, how long, how many pages, how many bytes."""

    allowlist: tuple[str, ...] = ()  # FHIR servers that may be called (origins or base URLs)
    budget_seconds: float = 3.0  # for all fetches of one hook call
    max_pages: int = 5  # per prefetch key
    max_bytes: int = 5 * 1024 * 1024  # per response

_TOKEN = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
# User-identity tokens, filled from context.userId ("Practitioner/123" -> "123").
USER_TOKENS = {
    "userPractitionerId": "Practitioner",
    "userPractitionerRoleId": "PractitionerRole",
    "userPatientId": "Patient",
    "userRelatedPersonId": "RelatedPerson",
}
# A FHIR relative reference keeps its slash so `{{context.userId}}` works as a read.
_REFERENCE = re.compile(r"^[A-Za-z]{1,64}/[A-Za-z0-9\-.]{1,64}$")


class DataUnavailable(Exception):
    """Required prefetch keys that were neither prefetched nor fetchable (HTTP 412).

    `reasons`: each such key -> why; `optional`: the optional keys that could
    not be had either, with theirs (so that one 412 names every problem);
    `fetches`: the fallback fetches made before giving up (for the metrics).
    """

    def __init__(
        self,
        reasons: Mapping[str, str],
        optional: Mapping[str, str] | None = None,
        fetches: tuple[Fetch, ...] = (),
    ) -> None:
        self.reasons = dict(sorted(reasons.items()))
        self.optional = dict(sorted((optional or {}).items()))
        self.fetches = fetches
        self.keys = frozenset(self.reasons)
        super().__init__("required data unavailable: " + "; ".join(f"{k}: {r}" for k, r in self.reasons.items()))


@dataclass(frozen=True)
class Fetch:
    """One fallback fetch of a prefetch key (all its pages): the resource type asked for, and whether it worked."""

    resource_type: str
    ok: bool


@dataclass(frozen=True)
class Gathered:
    """What arrived per prefetch key; `notes` say what happened (never patient data)."""

    resources: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    unavailable: frozenset[str] = frozenset()
    notes: tuple[str, ...] = ()
    reasons: Mapping[str, str] = field(default_factory=dict)  # unavailable key -> why
    fetches: tuple[Fetch, ...] = ()  # the fallback fetches made, for the metrics (the web layer counts them)


_RESOURCE_TYPE = re.compile(r"[A-Za-z]+")


def resource_type(template: str) -> str:
    """The resource type a prefetch template names ("Observation?subject=..." -> "Observation")."""
    found = _RESOURCE_TYPE.match(template)
    return found.group() if found else "other"


def resolve_template(template: str, context: Mapping[str, Any]) -> str | None:
    """Fill the prefetch tokens of `template`; None if any token cannot be resolved."""
    failed = False

    def value_of(match: re.Match[str]) -> str:
        nonlocal failed
        name = match.group(1)
        value: object = None
        if name.startswith("context."):
            value = context.get(name[len("context."):])
        elif name in USER_TOKENS:
            user = context.get("userId")
            prefix = USER_TOKENS[name] + "/"
            if isinstance(user, str) and user.startswith(prefix):
                value = user[len(prefix):]
        # Only root-level primitives qualify (spec); booleans are not ids.
        if isinstance(value, bool) or not isinstance(value, (str, int)) or str(value) == "":
            failed = True
            return ""
        text = str(value)
        return quote(text, safe="/" if _REFERENCE.match(text) else "")

    resolved = _TOKEN.sub(value_of, template)
    return None if failed or "{{" in resolved or "}}" in resolved else resolved


def _read_prefetch(value: object, *, search: bool = True) -> list[dict[str, Any]] | None:
    """Usable resources of one prefetch value, or None when it must be fetched instead."""
    if value is None:
        return []
    if not isinstance(value, dict) or not isinstance(value.get("resourceType"), str):
        return None
    return usable_resources(value, search=search)  # an information-only outcome gives no resources


def gather(
    templates: Mapping[str, str],
    context: Mapping[str, Any],
    prefetch: Mapping[str, Any] | None,
    fhir_server: str | None,
    fhir_authorization: Mapping[str, Any] | None,
    policy: FetchPolicy,
    required: Collection[str],
) -> Gathered:
    """Resolve every prefetch key of a service from the request, fetching what is missing."""
    started = time.monotonic()
    deadline = started + max(policy.budget_seconds, 0.0)
    prefetch = prefetch if isinstance(prefetch, Mapping) else {}
    context = context if isinstance(context, Mapping) else {}
    resources, missing, continuations, notes = _from_prefetch(templates, prefetch)
    if not missing and not continuations:
        return Gathered(resources, frozenset(), tuple(notes))

    allowlist = allowlist_for(policy.allowlist)
    failed: dict[str, str] = {}

    def refused(refusal: str) -> Gathered:
        failed.update({k: f"{why}; not fetched: {refusal}" for k, why in missing.items()})
        notes.extend(f"{k}: {why}" for k, why in failed.items())
        notes.extend(f"{k}: prefetched Bundle has more pages; not fetched: {refusal}" for k in continuations)
        _raise_if_required(failed, required)
        return Gathered(resources, frozenset(failed), tuple(notes), failed)

    if not fhir_server:
        return refused("no fhirServer in the request")
    refusal = allowlist.refusal(fhir_server)
    if refusal:
        return refused(refusal)

    token = _token(fhir_authorization)
    fetch = partial(
        fetch_pages, base=fhir_server, token=token, allowlist=allowlist, deadline=deadline,
        max_bytes=policy.max_bytes,
    )
    queries: dict[str, str] = {}
    for key, why in missing.items():
        relative = resolve_template(templates[key], context)
        if relative is None:
            failed[key] = f"{why}; not fetched: its query names a context value the request lacks"
            notes.append(f"{key}: {failed[key]}")
        else:
            queries[key] = query_url(fhir_server, relative)

    pool = executor()
    max_pages = max(policy.max_pages, 1)
    futures: dict[Future[Any], tuple[str, bool]] = {}  # future -> (key, is_continuation)
    for key, url in queries.items():
        futures[pool.submit(fetch, url, max_pages=max_pages)] = (key, False)
    for key, link in continuations.items():
        url = urljoin(query_url(fhir_server, ""), link)
        if max_pages <= 1 or not under_base(url, fhir_server):
            notes.append(f"{key}: prefetched Bundle has more pages; using the first")
            continue
        futures[pool.submit(fetch, url, max_pages=max_pages - 1)] = (key, True)

    fetched: list[tuple[str, bool]] = []
    _collect(futures, deadline, resources, failed, notes, missing, policy.budget_seconds, fetched)
    log.debug("gathered %d keys, %d unavailable in %.0f ms",
              len(resources), len(failed), (time.monotonic() - started) * 1000)
    fetches = tuple(Fetch(resource_type(templates[key]), ok) for key, ok in fetched)
    _raise_if_required(failed, required, fetches)
    return Gathered(resources, frozenset(failed), tuple(notes), failed, fetches)


def _from_prefetch(
    templates: Mapping[str, str], prefetch: Mapping[str, Any]
) -> tuple[dict[str, list[dict[str, Any]]], dict[str, str], dict[str, str], list[str]]:
    """Split the template keys into usable prefetch, keys to fetch, and Bundles with more pages."""
    resources: dict[str, list[dict[str, Any]]] = {}
    missing: dict[str, str] = {}  # key -> why it has to be fetched
    continuations: dict[str, str] = {}  # key -> `next` link of a prefetched Bundle
    notes: list[str] = []
    for key in templates:
        if key not in prefetch:
            missing[key] = "not prefetched"
            continue
        value = prefetch[key]
        got = _read_prefetch(value, search="?" in templates[key])
        if got is None:
            missing[key] = "prefetch holds an error OperationOutcome or no FHIR resource"
            continue
        resources[key] = got
        link = next_link(value) if is_bundle(value) else None
        if link:
            continuations[key] = link
    ignored = sorted(k for k in prefetch if k not in templates)
    if ignored:
        notes.append(f"ignored prefetch keys this service did not ask for: {', '.join(ignored)}")
    return resources, missing, continuations, notes


def _collect(
    futures: Mapping[Future[Any], tuple[str, bool]],
    deadline: float,
    resources: dict[str, list[dict[str, Any]]],
    failed: dict[str, str],
    notes: list[str],
    missing: Mapping[str, str],
    budget_seconds: float,
    fetched: list[tuple[str, bool]],
) -> None:
    """Wait for the fetches until the deadline; file each result or failure under its key (and in `fetched`)."""

    def failure(key: str, is_more: bool, reason: str) -> None:
        fetched.append((key, False))
        if reason.startswith(BUDGET_SPENT):
            reason = f"{BUDGET_SPENT} ({budget_seconds:g} s for all fetches of one call)"
        _record_failure(key, is_more, reason, failed, notes, missing.get(key, "not prefetched"))

    done, not_done = wait(futures, timeout=max(deadline - time.monotonic(), 0.0))
    for fut in not_done:
        fut.cancel()  # a running fetch ends by itself at the deadline
        key, is_more = futures[fut]
        failure(key, is_more, BUDGET_SPENT)
    for fut in done:
        key, is_more = futures[fut]
        try:
            result: FetchResult = fut.result()
        except FetchError as exc:
            failure(key, is_more, str(exc))
            continue
        except Exception as exc:  # noqa: BLE001 - a bug or an odd library error must not become a 500
            log.warning("FHIR fetch for %s failed unexpectedly: %s", key, type(exc).__name__)
            failure(key, is_more, "unexpected error")
            continue
        fetched.append((key, True))
        resources.setdefault(key, []).extend(result.resources)
        more = " (more pages left unread)" if result.truncated else ""
        what = "further pages of prefetched Bundle" if is_more else "fetched from fhirServer"
        notes.append(f"{key}: {what}, {result.pages} page(s){more}")


def _token(fhir_authorization: Mapping[str, Any] | None) -> str | None:
    if not isinstance(fhir_authorization, Mapping):
        return None
    token = fhir_authorization.get("access_token")
    return token if isinstance(token, str) and token else None


def _record_failure(key: str, is_more: bool, reason: str, failed: dict[str, Any], notes: list[Any], why: str) -> None:
    if is_more:
        # The first page came in the prefetch: keep it, flagged as incomplete.
        notes.append(f"{key}: further pages of prefetched Bundle not read: {reason}")
        return
    failed[key] = f"{why}; fetch failed: {reason}"
    notes.append(f"{key}: {failed[key]}")


def _raise_if_required(failed: Mapping[str, str], required: Collection[str], fetches: tuple[Fetch, ...] = ()) -> None:
    needed = {k: why for k, why in failed.items() if k in required}
    if needed:
        raise DataUnavailable(needed, {k: why for k, why in failed.items() if k not in required}, fetches)
