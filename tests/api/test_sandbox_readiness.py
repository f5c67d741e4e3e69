"""What the public CDS Hooks sandbox actually sends gets a fast, quiet answer, never a 400 or 500.

Observed traffic: CORS preflights for `authorization,content-type`; a discovery
GET and every POST with an ES384 JWT (`kid`, `jku`, `aud` = the URL called,
`exp` = iat + 300); order-select on every form change, the first draft with no
medication and no intent; `reasonCode` / `category` as single objects; order-sign
drafts without `selections`; `fhirServer` without `fhirAuthorization`.
"""

from __future__ import annotations

import json
import time
import uuid

import jwt
import pytest
import responses
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

from cdshooks.services import SERVICES, prefetch_templates
from tests import fixturekit as k

SANDBOX = "https://sandbox.cds-hooks.org"
SANDBOX_KID = "44823f3d-0b01-4a6c-a80e-b9d3e8a7226f"
SANDBOX_JKU = f"{SANDBOX}/.well-known/jwks.json"
SELECT = "/cds-services/tofacitinib-order-select"
SIGN = "/cds-services/tofacitinib-order-sign"
QUIET_WITH_PRODUCT = {"dose-unverified"}


def topics(resp) -> list[str]:
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return sorted(c["source"]["topic"]["code"] for c in resp.get_json()["cards"])


def sandbox_draft(**fields) -> dict:
    """A draft as the sandbox's Rx View builds it: status draft, the patient, whatever was filled in."""
    return {"resourceType": "MedicationRequest", "id": "request-123", "status": "draft",
            "subject": {"reference": f"Patient/{k.PATIENT_ID}"}, **fields}  # fmt: skip


def tofacitinib_concept() -> dict:
    code, name = k.TOFA_5MG
    return {"coding": [{"system": k.RXNORM, "code": code, "display": name}], "text": name}


# --- CORS preflight -----------------------------------------------------------------


@pytest.mark.parametrize("path", ["/cds-services", SELECT, "/cds-services/tofacitinib-patient-view/feedback"])
def test_preflight_for_authorization_and_content_type(make_app, path):
    client = make_app(auth_enabled=True).test_client()  # preflights never carry the JWT
    resp = client.options(
        path,
        headers={
            "Origin": SANDBOX,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type",
        },
    )
    assert 200 <= resp.status_code < 300
    assert resp.headers["Access-Control-Allow-Origin"] in {"*", SANDBOX}
    allowed = {h.strip().lower() for h in resp.headers["Access-Control-Allow-Headers"].split(",")}
    assert {"authorization", "content-type"} <= allowed
    assert "POST" in resp.headers["Access-Control-Allow-Methods"]


# --- order-select on every form change ------------------------------------------------


def test_first_draft_without_medication_or_intent_is_quiet(client):
    req = k.order_select([sandbox_draft()])
    assert topics(client.post(SELECT, json=req)) == []


def test_product_chosen_without_dose_gives_at_most_dose_unverified(client):
    req = k.order_select([sandbox_draft(medicationCodeableConcept=tofacitinib_concept())])
    assert set(topics(client.post(SELECT, json=req))) <= QUIET_WITH_PRODUCT


def test_product_with_intent_and_no_dose_gives_at_most_dose_unverified(client):
    req = k.order_select([sandbox_draft(intent="order", medicationCodeableConcept=tofacitinib_concept())])
    assert set(topics(client.post(SELECT, json=req))) <= QUIET_WITH_PRODUCT


def test_reason_code_and_category_as_single_objects_change_nothing(client):
    clean = k.tofacitinib_draft()
    sloppy = {**clean, "reasonCode": {"text": "ILD in dermatomyositis"}, "category": {"text": "outpatient"}}
    assert topics(client.post(SELECT, json=k.order_select([sloppy]))) == topics(
        client.post(SELECT, json=k.order_select([clean]))
    )


def test_unrelated_draft_is_quiet(client):
    draft = sandbox_draft(intent="order", medicationCodeableConcept={"text": "acetaminophen 500 MG Oral Tablet"})
    assert topics(client.post(SELECT, json=k.order_select([draft]))) == []


# --- order-sign ---------------------------------------------------------------------


