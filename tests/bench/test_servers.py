"""Reading a benchmark server's CPU from /proc: the master, its live workers and the ones already reaped."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from bench import servers

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")

BURN = "import time\nend = time.process_time() + {s}\nwhile time.process_time() < end: pass\n"


def _until(predicate, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError
        time.sleep(0.02)


def test_a_child_that_exited_and_was_reaped_still_counts_in_its_parents_tree():
    # The parent burns 0.3 s of CPU itself, then runs a child that burns 0.3 s and waits for it
    # (as gunicorn's master reaps a recycled worker), then stays up until stdin closes.
    parent = subprocess.Popen(
        [sys.executable, "-c", BURN.format(s=0.3) + (
            "import subprocess, sys\n"
            f"subprocess.run([sys.executable, '-c', {BURN.format(s=0.3)!r}], check=True)\n"
            "print('done', flush=True)\nsys.stdin.read()\n"
        )],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert parent.stdout.readline().strip() == "done"
        assert servers.tree_cpu_seconds(parent.pid) >= 0.55
    finally:
        parent.communicate("")


# A worker that renames itself (as /proc shows it) to a name that would break a naive split of
# the stat line, burns CPU, then waits; and the master that starts it and waits for it.
RENAMED_WORKER = "open('/proc/self/comm', 'w').write('w) 1 (x')\n" + BURN.format(s=0.4) + (
    "import sys\nprint('burnt', flush=True)\nsys.stdin.read()\n"
)
WAITING_MASTER = (
    "import subprocess, sys\n"
    f"child = subprocess.Popen([sys.executable, '-c', {RENAMED_WORKER!r}], stdin=subprocess.PIPE, stdout=sys.stdout)\n"
    "sys.stdin.read()\nchild.communicate('')\n"
)


def test_a_live_child_is_counted_and_a_name_with_parentheses_and_spaces_is_read():
    parent = subprocess.Popen(
        [sys.executable, "-c", WAITING_MASTER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert parent.stdout.readline().strip() == "burnt"
        children = servers._children(parent.pid)
        assert len(children) == 1
        with open(f"/proc/{children[0]}/comm") as fh:
            assert fh.read().strip() == "w) 1 (x"
        assert servers.tree_cpu_seconds(children[0]) >= 0.35
        assert servers.tree_cpu_seconds(parent.pid) >= 0.35  # the parent itself only waited
    finally:
        parent.communicate("")


def test_a_process_that_is_gone_has_no_reading():
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    _until(lambda: servers._stat_fields(proc.pid) is None)
    assert servers.tree_cpu_seconds(proc.pid) is None
