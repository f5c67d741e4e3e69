"""Strict FHIR R4 validation of what the service emits, with fhir.resources (R4B models).

Only suggestion resources (a few per response) and `cdshooks validate` go
through here: full pydantic validation costs ~0.7 ms per resource, too much
for every incoming resource on the hot path. Suggestion resources of the shapes
the service builds skip it (`cdshooks.fhir_shapes`, a cheap check that sends
anything outside those shapes here).

The models check structure and datatypes but not codes: `Observation.status`
"done" validates. `code_problems` adds the required bindings: each `code`
element against the value set the models list in their field metadata
(`enum_values`), completed here where that list is cut short ("+"), and the
status CodeableConcepts (Condition, AllergyIntolerance) against their code
systems.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from pydantic import BaseModel

T = TypeVar("T")


class InvalidResource(ValueError):
    """A resource the service was about to emit is not valid FHIR R4."""


_OBSERVATION_STATUS = (
    "registered", "preliminary", "final", "amended", "corrected", "cancelled", "entered-in-error", "unknown",
)
# FHIR R4 value sets (required bindings) whose codes the models list only in part ("+").
FULL_CODES: dict[tuple[str, str], tuple[str, ...]] = {
    ("Observation", "status"): _OBSERVATION_STATUS,
    ("RiskAssessment", "status"): _OBSERVATION_STATUS,
    ("DetectedIssue", "status"): _OBSERVATION_STATUS,
    ("DiagnosticReport", "status"): (
        "registered",
        "partial",
        "preliminary",
        "final",
        "amended",
        "corrected",
        "appended",
        "cancelled",
        "entered-in-error",
        "unknown",
    ),
    ("Encounter", "status"): (
        "planned",
        "arrived",
        "triaged",
        "in-progress",
        "onleave",
        "finished",
        "cancelled",
        "entered-in-error",
        "unknown",
    ),
    ("DeviceUseStatement", "status"): ("active", "completed", "entered-in-error", "intended", "stopped", "on-hold"),
    ("SupplyRequest", "status"): (
        "draft",
        "active",
        "suspended",
        "cancelled",
        "completed",
        "entered-in-error",
        "unknown",
    ),
    ("Task", "status"): (
        "draft",
        "requested",
        "received",
        "accepted",
        "rejected",
        "ready",
        "cancelled",
        "in-progress",
        "on-hold",
        "failed",
        "completed",
        "entered-in-error",
    ),
}
FULL_CODES[("EncounterStatusHistory", "status")] = FULL_CODES[("Encounter", "status")]

# Required bindings on CodeableConcepts: a coding from this system, with one of these codes.
CONCEPT_CODES: dict[tuple[str, str], tuple[str, tuple[str, ...]]] = {
    ("Condition", "clinicalStatus"): (
        "http://terminology.hl7.org/CodeSystem/condition-clinical",
        ("active", "recurrence", "relapse", "inactive", "remission", "resolved"),
    ),
    ("Condition", "verificationStatus"): (
        "http://terminology.hl7.org/CodeSystem/condition-ver-status",
        ("unconfirmed", "provisional", "differential", "confirmed", "refuted", "entered-in-error"),
    ),
    ("AllergyIntolerance", "clinicalStatus"): (
        "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical",
        ("active", "inactive", "resolved"),
    ),
    ("AllergyIntolerance", "verificationStatus"): (
        "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification",
        ("unconfirmed", "confirmed", "refuted", "entered-in-error"),
    ),
}


def allowed_codes(model_name: str, field_name: str, field_info: Any) -> tuple[str, ...] | None:
    """The codes a `code` element may hold, or None when unknown (no check)."""
    full = FULL_CODES.get((model_name, field_name))
    if full is not None:
        return full
    extra = field_info.json_schema_extra if isinstance(field_info.json_schema_extra, dict) else {}
    listed = extra.get("enum_values")
    if not listed or "+" in listed:  # a list cut short that FULL_CODES does not complete
        return None
    return tuple(listed)


def code_problems(resource: Mapping[str, Any], path: str = "") -> list[tuple[str, str]]:
    """(relative JSON path, message) for each code outside its required value set.

    Walks the JSON itself, guided by the model classes, so a resource that
    fails validation elsewhere still has its codes checked (every problem at once).
    """
    from fhir.resources.R4B import get_fhir_model_class

    try:
        cls = get_fhir_model_class(resource["resourceType"])
    except (KeyError, TypeError, ValueError):
        return []
    return list(_walk_codes(resource, cls, path))


def _walk_codes(node: Mapping[str, Any], cls: type[BaseModel], path: str) -> Iterator[tuple[str, str]]:
    name = cls.__name__
    fields = _fields(cls)
    for key, value in node.items():
        info = fields.get(key)
        if info is None or value is None:
            continue  # not an element of this type: the model validation says so
        where = f"{path}.{key}"
        codes = allowed_codes(name, key, info)
        if codes is not None:
            for sub, code in _items(value, where, str):
                if code not in codes:
                    yield sub, f"{code!r} is not a code of {name}.{key} ({'|'.join(codes)})"
            continue
        concept = CONCEPT_CODES.get((name, key))
        if concept is not None and isinstance(value, dict):
            yield from _concept(value, where, f"{name}.{key}", *concept)
        child = _element_class(info.annotation)
        if child is None:
            continue
        for sub, item in _items(value, where, dict):
            yield from _walk_codes(item, _resource_class(item) if child.__name__ == "Resource" else child, sub)


def primitive_type(resource_type: str, loc: tuple[Any, ...]) -> str | None:
    """The FHIR primitive type name (`date`, `dateTime`, `instant`...) at a pydantic error location, if known."""
    import typing

    from fhir.resources.R4B import get_fhir_model_class

    try:
        cls: type[BaseModel] | None = get_fhir_model_class(resource_type)
    except (KeyError, ValueError):
        return None
    info = None
    for part in loc:
        if isinstance(part, int):
            continue
        if cls is None:
            return None
        info = _fields(cls).get(str(part))
        if info is None:
            return None
        cls = _element_class(info.annotation)
    if info is None:
        return None
    stack = [info.annotation]
    while stack:  # find the Annotated marker, e.g. Optional[Annotated[date, Date()]]
        current = stack.pop()
        for meta in getattr(current, "__metadata__", ()):
            name = type(meta).__name__
            return name[:1].lower() + name[1:]
        stack.extend(typing.get_args(current))
    return None


_FIELDS: dict[type[BaseModel], dict[str, Any]] = {}


def _fields(cls: type[BaseModel]) -> dict[str, Any]:
    """The model's fields by JSON name (`class`, not `class_fhir`)."""
    found = _FIELDS.get(cls)
    if found is None:
        found = _FIELDS[cls] = {
            info.alias or n: info for n, info in cls.model_fields.items() if not n.endswith("__ext")
        }
    return found


