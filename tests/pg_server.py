"""A real PostgreSQL server for the tests: Debian's binaries, a temporary cluster, a loopback port.

`initdb` and `pg_ctl` come from PATH, else /usr/lib/postgresql/<newest>/bin.
initdb refuses to run as root, so as root the cluster belongs to the `postgres`
OS user (which Debian's package creates) and the binaries run through
`runuser`. Missing binaries skip the tests with the reason, unless
CDSHOOKS_REQUIRE_SERVERS is set (as `make test` and CI do), where they fail.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path


START_SECONDS = 30


def servers_required() -> bool:
    return os.environ.get("CDSHOOKS_REQUIRE_SERVERS", "").strip() not in ("", "0")


def find_bin_dir() -> Path | None:
    """The folder holding initdb and pg_ctl, or None."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(found).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    return Path(candidates[-1]).parent if candidates else None


def require_bin_dir() -> Path:
    bin_dir = find_bin_dir()
    if bin_dir is not None:
        return bin_dir
    import pytest  # here only: bench/store.py starts a server without pytest installed

    reason = "PostgreSQL server binaries (Debian package `postgresql`) are not installed; `make test` installs them"
    if servers_required():
        pytest.fail(f"{reason}, and CDSHOOKS_REQUIRE_SERVERS is set: the PostgreSQL tests must run")
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class PgServer:
    """One throwaway cluster; `start`, `stop` and `restart` keep its port, so URLs stay valid."""

    bin_dir: Path
    root: Path
    port: int
    run_as: str | None  # the OS user the binaries run as (None: ourselves)

    @classmethod
    def create(cls, bin_dir: Path) -> PgServer:
        root = Path(tempfile.mkdtemp(prefix="cdshooks-pg-"))  # not under pytest's 0700 folders: postgres reads it
        run_as = "postgres" if os.geteuid() == 0 else None
        if run_as:
            entry = pwd.getpwnam(run_as)
            os.chown(root, entry.pw_uid, entry.pw_gid)
        server = cls(bin_dir, root, free_port(), run_as)
        server._run("initdb", "-D", str(server.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                    "--no-sync", "--no-instructions")
        return server

    @property
    def data(self) -> Path:
        return self.root / "data"

    def _run(self, tool: str, *args: str) -> None:
        command = [str(self.bin_dir / tool), *args]
        if self.run_as:
            command = ["runuser", "-u", self.run_as, "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=START_SECONDS, check=False)
        if done.returncode != 0:
            log = self.root / "server.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"{tool} failed ({done.returncode}): {done.stderr.strip()}\n{tail}")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "server.log"), "-w",
                  "-t", str(START_SECONDS), "-o", options, "start")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def restart(self) -> None:
        self.stop()
        self.start()

    def destroy(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        except RuntimeError:
            pass  # already stopped
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        """A new empty database; returns its name."""
        import psycopg

        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")  # type: ignore[arg-type]
        return name

    def drop_database(self, name: str) -> None:
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")  # type: ignore[arg-type]


@contextmanager
def running_server() -> Iterator[PgServer]:
    """A new started cluster, destroyed afterwards (skipped or failed when the binaries are missing)."""
    server = PgServer.create(require_bin_dir())
    try:
        server.start()
        yield server
    finally:
        server.destroy()
