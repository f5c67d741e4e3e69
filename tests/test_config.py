"""Settings from the environment are parsed strictly: a typo stops the service, it never turns a guard off."""

from __future__ import annotations

import subprocess
import sys

import pytest

from cdshooks.config import ConfigError, Settings, port


@pytest.mark.parametrize("value", ["enabled", "y", "maybe", "ture", "2"])
def test_an_unknown_auth_value_is_refused_not_read_as_off(value):
    with pytest.raises(ConfigError) as exc:
        Settings.from_env({"CDSHOOKS_AUTH": value})
    message = str(exc.value)
    assert "CDSHOOKS_AUTH" in message and repr(value) in message and "true" in message


@pytest.mark.parametrize(
    ("value", "expected"),
    [("1", True), ("true", True), ("YES", True), (" on ", True), ("0", False), ("false", False), ("off", False),
     ("", True)],
)
def test_accepted_auth_values(value, expected):
    assert Settings.from_env({"CDSHOOKS_AUTH": value}).auth_enabled is expected


def test_unset_auth_is_on():
    assert Settings.from_env({}).auth_enabled is True


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("CDSHOOKS_MAX_BODY_BYTES", "-5"),
        ("CDSHOOKS_MAX_BODY_BYTES", "five"),
        ("CDSHOOKS_MAX_JSON_DEPTH", "0"),
        ("CDSHOOKS_FETCH_BUDGET_SECONDS", "-1"),
        ("CDSHOOKS_FETCH_BUDGET_SECONDS", "nan"),
        ("CDSHOOKS_FETCH_MAX_PAGES", "1.5"),
        ("CDSHOOKS_TRUST_SANDBOX", "sure"),
        ("CDSHOOKS_PUBLIC_BASE_URL", "cds.example.org"),
        ("CDSHOOKS_PUBLIC_BASE_URL", "ftp://cds.example.org"),
        ("CDSHOOKS_NOW", "2026-01-15T12:00:00"),
    ],
)
def test_nonsense_values_are_refused_with_the_variable_named(name, value):
    with pytest.raises(ConfigError) as exc:
        Settings.from_env({name: value})
    assert name in str(exc.value) and repr(value) in str(exc.value)


def test_good_values_are_read():
    s = Settings.from_env(
        {
            "CDSHOOKS_PUBLIC_BASE_URL": "https://cds.example.org",
            "CDSHOOKS_MAX_BODY_BYTES": "1024",
            "CDSHOOKS_FETCH_BUDGET_SECONDS": "1.5",
            "CDSHOOKS_JWT_CLOCK_SKEW_SECONDS": "0",
        }
    )
    assert (s.public_base_url, s.max_body_bytes, s.fetch_budget_seconds, s.jwt_clock_skew_seconds) == (
        "https://cds.example.org", 1024, 1.5, 0,
    )


@pytest.mark.parametrize("value", ["abc", "0", "70000"])
def test_port_is_strict(value):
    with pytest.raises(ConfigError, match="PORT"):
        port(value)


def _cdshooks(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    import os

    return subprocess.run(
        [sys.executable, "-m", "cdshooks.cli", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_bad_port_does_not_break_help():
    done = _cdshooks("--help", env={"PORT": "abc"})
    assert done.returncode == 0, done.stderr
    assert "serve" in done.stdout


def test_serve_refuses_a_bad_setting_in_one_line_without_traceback():
    done = _cdshooks("serve", env={"CDSHOOKS_AUTH": "enabled"})
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "CDSHOOKS_AUTH='enabled'" in lines[0], done.stderr


def test_serve_refuses_a_bad_port_in_one_line():
    done = _cdshooks("serve", env={"PORT": "abc"})
    assert done.returncode == 2
    assert "Traceback" not in done.stderr and "PORT='abc'" in done.stderr


@pytest.mark.parametrize(
    ("name", "value"), [("WEB_CONCURRENCY", "abc"), ("GUNICORN_TIMEOUT", "-1"), ("GUNICORN_GRACEFUL_TIMEOUT", "x")]
)
def test_bad_gunicorn_variables_break_neither_help_nor_validate_and_stop_serve_in_one_line(name, value):
    """gunicorn itself reads WEB_CONCURRENCY on import, with a traceback: serve checks first."""
    assert _cdshooks("--help", env={name: value}).returncode == 0
    assert _cdshooks("validate", "--help", env={name: value}).returncode == 0
    done = _cdshooks("serve", env={name: value})
    assert done.returncode == 2 and "Traceback" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith(f"cdshooks serve: {name}={value!r} "), done.stderr


def test_with_auth_on_and_no_allowlist_nothing_is_fetched():
    assert Settings.from_env({}).effective_fhir_allowlist == ()


def test_without_auth_the_unconfigured_allowlist_is_loopback():
    from dataclasses import replace

    from cdshooks.config import DEFAULT_FHIR_ALLOWLIST

    assert Settings.from_env({"CDSHOOKS_AUTH": "0"}).effective_fhir_allowlist == DEFAULT_FHIR_ALLOWLIST
    # `cdshooks serve --no-auth` turns auth off after reading the environment
    assert replace(Settings.from_env({}), auth_enabled=False).effective_fhir_allowlist == DEFAULT_FHIR_ALLOWLIST


def test_a_configured_allowlist_is_used_whatever_the_auth():
    env = {"CDSHOOKS_FHIR_ALLOWLIST": "https://fhir.example.org, http://127.0.0.1:8081"}
    assert Settings.from_env(env).effective_fhir_allowlist == ("https://fhir.example.org", "http://127.0.0.1:8081")
    assert Settings.from_env({"CDSHOOKS_FHIR_ALLOWLIST": ""}).effective_fhir_allowlist == ()


def test_the_fetch_policy_carries_the_fallback_settings_and_the_effective_allowlist():
    from cdshooks.data.gather import FetchPolicy

    s = Settings(auth_enabled=True, fetch_budget_seconds=1.5, fetch_max_pages=2, max_body_bytes=1000)
    assert s.fetch_policy() == FetchPolicy(allowlist=(), budget_seconds=1.5, max_pages=2, max_bytes=1000)
    assert Settings(auth_enabled=False).fetch_policy().allowlist == Settings(auth_enabled=False).effective_fhir_allowlist


def test_a_database_url_must_be_postgresql_and_its_value_is_never_echoed():
    with pytest.raises(ConfigError, match="CDSHOOKS_DATABASE_URL") as caught:
        Settings.from_env({"CDSHOOKS_DATABASE_URL": "mysql://cds:s3cret@db/cds"})
    assert "s3cret" not in str(caught.value)
    for url in ("postgresql://cds:s3cret@db:5432/cds", "postgres://cds@db/cds"):
        s = Settings.from_env({"CDSHOOKS_DATABASE_URL": url})
        assert s.database_url == url and "s3cret" not in repr(s)
    assert Settings.from_env({}).database_url is None
    s = Settings.from_env({"CDSHOOKS_DB_POOL_SIZE": "8", "CDSHOOKS_DB_STATEMENT_TIMEOUT_MS": "500",
                           "CDSHOOKS_DB_UPGRADE_ON_START": "1"})
    assert (s.db_pool_size, s.db_statement_timeout_ms, s.db_upgrade_on_start) == (8, 500, True)
