"""The `cdshooks` command and all fixture tooling; the service never imports this package."""

from cdshooks.cli.commands import main

__all__ = ["main"]
