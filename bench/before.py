"""The service as it was before a change, run beside the current one in the same benchmark run.

On a shared machine speed drifts between runs by more than most changes gain, so
"before" numbers taken on another day say little. Instead `make bench` serves
the old commit too (a `git archive` of it in a temporary folder, run with this
checkout's virtual environment) and measures both in the same alternating
rounds.
"""

from __future__ import annotations

import contextlib
import io
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# main just before the HTTP performance work (issue 18) began.
BEFORE_ISSUE_18 = "52edefa"


def resolve(ref: str) -> str | None:
    """The full commit id of `ref`, or None without git or without that commit (e.g. a shallow clone)."""
    try:
        proc = subprocess.run(
            ["git", "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"],
            cwd=ROOT, capture_output=True, text=True,
        )
    except OSError:
        return None
    return proc.stdout.strip() or None


@contextlib.contextmanager
def tree(ref: str) -> Iterator[Path | None]:
    """The repository's files at `ref` in a temporary folder (None when the commit is not here)."""
    commit = resolve(ref)
    if commit is None:
        yield None
        return
    archive = subprocess.run(["git", "archive", "--format=tar", commit], cwd=ROOT, capture_output=True, check=True)
    with tempfile.TemporaryDirectory(prefix=f"cdshooks-{ref}-") as folder:
        with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
            tar.extractall(folder, filter="data")
        yield Path(folder)
