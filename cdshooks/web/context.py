"""Per-app objects the blueprints need: the Settings and the feedback store."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Flask, current_app

from cdshooks.config import Settings

if TYPE_CHECKING:
    from cdshooks.feedback import FeedbackStore

EXTENSION = "cdshooks"


def attach(app: Flask, settings: Settings, feedback_store: FeedbackStore) -> None:
    """Store the settings and the feedback store on the app."""
    app.extensions[EXTENSION] = {"settings": settings, "feedback": feedback_store}


def current_settings() -> Settings:
    """The Settings of the app serving this request."""
    return current_app.extensions[EXTENSION]["settings"]


def current_feedback_store() -> FeedbackStore:
    return current_app.extensions[EXTENSION]["feedback"]
