"""Signing keys generated per session and a token factory for the JWT tests."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from flask import Flask, jsonify
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from cdshooks.config import Settings
from cdshooks.web import auth

BASE_URL = "https://cds.example.org"
ISS = "https://ehr.example.org"
SERVICE_PATH = "/cds-services/tofacitinib-order-select"
JWKS_URL = "https://ehr.example.org/.well-known/jwks.json"


@dataclass(frozen=True)
class SigningKey:
    """A CDS client's key pair and the public JWK it publishes."""

    alg: str
    kid: str
    private: Any

    def public_jwk(self, **extra: Any) -> dict[str, Any]:
        algo = ECAlgorithm if self.alg.startswith("ES") else RSAAlgorithm
        jwk = json.loads(algo.to_jwk(self.private.public_key()))
        return {**jwk, "kid": self.kid, "use": "sig", "alg": self.alg, **extra}

    def jwks(self) -> dict[str, Any]:
        return {"keys": [self.public_jwk()]}


@pytest.fixture(scope="session")
def es384() -> SigningKey:
    return SigningKey("ES384", "ec-key-1", ec.generate_private_key(ec.SECP384R1()))


@pytest.fixture(scope="session")
def rs384() -> SigningKey:
    return SigningKey("RS384", "rsa-key-1", rsa.generate_private_key(public_exponent=65537, key_size=2048))


def claims(aud: str | list[str] = BASE_URL + SERVICE_PATH, **overrides: Any) -> dict[str, Any]:
    """A valid claim set for a call to the order-select service; override any claim."""
    now = int(time.time())
    base = {"iss": ISS, "aud": aud, "iat": now, "exp": now + 300, "jti": str(uuid.uuid4())}
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def sign(key: SigningKey, payload: dict[str, Any] | None = None, **headers: Any) -> str:
    """A JWT signed with the key (header: alg, kid, typ JWT, plus `headers`)."""
    header = {"kid": key.kid, "typ": "JWT", **headers}
    return jwt.encode(payload or claims(), key.private, algorithm=key.alg, headers=header)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def write_issuers(tmp_path: Path, *issuers: dict[str, Any]) -> str:
    path = tmp_path / "issuers.json"
    path.write_text(json.dumps({"issuers": list(issuers)}))
    return str(path)


def assert_no_token_material(token: str, *texts: str) -> None:
    """Neither the token nor any of its parts nor its jti appears in the texts."""
    parts = [p for p in token.split(".") if len(p) >= 8]
    secrets = [token, *parts]
    try:
        secrets.append(jwt.decode(token, options={"verify_signature": False})["jti"])
    except Exception:
        pass
    for text in texts:
        for secret in secrets:
            assert secret not in text


def tiny_app(settings: Settings) -> Flask:
    """A minimal app with the security layer and routes shaped like the real ones."""
    app = Flask(__name__)
    auth.init_app(app, settings)

    @app.get("/cds-services")
    def discovery():
        return jsonify(services=[])

    @app.post("/cds-services/<service_id>")
    def service(service_id: str):
        return jsonify(cards=[{"summary": "x"}])

    @app.get("/healthz")
    def health():
        return jsonify(status="ok")

    app.testing = True
    return app


@pytest.fixture
def auth_settings(tmp_path: Path, es384: SigningKey) -> Settings:
    """Auth on; one issuer with a static ES384 key; in-memory jti cache."""
    issuers = write_issuers(tmp_path, {"iss": ISS, "jwks": es384.jwks()})
    return Settings(
        auth_enabled=True,
        public_base_url=BASE_URL,
        trusted_issuers_file=issuers,
        jti_cache="memory",
        feedback_db=str(tmp_path / "feedback.sqlite3"),
    )


@pytest.fixture
def make_auth_app(auth_settings: Settings):
    """tiny_app(auth_settings with overrides)."""

    def build(**overrides: Any) -> Flask:
        return tiny_app(replace(auth_settings, **overrides))

    return build


@pytest.fixture(scope="session")
def gunicorn_server(tmp_path_factory):
    """The service under a real gunicorn (one worker, auth off) on a free loopback port."""
    from tests.gunicorn_server import GunicornServer

    server = GunicornServer(tmp_path_factory.mktemp("gunicorn")).start()
    try:
        yield server
    finally:
        server.stop()
