"""docker-compose.yml, docker/Dockerfile and docker/nginx.conf, checked without a Docker engine.

The file follows the Compose specification (services / volumes at the top, no
`version:`; Debian's docker-compose 1.29 rejects a top-level `name:`), every
file it points at exists, and the commands are real `cdshooks` commands:
they are parsed with the CLI's own argparse parser. nginx is the only way in
to the service, and its config points at the port the service really serves.
(tests/integration/test_reverse_proxy.py runs that config with a real nginx.)
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

from cdshooks.cli import commands as cli
from cdshooks.config import Settings

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "docker-compose.yml"
NGINX_CONF = ROOT / "docker" / "nginx.conf"
SERVICE_KEYS = {
    "build", "image", "command", "ports", "environment", "volumes", "healthcheck",
    "depends_on", "restart",
}  # fmt: skip
CONDITIONS = {"service_started", "service_healthy", "service_completed_successfully"}
INSTANCES = ("cds-a", "cds-b")  # the service, scaled out: same image and settings, the database shared
DURATION = re.compile(r"^\d+(ms|s|m|h)$")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def services(compose) -> dict:
    return compose["services"]


def container_port(service: dict) -> int:
    return int(str(service["ports"][0]).split(":")[-1])


def serve_port(service: dict) -> int:
    """The port `cdshooks serve` listens on in the container (its `--port`)."""
    return cli.parser().parse_args(service["command"][1:]).port


def nginx_directive(name: str) -> list[str]:
    """The values of every `name ...;` line of docker/nginx.conf (comments ignored)."""
    text = re.sub(r"#[^\n]*", "", NGINX_CONF.read_text(encoding="utf-8"))
    return [m.strip() for m in re.findall(rf"(?m)^[ \t]*{name}[ \t]+([^;{{}}\n]+);", text)]


def test_top_level_is_plain_compose_spec(compose):
    extensions = {key for key in compose if key.startswith("x-")}  # YAML anchors the services share
    assert set(compose) - extensions <= {"services", "volumes"}, "no version:/name: (Debian's docker-compose refuses name:)"
    assert set(compose["services"]) == {"postgres", *INSTANCES, "nginx", "hapi", "loader"}


def test_instances_are_one_service_sharing_only_the_database(compose, services):
    first, *others = (services[name] for name in INSTANCES)
    assert all(other == first for other in others), "same image, command and settings"
    assert compose["x-cds-service"] == first
    settings = Settings.from_env(first["environment"])
    db = urlparse(settings.database_url)
    assert (db.scheme, db.hostname, db.port) == ("postgresql", "postgres", 5432)
    pg = services["postgres"]["environment"]
    assert (db.username, db.password, db.path) == (pg["POSTGRES_USER"], pg["POSTGRES_PASSWORD"], "/" + pg["POSTGRES_DB"])
    assert settings.db_upgrade_on_start, "each instance migrates at start (they wait on one lock)"
    assert first["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert "volumes" not in first, "stateless: no instance keeps state of its own"


def test_postgres_is_the_official_image_with_a_named_volume(compose, services):
    postgres = services["postgres"]
    assert postgres["image"] == "postgres:16"
    assert "ports" not in postgres, "reachable inside the compose network only"
    (volume,) = postgres["volumes"]
    source, target = volume.split(":")
    assert source in compose["volumes"] and target == "/var/lib/postgresql/data"
    probe = " ".join(postgres["healthcheck"]["test"])
    assert "pg_isready" in probe and postgres["environment"]["POSTGRES_USER"] in probe


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
    # The service is reached through nginx only: gunicorn itself publishes nothing.
    assert published == {"nginx": (8080, 8080), "hapi": (8081, 8080)}
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "http://localhost:8080/cds-services" in readme and "http://localhost:8081/fhir" in readme


@pytest.mark.parametrize("name", [*INSTANCES, "postgres"])
def test_healthchecks(services, name):
    check = services[name]["healthcheck"]
    assert check["test"][0] in {"CMD", "CMD-SHELL"}
    for key in ("interval", "timeout", "start_period"):
        assert DURATION.match(check[key]), key
    if name in INSTANCES:
        probe = " ".join(check["test"])
        assert f"127.0.0.1:{serve_port(services[name])}/readyz" in probe


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


@pytest.mark.parametrize("name", INSTANCES)
def test_service_command_is_the_real_serve_command(services, name):
    service = services[name]
    args = cli.parser().parse_args(service["command"][1:])
    assert service["command"][0] == "cdshooks" and args.func.__name__ == "_serve"
    assert args.host == "0.0.0.0" and args.port == serve_port(service)
    assert not args.no_auth, "auth stays on: the sandbox sends JWTs"


@pytest.mark.parametrize("name", INSTANCES)
def test_service_environment_is_valid_settings(services, name):
    env = services[name]["environment"]
    config_source = (ROOT / "cdshooks" / "config.py").read_text(encoding="utf-8")
    for key in env:
        assert f'"{key}"' in config_source, f"{key} is not read by cdshooks/config.py"
    settings = Settings.from_env(env)
    assert settings.auth_enabled and settings.trust_sandbox
    # The sandbox calls nginx's published port: that URL is the JWT `aud`.
    assert settings.public_base_url == f"http://localhost:{services['nginx']['ports'][0].split(':')[0]}"


def test_service_evaluates_at_the_fixtures_as_of(services):
    # The loader uploads the fixtures unshifted: only at their asOf does the sandbox show expect.topics.
    as_of = {json.loads(p.read_text(encoding="utf-8"))["asOf"] for p in (ROOT / "fixtures").glob("*/scenario.json")}
    now = Settings.from_env(services["cds-a"]["environment"]).now
    assert len(as_of) == 1 and now == Settings.from_env({"CDSHOOKS_NOW": as_of.pop()}).now


def test_nginx_fronts_the_service_with_the_shipped_config(services):
    nginx = services["nginx"]
    image = nginx["image"]
    assert image.split(":")[0] == "nginx" and "alpine" not in image, "the official, Debian-based nginx image"
    assert "./docker/nginx.conf:/etc/nginx/conf.d/default.conf:ro" in nginx["volumes"]
    assert nginx_directive("listen") == [str(container_port(nginx))]
    upstream = [f"{name}:{serve_port(services[name])}" for name in INSTANCES]
    assert nginx_directive("server") == upstream, "the upstream balances over every instance, on the port it serves"
    assert set(nginx_directive("proxy_pass")) == {"http://cdshooks"}, "every location passes to the service"
    assert {name: nginx["depends_on"][name]["condition"] for name in INSTANCES} == dict.fromkeys(
        INSTANCES, "service_healthy"
    )


def test_nginx_buffers_requests_and_limits_bodies_like_the_service():
    assert nginx_directive("proxy_request_buffering") == ["on"] and nginx_directive("proxy_buffering") == ["on"]
    for timeout in ("client_header_timeout", "client_body_timeout"):
        (value,) = nginx_directive(timeout)
        assert re.fullmatch(r"\d+s", value) and int(value[:-1]) <= 15, f"{timeout} {value}: short, in seconds"
    (size,) = nginx_directive("client_max_body_size")
    number, unit = re.fullmatch(r"(\d+)([kKmM]?)", size).groups()
    scale = {"": 1, "k": 1024, "m": 1024 * 1024}[unit.lower()]
    assert int(number) * scale == Settings().max_body_bytes, "client_max_body_size = CDSHOOKS_MAX_BODY_BYTES default"
    assert str(Settings().max_body_bytes) in NGINX_CONF.read_text(encoding="utf-8"), "nginx's own 413 names the limit"
    headers = dict(v.split(None, 1) for v in nginx_directive("proxy_set_header"))
    assert headers["X-Forwarded-For"] == "$remote_addr" and headers["X-Forwarded-Proto"] == "$scheme"
    assert "Authorization" not in headers, "the JWT is passed on unchanged"


def test_loader_command_targets_hapi_on_the_allowlist(services):
    loader = services["loader"]
    args = cli.parser().parse_args(loader["command"][1:])
    assert (args.command, args.fixtures_command) == ("fixtures", "load")
    assert args.wait > 0, "HAPI has no healthcheck: the loader waits for it"
    server = urlparse(args.fhir_server)
    assert server.hostname == "hapi" and server.port == container_port(services["hapi"])
    assert any(v.endswith(f":{args.path}:ro") for v in loader["volumes"])
    allowlist = Settings.from_env(services["cds-a"]["environment"]).effective_fhir_allowlist
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
