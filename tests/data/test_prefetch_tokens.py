"""Prefetch template tokens: context fields and user identifiers, URL-encoded."""

from __future__ import annotations

import pytest

from cdshooks.data.gather import resolve_template

CONTEXT = {
    "patientId": "p1",
    "encounterId": "e 1&x=2",
    "userId": "Practitioner/dr-1",
    "draftOrders": {"resourceType": "Bundle"},
    "flag": True,
    "count": 3,
}


@pytest.mark.parametrize(
    "template, expected",
    [
        ("Patient/{{context.patientId}}", "Patient/p1"),
        ("Condition?patient={{ context.patientId }}", "Condition?patient=p1"),
        ("Encounter?_id={{context.encounterId}}", "Encounter?_id=e%201%26x%3D2"),
        ("{{context.userId}}", "Practitioner/dr-1"),  # a reference keeps its slash: a read
        ("Practitioner/{{userPractitionerId}}", "Practitioner/dr-1"),
        ("X?n={{context.count}}", "X?n=3"),
        ("Observation?patient={{context.patientId}}&code=1-8,2-6", "Observation?patient=p1&code=1-8,2-6"),
    ],
)
def test_tokens_are_filled_and_encoded(template, expected):
    assert resolve_template(template, CONTEXT) == expected


@pytest.mark.parametrize(
    "template",
    [
        "Encounter/{{context.missing}}",
        "X?{{context.draftOrders}}",  # not a primitive
        "X?{{context.draftOrders.id}}",  # not root-level
        "X?{{context.flag}}",
        "PractitionerRole?_id={{userPractitionerRoleId}}",  # the user is a Practitioner
        "X?{{somethingElse}}",
        "X?{{context.patientId}",
    ],
)
def test_unresolvable_tokens_make_the_key_unfetchable(template):
    assert resolve_template(template, CONTEXT) is None


def test_path_injection_in_a_context_value_is_encoded():
    assert resolve_template("Patient/{{context.patientId}}", {"patientId": "1?_format=xml"}) == "Patient/1%3F_format%3Dxml"
