"""gunicorn settings for production: `cdshooks serve` uses them, or

    gunicorn -c python:cdshooks.gunicorn_conf 'cdshooks.app:create_app()'

Workers default to 2 x CPUs + 1 (capped), overridable with WEB_CONCURRENCY.
Every variable read here (HOST, PORT, WEB_CONCURRENCY, GUNICORN_TIMEOUT,
GUNICORN_GRACEFUL_TIMEOUT, GUNICORN_MAX_REQUESTS) and every CDSHOOKS_* setting is parsed strictly
(`cdshooks.config`): loaded as a config file, a bad value stops gunicorn
before any worker starts, with one line naming the variable, its value and
what is accepted.
The access log never shows query strings or referrers: those can carry
patient ids, and tokens travel in headers that are never logged. Every line
gunicorn logs, and the error page it sends for a request it refuses itself,
goes through `cdshooks.web.gunicorn_log.RedactingLogger`: tokens redacted, control
characters escaped (a path with `%0D%0A` cannot forge a log line).
With metrics on (CDSHOOKS_METRICS), the master gives the workers one folder
for their metric files (PROMETHEUS_MULTIPROC_DIR: the one set, emptied, else a
new temporary folder) before any of them imports prometheus_client.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cdshooks.config import MAX_WORKERS, ConfigError, ServerSettings, Settings, web_concurrency


def cpu_count() -> int:
    """CPUs this process may run on (respects affinity, as in a pinned container)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def default_workers(env: Mapping[str, str] | None = None) -> int:
    """WEB_CONCURRENCY when set, else 2 x CPUs + 1, capped at MAX_WORKERS."""
    configured = web_concurrency(os.environ if env is None else env)
    return configured or min(2 * cpu_count() + 1, MAX_WORKERS)


# Path without the query string (%(U)s), status, size, duration in seconds. Written only for
# requests the app did not log itself (gunicorn's refusals): see cdshooks.web.gunicorn_log.
ACCESS_LOG_FORMAT = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(L)s'


def options(
    bind: str | None = None, workers: int | None = None, env: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The gunicorn settings as a dict (for gunicorn's BaseApplication); ConfigError for a bad variable."""
    env = os.environ if env is None else env
    server = ServerSettings.from_env(env)
    return {
        "bind": bind or f"{server.host}:{server.port}",
        "workers": workers or default_workers(env),
        # A hook call is bounded by the FHIR fetch budget (seconds); a stuck worker is killed.
        "timeout": server.timeout,
        # On SIGTERM (docker stop, rolling deploy) finish in-flight calls first.
        "graceful_timeout": server.graceful_timeout,
        "keepalive": 5,
        # Recycle workers now and then so slow leaks never build up (jittered: not all at once).
        "max_requests": server.max_requests,
        "max_requests_jitter": server.max_requests // 10,
        "accesslog": "-",
        "access_log_format": ACCESS_LOG_FORMAT,
        "errorlog": "-",
        # Named, not imported: this module must load where gunicorn is not installed.
        "logger_class": "cdshooks.web.gunicorn_log.RedactingLogger",
        # The app reads its own settings from the environment; no need to share state.
        "preload_app": False,
        # gunicorn >= 23's control socket sits in $HOME: absent in containers, shared by
        # every instance on a host. Older gunicorn ignores the unknown setting.
        "control_socket_disable": True,
        "post_worker_init": post_worker_init,
        "on_starting": on_starting,
        "child_exit": child_exit,
        "on_exit": on_exit,
    }


METRICS_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"


@dataclass(frozen=True)
class MetricsDir:
    """The metric folder this process prepared, and whether it made it (a temporary one)."""

    path: str
    made: bool


_prepared: MetricsDir | None = None


def prepare_metrics_dir(env: MutableMapping[str, str] | None = None) -> str:
    """The workers' metric folder, set in PROMETHEUS_MULTIPROC_DIR: the one given (emptied) or a new one.

    Once per process: `cdshooks serve` prepares it before building the app, then gunicorn's
    on_starting finds it done (emptying it again would drop files already open).
    """
    global _prepared
    env = os.environ if env is None else env
    given = env.get(METRICS_DIR_ENV, "").strip()
    if given and _prepared and _prepared.path == given:
        return given
    if given:
        folder = Path(given)
        folder.mkdir(parents=True, exist_ok=True)
        for stale in folder.glob("*.db"):  # a previous run's counts would be added to this one's
            stale.unlink()
    else:
        folder = Path(tempfile.mkdtemp(prefix="cdshooks-metrics-"))
    env[METRICS_DIR_ENV] = str(folder)
    _prepared = MetricsDir(str(folder), made=not given)
    return str(folder)


def on_starting(server: Any) -> None:
    """In the master, before any worker: the metric folder (with metrics on)."""
    if Settings.from_env().metrics_enabled:
        prepare_metrics_dir()


def child_exit(server: Any, worker: Any) -> None:
    """A worker is gone: drop its live gauges (its counters stay, so totals never go backwards)."""
    if os.environ.get(METRICS_DIR_ENV):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


def on_exit(server: Any) -> None:
    """Remove the metric folder when this process made it (a temporary one)."""
    if _prepared and _prepared.made:
        shutil.rmtree(_prepared.path, ignore_errors=True)


def post_worker_init(worker: Any) -> None:
    """Each worker loads rules, value sets, templates and models before its first request."""
    from cdshooks.warmup import prepare_for_serving

    prepare_for_serving()


def _as_config_file() -> dict[str, Any]:
    """The module-level settings; a bad variable ends the process here, in one line, no traceback."""
    try:
        Settings.from_env()  # else every worker would fail to boot, each with a traceback
        return options()
    except ConfigError as exc:
        print(f"cdshooks: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


# Module-level names make this file a gunicorn config file (`-c python:cdshooks.gunicorn_conf`).
globals().update(_as_config_file())
