"""`cdshooks token` and the pieces of `cdshooks dev` that need no running processes.

The dev key's tokens are checked by the service's own verifier, configured
from the issuers file `cdshooks dev` writes: what is accepted here is what the
dev service accepts.
"""

from __future__ import annotations

import stat
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest

from cdshooks.cli import commands as cli
from cdshooks.cli import devkey
from cdshooks.cli.dev_sandbox import sandbox_url, service_env
from cdshooks.config import Settings
from cdshooks.security.tokens import AuthFailure
from cdshooks.web.auth import build_verifier

BASE = "http://127.0.0.1:8080"
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


@pytest.fixture(autouse=True)
def _no_dev_variables(monkeypatch):
    for name in ("CDSHOOKS_PUBLIC_BASE_URL", "CDSHOOKS_DEV_DIR"):
        monkeypatch.delenv(name, raising=False)


def run_token(capsys, dev: Path, *args: str) -> tuple[int, str, str]:
    code = cli.main(["token", "--dev-dir", str(dev), *args])
    out, err = capsys.readouterr()
    return code, out.strip(), err


@pytest.fixture
def dev(tmp_path) -> Path:
    return tmp_path / "dev"


def verifier_for(dev: Path, tmp_path: Path):
    issuers = devkey.write_issuers_file(dev, devkey.load_or_create_key(dev))
    settings = Settings(trusted_issuers_file=str(issuers), jti_cache="memory", feedback_db=str(tmp_path / "f.sqlite3"))
    return build_verifier(settings)


def test_key_is_made_once_private_and_git_ignored(dev):
    first = devkey.load_or_create_key(dev)
    second = devkey.load_or_create_key(dev)
    assert devkey.public_jwk(first) == devkey.public_jwk(second)
    key_file = dev / devkey.KEY_FILE
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(dev.stat().st_mode) == 0o700
    assert (dev / ".gitignore").read_text().splitlines()[-1] == "*"


def test_repository_ignores_the_default_dev_folder():
    root = Path(__file__).resolve().parents[2]
    assert ".dev/" in (root / ".gitignore").read_text().splitlines()


def test_token_for_a_service_is_accepted_by_the_service_verifier(capsys, dev, tmp_path):
    code, token, err = run_token(capsys, dev, "--service", "tofacitinib-order-select")
    assert code == 0 and err == ""
    verifier = verifier_for(dev, tmp_path)
    client = verifier.verify(f"Bearer {token}", f"{BASE}/cds-services/tofacitinib-order-select")
    assert client.iss == devkey.DEV_ISS
    # The same token for another endpoint: wrong audience.
    with pytest.raises(AuthFailure, match="audience"):
        verifier.verify(f"Bearer {token}", f"{BASE}/cds-services/tofacitinib-order-sign")


def test_token_claims_and_header(capsys, dev):
    before = int(time.time())
    code, token, _ = run_token(capsys, dev, "--service", "patient-view", "--ttl", "120", "--url", "http://127.0.0.1:9999/")
    assert code == 0
    header = jwt.get_unverified_header(token)
    claims = jwt.decode(token, options={"verify_signature": False})
    assert header["alg"] == "ES384" and header["kid"] == devkey.public_jwk(devkey.load_or_create_key(dev))["kid"]
    assert "jku" not in header
    assert claims["aud"] == "http://127.0.0.1:9999/cds-services/tofacitinib-patient-view"
    assert claims["iss"] == devkey.DEV_ISS and claims["sub"] == devkey.DEV_SUB and claims["jti"]
    assert claims["exp"] - claims["iat"] == 120 and before <= claims["iat"] <= int(time.time())


def test_token_defaults_to_discovery_five_minutes_and_a_fresh_jti(capsys, dev):
    tokens = [run_token(capsys, dev)[1] for _ in range(2)]
    claims = [jwt.decode(t, options={"verify_signature": False}) for t in tokens]
    assert claims[0]["aud"] == f"{BASE}/cds-services"
    assert claims[0]["exp"] - claims[0]["iat"] == 300
    assert claims[0]["jti"] != claims[1]["jti"]


def test_token_for_feedback_and_explicit_aud(capsys, dev):
    _, token, _ = run_token(capsys, dev, "--service", "order-sign", "--feedback")
    assert jwt.decode(token, options={"verify_signature": False})["aud"] == f"{BASE}/cds-services/tofacitinib-order-sign/feedback"
    _, token, _ = run_token(capsys, dev, "--aud", "https://cds.example.org/cds-services")
    assert jwt.decode(token, options={"verify_signature": False})["aud"] == "https://cds.example.org/cds-services"


def test_a_replayed_dev_token_is_refused(capsys, dev, tmp_path):
    _, token, _ = run_token(capsys, dev)
    verifier = verifier_for(dev, tmp_path)
    verifier.verify(f"Bearer {token}", f"{BASE}/cds-services")
    with pytest.raises(AuthFailure, match="replay"):
        verifier.verify(f"Bearer {token}", f"{BASE}/cds-services")


