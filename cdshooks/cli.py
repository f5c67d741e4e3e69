"""The `cdshooks` command: serve the service, replay, validate or write fixture scenarios."""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import replace
from datetime import datetime

from cdshooks.config import ConfigError, Settings, aware_datetime, port
from cdshooks.gunicorn_conf import MAX_WORKERS


def _when(value: str) -> datetime:
    try:
        return aware_datetime(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _serve(args: argparse.Namespace) -> int:
    from cdshooks.app import create_app
    from cdshooks.web.server import run

    try:
        settings = Settings.from_env()
        bind_port = args.port if args.port is not None else port(os.environ.get("PORT"))
    except ConfigError as exc:
        # One line naming the variable, its value and what is accepted; never a traceback.
        print(f"cdshooks serve: {exc}", file=sys.stderr)
        return 2
    args.port = bind_port
    if args.no_auth:
        settings = replace(settings, auth_enabled=False)
        print(
            "WARNING: --no-auth: JWT authentication is OFF. Anyone who can reach "
            f"{args.host}:{args.port} can call the service. Local testing only.",
            file=sys.stderr,
        )
    if args.now:
        settings = replace(settings, now=args.now)
    if settings.auth_enabled and not settings.public_base_url and not _is_loopback(args.host):
        # Without a public URL the JWT `aud` is checked against the Host header the
        # caller sent, which a token holder controls: acceptable on loopback only.
        print(
            "cdshooks serve: set CDSHOOKS_PUBLIC_BASE_URL (the URL clients call, the JWT `aud`) "
            f"before serving on {args.host} with authentication on.",
            file=sys.stderr,
        )
        return 2
    run(create_app(settings), args.host, args.port, args.workers)
    return 0


def _is_loopback(host: str) -> bool:
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _replay(args: argparse.Namespace) -> int:
    from cdshooks.replay import replay

    try:
        return replay(args.fixture, url=args.url, as_json=args.json, now=args.now)
    except FileNotFoundError as exc:
        print(f"cdshooks replay: {exc}", file=sys.stderr)
        return 2


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="cdshooks", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="serve the CDS Hooks endpoints")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    serve.add_argument(
        # Read when serving, not here: a bad PORT must not break `--help` or the other commands.
        "--port", type=int, default=None, help="port (default: PORT, else 8080)"
    )
    serve.add_argument(
        "--workers",
        type=int,
        default=None,
        help=f"gunicorn workers (default: WEB_CONCURRENCY, else 2 x CPUs + 1, at most {MAX_WORKERS})",
    )
    serve.add_argument("--no-auth", action="store_true", help="turn JWT authentication off (local testing)")
    serve.add_argument("--now", type=_when, help="evaluation time, ISO 8601 with offset (demos)")
    serve.set_defaults(func=_serve)

    rp = sub.add_parser("replay", help="send a fixture's hook request and print the cards")
    rp.add_argument("fixture", help="fixtures/<name>, its scenario.json, or a fixture name")
    rp.add_argument("--url", help="base URL of a running service (default: in-process)")
    rp.add_argument("--json", action="store_true", help="print the raw JSON response")
    rp.add_argument(
        "--now", type=_when, help="evaluation time; every date in the request moves with it (default: the scenario's asOf)"
    )
    rp.set_defaults(func=_replay)

    from cdshooks.fixture_commands import add_commands  # validate, fixtures new/load

    add_commands(sub)
    from cdshooks.dev_sandbox import register as add_dev_commands  # dev, token

    add_dev_commands(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
