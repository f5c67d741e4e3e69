"""`cdshooks replay`: card detail, folders, one-line errors, and the service's evaluation time."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import responses

from cdshooks.cli import commands as cli
from cdshooks.cli.replay_view import wrap_markdown
from cdshooks.protocol import EVALUATION_TIME_HEADER

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
QUIET = FIXTURES / "patient-view-not-on-tofacitinib"  # no cards, asOf 2026-01-15T12:00:00Z
WITH_DETAIL = FIXTURES / "ddi-rituximab"  # two cards, Markdown detail with a list
SERVICE_URL = "http://svc/cds-services/tofacitinib-patient-view"


def run_cli(*argv: str) -> subprocess.CompletedProcess:
    """The real command in a child process: what a user sees, tracebacks included."""
    env = {**os.environ, "COLUMNS": "80"}
    return subprocess.run(
        [sys.executable, "-c", "import sys; from cdshooks.cli.commands import main; sys.exit(main())", *argv],
        capture_output=True, text=True, timeout=120, env=env,
    )


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --detail


def detail_lines(out: str) -> list[str]:
    lines, inside = [], False
    for line in out.splitlines():
        if line == "    detail:":
            inside = True
        elif inside and line.startswith("      "):
            lines.append(line)
        elif inside and line:
            inside = False
    return lines


def test_detail_shows_each_cards_markdown_wrapped_to_the_terminal(monkeypatch, capsys):
    monkeypatch.setenv("COLUMNS", "72")
    assert cli.main(["replay", str(WITH_DETAIL), "--detail"]) == 0
    out = capsys.readouterr().out
    lines = detail_lines(out)
    assert out.count("    detail:") == 2
    assert lines and all(len(line) <= 72 for line in lines), [line for line in lines if len(line) > 72]
    assert any(line.startswith("      - rituximab") for line in lines)  # list items keep their marker
    assert "    link: " in out
    assert cli.main(["replay", str(WITH_DETAIL)]) == 0
    assert "detail:" not in capsys.readouterr().out  # only on request


def test_wrap_markdown_joins_soft_breaks_and_hangs_list_items():
    text = "A paragraph that is\nbroken in the source.\n\n- an item long enough to wrap onto a second line\n- b\n\n| t | v |\n|---|---|"
    assert wrap_markdown(text, 30, indent="  ") == (
        "  A paragraph that is broken\n"
        "  in the source.\n"
        "\n"
        "  - an item long enough to\n"
        "    wrap onto a second line\n"
        "  - b\n"
        "\n"
        "  | t | v |\n"
        "  |---|---|"
    )


def test_wrap_markdown_keeps_hard_breaks_and_code():
    text = "line one  \nline two\\\nline three\n\n```\nkeep   this\n```"
    assert wrap_markdown(text, 40) == "line one\nline two\nline three\n\n```\nkeep   this\n```"


# folders


def test_a_folder_replays_every_scenario_in_it(tmp_path, capsys):
    for fixture in (QUIET, WITH_DETAIL):
        shutil.copytree(fixture, tmp_path / fixture.name)
    assert cli.main(["replay", str(tmp_path)]) == 0
    out, err = capsys.readouterr()
    assert out.index("ddi-rituximab: ") < out.index("patient-view-not-on-tofacitinib: ")
    assert "2 scenario(s) replayed: 2 answered 200, 2 with the expected topics" in err
    assert cli.main(["replay", str(tmp_path), "--json"]) == 0
    bodies = json.loads(capsys.readouterr().out)
    assert sorted(bodies) == ["ddi-rituximab", "patient-view-not-on-tofacitinib"]
    assert bodies["patient-view-not-on-tofacitinib"] == {"cards": []}


def test_a_folder_names_the_scenarios_not_as_expected(tmp_path, capsys):
    shutil.copytree(QUIET, tmp_path / "quiet")
    doc = json.loads((tmp_path / "quiet" / "scenario.json").read_text())
    doc["expect"]["topics"] = ["cmv-pcr-due"]
    (tmp_path / "quiet" / "scenario.json").write_text(json.dumps(doc))
    shutil.copytree(WITH_DETAIL, tmp_path / "rtx")
    assert cli.main(["replay", str(tmp_path)]) == 0  # every reply was a 200
    assert "1 with the expected topics; not as expected: quiet" in capsys.readouterr().err


def test_an_empty_folder_is_a_one_line_error(tmp_path, capsys):
    assert cli.main(["replay", str(tmp_path)]) == 2
    assert capsys.readouterr().err.strip() == f"cdshooks replay: no scenario.json in {tmp_path} or in its subfolders"


# one-line errors, never a traceback


def test_a_dead_url_is_one_line_and_exit_2():
    url = f"http://127.0.0.1:{closed_port()}"
    result = run_cli("replay", str(QUIET), "--url", url)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        f"cdshooks replay: cannot reach {url}/cds-services/tofacitinib-patient-view: Connection refused"
    ]


def test_a_url_without_a_scheme_is_one_line(capsys):
    assert cli.main(["replay", str(QUIET), "--url", "localhost:8080"]) == 2
    assert capsys.readouterr().err.strip() == (
        "cdshooks replay: --url 'localhost:8080': give the service's base URL, e.g. http://127.0.0.1:8080"
    )


@pytest.mark.parametrize(
    "content, message",
    [
        ('{"service": 1', "is not JSON: Expecting ',' delimiter at line 1 column 14"),
        ("[]", "is not a scenario (a JSON object with service, asOf and request)"),
        ('{"service": "tofacitinib-patient-view"}', "has no asOf, request"),
        ('{"service": "tofacitinib-patient-view", "asOf": "15 Jan", "request": {}}', "asOf '15 Jan' is not an ISO 8601 date-time"),
        ('{"service": "tofacitinib-patient-view", "asOf": "2026-01-15T12:00:00", "request": {}}', "has no UTC offset"),
    ],
)
def test_a_broken_scenario_file_is_one_line_and_exit_2(tmp_path, content, message):
    path = tmp_path / "case" / "scenario.json"
    path.parent.mkdir()
    path.write_text(content)
    result = run_cli("replay", str(path))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"cdshooks replay: {path}: ") and message in line


def test_a_broken_scenario_in_a_folder_does_not_stop_the_others(tmp_path, capsys):
    shutil.copytree(QUIET, tmp_path / "good")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "scenario.json").write_text("{")
    assert cli.main(["replay", str(tmp_path)]) == 2
    out, err = capsys.readouterr()
    assert "good: " in out
    assert f"cdshooks replay: {tmp_path / 'bad' / 'scenario.json'}: is not JSON" in err
    assert "1 could not be read: bad" in err


# the service's evaluation time


def test_in_process_replay_evaluates_at_as_of_or_now(capsys):
    from cdshooks.cli.replay import load_scenario, send_in_process

    scenario = load_scenario(QUIET)
    assert send_in_process(scenario).headers[EVALUATION_TIME_HEADER] == "2026-01-15T12:00:00Z"


@responses.activate
@pytest.mark.parametrize(
    "evaluated, warned",
    [
        ("2026-01-15T12:00:00Z", False),
        ("2026-01-15T12:00:30Z", False),  # a server on the clock, replayed with --now its time
        ("2026-03-02T08:15:00Z", True),
        (None, True),  # a service that does not say
    ],
)
def test_replay_warns_when_the_service_evaluates_at_another_time(evaluated, warned, capsys):
    headers = {EVALUATION_TIME_HEADER: evaluated} if evaluated else {}
    responses.post(SERVICE_URL, json={"cards": []}, headers=headers)
    assert cli.main(["replay", str(QUIET), "--url", "http://svc"]) == 0
    err = capsys.readouterr().err
    assert ("warning:" in err) is warned
    if evaluated and warned:
        assert err.strip() == (
            "warning: http://svc evaluated at 2026-03-02T08:15:00Z, but patient-view-not-on-tofacitinib is "
            "written for 2026-01-15T12:00:00Z: the cards may differ from expect.topics "
            "(serve with --now 2026-01-15T12:00:00Z, or replay with --now 2026-03-02T08:15:00Z)"
        )


@responses.activate
def test_replay_with_now_compares_the_service_with_that_time(capsys):
    responses.post(SERVICE_URL, json={"cards": []}, headers={EVALUATION_TIME_HEADER: "2026-03-02T08:15:00Z"})
    assert cli.main(["replay", str(QUIET), "--url", "http://svc", "--now", "2026-03-02T08:15:10Z"]) == 0
    assert "warning" not in capsys.readouterr().err


def test_a_bad_setting_is_one_line_not_a_traceback():
    env_bad = {"CDSHOOKS_MAX_BODY_BYTES": "lots"}
    result = subprocess.run(
        [sys.executable, "-c", "import sys; from cdshooks.cli.commands import main; sys.exit(main())", "replay", str(QUIET)],
        capture_output=True, text=True, timeout=120, env={**os.environ, **env_bad},
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("cdshooks replay: CDSHOOKS_MAX_BODY_BYTES")
