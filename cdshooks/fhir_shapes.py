"""A cheap check of the suggestion resources the service builds, with full validation for anything else.

Full validation (`fhir_validation.validate_resource`, fhir.resources models) cost
about 0.09 ms per resource on every request whose cards carry suggestions (issue
18). The resources the suggestion builders make (cdshooks/clinical/suggestions)
have a few fixed shapes, described in SHAPES. A resource every element of which
lies within its shape, each value in its FHIR R4 primitive form and each bound
code in its value set, is valid R4: it is accepted without the models. Anything
else (an element a client's draft brought along, a value in an unusual form, a
missing required element) goes through the full validation, so this check never
accepts what that one rejects and never rejects anything itself.

The shapes are checked against the models when first used (`bound_codes`): an
element the model does not have, a list where it has one value or the reverse,
another primitive type, or an element it requires left optional is an error
here, not a resource accepted by mistake.
"""

from __future__ import annotations

import math
import re
import typing
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from typing import Any

from cdshooks.fhir_validation import CONCEPT_CODES, _element_class, _fields, allowed_codes, validate_resource


class ShapeError(ValueError):
    """A shape in SHAPES does not describe its FHIR model faithfully."""


@dataclass(frozen=True, eq=False)
class Element:
    kind: str | Shape  # a primitive (a key of PRIMITIVES) or a complex type
    many: bool = False  # a JSON array (never empty) rather than one value
    required: bool = False


@dataclass(frozen=True, eq=False)
class Shape:
    type_name: str  # the model class: "MedicationRequest", "DosageDoseAndRate"
    elements: Mapping[str, Element]
    # Choice elements (medication[x]): exactly one of each group.
    one_of: tuple[tuple[str, ...], ...] = ()
    required: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "required", tuple(k for k, e in self.elements.items() if e.required))


# The primitive forms accepted here: each a subset of what FHIR R4 (and the models)
# accept, kept to ASCII so that no regex engine's idea of whitespace matters. A value
# outside them is not wrong, it only takes the full validation.
_GRAPHIC = re.compile(r"[!-~]")  # one printable ASCII character that is not a space: a non-empty string
_CODE = re.compile(r"[!-~]+( [!-~]+)*")  # FHIR code: no leading, trailing or double whitespace
_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
_URI = re.compile(r"[!-~]+")
_REFERENCE = re.compile(r"[A-Z][A-Za-z]{1,63}/[A-Za-z0-9\-.]{1,64}")  # a relative literal reference
# FHIR R4 dateTime, narrowed to 4-digit years from 1000 and at most microseconds (what Python parses alike).
_DATE_TIME = re.compile(
    r"[12][0-9]{3}(-(0[1-9]|1[0-2])(-(0[1-9]|[12][0-9]|3[01])"
    r"(T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,6})?(Z|[+-]((0[0-9]|1[0-3]):[0-5][0-9]|14:00)))?)?)?"
)
_DECIMAL = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?")
_MAX_INT = 2_147_483_647


def _string(v: Any) -> bool:
    if not isinstance(v, str) or _GRAPHIC.search(v) is None:
        return False
    if v.isascii():
        return True
    try:  # a lone surrogate is no Unicode text: the models refuse it, and it could not be sent as JSON
        v.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _matches(pattern: re.Pattern[str]) -> Callable[[Any], bool]:
    return lambda v: isinstance(v, str) and pattern.fullmatch(v) is not None


