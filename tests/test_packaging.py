"""The wheel ships everything: built, installed non-editable, run from another folder.

Builds the wheel from a copy of the sources (no build artefacts in the tree),
installs it with --no-deps into a fresh venv whose dependencies come from the
test interpreter's site-packages (a .pth line: works offline, and the editable
install of the source tree is not visible there), then replays the fixtures
in-process and through `cdshooks serve` from a folder outside the source tree.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import sysconfig
import time
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures"

pytestmark = pytest.mark.packaging


def run(*cmd, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{cmd}\n{proc.stdout}\n{proc.stderr}"
    return proc


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> dict:
    """Build the wheel and install it into a fresh venv; returns paths."""
    tmp = tmp_path_factory.mktemp("packaging")
    src = tmp / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("cdshooks", "cards"):
        shutil.copytree(ROOT / name, src / name, ignore=ignore)
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp / "dist"), ".", cwd=src)
    (wheel,) = (tmp / "dist").glob("*.whl")

    venv = tmp / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", str(venv), cwd=tmp)
    python = venv / "bin" / "python"
    purelib = run(str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])", cwd=tmp).stdout.strip()
    Path(purelib, "test-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    run(sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index", "-q", str(wheel), cwd=tmp)
    elsewhere = tmp / "elsewhere"
    elsewhere.mkdir()
    return {"wheel": wheel, "python": python, "cdshooks": venv / "bin" / "cdshooks", "cwd": elsewhere}


def test_wheel_contains_every_package_card_template_and_value_set(installed):
    names = set(zipfile.ZipFile(installed["wheel"]).namelist())
    templates = {f"cdshooks/card_templates/{p.name}" for p in (ROOT / "cards").glob("*.toml")}
    valuesets = {
        f"cdshooks/terminology/valuesets/{p.name}" for p in (ROOT / "cdshooks/terminology/valuesets").glob("*.json")
    }
    packages = {
        f"{p.parent.relative_to(ROOT).as_posix()}/__init__.py" for p in (ROOT / "cdshooks").rglob("__init__.py")
    }
    data = {str(p.relative_to(ROOT).as_posix()) for p in (ROOT / "cdshooks").rglob("*") if p.suffix in {".json", ".toml"}}
    assert "cdshooks/card_templates/_evidence.toml" in templates
    assert valuesets and packages
    assert templates | valuesets | packages | data <= names, sorted((templates | valuesets | packages | data) - names)


def test_installed_package_is_used_not_the_source_tree(installed):
    out = run(str(installed["python"]), "-c", "import cdshooks; print(cdshooks.__file__)", cwd=installed["cwd"]).stdout
    assert not out.strip().startswith(str(ROOT / "cdshooks")), out


def test_replay_from_another_folder_gives_the_expected_cards(installed):
    fixture = FIXTURES / "patient-view-not-on-tofacitinib"
    out = run(str(installed["cdshooks"]), "replay", str(fixture), "--json", cwd=installed["cwd"]).stdout
    assert json.loads(out) == {"cards": []}


ALL_SCENARIOS = """
import json, sys
from pathlib import Path
from cdshooks.cli.replay import card_topics, load_scenario, send_in_process
result = {}
for path in sorted(Path(sys.argv[1]).glob("*/scenario.json")):
    s = load_scenario(path)
    reply = send_in_process(s)
    result[s.name] = [reply.status, card_topics(reply.body)]
print(json.dumps(result))
"""


def expected_topics() -> dict[str, list]:
    out = {}
    for path in sorted(FIXTURES.glob("*/scenario.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        out[path.parent.name] = [200, sorted(doc["expect"]["topics"])]
    return out


def test_every_fixture_gives_the_same_cards_from_the_installed_package(installed):
    out = run(str(installed["python"]), "-c", ALL_SCENARIOS, str(FIXTURES), cwd=installed["cwd"]).stdout
    assert json.loads(out.strip().splitlines()[-1]) == expected_topics()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_from_another_folder_answers_a_fixture(installed):
    fixture = FIXTURES / "patient-view-not-on-tofacitinib"
    as_of = json.loads((fixture / "scenario.json").read_text(encoding="utf-8"))["asOf"]
    port = _free_port()
    cmd = [str(installed["cdshooks"]), "serve", "--port", str(port), "--no-auth", "--now", as_of]
    server = subprocess.Popen(cmd, cwd=installed["cwd"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                assert server.poll() is None, server.stderr.read()
                assert time.monotonic() < deadline, "cdshooks serve did not start"
                time.sleep(0.1)
        out = run(str(installed["cdshooks"]), "replay", str(fixture), "--url", url, "--json", cwd=installed["cwd"]).stdout
        assert json.loads(out) == {"cards": []}
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
