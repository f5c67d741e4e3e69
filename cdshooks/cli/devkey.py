"""A local development signing key and the short-lived CDS Hooks JWTs it signs (`cdshooks token`).

The key is an EC P-384 key (ES384, one of the algorithms CDS Hooks 2.0
names) generated on first use into the dev folder (`.dev/` in the current
directory, or CDSHOOKS_DEV_DIR), readable by its owner only, with a
`.gitignore` of its own so it is never committed. `cdshooks dev` writes a
trusted-issuers file beside it with the public half as a static JWKS, so the
local service accepts exactly these tokens (plus the public sandbox's).

This is a test credential: the service trusts it only when started by
`cdshooks dev` (or pointed at that issuers file by hand).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

DEV_ISS = "urn:cdshooks:dev-client"
DEV_SUB = "cdshooks-dev"  # the client_id a CDS client would put in `sub`
ALG = "ES384"
KEY_FILE = "dev-signing-key.pem"
ISSUERS_FILE = "trusted-issuers.json"
DEFAULT_TTL_SECONDS = 300
MAX_TTL_SECONDS = 3600  # the service's default CDSHOOKS_JWT_MAX_LIFETIME_SECONDS


def dev_dir(path: str | os.PathLike[str] | None = None) -> Path:
    """The dev folder: `path`, else CDSHOOKS_DEV_DIR, else `.dev` in the current directory."""
    return Path(path or os.environ.get("CDSHOOKS_DEV_DIR") or ".dev")


def _ensure_dir(folder: Path) -> None:
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    ignore = folder / ".gitignore"
    if not ignore.exists():
        ignore.write_text("# local keys and state of `cdshooks dev`: never commit\n*\n", encoding="utf-8")


def _atomic_write(path: Path, data: bytes, mode: int, replace: bool) -> bool:
    """Write via a temporary file; with replace=False an existing file wins (returns False)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        if replace:
            os.replace(tmp, path)
            return True
        try:
            os.link(tmp, path)  # atomic, and fails if another process created the key first
        except FileExistsError:
            return False
        return True
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def load_or_create_key(folder: Path) -> ec.EllipticCurvePrivateKey:
    """The dev private key, generated on first use."""
    _ensure_dir(folder)
    path = folder / KEY_FILE
    if not path.exists():
        key = ec.generate_private_key(ec.SECP384R1())
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        if _atomic_write(path, pem, 0o600, replace=False):
            return key
    loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(loaded, ec.EllipticCurvePrivateKey) or loaded.curve.name != "secp384r1":
        raise ValueError(f"{path} is not an EC P-384 private key: delete it and a new one is generated")
    return loaded


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def public_jwk(key: ec.EllipticCurvePrivateKey) -> dict[str, Any]:
    """The public JWK, its `kid` being the RFC 7638 thumbprint."""
    jwk = ECAlgorithm.to_jwk(key.public_key(), as_dict=True)
    members = {k: jwk[k] for k in ("crv", "kty", "x", "y")}
    thumbprint = hashlib.sha256(json.dumps(members, separators=(",", ":"), sort_keys=True).encode()).digest()
    return {**members, "kid": _b64url(thumbprint), "use": "sig", "alg": ALG}


def issuers_document(key: ec.EllipticCurvePrivateKey) -> dict[str, Any]:
    """A trusted-issuers document (cdshooks.security.issuers format) for the dev key."""
    return {
        "issuers": [
            {
                "comment": "Local development key of `cdshooks dev` / `cdshooks token`: testing only.",
                "iss": DEV_ISS,
                "jwks": {"keys": [public_jwk(key)]},
            }
        ]
    }


def write_issuers_file(folder: Path, key: ec.EllipticCurvePrivateKey) -> Path:
    """Write (or refresh) the trusted-issuers file for the dev key; returns its path."""
    _ensure_dir(folder)
    path = folder / ISSUERS_FILE
    data = json.dumps(issuers_document(key), indent=2).encode() + b"\n"
    _atomic_write(path, data, 0o600, replace=True)
    return path


def mint(
    key: ec.EllipticCurvePrivateKey,
    aud: str,
    ttl_seconds: int = DEFAULT_TTL_SECONDS,
    *,
    now: float | None = None,
) -> str:
    """A CDS Hooks client JWT for `aud` (the exact URL called), valid for `ttl_seconds`."""
    if not 1 <= ttl_seconds <= MAX_TTL_SECONDS:
        raise ValueError(f"ttl must be 1-{MAX_TTL_SECONDS} seconds")
    issued = int(now if now is not None else time.time())
    claims = {
        "iss": DEV_ISS,
        "sub": DEV_SUB,
        "aud": aud,
        "iat": issued,
        "exp": issued + ttl_seconds,
        "jti": str(uuid.uuid4()),
    }
    return jwt.encode(claims, key, algorithm=ALG, headers={"kid": public_jwk(key)["kid"], "typ": "JWT"})
