"""PatientRecord: a normalized, read-only view of what the hook call gave us.

Built by `cdshooks.data.builder.build_record` from prefetch / FHIR fallback
resources and the hook context. Rules read only this; they never see raw
request JSON except `MedicationOrder.resource`, which is kept so a dose
suggestion can return the whole draft resource updated.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

if TYPE_CHECKING:  # data.observations reads Observations into the LabResults defined here
    from cdshooks.data.observations import ObservationIndex

from cdshooks.terminology.coding import Coding  # re-exported: the record's codings

T = TypeVar("T")
S = TypeVar("S")

# Statuses a MedicationRequest may have and still count as "on the drug".
ACTIVE_MED_STATUSES = frozenset({"active"})
# Intents of a record MedicationRequest that is not an order to give the drug
# (clinical-rules.md, "Orders that do not count"); drafts count whatever their intent.
NOT_ORDER_INTENTS = frozenset({"plan", "proposal"})

# Status vocabularies of the record: the builder (data.parsers) reads statuses with them, so a
# rule never sees a resource they drop and need not filter it again.
# Observation.status of a result that does not count; registered: ordered or received, no
# result yet (a pending result is not a result).
DROPPED_OBSERVATION_STATUSES = frozenset({"entered-in-error", "cancelled", "registered"})
# Condition.clinicalStatus codes that keep a Condition in `PatientRecord.conditions`.
ACTIVE_CLINICAL_STATUSES = frozenset({"active", "recurrence", "relapse"})
# verificationStatus codes that drop a Condition or an AllergyIntolerance altogether.
DROPPED_VERIFICATION_STATUSES = frozenset({"refuted", "entered-in-error"})
# Immunization.status of a vaccine that was not given.
DROPPED_IMMUNIZATION_STATUSES = frozenset({"entered-in-error", "not-done"})
# A MedicationAdministration with one of these statuses was never given (clinical-rules.md,
# Recent exposure); the other statuses are kept and the rules say which count.
DROPPED_ADMINISTRATION_STATUSES = frozenset({"entered-in-error", "not-done"})
# AllergyIntolerance.clinicalStatus values that mean it no longer applies (a missing status counts as active).
INACTIVE_ALLERGY_STATUSES = frozenset({"inactive", "resolved"})


class Derived:
    """`derived(compute, *args)`: compute(self, *args) once per object and args; it is immutable, so the
    value cannot go stale.

    The class declares the `_derived` dict field (compare=False: not part of its value).
    """

    _derived: dict[Any, Any]

    def derived(self: S, compute: Callable[..., T], *args: Hashable) -> T:
        key = (compute, *args) if args else compute
        try:
            return self._derived[key]  # type: ignore[attr-defined]
        except KeyError:
            value = self._derived[key] = compute(self, *args)  # type: ignore[attr-defined]
            return value


def best_name(texts: Iterable[str | None], codings: Iterable[Coding], default: str) -> str:
    """The first non-empty text, else the first coding display, else `default` (card labels)."""
    for t in texts:
        if t:
            return t
    for c in codings:
        if c.display:
            return c.display
    return default


@dataclass(frozen=True)
class Route:
    """One dosage instruction's route as sent: its codings and its own text."""

    codings: tuple[Coding, ...]
    text: str | None

    @property
    def name(self) -> str | None:
        """What to call it: its text, else the first coding display."""
        return self.text or next((c.display for c in self.codings if c.display), None)