def test_another_dev_key_is_not_trusted(capsys, tmp_path):
    _, token, _ = run_token(capsys, tmp_path / "other")
    with pytest.raises(AuthFailure, match="unknown-key"):
        verifier_for(tmp_path / "dev", tmp_path).verify(f"Bearer {token}", f"{BASE}/cds-services")


@pytest.mark.parametrize(
    "args, message",
    [
        (["--service", "nope"], "unknown service"),
        (["--feedback"], "--feedback needs --service"),
    ],
)
def test_token_mistakes_are_one_line(capsys, dev, args, message):
    code, out, err = run_token(capsys, dev, *args)
    assert code == 2 and out == "" and message in err and "Traceback" not in err


@pytest.mark.parametrize("ttl", ["0", "3601", "five"])
def test_ttl_is_bounded(capsys, dev, ttl):
    with pytest.raises(SystemExit) as exc:
        cli.main(["token", "--dev-dir", str(dev), "--ttl", ttl])
    assert exc.value.code == 2
    assert "--ttl" in capsys.readouterr().err


def test_token_url_defaults_to_the_public_base_url(capsys, dev, monkeypatch):
    monkeypatch.setenv("CDSHOOKS_PUBLIC_BASE_URL", "https://cds.example.org")
    _, token, _ = run_token(capsys, dev, "--service", "order-select")
    assert jwt.decode(token, options={"verify_signature": False})["aud"] == "https://cds.example.org/cds-services/tofacitinib-order-select"


def test_dev_dir_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("CDSHOOKS_DEV_DIR", str(tmp_path / "from-env"))
    assert devkey.dev_dir() == tmp_path / "from-env"
    assert devkey.dev_dir(tmp_path / "flag") == tmp_path / "flag"
    monkeypatch.delenv("CDSHOOKS_DEV_DIR")
    assert devkey.dev_dir() == Path(".dev")


def test_sandbox_url_uses_the_parameter_names_the_sandbox_reads():
    url = sandbox_url("http://127.0.0.1:8080/cds-services", "http://127.0.0.1:8081/fhir", "dose-x", "order-select")
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == "https://sandbox.cds-hooks.org/"
    assert parse_qs(parts.query) == {
        "serviceDiscoveryURL": ["http://127.0.0.1:8080/cds-services"],
        "fhirServiceUrl": ["http://127.0.0.1:8081/fhir"],
        "patientId": ["dose-x"],
        "hook": ["order-select"],
        "screen": ["rx-view"],  # the sandbox's tab for order-select
    }
    assert "hook=" not in sandbox_url("a", "b", "c")


def test_service_env_turns_auth_on_with_sandbox_and_dev_trust(tmp_path):
    issuers = tmp_path / "issuers.json"
    parent = {"CDSHOOKS_AUTH": "0", "CDSHOOKS_FHIR_ALLOWLIST": "https://elsewhere.example", "CDSHOOKS_NOW": "x", "PATH": "/bin"}
    env = service_env(
        parent, public_url="http://127.0.0.1:9000", fhir_url="http://127.0.0.1:9001/fhir",
        issuers_file=issuers, dev=tmp_path, now="2026-01-15T12:00:00Z",
    )  # fmt: skip
    settings = Settings.from_env(env)
    assert settings.auth_enabled and settings.trust_sandbox
    assert settings.public_base_url == "http://127.0.0.1:9000"
    assert settings.effective_fhir_allowlist == ("http://127.0.0.1:9001/fhir",)
    assert settings.trusted_issuers_file == str(issuers.resolve())
    assert settings.now is not None and settings.now.isoformat() == "2026-01-15T12:00:00+00:00"
    assert Path(settings.feedback_db).parent == tmp_path.resolve()
    assert env["PATH"] == "/bin" and parent["CDSHOOKS_AUTH"] == "0", "the caller's environment is left alone"


def test_dev_refuses_a_taken_port_in_one_line(capsys, tmp_path):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code = cli.main(["dev", "--fixtures", str(FIXTURES), "--port", str(port), "--fhir-port", "1", "--dev-dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and f"127.0.0.1:{port} is in use" in err and "Traceback" not in err


def test_dev_refuses_a_missing_fixtures_folder(capsys, tmp_path):
    code = cli.main(["dev", "--fixtures", str(tmp_path / "none"), "--dev-dir", str(tmp_path)])
    assert code == 2 and "no fixture scenarios" in capsys.readouterr().err


def test_dev_refuses_a_naive_now(capsys, tmp_path):
    code = cli.main(["dev", "--fixtures", str(FIXTURES), "--now", "2026-01-15T12:00:00", "--port", "1", "--fhir-port", "2"])
    err = capsys.readouterr().err
    assert code == 2 and "--now" in err and "UTC offset" in err


def test_dev_refuses_an_unknown_patient_before_starting_anything(capsys, tmp_path):
    code = cli.main(["dev", "--fixtures", str(FIXTURES), "--patient", "no-such-scenario", "--dev-dir", str(tmp_path / "d")])
    assert code == 2 and "no-such-scenario" in capsys.readouterr().err
    assert not (tmp_path / "d").exists()
