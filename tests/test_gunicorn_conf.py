"""The gunicorn settings: valid for gunicorn, workers from CPUs, no query strings logged."""

from __future__ import annotations

from gunicorn.config import Config

from cdshooks import gunicorn_conf
from cdshooks.gunicorn_conf import MAX_WORKERS, default_workers, options


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
