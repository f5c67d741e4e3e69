"""Per-app objects the blueprints need: the Settings and the store (feedback, shown cards)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Flask, current_app

from cdshooks.config import Settings

if TYPE_CHECKING:
    from cdshooks.store.model import Store

EXTENSION = "cdshooks"


def attach(app: Flask, settings: Settings, store: Store) -> None:
    """Keep the settings and the store on the app."""
    app.extensions[EXTENSION] = {"settings": settings, "store": store}


def current_settings() -> Settings:
    """The Settings of the app serving this request."""
    return current_app.extensions[EXTENSION]["settings"]


def current_store() -> Store:
    """The store of the app serving this request (feedback, the shown-card ledger)."""
    return current_app.extensions[EXTENSION]["store"]
