"""docker-compose.yml and docker/Dockerfile, checked without a Docker engine.

The file follows the Compose specification (services / volumes at the top, no
`version:`; Debian's docker-compose 1.29 rejects a top-level `name:`), every
file it points at exists, and the commands are real `cdshooks` commands:
they are parsed with the CLI's own argparse parser.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlparse

import pytest
import yaml

from cdshooks import cli
from cdshooks.config import Settings

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "docker-compose.yml"
SERVICE_KEYS = {
    "build", "image", "command", "ports", "environment", "volumes", "healthcheck",
    "depends_on", "restart",
}  # fmt: skip
CONDITIONS = {"service_started", "service_healthy", "service_completed_successfully"}
DURATION = re.compile(r"^\d+(ms|s|m|h)$")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def services(compose) -> dict:
    return compose["services"]


def container_port(service: dict) -> int:
    return int(str(service["ports"][0]).split(":")[-1])


def test_top_level_is_plain_compose_spec(compose):
    assert set(compose) <= {"services", "volumes"}, "no version:/name: (Debian's docker-compose refuses name:)"
    assert set(compose["services"]) == {"cdshooks", "hapi", "loader"}


def test_service_keys_and_images(services):
    for name, service in services.items():
        assert set(service) <= SERVICE_KEYS, name
        assert "image" in service or "build" in service, name
    assert services["hapi"]["image"].startswith("hapiproject/hapi:v"), "official HAPI image, pinned"
    assert services["hapi"]["environment"]["hapi.fhir.fhir_version"] == "R4"


def test_build_contexts_and_dockerfile_exist(services):
    for name, service in services.items():
        build = service.get("build")
        if build:
            context = ROOT / build["context"]
            assert (context / build["dockerfile"]).is_file(), name


def test_ports_are_documented_host_container_pairs(services):
    published = {}
    for name, service in services.items():
        for port in service.get("ports", []):
            host, container = str(port).split(":")
            published[name] = (int(host), int(container))
    assert published == {"cdshooks": (8080, 8080), "hapi": (8081, 8080)}
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "http://localhost:8080/cds-services" in readme and "http://localhost:8081/fhir" in readme


def test_healthchecks(services):
    check = services["cdshooks"]["healthcheck"]
    assert check["test"][0] in {"CMD", "CMD-SHELL"}
    for key in ("interval", "timeout", "start_period"):
        assert DURATION.match(check[key]), key
    probe = " ".join(check["test"])
    assert f"127.0.0.1:{container_port(services['cdshooks'])}/readyz" in probe


def test_depends_on_conditions_are_satisfiable(services):
    for name, service in services.items():
        for target, spec in (service.get("depends_on") or {}).items():
            assert target in services, f"{name} depends on unknown {target}"
            assert spec["condition"] in CONDITIONS
            if spec["condition"] == "service_healthy":
                assert "healthcheck" in services[target], f"{target} has no healthcheck"


def test_bind_mounts_exist_and_named_volumes_are_declared(compose, services):
    for name, service in services.items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith((".", "/")):
                assert (ROOT / source).exists(), f"{name}: {source}"
            else:
                assert source in compose["volumes"], f"{name}: {source}"


def test_service_command_is_the_real_serve_command(services):
    service = services["cdshooks"]
    args = cli.parser().parse_args(service["command"][1:])
    assert service["command"][0] == "cdshooks" and args.func.__name__ == "_serve"
    assert args.host == "0.0.0.0" and args.port == container_port(service)
    assert not args.no_auth, "auth stays on: the sandbox sends JWTs"


def test_service_environment_is_valid_settings(services):
    env = services["cdshooks"]["environment"]
    config_source = (ROOT / "cdshooks" / "config.py").read_text(encoding="utf-8")
    for key in env:
        assert f'"{key}"' in config_source, f"{key} is not read by cdshooks/config.py"
    settings = Settings.from_env(env)
    assert settings.auth_enabled and settings.trust_sandbox
    assert settings.public_base_url == f"http://localhost:{services['cdshooks']['ports'][0].split(':')[0]}"


def test_service_evaluates_at_the_fixtures_as_of(services):
    # The loader uploads the fixtures unshifted: only at their asOf does the sandbox show expect.topics.
    as_of = {json.loads(p.read_text(encoding="utf-8"))["asOf"] for p in (ROOT / "fixtures").glob("*/scenario.json")}
    now = Settings.from_env(services["cdshooks"]["environment"]).now
    assert len(as_of) == 1 and now == Settings.from_env({"CDSHOOKS_NOW": as_of.pop()}).now


def test_loader_command_targets_hapi_on_the_allowlist(services):
    loader = services["loader"]
    args = cli.parser().parse_args(loader["command"][1:])
    assert (args.command, args.fixtures_command) == ("fixtures", "load")
    assert args.wait > 0, "HAPI has no healthcheck: the loader waits for it"
    server = urlparse(args.fhir_server)
    assert server.hostname == "hapi" and server.port == container_port(services["hapi"])
    assert any(v.endswith(f":{args.path}:ro") for v in loader["volumes"])
    allowlist = Settings.from_env(services["cdshooks"]["environment"]).effective_fhir_allowlist
    assert f"{server.scheme}://{server.hostname}:{server.port}" in allowlist


def test_dockerfile_copies_existing_paths_and_runs_the_cli():
    text = (ROOT / "docker" / "Dockerfile").read_text(encoding="utf-8")
    for line in re.findall(r"^COPY (.+)$", text, re.M):
        *sources, _ = line.split()
        for source in sources:
            assert (ROOT / source).exists(), source
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8")
    assert ".venv" in ignored and "node_modules" in ignored
    cmd = re.search(r"^CMD (\[.+\])$", text, re.M).group(1)
    argv = yaml.safe_load(cmd)
    assert argv[0] == "cdshooks" and cli.parser().parse_args(argv[1:]).func.__name__ == "_serve"
    assert "pip install '.[server]'" in text, "non-editable install with gunicorn"


@pytest.mark.skipif(shutil.which("docker-compose") is None, reason="docker-compose (Debian package) not installed")
def test_debian_docker_compose_accepts_it():
    done = subprocess.run(
        shlex.split(f"docker-compose -f {COMPOSE} config -q"), capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
