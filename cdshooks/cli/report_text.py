"""The override report as a terminal table (`--format text`) and as JSON (`--format json`)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from cdshooks.cli.report_figures import Report

TOPIC_COLUMNS = (
    "shown", "returned", "patients", "accepted", "overridden", "dismissed", "unanswered", "override rate", "acceptance"
)


def percent(value: float | None) -> str:
    """A rate as a whole percentage, "-" when there were no cards to rate."""
    return "-" if value is None else f"{value:.0%}"


def stamp(moment: datetime) -> str:
    """A period bound as the report prints it: UTC, seconds, Z."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def topic_rows(report: Report) -> list[list[str]]:
    """One row of cells per topic, in TOPIC_COLUMNS order after the topic (shared by text and HTML)."""
    return [
        [t.topic, *(str(n) for n in (t.shown, t.returned, t.patients, t.accepted, t.overridden, t.dismissed,
                                     t.unanswered)), percent(t.override_rate), percent(t.acceptance_rate)]
        for t in report.topics
    ]


def reason_rows(report: Report) -> list[list[str]]:
    """topic, system, code, display, cards: one row per coded reason."""
    return [[t.topic, r.system, r.code, r.display, str(r.cards)] for t in report.topics for r in t.reasons]


def week_rows(report: Report) -> list[list[str]]:
    """topic, week (Monday), shown, overridden + dismissed, override rate: one row per topic and week."""
    return [
        [t.topic, w.week.isoformat(), str(w.shown), str(w.overridden), percent(w.override_rate)]
        for t in report.topics
        for w in t.weeks
    ]


def unknown_line(report: Report) -> str:
    """The one sentence on feedback for uuids the ledger does not know."""
    u = report.unknown
    return (
        f"Feedback on unknown card uuids: {u.cards} cards ({u.entries} entries): "
        f"accepted {u.accepted}, overridden {u.overridden}, dismissed {u.dismissed}"
    )


def _table(header: Sequence[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows, strict=False)]
    # Text columns left, counts and rates right, so digits line up.
    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            c.ljust(w) if i == 0 or not _numeric(rows, i) else c.rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    return [line(header), line(["-" * w for w in widths]), *(line(r) for r in rows)]


def _numeric(rows: list[list[str]], column: int) -> bool:
    return bool(rows) and all(r[column].rstrip("%").isdigit() or r[column] == "-" for r in rows)


def render_text(report: Report) -> str:
    """The report as aligned plain-text tables."""
    out = [f"Override report {stamp(report.since)} .. {stamp(report.until)}", ""]
    if report.topics:
        out += _table(("topic", *TOPIC_COLUMNS), topic_rows(report))
    else:
        out.append("No cards shown in the period.")
    reasons = reason_rows(report)
    if reasons:
        out += ["", "Coded override reasons", *_table(("topic", "system", "code", "display", "cards"), reasons)]
    weeks = week_rows(report)
    if weeks:
        out += ["", "Weekly trend (week of first shown)",
                *_table(("topic", "week", "shown", "overridden", "override rate"), weeks)]
    out += ["", unknown_line(report)]
    return "\n".join(out) + "\n"


def report_json(report: Report) -> dict[str, Any]:
    """The report as JSON values with stable keys (documented in the README); rates are fractions or null."""
    return {
        "since": stamp(report.since),
        "until": stamp(report.until),
        "topics": [
            {
                "topic": t.topic, "shown": t.shown, "returned": t.returned, "patients": t.patients,
                "accepted": t.accepted, "overridden": t.overridden, "dismissed": t.dismissed,
                "unanswered": t.unanswered, "override_rate": t.override_rate, "acceptance_rate": t.acceptance_rate,
                "reasons": [
                    {"system": r.system, "code": r.code, "display": r.display, "cards": r.cards} for r in t.reasons
                ],
                "weeks": [
                    {"week": w.week.isoformat(), "shown": w.shown, "overridden": w.overridden,
                     "override_rate": w.override_rate}
                    for w in t.weeks
                ],
            }
            for t in report.topics
        ],
        "unknown": {
            "cards": report.unknown.cards, "entries": report.unknown.entries, "accepted": report.unknown.accepted,
            "overridden": report.unknown.overridden, "dismissed": report.unknown.dismissed,
        },
    }


def render_json(report: Report) -> str:
    """The report as indented JSON, keys in a fixed order."""
    return json.dumps(report_json(report), indent=2) + "\n"
