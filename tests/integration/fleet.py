"""Several real gunicorn instances sharing one PostgreSQL database, with authentication on.

Each instance is what one host of a scaled-out deployment runs: its own gunicorn
master and workers on its own loopback port, `CDSHOOKS_DATABASE_URL` naming the
shared database, and the trusted issuer of `jwt_kit` (a static ES384 key). Every
call carries a fresh token (its own `jti`) unless a test passes one in.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
import requests

from tests.gunicorn_server import GunicornServer
from tests.jwt_kit import BASE_URL, ISS, SigningKey, bearer, claims, write_issuers

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = ROOT / "fixtures" / "hook-scope-tofacitinib-renewal-age-69-alc-650" / "scenario.json"
SERVICE = "tofacitinib-order-select"
HOOK_PATH = f"/cds-services/{SERVICE}"
FEEDBACK_PATH = f"{HOOK_PATH}/feedback"
REASON_SYSTEM = "urn:tofacitinib-cds:override-reason"


def scenario() -> dict[str, Any]:
    """The fixture scenario (5 cards on order-select at its asOf)."""
    return json.loads(SCENARIO.read_text(encoding="utf-8"))


def instance(tmp: Path, database_url: str, key: SigningKey, *, workers: int = 2, **env: str) -> GunicornServer:
    """One instance (not started) on the shared database, trusting `key` for `jwt_kit.ISS`."""
    tmp.mkdir(parents=True, exist_ok=True)
    issuers = write_issuers(tmp, {"iss": ISS, "jwks": key.jwks()})
    return GunicornServer(
        tmp,
        workers=workers,
        CDSHOOKS_AUTH="1",
        CDSHOOKS_PUBLIC_BASE_URL=BASE_URL,  # every instance checks the same `aud`: the proxy's URL
        CDSHOOKS_TRUSTED_ISSUERS=issuers,
        CDSHOOKS_DATABASE_URL=database_url,
        CDSHOOKS_DB_UPGRADE_ON_START="1",
        CDSHOOKS_NOW=scenario()["asOf"],
        **env,
    )


def token(key: SigningKey, path: str, **overrides: Any) -> str:
    """A token for one call to `path` (a new jti unless given)."""
    return jwt.encode(claims(aud=BASE_URL + path, **overrides), key.private, algorithm=key.alg,
                      headers={"kid": key.kid, "typ": "JWT"})  # fmt: skip


@dataclass(frozen=True)
class Client:
    """Calls one instance with a fresh token per call."""

    server: GunicornServer
    key: SigningKey

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.port}{path}"

    def post(self, path: str, body: dict[str, Any], *, jwt_token: str | None = None,
             timeout: float = 30) -> requests.Response:  # fmt: skip
        headers = bearer(jwt_token or token(self.key, path))
        # A new connection per call: no keep-alive socket survives an instance being killed.
        return requests.post(self.url(path), json=body, headers={**headers, "Connection": "close"}, timeout=timeout)

    def hook(self) -> requests.Response:
        return self.post(HOOK_PATH, scenario()["request"])

    def feedback(self, *entries: dict[str, Any], timeout: float = 30) -> requests.Response:
        return self.post(FEEDBACK_PATH, {"feedback": list(entries)}, timeout=timeout)

    def get(self, path: str, *, jwt_token: str | None = None) -> requests.Response:
        """GET with a token (a fresh one unless given); /healthz and /readyz ignore it."""
        headers = bearer(jwt_token or token(self.key, path))
        return requests.get(self.url(path), headers={**headers, "Connection": "close"}, timeout=30)


def entry(card: str, outcome: str, when: str, reason: str | None = None) -> dict[str, Any]:
    """One feedback entry; `reason` makes an override with a coded reason."""
    item: dict[str, Any] = {"card": card, "outcome": outcome, "outcomeTimestamp": when}
    if reason:
        item["overrideReason"] = {"reason": {"system": REASON_SYSTEM, "code": reason}}
    return item


def start_all(servers: list[GunicornServer]) -> None:
    """Start the instances side by side (each takes ~2 s to warm up); stop them all if one fails."""
    with ThreadPoolExecutor(len(servers)) as pool:
        failures = [f.exception() for f in [pool.submit(s.start) for s in servers]]
    if any(failures):
        stop_all(servers)
        raise next(f for f in failures if f)


def stop_all(servers: list[GunicornServer]) -> None:
    for server in servers:
        server.stop()
