"""Input limits on parsed requests: nesting, prefetch and draft order counts, echoed strings."""

from __future__ import annotations

import pytest

from cdshooks.config import Settings
from cdshooks.web.limits import (
    MAX_COMMENT_LENGTH,
    InputLimitExceeded,
    check_limits,
    nesting_depth_exceeds,
    prefetch_entry_count,
)

SETTINGS = Settings(max_json_depth=10, max_prefetch_entries=5, max_draft_orders=2, max_id_length=40)


def nested(depth: int):
    value: object = "leaf"
    for _ in range(depth):
        value = [value]
    return value


def bundle(n: int) -> dict:
    return {"resourceType": "Bundle", "entry": [{"resource": {"resourceType": "Observation"}}] * n}


def hook_request(**over) -> dict:
    body = {
        "hook": "order-select",
        "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
        "context": {
            "userId": "Practitioner/1",
            "patientId": "p1",
            "draftOrders": {"resourceType": "Bundle", "entry": [{"resource": {"id": "mr1"}}]},
        },
        "prefetch": {"patient": {"resourceType": "Patient", "id": "p1"}, "labs": bundle(2)},
    }
    body.update(over)
    return body


def test_depth_counts_containers():
    assert not nesting_depth_exceeds(nested(10), 10)
    assert nesting_depth_exceeds(nested(11), 10)
    assert not nesting_depth_exceeds("scalar", 0)
    assert nesting_depth_exceeds(nested(100_000), 64)  # no RecursionError


def test_valid_request_passes():
    check_limits(hook_request(), SETTINGS)


def test_too_deep():
    with pytest.raises(InputLimitExceeded) as exc:
        check_limits({"context": nested(20)}, SETTINGS)
    assert exc.value.status == 400
    assert exc.value.response().get_json()["resourceType"] == "OperationOutcome"


def test_prefetch_entries():
    assert prefetch_entry_count(hook_request()["prefetch"]) == 3
    check_limits(hook_request(prefetch={"a": bundle(5)}), SETTINGS)
    with pytest.raises(InputLimitExceeded, match="prefetch"):
        check_limits(hook_request(prefetch={"a": bundle(4), "b": bundle(1), "c": None, "p": {}}), SETTINGS)


def test_draft_orders():
    orders = {"resourceType": "Bundle", "entry": [{"resource": {"id": str(i)}} for i in range(3)]}
    with pytest.raises(InputLimitExceeded, match="draft orders"):
        check_limits(hook_request(context={"draftOrders": orders}), SETTINGS)


@pytest.mark.parametrize(
    "body, expression",
    [
        (hook_request(hookInstance="x" * 41), "hookInstance"),
        (hook_request(context={"patientId": "p" * 41}), "context.patientId"),
        (
            hook_request(context={"draftOrders": {"entry": [{"resource": {"id": "i" * 41}}]}}),
            "context.draftOrders.entry[0].resource.id",
        ),
        ({"feedback": [{"card": "c" * 41}]}, "feedback[0].card"),
        ({"feedback": [{"card": "c", "acceptedSuggestions": [{"id": "s" * 41}]}]}, "feedback[0].acceptedSuggestions[0].id"),
        (
            {"feedback": [{"card": "c", "overrideReason": {"userComment": "u" * (MAX_COMMENT_LENGTH + 1)}}]},
            "feedback[0].overrideReason.userComment",
        ),
    ],
)
def test_long_echoed_strings(body, expression):
    with pytest.raises(InputLimitExceeded) as exc:
        check_limits(body, SETTINGS)
    assert exc.value.expression == expression


@pytest.mark.parametrize(
    "body",
    [None, [], "text", 3, {"context": "x"}, {"prefetch": []}, {"context": {"draftOrders": {"entry": "x"}}},
     {"feedback": "x"}, {"feedback": [1, {"acceptedSuggestions": 3}]}, {"hookInstance": 7}],
)
def test_wrong_types_are_left_to_validation(body):
    check_limits(body, SETTINGS)
