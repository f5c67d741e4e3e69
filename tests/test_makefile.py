"""`make run` installs only what serving needs; `make bench` never writes over a committed file."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

needs_make = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def dry_run(target: str, venv: Path) -> list[str]:
    """The commands `make TARGET` would run (make -n), with the venv at `venv`."""
    proc = subprocess.run(
        ["make", "-n", "-C", str(ROOT), f"VENV={venv}", target], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    return [line for line in proc.stdout.splitlines() if not line.startswith("make")]


def pip_installs(commands: list[str]) -> list[str]:
    return [c.split("pip install", 1)[1].strip() for c in commands if "pip install" in c and "--upgrade pip" not in c]


def fake_venv(tmp_path: Path, *stamps: str) -> Path:
    """A venv as make sees it: bin/python and the given stamps, newer than pyproject.toml."""
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").touch()
    for stamp in stamps:
        (venv / stamp).touch()
    return venv


@needs_make
def test_make_run_installs_only_the_server_extra(tmp_path):
    assert pip_installs(dry_run("run", tmp_path / "venv")) == ["-e '.[server]'"]


@needs_make
def test_make_test_installs_the_test_extra(tmp_path):
    installs = pip_installs(dry_run("test", tmp_path / "venv"))
    assert installs == ["-e '.[server]'", "-e '.[test,server]'"]


@needs_make
def test_each_stamp_is_its_own(tmp_path):
    served = fake_venv(tmp_path, ".installed-server")
    assert pip_installs(dry_run("run", served)) == []  # installed for serving: nothing to do
    assert pip_installs(dry_run("test", served)) == ["-e '.[test,server]'"]  # only the test extra is missing
    tested = fake_venv(tmp_path / "t", ".installed-server", ".installed-test")
    assert pip_installs(dry_run("test", tested)) == [] and pip_installs(dry_run("run", tested)) == []


@needs_make
def test_make_bench_needs_no_test_extra(tmp_path):
    assert "test" not in " ".join(pip_installs(dry_run("bench", tmp_path / "venv")))


def _tracked(path: Path) -> bool:
    return subprocess.run(["git", "ls-files", "--error-unmatch", str(path)], cwd=ROOT, capture_output=True).returncode == 0


def _ignored(path: Path) -> bool:
    return subprocess.run(["git", "check-ignore", "-q", str(path)], cwd=ROOT, capture_output=True).returncode == 0


@pytest.mark.skipif(not (ROOT / ".git").exists(), reason="not a git checkout")
def test_bench_writes_where_git_ignores_and_never_over_a_committed_file(tmp_path):
    from bench import __main__ as bench_main

    default = bench_main.result_path()
    assert _ignored(default) and not _tracked(default)
    committed = ROOT / "bench" / "results" / "latest.json"
    assert _tracked(committed)
    before = committed.read_bytes()
    with pytest.raises(SystemExit, match="committed file"):
        bench_main.save({"x": 1}, committed)
    assert committed.read_bytes() == before
    out = bench_main.save({"x": 1}, tmp_path / "run.json")
    assert json.loads(out.read_text()) == {"x": 1}
