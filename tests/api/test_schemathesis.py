"""schemathesis fuzzes the app from its OpenAPI document with every check: schema and behaviour agree.

All of schemathesis's checks run (no 5xx, status codes, content types, headers
and bodies as documented, schema-valid requests accepted, schema-violating ones
refused, unsupported methods refused with Allow, authentication enforced), on
positive and negative data, in-process (WSGI), bounded and derandomized.

Authentication is on, as in production: every generated request carries a fresh
ES384 JWT from a trusted issuer (new `jti`, `aud` the URL called), so the auth
checks can strip or break it and expect the documented 401. No FHIR fetching:
with authentication on and no allowlist configured, nothing is ever called.

Two expectations are set where the document cannot say more:
- a schema-valid hook call may get 412: CDS Hooks requires it when required data
  was neither prefetched nor fetchable, which no schema can express;
- schema-violating feedback may get 413: more entries than the cap (maxItems)
  is answered 413 as documented.
Schema-valid calls are adjusted before sending, and stay schema-valid: each
order-select selection names an entry of draftOrders (a cross-field rule JSON
Schema cannot state; otherwise the documented 400), and prefetch keys the call
lacks are sent as null (no data), so that most calls reach the clinical rules
and their cards are checked against the response schema.
"""

from __future__ import annotations

import json
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import unquote

import jwt
import schemathesis
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import HealthCheck, settings
from jwt.algorithms import ECAlgorithm
from schemathesis import GenerationMode
from schemathesis.config import SchemathesisConfig

from cdshooks.app import create_app
from cdshooks.config import Settings
from cdshooks.protocol import _draft_keys
from cdshooks.services import SERVICES
from tests.conftest import TEST_NOW

BASE_URL = "http://localhost"  # where schemathesis's WSGI transport sends requests
ISSUER = "https://ehr.example.org"
KID = "fuzz-es384"
KEY = ec.generate_private_key(ec.SECP384R1())
MAX_EXAMPLES = 30  # per operation and phase; about a minute in all on two busy cores

_DIR = Path(tempfile.mkdtemp(prefix="cdshooks-fuzz-"))
_JWK = {**json.loads(ECAlgorithm.to_jwk(KEY.public_key())), "kid": KID, "use": "sig", "alg": "ES384"}
(_DIR / "issuers.json").write_text(json.dumps({"issuers": [{"iss": ISSUER, "jwks": {"keys": [_JWK]}}]}))
APP = create_app(
    Settings(
        now=TEST_NOW,
        auth_enabled=True,
        public_base_url=BASE_URL,
        trusted_issuers_file=str(_DIR / "issuers.json"),
        jti_cache="memory",
        fhir_allowlist=(),
        feedback_db=str(_DIR / "feedback.sqlite3"),
    )
)
CONFIG = SchemathesisConfig.from_dict(
    {
        "operations": [
            {
                "include-path-regex": "^/cds-services/tofacitinib-[a-z-]+$",
                "checks": {"positive_data_acceptance": {"expected-statuses": ["2xx", "412"]}},
            },
            {
                "include-path": "/cds-services/{serviceId}/feedback",
                "checks": {"negative_data_rejection": {"expected-statuses": ["400", "401", "404", "413", "415"]}},
            },
        ]
    }
)
schema = schemathesis.openapi.from_wsgi("/openapi.json", APP, config=CONFIG)


def token_for(path: str) -> str:
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": BASE_URL + path, "iat": now, "exp": now + 300, "jti": str(uuid.uuid4())}
    return jwt.encode(claims, KEY, algorithm="ES384", headers={"kid": KID, "typ": "JWT"})


@schema.auth(refresh_interval=None)  # a token per request: a jti is accepted once
class FreshToken:
    def get(self, case, context):
        return token_for(unquote(case.formatted_path))  # `aud` is the URL as the service sees it

    def set(self, case, data, context):
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


def select_existing_drafts(case) -> None:
    """A schema-valid order-select call whose selections name entries of draftOrders (still schema-valid)."""
    if not case.operation.path.endswith("-order-select") or case.meta is None:
        return
    if case.meta.generation.mode != GenerationMode.POSITIVE or not isinstance(case.body, dict):
        return
    context = case.body.get("context")
    if not isinstance(context, dict) or not isinstance(context.get("draftOrders"), dict):
        return
    selections = context.get("selections")
    if not isinstance(selections, list):
        return
    keys = _draft_keys(context["draftOrders"])
    if keys:
        first = next(iter(keys))
        context["selections"] = [s if s in keys else first for s in selections]
    else:  # no draft has a name: add one per selection, named by its fullUrl (within maxItems)
        entries = context["draftOrders"].get("entry") or []
        room = Settings().max_draft_orders - len(selections)
        context["draftOrders"]["entry"] = entries[:room] + [
            {"fullUrl": s, "resource": {"resourceType": "MedicationRequest", "status": "draft"}} for s in selections
        ]


def prefetch_what_is_missing_as_no_data(case) -> None:
    """A schema-valid hook call with every prefetch key present (null = no data), so most reach the rules."""
    if case.meta is None or case.meta.generation.mode != GenerationMode.POSITIVE or not isinstance(case.body, dict):
        return
    service = SERVICES.get(case.operation.path.rsplit("/", 1)[-1])
    prefetch = case.body.get("prefetch")
    if service is None or not (prefetch is None or isinstance(prefetch, dict)):
        return
    case.body["prefetch"] = {key: None for key in service.prefetch} | (prefetch or {})


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True, database=None)
def test_the_service_behaves_as_its_openapi_document_says(case):
    select_existing_drafts(case)
    prefetch_what_is_missing_as_no_data(case)
    case.call_and_validate()  # every check


def test_every_operation_is_fuzzed():
    operations = {f"{op.method.upper()} {op.path}" for op in (r.ok() for r in schema.get_all_operations())}
    assert {f"POST /cds-services/{sid}" for sid in SERVICES} <= operations
    assert {"GET /cds-services", "POST /cds-services/{serviceId}/feedback", "GET /healthz"} <= operations


def _operations():
    from cdshooks.web.openapi import document

    for path, methods in document()["paths"].items():
        for method, op in methods.items():
            yield path.replace("{serviceId}", next(iter(SERVICES))), method, op


def test_with_auth_on_every_secured_operation_answers_the_documented_401_without_a_token():
    """The fuzz run strips and breaks tokens too; this says it plainly, operation by operation."""
    client = APP.test_client()
    for path, method, op in _operations():
        resp = client.open(path, method=method.upper(), json={} if method == "post" else None)
        if op["security"]:
            assert resp.status_code == 401, (method, path)
            assert "content" not in op["responses"]["401"] and resp.get_data() == b"", (method, path)  # bare, as documented
            assert resp.headers["WWW-Authenticate"] == "Bearer"
            other = token_for("/cds-services/elsewhere")  # trusted, but for another URL
            wrong_aud = client.open(path, method=method.upper(), json={}, headers={"Authorization": f"Bearer {other}"})
            assert wrong_aud.status_code == 401, (method, path)
        else:
            assert resp.status_code != 401, (method, path)
