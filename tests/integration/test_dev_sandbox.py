"""`cdshooks dev` end to end: one command gives the sandbox a FHIR server, the service and a URL.

Starts `cdshooks dev` as a subprocess on free loopback ports, reads the sandbox
URL it prints, and checks what the CDS Hooks sandbox (a browser page) and a
curl user need: discovery through the printed `serviceDiscoveryURL`, a FHIR
server at `fhirServiceUrl` that answers a CORS preflight and a
`POST [type]/_search` for the printed `patientId`, and authentication on (a
`cdshooks token` JWT accepted, no token 401). Then SIGINT, and every process
it started must be gone.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
START_SECONDS = 60.0  # normally ~5 s; a loaded CI machine is much slower
SANDBOX_ORIGIN = "https://sandbox.cds-hooks.org"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def descendants(pid: int) -> set[int]:
    """Every live process below `pid` (from /proc: children, grandchildren...)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            # "pid (comm) state ppid ...": comm may hold spaces, so split after the last ")".
            fields = stat.rsplit(")", 1)[1].split()
            if fields[0] != "Z":
                parents[int(entry.name)] = int(fields[1])
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def cli(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "cdshooks.cli", *args], cwd=ROOT, capture_output=True, text=True, timeout=30, **kwargs
    )


@pytest.fixture
def sandbox(tmp_path):
    tmp = tmp_path
    port, fhir_port = free_port(), free_port()
    while fhir_port == port:
        fhir_port = free_port()
    log = tmp / "dev.log"
    dev_dir = tmp / "dev-state"
    env = {**os.environ, "CDSHOOKS_AUTH": "0"}  # must be overridden: the dev service runs with auth on
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "cdshooks.cli", "dev", "--port", str(port), "--fhir-port", str(fhir_port),
             "--dev-dir", str(dev_dir), "--workers", "1"],
            cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env=env,
        )  # fmt: skip
    state = {"proc": proc, "log": log, "port": port, "fhir_port": fhir_port, "dev_dir": dev_dir}
    try:
        deadline = time.monotonic() + START_SECONDS
        url = None
        while url is None:
            text = log.read_text()
            url = next((line.strip() for line in text.splitlines() if line.strip().startswith(SANDBOX_ORIGIN)), None)
            if url is None:
                assert proc.poll() is None, f"cdshooks dev exited ({proc.returncode}):\n{text}"
                assert time.monotonic() < deadline, f"no sandbox URL within {START_SECONDS} s:\n{text}"
                time.sleep(0.2)
        state["url"] = url
        state["children"] = descendants(proc.pid)
        yield state
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def params(sandbox) -> dict[str, str]:
    query = parse_qs(urlsplit(sandbox["url"]).query, strict_parsing=True)
    assert all(len(v) == 1 for v in query.values())
    return {k: v[0] for k, v in query.items()}


def token(sandbox, *args: str) -> str:
    done = cli("token", "--dev-dir", str(sandbox["dev_dir"]), "--url", f"http://127.0.0.1:{sandbox['port']}", *args)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def check_printed_url_names_the_local_services_fhir_server_and_a_patient(sandbox):
    p = params(sandbox)
    assert urlsplit(sandbox["url"])._replace(query="").geturl() == SANDBOX_ORIGIN + "/"
    assert p["serviceDiscoveryURL"] == f"http://127.0.0.1:{sandbox['port']}/cds-services"
    assert p["fhirServiceUrl"] == f"http://127.0.0.1:{sandbox['fhir_port']}/fhir"
    assert (ROOT / "fixtures" / p["patientId"] / "scenario.json").is_file()


def check_discovery_through_the_printed_url_needs_a_token(sandbox):
    discovery = params(sandbox)["serviceDiscoveryURL"]
    assert requests.get(discovery, timeout=10).status_code == 401
    resp = requests.get(discovery, headers={"Authorization": f"Bearer {token(sandbox)}"}, timeout=10)
    assert resp.status_code == 200, resp.text
    assert {s["id"] for s in resp.json()["services"]} >= {"tofacitinib-order-select", "tofacitinib-patient-view"}


