"""A real FHIR R4 REST server for tests: Medplum's in-memory router run by Node.

`FhirServer.start()` installs the Node packages on first use (`npm ci` into
tests/integration/node_modules, kept between runs), starts `fhir-server.mjs`
on a free loopback port and waits for `/metadata`. `load()` posts resources as
one transaction Bundle of PUTs, so every resource keeps its id.
"""

from __future__ import annotations

import fcntl
import json
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from cdshooks.cli.fixture_upload import transaction

HERE = Path(__file__).resolve().parent
SCRIPT = HERE / "fhir-server.mjs"
NODE_MODULES = HERE / "node_modules"
STARTUP_SECONDS = 60.0


class Unavailable(RuntimeError):
    """Node or npm is missing: the tier cannot run on this machine."""


def missing_tools() -> list[str]:
    return [tool for tool in ("node", "npm") if shutil.which(tool) is None]


@contextmanager
def _install_lock() -> Iterator[None]:
    # pytest-xdist workers start their servers at the same moment: one npm ci at a time.
    with open(Path(tempfile.gettempdir()) / "cdshooks-npm-ci.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def install() -> None:
    """`npm ci` from the committed lockfile unless the packages are already there."""
    missing = missing_tools()
    if missing:
        raise Unavailable(f"{' and '.join(missing)} not found on PATH")
    marker = NODE_MODULES / "@medplum" / "fhir-router" / "package.json"
    with _install_lock():
        if marker.exists():
            return
        done = subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=HERE,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if done.returncode != 0:
            raise RuntimeError(f"npm ci failed in {HERE}:\n{done.stdout}\n{done.stderr}")


class FhirServer:
    """One running Node FHIR server process."""

    def __init__(self) -> None:
        self.base_url = ""
        self._process: subprocess.Popen[str] | None = None

    def start(self) -> FhirServer:
        install()
        self._process = subprocess.Popen(
            ["node", str(SCRIPT), "0"],
            cwd=HERE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.base_url = self._read_address()
        self._wait_ready()
        return self

    def _read_address(self) -> str:
        assert self._process and self._process.stdout
        line: list[str] = []
        reader = threading.Thread(target=lambda: line.append(self._process.stdout.readline()), daemon=True)
        reader.start()
        reader.join(STARTUP_SECONDS)
        text = line[0].strip() if line else ""
        if not text.startswith("listening "):
            self.stop()
            raise RuntimeError(f"FHIR server did not start: {text!r} {self._stderr()}")
        return text.split(" ", 1)[1]

    def _stderr(self) -> str:
        if self._process and self._process.poll() is not None and self._process.stderr:
            return self._process.stderr.read()
        return ""

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            try:
                if self.request("GET", "metadata")["resourceType"] == "CapabilityStatement":
                    return
            except (OSError, ValueError):
                if time.monotonic() > deadline:
                    self.stop()
                    raise
            time.sleep(0.1)

    def request(self, method: str, path: str, body: dict | None = None) -> dict:
        """One HTTP call; returns the JSON body, raises HTTPError on 4xx/5xx."""
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(
            f"{self.base_url}/{path}",
            data=data,
            method=method,
            headers={"Content-Type": "application/fhir+json", "Accept": "application/fhir+json"},
        )
        with urllib.request.urlopen(req, timeout=30) as resp:
            return json.loads(resp.read())

    def load(self, resources: Iterable[dict]) -> dict:
        """PUT the resources in one transaction; fails loudly if any entry was refused."""
        resources = list(resources)
        try:
            answer = self.request("POST", "", transaction(resources))
        except urllib.error.HTTPError as err:
            raise RuntimeError(f"transaction refused ({err.code}): {err.read().decode()}") from err
        bad = [e["response"] for e in answer.get("entry", []) if not e["response"]["status"].startswith("2")]
        if bad:
            raise RuntimeError(f"transaction entries refused: {bad}")
        return answer

    def reset(self) -> None:
        """Forget every resource (searches scan them all: fewer resources, faster tests)."""
        self.request("POST", "$reset", {})

    def stop(self) -> None:
        if self._process and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        for stream in (self._process.stdout, self._process.stderr) if self._process else ():
            if stream:
                stream.close()
