"""CDS Hooks 2.0 requests: validation of the JSON body into a `HookRequest`.

Strict where a wrong shape would make the answer wrong (hook, ids, selections
that point nowhere), lenient where real clients are sloppy: unknown fields are
ignored, JSON `null` counts as absent for optional fields, order-sign may carry
no selections, and the draft resources themselves are not validated here (the
record builder reads them leniently).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# Who may trigger a hook (patient-view also allows patients and proxies).
USER_TYPES = ("Practitioner", "PractitionerRole", "Patient", "RelatedPerson")
# Whitespace as str.isspace() (and str.strip()) sees it, spelled out: `\s` differs between
# Python and the ECMA regexes of the OpenAPI document (U+001C-U+001F, U+0085), so the
# document's patterns use this same class (tests/api/test_openapi.py checks they agree).
WHITESPACE = r"\t\n\x0b\x0c\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
# Type/id; the id part is looser than FHIR's [A-Za-z0-9.-]{1,64}: EHR ids vary.
# Always fullmatch: `$` in Python also matches before a final newline.
_REFERENCE = re.compile(rf"([A-Z][A-Za-z]+)/([^/{WHITESPACE}]{{1,200}})")
# The hooks this service answers, named here only (CDS Hooks hook ids).
ORDER_SELECT, ORDER_SIGN, PATIENT_VIEW = "order-select", "order-sign", "patient-view"
ORDER_HOOKS = (ORDER_SELECT, ORDER_SIGN)
HOOKS = (ORDER_SELECT, ORDER_SIGN, PATIENT_VIEW)
# The shape of a hook request (CDS Hooks 2.0 "HTTP Request" and each hook's context).
REQUEST_KEYS = frozenset({"hook", "hookInstance", "context", "fhirServer", "fhirAuthorization", "prefetch"})
CONTEXT_KEYS: Mapping[str, frozenset[str]] = {
    PATIENT_VIEW: frozenset({"userId", "patientId", "encounterId"}),
    ORDER_SELECT: frozenset({"userId", "patientId", "encounterId", "selections", "draftOrders"}),
    ORDER_SIGN: frozenset({"userId", "patientId", "encounterId", "draftOrders"}),
}
# A hook response header (not part of CDS Hooks): the time the cards were evaluated at,
# Settings.now (--now / CDSHOOKS_NOW) or the clock. `cdshooks replay --url` reads it.
EVALUATION_TIME_HEADER = "X-CDS-Evaluation-Time"


class InvalidRequest(ValueError):
    """The request does not conform to the hook; `expression` points at the culprit."""

    def __init__(self, diagnostics: str, expression: str | None = None):
        super().__init__(diagnostics)
        self.diagnostics = diagnostics
        self.expression = expression


@dataclass(frozen=True)
class HookRequest:
    """A validated CDS Hooks call (JSON names in the docstrings of the fields)."""

    hook: str
    hook_instance: str  # hookInstance
    context: Mapping[str, Any]
    fhir_server: str | None = None  # fhirServer
    fhir_authorization: Mapping[str, Any] | None = field(default=None, repr=False)  # never logged
    prefetch: Mapping[str, Any] | None = field(default=None, repr=False)

    # The spec's JSON names, for code written against them.
    @property
    def hookInstance(self) -> str:
        return self.hook_instance

    @property
    def fhirServer(self) -> str | None:
        return self.fhir_server

    @property
    def fhirAuthorization(self) -> Mapping[str, Any] | None:
        return self.fhir_authorization

    @property
    def patient_id(self) -> str:
        return self.context["patientId"]

    @property
    def user_id(self) -> str:
        return self.context["userId"]

    @property
    def encounter_id(self) -> str | None:
        return self.context.get("encounterId")

    @property
    def draft_orders(self) -> list[dict[str, Any]]:
        """The resources of context.draftOrders (entries without a resource skipped)."""
        bundle = self.context.get("draftOrders")
        # Validated only for the order hooks: a stray value on patient-view may be anything.
        entries = bundle.get("entry") if isinstance(bundle, dict) else None
        return [
            e["resource"]
            for e in (entries if isinstance(entries, list) else ())
            if isinstance(e, dict) and isinstance(e.get("resource"), dict)
        ]

    @property
    def selections(self) -> list[str] | None:
        """context.selections for order-select; None for the other hooks (a stray one is ignored)."""
        if self.hook != ORDER_SELECT:
            return None
        sel = self.context.get("selections")
        return list(sel) if isinstance(sel, list) else None


def _optional(obj: Mapping[str, Any], key: str, kind: type, where: str) -> Any:
    value = obj.get(key)
    if value is not None and not isinstance(value, kind):
        raise InvalidRequest(f"{where}{key} must be a {_TYPE_NAMES[kind]}.", f"{where}{key}")
    return value


def _required(obj: Mapping[str, Any], key: str, kind: type, where: str) -> Any:
    value = obj.get(key)
    if value is None:
        raise InvalidRequest(f"{where}{key} is required.", f"{where}{key}")
    if not isinstance(value, kind) or (kind is str and isinstance(value, str) and not value.strip()):
        raise InvalidRequest(f"{where}{key} must be a non-empty {_TYPE_NAMES[kind]}.", f"{where}{key}")
    return value


_TYPE_NAMES: dict[type, str] = {str: "string", dict: "JSON object", list: "JSON array"}


def _check_user(user_id: str) -> None:
    m = _REFERENCE.fullmatch(user_id)
    if not m or m.group(1) not in USER_TYPES:
        raise InvalidRequest(
            f"context.userId must be a reference 'Type/id' with Type one of {', '.join(USER_TYPES)}.",
            "context.userId",
        )


def _draft_keys(bundle: Mapping[str, Any]) -> dict[str, str]:
    """Validate context.draftOrders; map each way a client may name a draft to its 'Type/id'.

    Names: 'Type/id' and the entry's fullUrl (the `urn:uuid:` of an unsaved draft
    without an id maps to itself: it is the only name such a draft has).
    """
    where = "context.draftOrders"
    if bundle.get("resourceType") != "Bundle":
        raise InvalidRequest(f"{where} must be a FHIR Bundle.", f"{where}.resourceType")
    entries = _optional(bundle, "entry", list, f"{where}.")
    entries = entries or []
    keys: dict[str, str] = {}
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise InvalidRequest(f"{where}.entry[{i}] must be a JSON object.", f"{where}.entry[{i}]")
        resource = entry.get("resource")
        if resource is None:
            continue
        kind = resource.get("resourceType") if isinstance(resource, dict) else None
        if not isinstance(kind, str) or not kind:
            raise InvalidRequest(
                f"{where}.entry[{i}].resource must be a FHIR resource.", f"{where}.entry[{i}].resource"
            )
        rid = resource.get("id")
        full_url = entry.get("fullUrl")
        if isinstance(rid, str) and rid:
            key = f"{resource['resourceType']}/{rid}"
            keys[key] = key
            if isinstance(full_url, str) and full_url:
                keys.setdefault(full_url, key)
        elif isinstance(full_url, str) and full_url:
            keys.setdefault(full_url, full_url)
    return keys


def _check_order_context(hook: str, ctx: Mapping[str, Any]) -> list[str] | None:
    """Validate the order hooks' context; order-select's selections as 'Type/id' (or fullUrl)."""
    drafts = _required(ctx, "draftOrders", dict, "context.")
    keys = _draft_keys(drafts)
    if hook != ORDER_SELECT:
        # order-sign has no selections; a stray one from a sloppy client is ignored.
        return None
    selections = _required(ctx, "selections", list, "context.")
    if not selections:
        raise InvalidRequest("context.selections must name at least one draft order.", "context.selections")
    named = []
    for i, sel in enumerate(selections):
        where = f"context.selections[{i}]"
        if isinstance(sel, str) and sel in keys:
            named.append(keys[sel])
            continue
        if not isinstance(sel, str) or not _REFERENCE.fullmatch(sel):
            raise InvalidRequest(f"{where} must be a reference 'Type/id' (or a draft's fullUrl).", where)
        raise InvalidRequest(f"{where} ({sel}) is not an entry of context.draftOrders.", where)
    return named


def parse_hook_request(body: Any, expected_hook: str) -> HookRequest:
    """Validate a parsed JSON body for a service bound to `expected_hook`.

    Sizes (draft order count, nesting, id lengths) are checked before this, by
    `cdshooks.web.limits.check_limits`.
    """
    if not isinstance(body, dict):
        raise InvalidRequest("The request body must be a JSON object.")
    hook = _required(body, "hook", str, "")
    if hook != expected_hook:
        raise InvalidRequest(f"This service answers the {expected_hook!r} hook, not {hook!r}.", "hook")
    hook_instance = _required(body, "hookInstance", str, "")
    fhir_server = _optional(body, "fhirServer", str, "")
    fhir_authorization = _optional(body, "fhirAuthorization", dict, "")
    if fhir_authorization is not None:
        _optional(fhir_authorization, "access_token", str, "fhirAuthorization.")
    prefetch = _optional(body, "prefetch", dict, "")
    for key, value in (prefetch or {}).items():
        if value is not None and not isinstance(value, dict):
            raise InvalidRequest(f"prefetch.{key} must be a FHIR resource or null.", f"prefetch.{key}")
    ctx = _required(body, "context", dict, "")
    _check_user(_required(ctx, "userId", str, "context."))
    patient_id = _required(ctx, "patientId", str, "context.")
    if patient_id.startswith("Patient/"):
        # Some EHRs send a reference where the spec wants Patient.id; an id never
        # holds a slash, so stripping is unambiguous (and keeps prefetch tokens and
        # the record's patient filter right).
        ctx = {**ctx, "patientId": patient_id[len("Patient/") :]}
        _required(ctx, "patientId", str, "context.")
    _optional(ctx, "encounterId", str, "context.")
    if hook in ORDER_HOOKS:
        selections = _check_order_context(hook, ctx)
        if selections is not None and selections != ctx["selections"]:
            ctx = {**ctx, "selections": selections}
    return HookRequest(
        hook=hook,
        hook_instance=hook_instance,
        context=ctx,
        fhir_server=fhir_server,
        fhir_authorization=fhir_authorization,
        prefetch=prefetch,
    )
