"""Long commands show progress on a terminal and stay quiet when piped."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import pytest
import responses

from cdshooks.cli import commands as cli
from cdshooks.cli.progress import Progress
from tests import fixturekit as k

FHIR = "http://fhir.test/r4"


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def _scenarios(folder, n: int):
    for i in range(n):
        (folder / f"case-{i}").mkdir(parents=True)
        doc = {"description": "x", "service": "x", "asOf": "2026-01-15T12:00:00Z", "expect": {"topics": []},
               "request": k.patient_view()}
        (folder / f"case-{i}" / "scenario.json").write_text(json.dumps(doc))
    return folder


def test_progress_rewrites_one_line_on_a_terminal_and_clears_it():
    tty = Tty()
    with Progress("loading", total=3, stream=tty, interval=0) as p:
        p.update(0, "a")
        p.update(1, "b")
    assert tty.getvalue() == "\rloading 0/3 a\033[K\rloading 1/3 b\033[K\r\033[K"


def test_progress_is_silent_when_not_a_terminal():
    piped = io.StringIO()
    with Progress("loading", total=3, stream=piped, interval=0) as p:
        p.update(1, "b", force=True)
    assert piped.getvalue() == ""


@responses.activate
def test_fixtures_load_shows_progress_on_a_terminal(tmp_path, monkeypatch, capsys):
    responses.post(f"{FHIR}/", json={"resourceType": "Bundle", "type": "transaction-response"})
    tty = Tty()
    monkeypatch.setattr(sys, "stderr", tty)
    assert cli.main(["fixtures", "load", str(_scenarios(tmp_path, 3)), "--fhir-server", FHIR]) == 0
    shown = tty.getvalue()
    assert "\rloading scenarios 0/3 case-0\033[K" in shown
    assert shown.endswith("\r\033[K")  # cleared before the command's own lines
    assert capsys.readouterr().out.count("patientId=") == 3


@responses.activate
def test_fixtures_load_is_quiet_when_piped(tmp_path, capsys):
    responses.post(f"{FHIR}/", json={"resourceType": "Bundle", "type": "transaction-response"})
    assert cli.main(["fixtures", "load", str(_scenarios(tmp_path, 3)), "--fhir-server", FHIR]) == 0
    out, err = capsys.readouterr()
    assert "\r" not in out + err and "\033" not in out + err
    assert err == ""


@responses.activate
@pytest.mark.parametrize("terminal", [True, False])
def test_wait_shows_progress_only_on_a_terminal(tmp_path, monkeypatch, capsys, terminal):
    import requests

    responses.get(f"{FHIR}/metadata", body=requests.ConnectionError("refused"))
    responses.get(f"{FHIR}/metadata", status=503)
    responses.get(f"{FHIR}/metadata", json={"resourceType": "CapabilityStatement"})
    responses.post(f"{FHIR}/", json={"resourceType": "Bundle", "type": "transaction-response"})
    monkeypatch.setattr("cdshooks.cli.fixture_commands.time.sleep", lambda s: None)
    stream = Tty() if terminal else io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    assert cli.main(["fixtures", "load", str(_scenarios(tmp_path, 1)), "--fhir-server", FHIR, "--wait", "60"]) == 0
    shown = stream.getvalue()
    assert (f"\rwaiting for {FHIR}/metadata: " in shown) is terminal
    assert ("s of 60 s" in shown) is terminal
    if not terminal:
        assert shown == ""


def test_a_piped_load_writes_no_control_characters(tmp_path):
    # The real command with stderr a pipe, as in CI: a dead server, a one-line error, nothing else.
    result = subprocess.run(
        [sys.executable, "-c", "import sys; from cdshooks.cli.commands import main; sys.exit(main())",
         "fixtures", "load", str(_scenarios(tmp_path, 2)), "--fhir-server", "http://127.0.0.1:9/fhir"],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 1
    assert "\r" not in result.stderr and "\033" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("terminal", [True, False])
def test_validate_of_a_folder_shows_progress_only_on_a_terminal(tmp_path, monkeypatch, terminal):
    from cdshooks.cli import scaffold
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "scenario.json").write_text(json.dumps(scaffold.scenario("patient-view", "x")))
    stream = Tty() if terminal else io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    assert cli.main(["validate", str(tmp_path)]) == 0
    shown = stream.getvalue()
    assert ("\rchecking 0/2 a\033[K" in shown) is terminal
    assert ("\r\033[K2 scenario(s)" in shown) is terminal  # cleared before the summary
    assert shown.endswith("2 scenario(s) checked: 0 error(s), 0 warning(s)\n")


@pytest.mark.parametrize("stdout_terminal, shown", [(False, True), (True, False)])
def test_replay_of_a_folder_shows_progress_when_its_output_is_redirected(tmp_path, stdout_terminal, shown):
    from pathlib import Path

    from cdshooks.cli.replay import replay

    fixture = Path(__file__).resolve().parents[2] / "fixtures" / "patient-view-not-on-tofacitinib"
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "scenario.json").write_text((fixture / "scenario.json").read_text())
    out, err = (Tty() if stdout_terminal else io.StringIO()), Tty()
    assert replay(str(tmp_path), out=out, err=err, color="never") == 0
    assert ("\rreplaying 0/2 a\033[K" in err.getvalue()) is shown
    assert "\r" not in out.getvalue()
    assert err.getvalue().endswith("2 scenario(s) replayed: 2 answered 200, 2 with the expected topics\n")
