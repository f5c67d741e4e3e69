"""The fixture subcommands of `cdshooks`: validate, fixtures new, fixtures load."""

from __future__ import annotations

import argparse
import sys
import time
from typing import TYPE_CHECKING

from cdshooks.protocol import HOOKS, ORDER_SELECT

if TYPE_CHECKING:
    from cdshooks.cli.commands import Parser


def _validate(args: argparse.Namespace) -> int:
    from cdshooks.cli.progress import Progress
    from cdshooks.cli.validate import validate

    with Progress("checking") as progress:

        def step(i: int, total: int, name: str) -> None:
            progress.total = total
            progress.update(i, name)

        problems, checked = validate(args.path, step)
    for problem in problems:
        print(problem)
    errors = [p for p in problems if p.severity == "error"]
    warnings = len(problems) - len(errors)
    print(f"{checked} scenario(s) checked: {len(errors)} error(s), {warnings} warning(s)", file=sys.stderr)
    return 1 if errors else 0


def _new(args: argparse.Namespace) -> int:
    from cdshooks.cli.scaffold import new

    try:
        path = new(args.name, args.hook, args.root, force=args.force)
    except (ValueError, FileExistsError) as exc:
        print(f"cdshooks fixtures new: {exc}", file=sys.stderr)
        return 2
    print(path)
    import json

    expect = json.loads(path.read_text(encoding="utf-8"))["expect"]
    base = ", ".join(f"{t} ({expect['indicators'][t]})" for t in expect["topics"]) or "nothing"
    print(
        f"Fires: {base} (written as expect, so the tests pass as it is).\n"
        f"Next: change the data to show one rule, add its topic to expect.topics, then\n"
        f"  cdshooks replay {path.parent}   # what fires\n"
        f"  cdshooks validate {path.parent} # strict checks",
        file=sys.stderr,
    )
    return 0


def _wait_for(base_url: str, seconds: float, poll: float = 2) -> bool:
    """Poll BASE/metadata until the server answers (a FHIR server can take minutes to start)."""
    import requests

    from cdshooks.cli.progress import Progress

    start = time.monotonic()
    deadline = start + seconds
    with Progress(f"waiting for {base_url.rstrip('/')}/metadata:") as progress:
        while True:
            try:
                if requests.get(f"{base_url.rstrip('/')}/metadata", timeout=5).ok:
                    return True
            except requests.RequestException:
                pass
            if time.monotonic() >= deadline:
                return False
            progress.update(note=f"{time.monotonic() - start:.0f} s of {seconds:g} s", force=True)
            time.sleep(poll)


def _load(args: argparse.Namespace) -> int:
    from cdshooks.cli.fixture_upload import upload
    from cdshooks.cli.progress import Progress

    if args.wait and not _wait_for(args.fhir_server, args.wait):
        print(f"cdshooks fixtures load: {args.fhir_server} did not answer within {args.wait} s", file=sys.stderr)
        return 1
    try:
        with Progress("loading scenarios") as progress:

            def step(i: int, total: int, name: str) -> None:
                progress.total = total
                progress.update(i, name)

            done, skipped = upload(args.fhir_server, args.path, step=step)
    except Exception as exc:  # noqa: BLE001 - network or server refusal: say which, exit non-zero
        print(f"cdshooks fixtures load: {exc}", file=sys.stderr)
        return 1
    for item in done:
        print(f"{item.scenario}: patientId={item.patient_id} ({item.resources} resources)")
    for reason in skipped:
        print(f"skipped {reason}", file=sys.stderr)
    return 0 if done else 1


def add_commands(sub: argparse._SubParsersAction[Parser]) -> None:
    """Register `validate` and `fixtures {new,load}` on the main parser's subcommands."""
    v = sub.add_parser("validate", help="check fixture scenarios strictly (FHIR R4, references, request shape)")
    v.add_argument("path", nargs="?", default="fixtures", help="fixtures folder, a scenario folder or file")
    v.set_defaults(func=_validate)

    fx = sub.add_parser("fixtures", help="create fixture scenarios or load them onto a FHIR server")
    fx_sub = fx.add_subparsers(dest="fixtures_command", required=True)
    n = fx_sub.add_parser("new", help="scaffold fixtures/NAME/scenario.json around the base patient")
    n.add_argument("name", help="the scenario's folder name, e.g. dose-renal-30 (lower-case letters, digits, '-', '.')")
    n.add_argument(
        "--hook",
        default=ORDER_SELECT,
        choices=HOOKS,
        help="the hook the scenario calls",
    )
    n.add_argument("--root", default="fixtures", help="the fixtures folder (default: fixtures)")
    n.add_argument("--force", action="store_true", help="overwrite an existing scenario")
    n.set_defaults(func=_new)

    ld = fx_sub.add_parser("load", help="upload each scenario's data as its own patient (id = scenario name)")
    ld.add_argument("path", nargs="?", default="fixtures", help="fixtures folder or one scenario")
    ld.add_argument("--fhir-server", required=True, help="FHIR R4 base URL, e.g. http://localhost:8081/fhir")
    ld.add_argument(
        "--wait",
        type=float,
        default=0,
        help="seconds to wait for the server's /metadata first (default: 0, do not wait)",
    )
    ld.set_defaults(func=_load)