def check_fhir_server_answers_the_sandboxs_preflight_and_post_search(sandbox):
    p = params(sandbox)
    search = f"{p['fhirServiceUrl']}/Condition/_search"
    preflight = requests.options(
        search,
        headers={
            "Origin": SANDBOX_ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
            "Access-Control-Request-Private-Network": "true",
        },
        timeout=10,
    )
    assert preflight.status_code in (200, 204)
    assert preflight.headers["Access-Control-Allow-Origin"] in ("*", SANDBOX_ORIGIN)
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    assert "content-type" in preflight.headers["Access-Control-Allow-Headers"].lower()
    assert preflight.headers.get("Access-Control-Allow-Private-Network") == "true"

    found = requests.post(
        search,
        data=f"subject=Patient%2F{p['patientId']}&_count=200",
        headers={"Content-Type": "application/x-www-form-urlencoded", "Origin": SANDBOX_ORIGIN},
        timeout=10,
    )
    assert found.status_code == 200, found.text
    assert found.headers["Access-Control-Allow-Origin"] in ("*", SANDBOX_ORIGIN)
    bundle = found.json()
    assert bundle["resourceType"] == "Bundle" and bundle["type"] == "searchset" and bundle["total"] > 0
    refs = {e["resource"]["subject"]["reference"] for e in bundle["entry"]}
    assert refs == {f"Patient/{p['patientId']}"}
    patient = requests.get(f"{p['fhirServiceUrl']}/Patient/{p['patientId']}", timeout=10)
    assert patient.status_code == 200 and patient.json()["id"] == p["patientId"]


def check_a_dev_token_is_accepted_and_no_token_is_401(sandbox):
    p = params(sandbox)
    url = f"http://127.0.0.1:{sandbox['port']}/cds-services/tofacitinib-patient-view"
    call = {
        "hook": "patient-view",
        "hookInstance": "5f2c6a7e-3d4b-4f6e-8a1b-9c0d1e2f3a4b",
        # As the sandbox calls it: no prefetch, the local FHIR server (on the service's allowlist).
        "fhirServer": p["fhirServiceUrl"],
        "context": {"userId": "Practitioner/dr-1", "patientId": p["patientId"]},
    }
    assert requests.post(url, json=call, timeout=20).status_code == 401
    wrong_aud = token(sandbox, "--service", "tofacitinib-order-select")
    assert requests.post(url, json=call, headers={"Authorization": f"Bearer {wrong_aud}"}, timeout=20).status_code == 401
    ok = requests.post(url, json=call, headers={"Authorization": f"Bearer {token(sandbox, '--service', 'patient-view')}"}, timeout=20)
    assert ok.status_code == 200, ok.text
    assert ok.json()["cards"], "the printed patient's scenario fires cards at the fixtures' asOf"


def readme_curl_block() -> str:
    """The shell block of README "Local sandbox" that runs curl."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Local sandbox\n", 1)[1].split("\n## ", 1)[0]
    blocks = [b.split("\n", 1)[1] for b in section.split("```sh")[1:]]
    (block,) = [b.split("```", 1)[0] for b in blocks if "curl" in b]
    return block


def check_the_readme_curl_example_is_a_copy_paste(sandbox):
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    script = readme_curl_block().replace("127.0.0.1:8080", f"127.0.0.1:{sandbox['port']}")
    script = script.replace("127.0.0.1:8081", f"127.0.0.1:{sandbox['fhir_port']}")
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "CDSHOOKS_DEV_DIR": str(sandbox["dev_dir"]),
        # `cdshooks token`'s default URL (README: port 8080) for the port of this test.
        "CDSHOOKS_PUBLIC_BASE_URL": f"http://127.0.0.1:{sandbox['port']}",
    }
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert '"services"' in done.stdout, "discovery answered"
    assert '"cmv-viremia"' in done.stdout and '"safety-summary"' in done.stdout, done.stdout[-2000:]


def check_sigint_stops_every_process_it_started(sandbox):
    proc, children = sandbox["proc"], sandbox["children"]
    assert len(children) >= 2, "the service's gunicorn master and its worker run below cdshooks dev"
    assert proc.poll() is None
    proc.send_signal(signal.SIGINT)
    assert proc.wait(30) == 0
    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in children) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in children if alive(pid)]
    for port in (sandbox["port"], sandbox["fhir_port"]):
        with socket.socket() as s:
            assert s.connect_ex(("127.0.0.1", port)) != 0, f"port {port} still accepts connections"
    log = sandbox["log"].read_text()
    assert "Traceback" not in log, log


def test_cdshooks_dev_end_to_end(sandbox):
    # One test, in this order (xdist may split a module's tests over workers; SIGINT must come last).
    check_printed_url_names_the_local_services_fhir_server_and_a_patient(sandbox)
    check_discovery_through_the_printed_url_needs_a_token(sandbox)
    check_fhir_server_answers_the_sandboxs_preflight_and_post_search(sandbox)
    check_a_dev_token_is_accepted_and_no_token_is_401(sandbox)
    check_the_readme_curl_example_is_a_copy_paste(sandbox)
    check_sigint_stops_every_process_it_started(sandbox)