def _date_time(v: Any) -> bool:
    if not isinstance(v, str) or _DATE_TIME.fullmatch(v) is None:
        return False
    try:  # the regex allows 31 February
        if len(v) == 10:
            date.fromisoformat(v)
        elif len(v) > 10:
            datetime.fromisoformat(v.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def _decimal(v: Any) -> bool:
    # bool is an int in Python, not a number in JSON; str() is the form the models check
    if not (type(v) is int or (type(v) is float and math.isfinite(v))):
        return False
    try:
        text = str(v)
    except ValueError:  # an int past Python's limit on digits converted to text: the models refuse it too
        return False
    return _DECIMAL.fullmatch(text) is not None


def _positive_int(v: Any) -> bool:
    return type(v) is int and 1 <= v <= _MAX_INT


PRIMITIVES: Mapping[str, Callable[[Any], bool]] = {
    "string": _string,
    "code": _matches(_CODE),
    "id": _matches(_ID),
    "uri": _matches(_URI),
    "reference": _matches(_REFERENCE),
    "dateTime": _date_time,
    "decimal": _decimal,
    "positiveInt": _positive_int,
}
# The FHIR type of each primitive form, as the models name it (Reference.reference is a string).
FHIR_TYPE = {"reference": "string"}


def _shapes() -> dict[str, Shape]:
    """The resources the suggestion builders make: lab orders, PJP prophylaxis, dose updates and new orders."""
    coding = Shape("Coding", {"system": Element("uri"), "code": Element("code"), "display": Element("string")})
    concept = Shape("CodeableConcept", {"coding": Element(coding, many=True), "text": Element("string")})
    reference = Shape("Reference", {"reference": Element("reference"), "display": Element("string")})
    quantity = Shape("Quantity", {
        "value": Element("decimal"), "unit": Element("string"), "system": Element("uri"), "code": Element("code"),
    })
    timing = Shape("Timing", {"repeat": Element(Shape("TimingRepeat", {
        "frequency": Element("positiveInt"), "period": Element("decimal"), "periodUnit": Element("code"),
    }))})
    dosage = Shape("Dosage", {
        "text": Element("string"),
        "timing": Element(timing),
        "route": Element(concept),
        "doseAndRate": Element(Shape("DosageDoseAndRate", {"doseQuantity": Element(quantity)}), many=True),
    })
    # Elements of an order the service sets, or keeps in the minimal copy of a draft (draft_update.py).
    order = {
        "id": Element("id"),
        "status": Element("code", required=True),
        "intent": Element("code", required=True),
        "subject": Element(reference, required=True),
        "encounter": Element(reference),
        "requester": Element(reference),
        "authoredOn": Element("dateTime"),
        "reasonCode": Element(concept, many=True),
        "category": Element(concept, many=True),
    }
    return {
        "ServiceRequest": Shape("ServiceRequest", {**order, "code": Element(concept)}),
        "MedicationRequest": Shape("MedicationRequest", {
            **order,
            "medicationCodeableConcept": Element(concept),
            "medicationReference": Element(reference),
            "dosageInstruction": Element(dosage, many=True),
            "priorPrescription": Element(reference),
        }, one_of=(("medicationCodeableConcept", "medicationReference"),)),
    }


SHAPES: Mapping[str, Shape] = _shapes()


class ShapeCheck:
    """Whether a resource lies wholly within its shape, each value in its FHIR form and value set."""

    def __init__(self, shapes: Mapping[str, Shape] = SHAPES,
                 primitives: Mapping[str, Callable[[Any], bool]] = PRIMITIVES) -> None:
        self.shapes = shapes
        self.primitives = primitives
        self.codes = bound_codes(shapes.values())

    def fits(self, resource: Any) -> bool:
        """True only when the resource is valid R4 as the full validation judges it (False: ask it)."""
        if not isinstance(resource, dict):
            return False
        rtype = resource.get("resourceType")
        shape = self.shapes.get(rtype) if isinstance(rtype, str) else None
        if shape is None:
            return False
        return self.fits_object(resource, shape, resource=True)

    def fits_object(self, node: Mapping[str, Any], shape: Shape, resource: bool = False) -> bool:
        if not node:
            return False  # FHIR elements are never empty
        for key, value in node.items():
            element = shape.elements.get(key)
            if element is None:
                if resource and key == "resourceType":
                    continue  # matched by fits()
                return False
            if element.many:
                if not isinstance(value, list) or not value:
                    return False
                if not all(self.fits_value(item, element.kind, shape, key) for item in value):
                    return False
            elif not self.fits_value(value, element.kind, shape, key):
                return False
        return self.has_required(node, shape)

    def fits_value(self, value: Any, kind: str | Shape, parent: Shape, key: str) -> bool:
        if isinstance(kind, Shape):
            return isinstance(value, dict) and self.fits_object(value, kind)
        if not self.primitives[kind](value):
            return False
        codes = self.codes.get((parent.type_name, key))
        return codes is None or value in codes

    def has_required(self, node: Mapping[str, Any], shape: Shape) -> bool:
        return all(k in node for k in shape.required) and all(
            sum(k in node for k in group) == 1 for group in shape.one_of
        )


def bound_codes(shapes: Iterable[Shape]) -> dict[tuple[str, str], frozenset[str]]:
    """The value set of each coded element in the shapes, read from the models as `code_problems` reads it.

    Checks every shape against its model on the way (ShapeError).
    """
    from fhir.resources.R4B import get_fhir_model_class  # deferred: pydantic import cost

    out: dict[tuple[str, str], frozenset[str]] = {}
    for shape in shapes:
        _check_shape(shape, get_fhir_model_class(shape.type_name), out)
    return out


def _check_shape(shape: Shape, cls: Any, out: dict[tuple[str, str], frozenset[str]]) -> None:
    where = shape.type_name
    if cls.__name__ != where:
        raise ShapeError(f"{where} is described, the model is {cls.__name__}")
    fields = _fields(cls)
    blank = cls.model_construct()  # its methods name the required elements and the choices
    required = {n for n, info in fields.items() if info.is_required()}
    required |= {n for n, _ in blank.get_required_fields()}
    for name in sorted(required):
        if not (name in shape.elements and shape.elements[name].required):
            raise ShapeError(f"{where}.{name} is required by the model")
    for prefix, choices in blank.get_one_of_many_fields().items():
        described = tuple(c for c in choices if c in shape.elements)
        choice_required = fields[choices[0]].json_schema_extra.get("one_of_many_required") is True
        if (len(described) > 1 or (choice_required and described)) and described not in shape.one_of:
            raise ShapeError(f"{where}.{prefix}[x]: {described} must be a choice of exactly one")
        if choice_required and not described:
            raise ShapeError(f"{where}.{prefix}[x] is required by the model")
    for key, element in shape.elements.items():
        info = fields.get(key)
        if info is None:
            raise ShapeError(f"{where}.{key} is not an element of the model")
        if _is_list(info.annotation) != element.many:
            raise ShapeError(f"{where}.{key}: one value or a list, not as the model has it")
        if (where, key) in CONCEPT_CODES:
            raise ShapeError(f"{where}.{key}: a bound CodeableConcept, not checked here")
        if isinstance(element.kind, Shape):
            child = _element_class(info.annotation)
            if child is None:
                raise ShapeError(f"{where}.{key} is a primitive in the model")
            _check_shape(element.kind, child, out)
            continue
        if element.kind not in PRIMITIVES:
            raise ShapeError(f"{where}.{key}: no primitive form {element.kind!r}")
        fhir_type = FHIR_TYPE.get(element.kind, element.kind)
        declared = _primitive_name(info.annotation)
        if declared != fhir_type:
            raise ShapeError(f"{where}.{key} is a {declared} in the model, not a {fhir_type}")
        codes = allowed_codes(where, key, info)
        if codes is not None:
            out[(where, key)] = frozenset(codes)


def _is_list(annotation: Any) -> bool:
    if typing.get_origin(annotation) is list:
        return True
    return any(_is_list(a) for a in typing.get_args(annotation))


def _primitive_name(annotation: Any) -> str | None:
    """"code", "dateTime"...: the FHIR primitive type an annotation carries (its Annotated marker)."""
    stack = [annotation]
    while stack:
        current = stack.pop()
        for meta in getattr(current, "__metadata__", ()):
            name = meta.__name__ if isinstance(meta, type) else type(meta).__name__
            return name[:1].lower() + name[1:]
        stack.extend(typing.get_args(current))
    return None


@cache
def default_check() -> ShapeCheck:
    """The check of SHAPES (built once: it loads the models to read the value sets)."""
    return ShapeCheck()


def validate_emitted(resource: Mapping[str, Any]) -> dict[str, Any]:
    """As `validate_resource` (the same result, the same InvalidResource), cheaply for a resource of a known shape."""
    if default_check().fits(resource):
        return dict(resource)
    return validate_resource(resource)
