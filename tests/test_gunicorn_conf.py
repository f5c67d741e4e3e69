"""The gunicorn settings: valid for gunicorn, workers from CPUs, no query strings logged, strict variables."""

from __future__ import annotations

import os
import subprocess

import pytest
from gunicorn.config import Config

from cdshooks import gunicorn_conf
from cdshooks.config import ConfigError
from cdshooks.gunicorn_conf import MAX_WORKERS, default_workers, options
from tests.gunicorn_server import clean_env, gunicorn_command


def test_every_option_is_a_valid_gunicorn_setting():
    cfg = Config()
    for key, value in options(env={}).items():
        assert key in cfg.settings, key
        cfg.set(key, value)  # gunicorn's own validators
    assert cfg.graceful_timeout > 0
    assert cfg.workers == default_workers({})


def test_workers_are_two_per_cpu_plus_one_capped(monkeypatch):
    for cpus, expected in [(1, 3), (2, 5), (3, 7), (4, MAX_WORKERS), (64, MAX_WORKERS)]:
        monkeypatch.setattr(gunicorn_conf, "cpu_count", lambda cpus=cpus: cpus)
        assert default_workers({}) == expected


def test_web_concurrency_overrides_the_formula():
    assert default_workers({"WEB_CONCURRENCY": "3"}) == 3
    assert default_workers({"WEB_CONCURRENCY": " "}) == default_workers({})


def test_explicit_bind_and_workers_win():
    opts = options("127.0.0.1:9000", 2, env={"PORT": "1234"})
    assert (opts["bind"], opts["workers"]) == ("127.0.0.1:9000", 2)
    assert options(env={"PORT": "1234", "HOST": "127.0.0.1"})["bind"] == "127.0.0.1:1234"


def test_access_log_never_shows_query_strings_or_referrers():
    fmt = options(env={})["access_log_format"]
    for atom in ("%(r)s", "%(q)s", "%(f)s", "%(u)s", "{"):  # request line, query, referrer, user, headers
        assert atom not in fmt
    assert "%(U)s" in fmt


def test_module_works_as_a_gunicorn_config_file():
    cfg = Config()
    for key in cfg.settings:
        if hasattr(gunicorn_conf, key):
            cfg.set(key, getattr(gunicorn_conf, key))
    assert cfg.access_log_format == gunicorn_conf.ACCESS_LOG_FORMAT
    assert cfg.graceful_timeout == options()["graceful_timeout"]


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"WEB_CONCURRENCY": "abc"}, "WEB_CONCURRENCY='abc' is not a whole number: use an integer >= 1"),
        ({"WEB_CONCURRENCY": "0"}, "WEB_CONCURRENCY='0' is out of range: use an integer >= 1"),
        ({"GUNICORN_TIMEOUT": "-1"}, "GUNICORN_TIMEOUT='-1' is out of range: use an integer >= 1"),
        ({"GUNICORN_TIMEOUT": "0"}, "GUNICORN_TIMEOUT='0' is out of range: use an integer >= 1"),
        ({"GUNICORN_GRACEFUL_TIMEOUT": "soon"}, "GUNICORN_GRACEFUL_TIMEOUT='soon' is not a whole number"),
        ({"GUNICORN_MAX_REQUESTS": "-1"}, "GUNICORN_MAX_REQUESTS='-1' is out of range: use an integer >= 0"),
        ({"PORT": "http"}, "PORT='http' is not a port number: use 1-65535"),
    ],
)
def test_gunicorn_variables_are_parsed_strictly(env, expected):
    with pytest.raises(ConfigError) as exc:
        options(env=env)
    assert str(exc.value).startswith(expected)


def test_good_gunicorn_variables_are_read():
    env = {"WEB_CONCURRENCY": " 3 ", "GUNICORN_TIMEOUT": "60", "GUNICORN_GRACEFUL_TIMEOUT": "0", "HOST": " "}
    opts = options(env=env)
    assert (opts["workers"], opts["timeout"], opts["graceful_timeout"], opts["bind"]) == (3, 60, 0, "0.0.0.0:8080")


