"""Strict FHIR R4 validation of what the service emits, with fhir.resources (R4B models).

Only suggestion resources (a few per response) and `cdshooks validate` go
through here: full pydantic validation costs ~0.7 ms per resource, too much
for every incoming resource on the hot path.
"""

from __future__ import annotations

from typing import Any, Mapping


class InvalidResource(ValueError):
    """A resource the service was about to emit is not valid FHIR R4."""


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
    return dict(resource)