@dataclass(frozen=True)
class MedicationOrder(Derived):
    """A MedicationRequest from the record or from draftOrders.

    names:  every human-readable name found (medicationCodeableConcept.text,
            coding displays, a contained or bundled Medication's code), for
            name matching when codes are missing or local.
    dosage_instructions: the raw `dosageInstruction` list (dicts); the dosing
            module computes daily doses from it.
    route_names: the names of its instructions' routes (each route's text, then
            its coding displays), read leniently by the builder.
    routes: each instruction's route that is a CodeableConcept, in order (for
            matching routes against a value set by code or name).
    course_end: the latest end of `dispenseRequest.validityPeriod` or of a
            `dosageInstruction.timing.repeat.boundsPeriod` (the last dose falls on
            or before it); None without either.
    """

    id: str | None
    status: str | None
    intent: str | None
    authored_on: datetime | None
    codings: tuple[Coding, ...]
    names: tuple[str, ...]
    dosage_instructions: tuple[Mapping[str, Any], ...]
    is_draft: bool = False
    selected: bool = True  # order-select: is this draft among `selections`?
    resource: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)
    # A vaccine drafted as an Immunization is read as an order too (live-vaccine rule).
    resource_type: str = "MedicationRequest"
    do_not_perform: bool = False  # MedicationRequest.doNotPerform: an order NOT to give the drug
    # Values computed from this order once per call (`derived`: several rules read one draft's dose).
    _derived: dict[Callable[..., Any], Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    # Read from the instructions when a rule asks (few orders are ever asked): not for every order read.
    @property
    def route_names(self) -> tuple[str, ...]:
        return self.derived(_route_parts)[0]

    @property
    def routes(self) -> tuple[Route, ...]:
        return self.derived(_route_parts)[1]

    @property
    def course_end(self) -> datetime | None:
        return self.derived(_course_end)

    @property
    def reference(self) -> str | None:
        return f"{self.resource_type}/{self.id}" if self.id else None

    @property
    def counts_as_order(self) -> bool:
        """False for a record order with doNotPerform, or intent plan/proposal; drafts always count."""
        if self.is_draft:
            return True
        return not self.do_not_perform and self.intent not in NOT_ORDER_INTENTS

    @property
    def label(self) -> str:
        """The best human-readable name for cards."""
        return best_name(self.names, self.codings, "unnamed medication")


@dataclass(frozen=True)
class Administration(Derived):
    """A MedicationAdministration: a drug given (or being given), not an order.

    Read like a MedicationOrder's medication (codes, names, a contained or bundled
    Medication), so the value sets match it the same way.
    given: when it was given: effectiveDateTime, else the end of effectivePeriod,
           else its start (an infusion still running); never None (an
           administration without a date is skipped when the record is built).
    dosage_instructions: the `dosage` element as a one-item tuple (empty without
           one), so the route checks written for orders read it too.
    """

    id: str | None
    status: str | None
    given: datetime
    codings: tuple[Coding, ...]
    names: tuple[str, ...]
    dosage_instructions: tuple[Mapping[str, Any], ...] = ()
    resource_type: str = "MedicationAdministration"
    _derived: dict[Callable[..., Any], Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    is_draft = False  # never in draftOrders: the matching and interaction code asks orders this
    selected = False

    @property
    def reference(self) -> str | None:
        return f"{self.resource_type}/{self.id}" if self.id else None

    @property
    def label(self) -> str:
        """The best human-readable name for cards."""
        return best_name(self.names, self.codings, "unnamed medication")


class LabResult(NamedTuple):
    """An Observation, as reported (unit conversion happens in terminology.units).

    effective: effectiveDateTime, else effectivePeriod.start/end, else issued.
    value / unit / unit_code / comparator: from valueQuantity (or a numeric
            valueString such as "<35").
    value_text: a text or coded result ("Detected", "Positive") lower-cased
            codes and text joined, for presence tests.
    """

    id: str | None
    codings: tuple[Coding, ...]
    status: str | None
    effective: datetime | None
    value: float | None = None
    unit: str | None = None
    unit_code: str | None = None
    comparator: str | None = None
    value_text: str | None = None
    value_codings: tuple[Coding, ...] = ()
    interpretation: tuple[Coding, ...] = ()
    text: str | None = None  # code.text, for tests with no LOINC (e.g. "PPD")
    # The upper limit of the normal range the lab reported (referenceRange.high), as sent.
    reference_high: float | None = None
    reference_high_unit: str | None = None
    # A NamedTuple, not a frozen dataclass: as immutable, and built in a third of the time
    # (a call reads a dozen results; a frozen dataclass sets each field through object.__setattr__).

    @property
    def loinc_codes(self) -> frozenset[str]:
        return frozenset(
            c.code for c in self.codings if c.code and c.system == "http://loinc.org"
        )

    @property
    def preliminary(self) -> bool:
        return self.status == "preliminary"


class Problem(NamedTuple):
    """A Condition that is not refuted (in `PatientRecord.conditions`: clinically active too)."""

    id: str | None
    codings: tuple[Coding, ...]
    text: str | None
    clinical_status: str | None
    verification_status: str | None
    onset: datetime | None = None
    recorded: datetime | None = None
    inactive: bool = False  # clinicalStatus inactive / resolved / remission (only in condition_history)


@dataclass(frozen=True)
class Vaccination:
    id: str | None
    codings: tuple[Coding, ...]
    status: str | None
    occurrence: datetime | None
    text: str | None = None


class Allergy(NamedTuple):
    """An AllergyIntolerance that may still apply: clinically active (or unstated), not refuted.

    codings: the substance code and each reaction's substance code.
    texts:   code.text, coding displays and reaction substance texts, for matching
             allergies recorded as free text ("sulfa"); manifestations are not read
             (a rash names no substance).
    """

    id: str | None
    codings: tuple[Coding, ...]
    texts: tuple[str, ...]
    clinical_status: str | None
    verification_status: str | None
    criticality: str | None = None
    recorded: datetime | None = None

    @property
    def label(self) -> str:
        """The best human-readable name for cards."""
        return best_name(self.texts, self.codings, "allergy (no name recorded)")


@dataclass(frozen=True)
class SkippedResource:
    """A resource that could not be read; recorded, never fatal."""

    resource_type: str | None
    id: str | None
    reason: str


@dataclass(frozen=True)
class PatientRecord(Derived):
    """Everything the rules may read about one patient at one moment.

    medications:  the record's MedicationRequests (all statuses; rules filter), minus
                  the orders that do not count (doNotPerform, intent plan/proposal),
                  which the builder lists in `skipped`.
    drafts:       MedicationRequests from draftOrders (order-select/sign).
    observations: the Observations in a `data.observations.ObservationIndex` (the
                  only kind), which reads each result only when it is first asked
                  for; entered-in-error, cancelled and registered ones are never indexed.
    conditions:   clinically active and not refuted / entered-in-error.
    allergies:    AllergyIntolerances active (or with no clinical status) and not
                  refuted / entered-in-error; the optional `allergies` prefetch key
                  (when it could not be had, "allergies" is in `unavailable`).
    administrations: MedicationAdministrations with a date, minus not-done and
                  entered-in-error (rules filter the other statuses); the optional
                  `administrations` prefetch key (when it could not be had,
                  "administrations" is in `unavailable`).
    unavailable:  prefetch keys whose data could not be had (rules that need
                  them stay silent or say what they could not check).
    """

    patient_id: str
    now: datetime
    birth_date: date | None = None
    sex: str | None = None
    medications: tuple[MedicationOrder, ...] = ()
    drafts: tuple[MedicationOrder, ...] = ()
    observations: ObservationIndex = field(kw_only=True)
    conditions: tuple[Problem, ...] = ()
    # Every Condition that is not refuted or entered in error, whatever its clinicalStatus:
    # a history of malignancy or of diverticulitis counts when resolved (clinical-rules.md).
    condition_history: tuple[Problem, ...] = ()
    immunizations: tuple[Vaccination, ...] = ()
    allergies: tuple[Allergy, ...] = ()
    administrations: tuple[Administration, ...] = ()
    skipped: tuple[SkippedResource, ...] = ()
    unavailable: frozenset[str] = frozenset()
    # "year" | "month" | "day": a partial birthDate ("1980", "1980-05") is
    # stored as its first possible day, so `age` may be up to a year too high.
    birth_date_precision: str | None = None
    # Values computed from this record once per call (see `derived`); not part of its value.
    _derived: dict[Callable[..., Any], Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    @property
    def age(self) -> int | None:
        if self.birth_date is None:
            return None
        today = self.now.date()
        years = today.year - self.birth_date.year
        if (today.month, today.day) < (self.birth_date.month, self.birth_date.day):
            years -= 1
        return years

    @property
    def selected_drafts(self) -> tuple[MedicationOrder, ...]:
        return tuple(d for d in self.drafts if d.selected)


def _route_parts(order: MedicationOrder) -> tuple[tuple[str, ...], tuple[Route, ...]]:
    from cdshooks.data.parsers import read_routes  # deferred: the parsers build this module's values

    return read_routes(order.dosage_instructions)


def _course_end(order: MedicationOrder) -> datetime | None:
    from cdshooks.data.parsers import course_end  # deferred: the parsers build this module's values

    return course_end(order.resource, order.dosage_instructions)
