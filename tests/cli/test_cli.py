"""The `cdshooks` command: serve options and fixture replay."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import responses

from cdshooks import gunicorn_conf
from cdshooks.cli import commands as cli
from cdshooks.web import server

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "patient-view-not-on-tofacitinib"


@pytest.fixture
def metric_folders(monkeypatch):
    """Record that serve prepared the metric folder, without setting PROMETHEUS_MULTIPROC_DIR in this process."""
    prepared: list[bool] = []
    monkeypatch.setattr(gunicorn_conf, "prepare_metrics_dir", lambda: prepared.append(True))
    return prepared


@pytest.fixture
def served(monkeypatch, metric_folders):
    """Capture what `serve` would run instead of running it."""
    calls = []
    monkeypatch.setattr(server, "run", lambda app, host, port, workers=None: calls.append((app, host, port, workers)))
    return calls


@pytest.mark.parametrize(("setting", "prepared"), [("on", [True]), ("off", [])])
def test_serve_prepares_the_metric_folder_only_with_metrics_on(served, metric_folders, monkeypatch, setting, prepared):
    monkeypatch.setenv("CDSHOOKS_METRICS", setting)
    assert cli.main(["serve", "--no-auth"]) == 0
    assert metric_folders == prepared


def settings_of(app):
    return app.extensions["cdshooks"]["settings"]


def test_serve_defaults_to_loopback_8080_with_auth_on(served, monkeypatch, tmp_path):
    monkeypatch.delenv("PORT", raising=False)
    monkeypatch.setenv("CDSHOOKS_FEEDBACK_DB", str(tmp_path / "fb.sqlite3"))
    assert cli.main(["serve"]) == 0
    app, host, port, workers = served[0]
    assert (host, port, workers) == ("127.0.0.1", 8080, None)
    assert settings_of(app).auth_enabled is True


def test_serve_honours_port_env_and_flags(served, monkeypatch, capsys):
    monkeypatch.setenv("PORT", "9123")
    assert cli.main(["serve", "--host", "0.0.0.0", "--no-auth", "--now", "2026-01-15T12:00:00Z"]) == 0
    app, host, port, _ = served[0]
    assert (host, port) == ("0.0.0.0", 9123)
    assert settings_of(app).auth_enabled is False
    assert settings_of(app).now.isoformat() == "2026-01-15T12:00:00+00:00"
    assert "WARNING" in capsys.readouterr().err


def test_serve_off_loopback_with_auth_needs_a_public_base_url(served, monkeypatch, tmp_path, capsys):
    monkeypatch.delenv("CDSHOOKS_PUBLIC_BASE_URL", raising=False)
    monkeypatch.setenv("CDSHOOKS_FEEDBACK_DB", str(tmp_path / "fb.sqlite3"))
    assert cli.main(["serve", "--host", "0.0.0.0"]) == 2
    assert not served and "CDSHOOKS_PUBLIC_BASE_URL" in capsys.readouterr().err
    monkeypatch.setenv("CDSHOOKS_PUBLIC_BASE_URL", "https://cds.example.org")
    assert cli.main(["serve", "--host", "0.0.0.0"]) == 0
    monkeypatch.delenv("CDSHOOKS_PUBLIC_BASE_URL")
    assert cli.main(["serve", "--host", "::1"]) == 0  # loopback may use the request URL
    assert len(served) == 2


def test_explicit_port_beats_port_env(served, monkeypatch):
    monkeypatch.setenv("PORT", "9123")
    cli.main(["serve", "--port", "9200", "--no-auth"])
    assert served[0][2] == 9200


def test_now_without_offset_is_refused(served, capsys):
    with pytest.raises(SystemExit):
        cli.main(["serve", "--now", "2026-01-15T12:00:00"])
    assert "UTC offset" in capsys.readouterr().err


def test_serve_help_states_the_real_worker_default(capsys):
    with pytest.raises(SystemExit):
        cli.main(["serve", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "WEB_CONCURRENCY, else 2 x CPUs + 1" in help_text
    assert f"at most {gunicorn_conf.MAX_WORKERS}" in help_text
    assert gunicorn_conf.default_workers({}) == min(2 * gunicorn_conf.cpu_count() + 1, gunicorn_conf.MAX_WORKERS)


def test_gunicorn_application_serves_the_given_app(make_app):
    flask_app = make_app()
    g = server._gunicorn_app(flask_app, {"bind": "127.0.0.1:9999", "workers": 3, "unknown": 1})
    assert g.cfg.bind == ["127.0.0.1:9999"] and g.cfg.workers == 3
    assert g.load() is flask_app


def test_without_gunicorn_the_dev_server_runs_with_a_warning(make_app, monkeypatch, capsys):
    import builtins

    real_import = builtins.__import__

    def no_gunicorn(name, *args, **kwargs):
        if name == "gunicorn":
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    flask_app = make_app()
    ran = []
    monkeypatch.setattr(builtins, "__import__", no_gunicorn)
    monkeypatch.setattr(flask_app, "run", lambda **kw: ran.append(kw))
    server.run(flask_app, "127.0.0.1", 8081)
    assert ran == [{"host": "127.0.0.1", "port": 8081, "threaded": True}]
    assert "gunicorn is not installed" in capsys.readouterr().err


def test_replay_prints_cards_readably(capsys):
    assert cli.main(["replay", str(FIXTURE)]) == 0
    out = capsys.readouterr().out
    assert "HTTP 200 from tofacitinib-patient-view" in out
    assert "No cards." in out and "as expected" in out


def test_replay_json_prints_the_raw_response(capsys):
    assert cli.main(["replay", str(FIXTURE / "scenario.json"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"cards": []}


def test_replay_of_a_missing_fixture_exits_2(capsys):
    assert cli.main(["replay", "no/such/fixture"]) == 2
    assert "no scenario found" in capsys.readouterr().err


@responses.activate
def test_replay_to_a_running_service(capsys):
    card = {
        "uuid": "u1",
        "summary": "Order a CMV PCR",
        "indicator": "warning",
        "source": {"label": "S", "topic": {"system": "urn:tofacitinib-cds:rule", "code": "cmv-pcr-due"}},
        "suggestions": [
            {
                "label": "Order CMV DNA",
                "isRecommended": True,
                "actions": [{"type": "create", "description": "CMV PCR", "resource": {"resourceType": "ServiceRequest"}}],
            }
        ],
    }
    responses.post("http://127.0.0.1:8080/cds-services/tofacitinib-patient-view", json={"cards": [card]})
    assert cli.main(["replay", str(FIXTURE), "--url", "http://127.0.0.1:8080/"]) == 0
    out = capsys.readouterr().out
    assert "[WARNING] Order a CMV PCR" in out
    assert "topic:  cmv-pcr-due" in out
    assert "suggestion: Order CMV DNA (recommended)" in out
    assert "create ServiceRequest/new: CMV PCR" in out
    assert "EXPECTED []" in out  # the scenario expects no cards
    sent = json.loads(responses.calls[0].request.body)
    assert sent["hook"] == "patient-view"


@responses.activate
def test_replay_reports_an_error_reply_and_exits_1(capsys):
    outcome = {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "incomplete", "diagnostics": "no data"}]}
    responses.post("http://svc/cds-services/tofacitinib-patient-view", json=outcome, status=412)
    assert cli.main(["replay", str(FIXTURE), "--url", "http://svc"]) == 1
    out = capsys.readouterr().out
    assert "HTTP 412" in out and "no data" in out


def test_in_process_replay_is_quiet_and_writes_nothing_in_the_working_directory(caplog, tmp_path, monkeypatch):
    import logging

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CDSHOOKS_FEEDBACK_DB", raising=False)
    with caplog.at_level(logging.INFO):
        assert cli.main(["replay", str(FIXTURE)]) == 0
    noisy = [r for r in caplog.records if r.name in ("cdshooks.security", "cdshooks.requests")]
    assert noisy == []  # no "authentication is off" warning, no request log line
    assert list(tmp_path.iterdir()) == []


def test_version_comes_from_the_installed_package(capsys):
    from importlib.metadata import version

    with pytest.raises(SystemExit) as exit_:
        cli.main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.strip() == f"cdshooks {version('cdshooks-tofacitinib')}"


def _parsers(p=None, name="cdshooks"):
    """Every (command name, parser) of `cdshooks`, subcommands included."""
    import argparse

    p = p or cli.parser()
    yield name, p
    for action in p._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub_name, sub in action.choices.items():
                yield from _parsers(sub, f"{name} {sub_name}")


def test_every_help_text_states_the_default(monkeypatch):
    import argparse

    monkeypatch.setenv("COLUMNS", "200")  # one help line per option
    unstated = []
    for name, p in _parsers():
        text = " ".join(p.format_help().split())
        for action in p._actions:
            if isinstance(action, (argparse._HelpAction, argparse._VersionAction, argparse._SubParsersAction)):
                continue
            if action.required or action.nargs == 0:  # nothing to default, or an on/off flag
                continue
            stated = f"default: {action.default}" in text if action.default is not None else "default" in (action.help or "")
            if not stated:
                unstated.append(f"{name} {action.option_strings or action.dest}")
    assert unstated == []


def test_help_works_with_a_broken_port_variable(monkeypatch, capsys):
    monkeypatch.setenv("PORT", "abc")
    for argv in (["--help"], ["serve", "--help"], ["replay", "--help"]):
        with pytest.raises(SystemExit) as exit_:
            cli.main(argv)
        assert exit_.value.code == 0
    assert "usage: cdshooks" in capsys.readouterr().out


@pytest.mark.parametrize("mode, coloured", [("always", True), ("never", False), ("auto", False)])
def test_replay_color_option(mode, coloured, monkeypatch, capsys):
    monkeypatch.setenv("NO_COLOR", "1")
    assert cli.main(["replay", str(FIXTURE), "--color", mode]) == 0
    assert ("\033[" in capsys.readouterr().out) is coloured
