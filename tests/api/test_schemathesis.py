"""schemathesis fuzzes the app from its OpenAPI document: no input gives a 5xx.

Bounded (25 examples per operation), auth off, and no FHIR fetching: the
generated `fhirServer` values must go nowhere, so the allowlist is empty.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from cdshooks.app import create_app
from cdshooks.config import Settings
from tests.conftest import TEST_NOW

_FEEDBACK = Path(tempfile.mkdtemp(prefix="cdshooks-fuzz-")) / "feedback.sqlite3"
APP = create_app(Settings(now=TEST_NOW, auth_enabled=False, fhir_allowlist=(), feedback_db=str(_FEEDBACK)))
schema = schemathesis.openapi.from_wsgi("/openapi.json", APP)


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_no_server_errors(case):
    case.call_and_validate(checks=[not_a_server_error])
