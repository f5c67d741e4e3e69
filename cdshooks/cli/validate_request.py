"""The CDS Hooks request part of `cdshooks validate`: hook shape, resources, references, prefetch."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cdshooks.protocol import CONTEXT_KEYS, ORDER_SELECT, PATIENT_VIEW, REQUEST_KEYS, InvalidRequest, parse_hook_request
from cdshooks.services import Service

if TYPE_CHECKING:
    from cdshooks.cli.validate import ScenarioCheck

from cdshooks.cli.validate import AUTHORIZATION_KEYS, is_uuid, query_filters

R = "$.request"


def _items(value: Any) -> list[Any]:
    """A JSON array's items; nothing for any other value (its shape is reported by the FHIR or protocol check)."""
    return value if isinstance(value, list) else []


def check_request(check: ScenarioCheck, request: dict[str, Any], service: Service) -> None:
    """Every problem of the request of a scenario bound to `service`."""
    for key in sorted(set(request) - REQUEST_KEYS):
        check.add(f"{R}.{key}", "unknown key in a CDS Hooks request")
    if not is_uuid(request.get("hookInstance")):
        check.add(f"{R}.hookInstance", "must be a UUID")
    _fhir_server(check, request)
    context = request.get("context")
    if isinstance(context, dict):
        for key in sorted(set(context) - CONTEXT_KEYS[service.hook]):
            check.add(f"{R}.context.{key}", f"not a context field of {service.hook}")
        if isinstance(context.get("patientId"), str):
            check.patient_id = context["patientId"]
        if service.hook != PATIENT_VIEW:
            _draft_orders(check, context, service.hook)
    _prefetch(check, request.get("prefetch"), service)
    _unique_ids(check, request)
    try:
        parse_hook_request(request, service.hook)
    except InvalidRequest as exc:  # what the service itself would answer with a 400
        where = f"{R}.{exc.expression}" if exc.expression else R
        if all(p.path != where for p in check.problems):  # not already said more precisely
            check.add(where, f"the service would refuse it: {exc.diagnostics}")


def _fhir_server(check: ScenarioCheck, request: dict[str, Any]) -> None:
    server = request.get("fhirServer")
    if server is not None and not (isinstance(server, str) and server.startswith(("http://", "https://"))):
        check.add(f"{R}.fhirServer", "must be an absolute http(s) URL")
    auth = request.get("fhirAuthorization")
    if auth is None:
        return
    if server is None:
        check.add(f"{R}.fhirAuthorization", "is only meaningful with a fhirServer")
    if not isinstance(auth, dict):
        check.add(f"{R}.fhirAuthorization", "must be an object")
        return
    for key, kind in AUTHORIZATION_KEYS.items():
        if not isinstance(auth.get(key), kind):
            check.add(f"{R}.fhirAuthorization.{key}", f"is required ({kind.__name__})")
    if auth.get("token_type") not in (None, "Bearer"):
        check.add(f"{R}.fhirAuthorization.token_type", "must be 'Bearer'")


def _draft_orders(check: ScenarioCheck, context: dict[str, Any], hook: str) -> None:
    bundle = context.get("draftOrders")
    where = f"{R}.context.draftOrders"
    if not isinstance(bundle, dict):
        return  # reported by the protocol check
    keys = set()
    for i, entry in enumerate(_items(bundle.get("entry"))):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        path = f"{where}.entry[{i}].resource"
        if not isinstance(resource, dict):
            check.add(path, "every entry must hold a resource")
            continue
        check.resource(path, resource)
        check.patient_reference(path, resource)
        # R4 Immunization has no draft status; a drafted vaccine is one in draftOrders.
        if resource.get("resourceType") != "Immunization" and resource.get("status") != "draft":
            check.add(f"{path}.status", f"draft orders must have status 'draft', not {resource.get('status')!r}")
        keys.add(f"{resource.get('resourceType')}/{resource.get('id')}")
    check.resource(where, _shell(bundle))
    if hook == ORDER_SELECT:
        for i, selection in enumerate(_items(context.get("selections"))):
            if not isinstance(selection, str) or selection not in keys:
                check.add(f"{R}.context.selections[{i}]", f"{selection!r} is not an entry of draftOrders")