def test_order_sign_without_selections(client):
    req = k.order_sign([k.tofacitinib_draft()])
    assert "selections" not in req["context"]
    assert client.post(SIGN, json=req).status_code == 200


def test_order_sign_with_an_empty_draft_is_quiet(client):
    assert topics(client.post(SIGN, json=k.order_sign([sandbox_draft()]))) == []


# --- fhirServer without fhirAuthorization ----------------------------------------------

OPEN_SERVER = "https://open-fhir.example.org/r4"


@responses.activate
def test_open_allowlisted_server_is_read_without_a_token(make_app):
    data = k.prefetch(k.base_resources())
    for key, template in prefetch_templates().items():
        path = template.replace("{{context.patientId}}", k.PATIENT_ID).split("?")[0]
        responses.get(f"{OPEN_SERVER}/{path}", json=data[key])
    client = make_app(fhir_allowlist=(OPEN_SERVER,)).test_client()
    req = k.order_select([sandbox_draft()])
    del req["prefetch"]
    req["fhirServer"] = OPEN_SERVER

    assert topics(client.post(SELECT, json=req)) == []
    assert len(responses.calls) >= len(SERVICES["tofacitinib-order-select"].required_prefetch)
    assert all("Authorization" not in call.request.headers for call in responses.calls)


# --- the sandbox's JWT -------------------------------------------------------------------


@pytest.fixture(scope="module")
def sandbox_like_key():
    """Our own P-384 key under the sandbox's kid (the sandbox's private key is not in this repository)."""
    return ec.generate_private_key(ec.SECP384R1())


def sandbox_token(key, aud: str) -> str:
    now = int(time.time())
    payload = {"iss": SANDBOX, "aud": aud, "iat": now, "exp": now + 300, "jti": str(uuid.uuid4())}
    headers = {"kid": SANDBOX_KID, "jku": SANDBOX_JKU, "typ": "JWT"}
    return jwt.encode(payload, key, algorithm="ES384", headers=headers)


@pytest.fixture
def sandbox_trusting_app(make_app, sandbox_like_key, tmp_path):
    jwk = json.loads(ECAlgorithm.to_jwk(sandbox_like_key.public_key()))
    issuers = {"issuers": [{"iss": SANDBOX, "jwks": {"keys": [{**jwk, "kid": SANDBOX_KID, "alg": "ES384", "use": "sig"}]},
                            "jku_allowlist": [SANDBOX_JKU]}]}  # fmt: skip
    path = tmp_path / "issuers.json"
    path.write_text(json.dumps(issuers))
    return make_app(auth_enabled=True, trusted_issuers_file=str(path), public_base_url="https://cds.example.org")


@responses.activate  # no network: the static key set must suffice
def test_sandbox_style_es384_token_verifies_for_discovery_and_calls(sandbox_trusting_app, sandbox_like_key):
    client = sandbox_trusting_app.test_client()
    base = "https://cds.example.org"
    discovery = client.get("/cds-services", headers={"Authorization": f"Bearer {sandbox_token(sandbox_like_key, base + '/cds-services')}"})
    assert discovery.status_code == 200
    call = client.post(
        SELECT,
        json=k.order_select([sandbox_draft()]),
        headers={"Authorization": f"Bearer {sandbox_token(sandbox_like_key, base + SELECT)}"},
    )
    assert topics(call) == []


def test_token_for_another_endpoint_is_refused(sandbox_trusting_app, sandbox_like_key):
    token = sandbox_token(sandbox_like_key, "https://cds.example.org/cds-services")
    resp = sandbox_trusting_app.test_client().post(
        SELECT, json=k.order_select([sandbox_draft()]), headers={"Authorization": f"Bearer {token}"}
    )
    assert resp.status_code == 401


@responses.activate
def test_shipped_sandbox_keys_reject_a_token_from_another_key(make_app, sandbox_like_key):
    # CDSHOOKS_TRUST_SANDBOX trusts the sandbox's *published* key only, not any key claiming its kid.
    responses.get(SANDBOX_JKU, json={"keys": []})
    app = make_app(auth_enabled=True, trust_sandbox=True, public_base_url="https://cds.example.org")
    token = sandbox_token(sandbox_like_key, "https://cds.example.org/cds-services")
    assert app.test_client().get("/cds-services", headers={"Authorization": f"Bearer {token}"}).status_code == 401
