"""Trusting CDS clients (JWT), request limits and request logging.

`init_app(app, settings)` is called by `cdshooks.app.create_app`; it installs
the checks that run before every discovery, service and feedback call.
"""

from __future__ import annotations

from flask import Flask

from cdshooks.config import Settings


def init_app(app: Flask, settings: Settings) -> None:
    """Install authentication and request logging on the app (filled in by issue 5)."""