def _shell(bundle: dict[str, Any]) -> dict[str, Any]:
    """The Bundle without its entries' resources (those are validated one by one, with their paths)."""
    entries = bundle.get("entry")
    if not isinstance(entries, list) or not entries:
        return bundle
    return {
        **bundle,
        "entry": [{k: v for k, v in e.items() if k != "resource"} if isinstance(e, dict) else e for e in entries],
    }


def _prefetch(check: ScenarioCheck, prefetch: Any, service: Service) -> None:
    if not isinstance(prefetch, dict):
        if prefetch is not None:
            check.add(f"{R}.prefetch", "must be an object")
        return
    for key, value in prefetch.items():
        where = f"{R}.prefetch.{key}"
        template = service.prefetch.get(key)
        if template is None:
            check.add(where, f"not a prefetch key of {service.id} ({', '.join(service.prefetch)})")
            continue
        if value is None:
            continue  # "no data", a case scenarios test on purpose
        resource_type, params = query_filters(template)
        if not isinstance(value, dict):
            check.add(where, "must be a FHIR resource or null")
        elif value.get("resourceType") == "OperationOutcome":
            check.resource(where, value)
        elif "?" not in template:
            _read_result(check, where, value, resource_type)
        else:
            _search_result(check, where, value, resource_type, params)


def _read_result(check: ScenarioCheck, where: str, value: dict[str, Any], resource_type: str) -> None:
    check.resource(where, value)
    if value.get("resourceType") != resource_type:
        check.add(f"{where}.resourceType", f"must be {resource_type} (the prefetch template reads one)")
    elif resource_type == "Patient" and check.patient_id and value.get("id") != check.patient_id:
        check.add(f"{where}.id", f"{value.get('id')!r} is not context.patientId ({check.patient_id!r})")


def _search_result(
    check: ScenarioCheck, where: str, bundle: dict[str, Any], resource_type: str, params: dict[str, Any]
) -> None:
    if bundle.get("resourceType") != "Bundle":
        check.add(f"{where}.resourceType", "must be a Bundle (the prefetch template is a search)")
        return
    check.resource(where, _shell(bundle))
    for i, entry in enumerate(_items(bundle.get("entry"))):
        path = f"{where}.entry[{i}].resource"
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict):
            check.add(path, "every entry must hold a resource")
            continue
        check.resource(path, resource)
        if resource.get("resourceType") == "OperationOutcome":
            continue  # a search outcome (FHIR search.mode "outcome"; Epic's "No results found")
        if resource.get("resourceType") != resource_type:
            check.add(f"{path}.resourceType", f"the prefetch query returns {resource_type} only")
            continue
        check.patient_reference(path, resource)
        _matches_query(check, path, resource, params)


def _matches_query(check: ScenarioCheck, path: str, resource: dict[str, Any], params: dict[str, Any]) -> None:
    """Warn about data a FHIR server would not return for the service's prefetch query."""
    statuses = params.get("status")
    if statuses and resource.get("status") not in statuses:
        check.add(
            f"{path}.status",
            f"{resource.get('status')!r} is outside the prefetch query (status={','.join(statuses)})",
            "warning",
        )
    codes = params.get("code")
    if codes:
        code = resource.get("code")
        coding = _items(code.get("coding")) if isinstance(code, dict) else []
        have = {f"{c.get('system')}|{c.get('code')}" for c in coding if isinstance(c, dict)}
        if not have & set(codes):
            check.add(f"{path}.code", "no coding matches the prefetch query's code list", "warning")


def _unique_ids(check: ScenarioCheck, request: dict[str, Any]) -> None:
    seen: dict[str, str] = {}

    def visit(path: str, resource: Any) -> None:
        if (
            isinstance(resource, dict)
            and isinstance(resource.get("id"), str)
            and isinstance(resource.get("resourceType"), str)
            and resource["resourceType"] != "Bundle"
        ):
            key = f"{resource['resourceType']}/{resource['id']}"
            if key in seen:
                check.add(f"{path}.id", f"{key} is also at {seen[key]}")
            seen.setdefault(key, path)

    prefetch = request.get("prefetch")
    for key, value in prefetch.items() if isinstance(prefetch, dict) else ():
        if not isinstance(value, dict):
            continue
        if value.get("resourceType") == "Bundle":
            for i, e in enumerate(_items(value.get("entry"))):
                visit(f"{R}.prefetch.{key}.entry[{i}].resource", e.get("resource") if isinstance(e, dict) else None)
        else:
            visit(f"{R}.prefetch.{key}", value)
