"""Schema migrations: the versioned SQL files of a backend, and which of them a database still needs.

Files are `migrations/<backend>/NNNN_name.sql`, applied in order, each in one
transaction together with its row in `schema_version`. A migration is never
edited once released: a change is a new file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

_FILE = re.compile(r"(\d{4})_([a-z0-9_]+)\.sql")
SCHEMA_VERSION_TABLE = "schema_version"
# Columns both backends read, in the order the row builders take them.
FEEDBACK_ROW_COLUMNS = (
    "card_uuid, service_id, outcome, accepted_suggestions, override_system, override_code,"
    " override_display, outcome_timestamp, received_at"
)
SHOWN_COLUMNS = "card_uuid, topic, indicator, patient_id, hook, service_id, shown_at"


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    def statements(self) -> list[str]:
        """The file's statements (our own files: no semicolons inside strings or bodies)."""
        text = "\n".join(line for line in self.sql.splitlines() if not line.lstrip().startswith("--"))
        return [s.strip() for s in text.split(";") if s.strip()]


class SchemaError(Exception):
    """The database's schema is not the one this version of the service needs."""


def migrations(backend: str) -> list[Migration]:
    """Every migration of a backend ("sqlite", "postgresql"), oldest first."""
    folder = resources.files("cdshooks.store.migrations").joinpath(backend)
    found = []
    for entry in folder.iterdir():
        match = _FILE.fullmatch(entry.name)
        if match:
            found.append(Migration(int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    if [m.version for m in found] != list(range(1, len(found) + 1)):
        raise SchemaError(f"{backend} migrations must be numbered 0001, 0002, ... without gaps")
    return found


def latest_version(backend: str) -> int:
    return len(migrations(backend))


def pending(backend: str, current: int) -> list[Migration]:
    """The migrations a database at version `current` still needs (SchemaError if it is newer than us)."""
    known = migrations(backend)
    if current > len(known):
        raise SchemaError(
            f"the database is at schema version {current}, newer than this service's {len(known)}: "
            "upgrade the service, not the database"
        )
    return known[current:]
