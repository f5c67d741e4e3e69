"""`cdshooks report`: the override report of the shown-card ledger and the feedback (issue 16).

The figures are computed in `report_figures` (definitions there and in the
README); this module only parses the period, reads the store and writes a format.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from cdshooks.cli.commands import DISTRIBUTION, _when
from cdshooks.config import ConfigError, Settings, aware_datetime

if TYPE_CHECKING:
    from cdshooks.cli.commands import Parser
    from cdshooks.store.model import FeedbackRow, ShownCard

FORMATS = ("text", "json", "html")
_RELATIVE = re.compile(r"([1-9][0-9]*)([hdw])")
_UNITS = {"h": "hours", "d": "days", "w": "weeks"}
INSTALL_HINT = f"pip install '{DISTRIBUTION}[report]'"


class ReportError(Exception):
    """A report that cannot be made: the one-line reason is the message."""


@dataclass(frozen=True)
class Period:
    """The report's window, both ends aware."""

    since: datetime
    until: datetime


def period(since: str, now: datetime) -> Period:
    """`30d`, `12w`, `24h` back from now, or an ISO date (midnight UTC) or date-time with offset."""
    text = since.strip()
    relative = _RELATIVE.fullmatch(text)
    if relative:
        start = now - timedelta(**{_UNITS[relative[2]]: int(relative[1])})
    else:
        try:
            start = datetime.combine(date.fromisoformat(text), datetime.min.time(), UTC)
        except ValueError:
            try:
                start = aware_datetime(text)
            except ValueError:
                raise ReportError(
                    f"--since {since!r}: give a span like 30d, 12w or 24h, or an ISO date like 2026-01-15"
                ) from None
    if start > now:
        raise ReportError(f"--since {since!r} is after the report's now ({now.isoformat()})")
    return Period(since=start, until=now)


def render(report_format: str, shown: list[ShownCard], feedback: list[FeedbackRow], window: Period) -> str:
    """The report of the window in one format."""
    from cdshooks.cli.report_figures import compute_report
    from cdshooks.cli.report_text import render_json, render_text

    report = compute_report(shown, feedback, window.since, window.until)
    if report_format == "json":
        return render_json(report)
    if report_format == "html":
        try:
            from cdshooks.cli.report_html import render_html
        except ImportError as exc:  # matplotlib is an optional extra
            raise ReportError(f"--format html needs matplotlib ({exc.name}): {INSTALL_HINT}") from None
        return render_html(report)
    return render_text(report)


def _run(args: argparse.Namespace) -> int:
    from cdshooks.store import store_for
    from cdshooks.store.model import StoreUnavailable

    try:
        settings = Settings.from_env()
        now = args.now or settings.now or datetime.now(UTC)
        window = period(args.since, now)
        # A report must not create an empty store where a typo named a missing file.
        missing = not settings.database_url and settings.feedback_db != ":memory:"
        if missing and not Path(settings.feedback_db).exists():
            raise ReportError(f"no feedback store at {settings.feedback_db} (CDSHOOKS_FEEDBACK_DB)")
        # The service's own choice of backend: with CDSHOOKS_DATABASE_URL the fleet's shared database.
        store = store_for(settings)
        text = render(args.format, store.shown_since(window.since), store.feedback_since(window.since), window)
    except (ConfigError, ReportError, StoreUnavailable) as exc:  # a bad file or setting: one line, no traceback
        print(f"cdshooks report: {exc}", file=sys.stderr)
        return 2
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


def register(sub: argparse._SubParsersAction[Parser]) -> None:
    """Add `report` to the main parser's subcommands."""
    rp = sub.add_parser(
        "report",
        help="override report per topic: cards shown, accepted, overridden (by reason), dismissed, weekly trend",
        description="The override report of the shown-card ledger and feedback in the store"
        " (CDSHOOKS_DATABASE_URL when set, else CDSHOOKS_FEEDBACK_DB).",
    )
    rp.add_argument("--since", default="30d", help="period start: 30d, 12w, 24h back from now, or an ISO date")
    rp.add_argument("--format", choices=FORMATS, default="text", help="output format")
    rp.add_argument("--out", help="write the report to this file (default: standard output)")
    rp.add_argument(
        "--now", type=_when, help="the report's now, ISO 8601 with offset (default: CDSHOOKS_NOW, else the clock)"
    )
    rp.set_defaults(func=_run)
