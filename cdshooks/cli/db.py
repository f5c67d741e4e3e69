"""`cdshooks db upgrade` and `cdshooks db check`: the store's schema, ahead of serving and for probes.

Both act on the store the environment names (CDSHOOKS_DATABASE_URL, else the
SQLite file of CDSHOOKS_FEEDBACK_DB). `check` is a readiness probe: exit 0
when the store answers and its schema is current, 1 with one line saying why
not (the database URL's password is never printed).
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import TYPE_CHECKING

from cdshooks.config import ConfigError, Settings
from cdshooks.store import store_for
from cdshooks.store.model import Store, StoreUnavailable
from cdshooks.store.schema import SchemaError

if TYPE_CHECKING:
    from cdshooks.cli.commands import Parser


def _store(command: str) -> Store | None:
    # The pool's own retry warnings would repeat, unformatted, the one line this command prints.
    logging.getLogger("psycopg.pool").setLevel(logging.ERROR)
    try:
        return store_for(Settings.from_env())
    except ConfigError as exc:
        print(f"cdshooks db {command}: {exc}", file=sys.stderr)
        return None


def _upgrade(args: argparse.Namespace) -> int:
    store = _store("upgrade")
    if store is None:
        return 2
    try:
        applied = store.upgrade()
        version = store.schema_version()
    except (StoreUnavailable, SchemaError) as exc:
        print(f"cdshooks db upgrade: {exc}", file=sys.stderr)
        return 1
    if applied:
        print(f"applied {', '.join(f'{v:04d}' for v in applied)}; schema version {version}")
    else:
        print(f"up to date; schema version {version}")
    return 0


def _check(args: argparse.Namespace) -> int:
    store = _store("check")
    if store is None:
        return 2
    try:
        store.check()
    except (StoreUnavailable, SchemaError) as exc:
        print(f"cdshooks db check: {exc}", file=sys.stderr)
        return 1
    print(f"ok; schema version {store.schema_version()}")
    return 0


def register(sub: argparse._SubParsersAction[Parser]) -> None:
    """Add `db upgrade` and `db check` to the main parser's subcommands."""
    db = sub.add_parser("db", help="the store's schema: apply migrations, check readiness")
    actions = db.add_subparsers(dest="db_command", required=True)
    actions.add_parser("upgrade", help="apply the schema migrations the store still needs").set_defaults(
        func=_upgrade
    )
    actions.add_parser(
        "check", help="exit 0 when the store answers and its schema is current, else 1 with the reason"
    ).set_defaults(func=_check)
