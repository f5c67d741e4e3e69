"""Running the app: gunicorn when installed (production), else Flask's dev server."""

from __future__ import annotations

import sys
from typing import Any

from flask import Flask


def _gunicorn_app(app: Flask, options: dict[str, Any]):
    """A programmatic gunicorn application serving an already built Flask app."""
    from gunicorn.app.base import BaseApplication

    class StandaloneApplication(BaseApplication):
        def __init__(self) -> None:
            self.application = app
            super().__init__()

        def load_config(self) -> None:
            for key, value in options.items():
                if value is not None and key in self.cfg.settings:
                    self.cfg.set(key, value)

        def load(self) -> Flask:
            return self.application

    return StandaloneApplication()


def run(app: Flask, host: str, port: int, workers: int | None = None) -> None:
    """Serve until interrupted."""
    try:
        import gunicorn  # noqa: F401
    except ImportError:
        print(
            "WARNING: gunicorn is not installed; using Flask's development server, "
            "which is not for production (pip install 'cdshooks-tofacitinib[server]').",
            file=sys.stderr,
        )
        app.run(host=host, port=port, threaded=True)
        return
    from cdshooks.gunicorn_conf import options  # workers from CPUs, no query strings in the log

    _gunicorn_app(app, options(f"{host}:{port}", workers)).run()
