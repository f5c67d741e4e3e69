"""Get a serving process ready before its first request.

Rules, value sets, card templates and the FHIR models used to validate
suggestions are loaded lazily; a server loads them up front instead, so the
first clinician does not wait for them. Then the heap is frozen for the
garbage collector: these long-lived objects are never collected, and without
the freeze every full collection walks them again (measured here: p99 of an
order-select with 200 resources ~17 ms without, ~6.5 ms with `gc.freeze()`).

The collector also runs less often. A hook call allocates tens of thousands of
containers (the parsed body) that all die by reference counting when it ends;
at the default threshold (700) the collector ran dozens of times per call and
traversed them while they were still in use (about a sixth of the parse time,
measured). With GC_THRESHOLD it runs every few calls, when they are gone; the
few reference cycles a call leaves wait that long.
"""

from __future__ import annotations

import gc

from cdshooks import cards
from cdshooks.clinical import engine
from cdshooks.fhir_shapes import default_check
from cdshooks.fhir_validation import validate_resource
from cdshooks.terminology import lookup

GC_THRESHOLD = (100_000, 50, 100)  # allocations between young collections; then as gc.set_threshold

# The resource types suggestions carry, so their models are imported and built now
# (the shapes of cdshooks.fhir_shapes are checked against the same models).
_SAMPLES = (
    {
        "resourceType": "ServiceRequest",
        "status": "draft",
        "intent": "order",
        "code": {"text": "warm-up"},
        "subject": {"reference": "Patient/warm-up"},
    },
    {
        "resourceType": "MedicationRequest",
        "status": "draft",
        "intent": "order",
        "medicationCodeableConcept": {"text": "warm-up"},
        "subject": {"reference": "Patient/warm-up"},
    },
)


def prepare_for_serving() -> None:
    """Load everything a hook call needs, then freeze the heap (call once per process)."""
    engine.load_rules()
    for name in lookup.available():
        lookup.load(name)
    cards.evidence()
    for topic in cards.topics():
        cards.template(topic)
    for sample in _SAMPLES:  # the full validation, which a resource outside the shapes takes
        validate_resource(sample)
    default_check()
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLD)
