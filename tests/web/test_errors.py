"""The one error map: domain exceptions raised anywhere below a view become OperationOutcome responses."""

from __future__ import annotations

import pytest
from flask import Flask

from cdshooks.data.gather import DataUnavailable
from cdshooks.feedback import TooManyEntries
from cdshooks.protocol import InvalidRequest
from cdshooks.web.errors import register_error_handlers
from cdshooks.web.limits import InputLimitExceeded

RAISED = {
    "invalid": InvalidRequest("context.userId is required.", "context.userId"),
    "too-many": TooManyEntries("At most 2 feedback entries per request.", "feedback"),
    "unavailable": DataUnavailable({"patient": "not prefetched"}, {"conditions": "no fhirServer"}),
    "too-large": InputLimitExceeded("longer than 64 characters", expression="hookInstance"),
    "bug": RuntimeError("secret detail of a bug"),
}


@pytest.fixture
def client():
    app = Flask(__name__)
    register_error_handlers(app)

    @app.get("/raise/<name>")
    def raise_it(name: str):
        raise RAISED[name]

    return app.test_client()


@pytest.mark.parametrize(
    ("name", "status", "code", "expression"),
    [
        ("invalid", 400, "invalid", ["context.userId"]),
        ("too-many", 413, "too-costly", ["feedback"]),
        ("unavailable", 412, "incomplete", ["prefetch.patient"]),
        ("too-large", 400, "too-costly", ["hookInstance"]),
    ],
)
def test_each_domain_exception_has_its_status_and_issue(client, name, status, code, expression):
    resp = client.get(f"/raise/{name}")
    assert resp.status_code == status
    body = resp.get_json()
    assert body["resourceType"] == "OperationOutcome"
    assert body["issue"][0]["code"] == code
    assert body["issue"][0]["expression"] == expression


def test_a_412_names_the_optional_keys_too(client):
    issues = client.get("/raise/unavailable").get_json()["issue"]
    assert [(i["severity"], i["expression"]) for i in issues] == [
        ("error", ["prefetch.patient"]),
        ("warning", ["prefetch.conditions"]),
    ]


def test_a_bug_is_a_bare_500_without_its_message(client):
    resp = client.get("/raise/bug")
    assert resp.status_code == 500
    assert "secret" not in resp.get_data(as_text=True)