def _element_class(annotation: Any) -> type[BaseModel] | None:
    """The model class of a complex element (Optional / List / Annotated unwrapped), None for a primitive."""
    import typing

    if hasattr(annotation, "get_model_klass"):
        return annotation.get_model_klass()
    for arg in typing.get_args(annotation):
        found = _element_class(arg)
        if found is not None:
            return found
    return None


def _resource_class(item: Mapping[str, Any]) -> type[BaseModel]:
    from fhir.resources.R4B import get_fhir_model_class
    from fhir.resources.R4B.resource import Resource

    try:
        return get_fhir_model_class(item["resourceType"])
    except (KeyError, TypeError, ValueError):
        return Resource


def _items(value: Any, where: str, kind: type[T]) -> Iterator[tuple[str, T]]:
    """The value, or each element of a list, that is a `kind`, with its path ("code", "category[1]")."""
    if isinstance(value, kind):
        yield where, value
    elif isinstance(value, list):
        for i, item in enumerate(value):
            if isinstance(item, kind):
                yield f"{where}[{i}]", item


def _concept(
    value: Mapping[str, Any], where: str, element: str, system: str, codes: tuple[str, ...]
) -> Iterator[tuple[str, str]]:
    coding_list = value.get("coding")
    codings = coding_list if isinstance(coding_list, list) else []
    ours = [(i, c) for i, c in enumerate(codings) if isinstance(c, dict) and c.get("system") == system]
    if not ours:
        yield where, f"{element} needs a coding from {system} (required binding: {'|'.join(codes)})"
    for i, coding in ours:
        if coding.get("code") not in codes:
            yield f"{where}.coding[{i}].code", f"{coding.get('code')!r} is not a code of {element} ({'|'.join(codes)})"


def validate_resource(resource: Mapping[str, Any]) -> dict[str, Any]:
    """Validate a resource and return it unchanged (as a plain dict)."""
    from fhir.resources.R4B import get_fhir_model_class  # heavy import, done once lazily

    rtype = resource.get("resourceType")
    if not isinstance(rtype, str):
        raise InvalidResource("resource has no resourceType")
    try:
        model = get_fhir_model_class(rtype)
    except (KeyError, ValueError) as exc:
        raise InvalidResource(f"unknown resourceType {rtype!r}") from exc
    try:
        model.model_validate(dict(resource))
    except Exception as exc:  # pydantic.ValidationError and friends
        raise InvalidResource(f"{rtype} is not valid FHIR R4: {exc}") from exc
    problems = code_problems(resource)
    if problems:
        raise InvalidResource(f"{rtype} is not valid FHIR R4: " + "; ".join(f"{p or '.'}: {m}" for p, m in problems))
    return dict(resource)