def test_workers_are_recycled_rarely_and_jittered_unless_told_otherwise():
    assert (options(env={})["max_requests"], options(env={})["max_requests_jitter"]) == (20_000, 2_000)
    assert (options(env={"GUNICORN_MAX_REQUESTS": "0"})["max_requests"]) == 0  # gunicorn's "never"
    assert options(env={"GUNICORN_MAX_REQUESTS": "5000"})["max_requests_jitter"] == 500


@pytest.mark.parametrize(
    ("name", "value", "accepted"),
    [
        ("CDSHOOKS_AUTH", "maybe", "use one of 1, true, yes, on / 0, false, no, off"),
        ("CDSHOOKS_MAX_BODY_BYTES", "-5", "use an integer >= 1"),
        ("WEB_CONCURRENCY", "0", "use an integer >= 1"),
        ("GUNICORN_TIMEOUT", "-1", "use an integer >= 1"),
        ("GUNICORN_GRACEFUL_TIMEOUT", "soon", "use an integer >= 0"),
        ("PORT", "abc", "use 1-65535"),
    ],
)
def test_gunicorn_started_with_the_config_file_stops_on_a_bad_setting_in_one_line(name, value, accepted, tmp_path):
    """`gunicorn -c python:cdshooks.gunicorn_conf ...` as the README shows: no worker boots, no traceback."""
    env = clean_env(CDSHOOKS_FEEDBACK_DB=str(tmp_path / "feedback.sqlite3"), **{name: value})
    done = subprocess.run(gunicorn_command("-b", "127.0.0.1:0"), env=env, capture_output=True, text=True, timeout=20)
    lines = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    assert done.returncode == 2, lines
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"cdshooks: {name}={value!r} ") and lines[0].endswith(accepted), lines


@pytest.fixture
def fresh_metrics_state(monkeypatch):
    monkeypatch.setattr(gunicorn_conf, "_prepared", None)


def test_a_given_metrics_folder_is_emptied_of_a_previous_runs_files(tmp_path, fresh_metrics_state):
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "counter_123.db").write_bytes(b"old")
    (folder / "README").write_text("not ours")
    env = {"PROMETHEUS_MULTIPROC_DIR": str(folder)}
    assert gunicorn_conf.prepare_metrics_dir(env) == str(folder)
    assert sorted(p.name for p in folder.iterdir()) == ["README"]


def test_prepared_once_per_process_so_open_files_are_kept(tmp_path, fresh_metrics_state):
    env = {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    gunicorn_conf.prepare_metrics_dir(env)  # cdshooks serve, before building the app
    (tmp_path / "counter_7.db").write_bytes(b"written by the app")
    gunicorn_conf.prepare_metrics_dir(env)  # gunicorn's on_starting
    assert (tmp_path / "counter_7.db").exists()


def test_without_a_folder_a_temporary_one_is_made_set_and_removed_on_exit(fresh_metrics_state):
    env: dict[str, str] = {}
    path = gunicorn_conf.prepare_metrics_dir(env)
    assert env["PROMETHEUS_MULTIPROC_DIR"] == path
    assert os.path.isdir(path)
    gunicorn_conf.on_exit(None)
    assert not os.path.exists(path)


def test_a_given_folder_is_never_removed(tmp_path, fresh_metrics_state):
    gunicorn_conf.prepare_metrics_dir({"PROMETHEUS_MULTIPROC_DIR": str(tmp_path)})
    gunicorn_conf.on_exit(None)
    assert tmp_path.is_dir()


def test_a_dead_workers_live_gauges_are_dropped(monkeypatch, tmp_path):
    from prometheus_client import multiprocess

    dead: list[int] = []
    monkeypatch.setattr(multiprocess, "mark_process_dead", dead.append)
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    gunicorn_conf.child_exit(None, type("Worker", (), {"pid": 4242})())
    assert dead == [4242]


def test_hooks_are_gunicorn_settings():
    opts = options(env={})
    assert {"on_starting", "child_exit", "on_exit"} <= opts.keys()
