"""The `cdshooks` command: serve the service, replay, validate or write fixture scenarios."""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from datetime import datetime

from cdshooks.cli.replay_view import COLOR_MODES
from cdshooks.config import MAX_WORKERS, ConfigError, ServerSettings, Settings, aware_datetime


def _when(value: str) -> datetime:
    try:
        return aware_datetime(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _serve(args: argparse.Namespace) -> int:
    try:
        settings = Settings.from_env()
        # Before gunicorn is imported: it reads WEB_CONCURRENCY itself and fails with a traceback.
        server = ServerSettings.from_env()
    except ConfigError as exc:
        # One line naming the variable, its value and what is accepted; never a traceback.
        print(f"cdshooks serve: {exc}", file=sys.stderr)
        return 2
    if args.port is None:
        args.port = server.port
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
    if settings.metrics_enabled:
        from cdshooks.gunicorn_conf import prepare_metrics_dir

        prepare_metrics_dir()  # the app is built here, in the master: before it imports prometheus_client
    from cdshooks.app import create_app
    from cdshooks.web.server import run

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
    from cdshooks.cli.replay import ReplayError, replay

    try:
        return replay(
            args.fixture, url=args.url, as_json=args.json, now=args.now, color=args.color, detail=args.detail
        )
    except (FileNotFoundError, ReplayError, ConfigError) as exc:  # ConfigError: a bad CDSHOOKS_* for the in-process app
        print(f"cdshooks replay: {exc}", file=sys.stderr)
        return 2


def version() -> str:
    """The installed distribution's version (what `pip show` says), not a copy in the source."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as dist_version

    try:
        return dist_version(DISTRIBUTION)
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown (not installed)"


DISTRIBUTION = "cdshooks-tofacitinib"


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """States each option's default in --help, unless its text already does or there is none to state."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        if "default" in text or any(action.default is nothing for nothing in (None, False, argparse.SUPPRESS)):
            return text
        return super()._get_help_string(action)


class Parser(argparse.ArgumentParser):
    """The parser of every `cdshooks` command; subcommand parsers are of this class too, so they share the formatter."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)


def parser() -> argparse.ArgumentParser:
    p = Parser(prog="cdshooks", description=__doc__)
    p.add_argument("--version", action="version", version=f"%(prog)s {version()}")
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
    serve.add_argument(
        "--now",
        type=_when,
        help="evaluation time, ISO 8601 with offset, for demos (default: CDSHOOKS_NOW, else the current time)",
    )
    serve.set_defaults(func=_serve)

    rp = sub.add_parser("replay", help="send fixture scenarios' hook requests and print the cards")
    rp.add_argument(
        "fixture",
        help="a scenario (fixtures/<name>, its scenario.json, or a name under ./fixtures) or a folder of them",
    )
    rp.add_argument("--url", help="base URL of a running service (default: in-process)")
    rp.add_argument("--json", action="store_true", help="print the raw JSON response (for a folder: by scenario name)")
    rp.add_argument("--detail", action="store_true", help="show each card's detail (Markdown, wrapped) and links")
    rp.add_argument(
        "--now",
        type=_when,
        help="evaluation time; every date in the request moves with it (default: the scenario's asOf)",
    )
    rp.add_argument(
        "--color",
        choices=COLOR_MODES,
        default="auto",
        help="colour the cards: auto = on a terminal unless NO_COLOR is set (non-empty) or TERM=dumb",
    )
    rp.set_defaults(func=_replay)

    from cdshooks.cli.fixture_commands import add_commands  # validate, fixtures new/load

    add_commands(sub)
    from cdshooks.cli.dev_sandbox import register as add_dev_commands  # dev, token

    add_dev_commands(sub)
    from cdshooks.cli.report import register as add_report_command

    add_report_command(sub)

    from cdshooks.cli.db import register as add_db_commands  # db upgrade, db check

    add_db_commands(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
