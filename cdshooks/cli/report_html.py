"""The override report as one self-contained HTML page: inline SVG charts by matplotlib, then the tables.

Nothing is fetched when the page is opened: no scripts, no fonts, no images by
URL (matplotlib writes text as paths). Only counts appear, never a patient id.
"""

from __future__ import annotations

import io
from html import escape

import matplotlib
from matplotlib import dates
from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.figure import Figure

from cdshooks.cli.report_figures import Report
from cdshooks.cli.report_text import (
    TOPIC_COLUMNS,
    reason_rows,
    stamp,
    topic_rows,
    unknown_line,
    week_rows,
)

CHART_IDS = ("chart-override-rate", "chart-weekly-trend")
_STYLE = """
body { font-family: sans-serif; margin: 2em; color: #222; }
figure { margin: 1em 0; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #ccc; padding: 0.2em 0.6em; text-align: left; white-space: nowrap; }
td.n { text-align: right; }
"""


def _svg(fig: Figure) -> str:
    """The figure as an inline <svg> element (no XML prolog, no metadata date so output is reproducible)."""
    buf = io.StringIO()
    # The SVG canvas itself, not pyplot: no GUI backend, no global figure state.
    # Text as paths: the page needs no font; a fixed salt keeps the ids (and so the output) stable.
    with matplotlib.rc_context({"svg.fonttype": "path", "svg.hashsalt": "cdshooks-report"}):
        FigureCanvasSVG(fig).print_svg(buf, metadata={"Date": None})
    text = buf.getvalue()
    return text[text.index("<svg"):]


def override_rate_chart(report: Report) -> str:
    """A horizontal bar per topic: its override rate in percent (topics with no rate are left out)."""
    rated = [t for t in report.topics if t.override_rate is not None]
    fig = Figure(figsize=(8, max(2.5, 0.45 * len(rated) + 1.2)))
    ax = fig.subplots()
    labels = [t.topic for t in rated]
    values = [100 * (t.override_rate or 0) for t in rated]
    bars = ax.barh(labels, values, color="#c0504d")
    # The rate alone hides how few cards it rests on: say "of N" beside each bar.
    ax.bar_label(bars, labels=[f"{v:.0f}% of {t.shown}" for v, t in zip(values, rated, strict=True)], padding=3)
    ax.invert_yaxis()  # first topic on top, as in the table
    ax.set_xlim(0, 115)  # room for the label of a 100% bar
    ax.set_xticks(range(0, 101, 20))
    ax.set_xlabel("override rate (%) = (overridden + dismissed) / shown")
    ax.set_title("Override rate per topic")
    if not rated:
        ax.text(50, 0.5, "no cards shown in the period", ha="center", va="center")
    fig.tight_layout()
    return _svg(fig)


def weekly_trend_chart(report: Report) -> str:
    """One line per topic: override rate by ISO week of first shown."""
    fig = Figure(figsize=(8, 3.5))
    ax = fig.subplots()
    for t in report.topics:
        weeks = [w for w in t.weeks if w.override_rate is not None]
        rates = [100 * (w.override_rate or 0) for w in weeks]
        ax.plot(dates.date2num([w.week for w in weeks]), rates, marker="o", label=t.topic)
    ax.xaxis_date()
    weeks_shown = len({w.week for t in report.topics for w in t.weeks})
    # A tick per ISO week, thinned over long periods so the labels do not overlap.
    ax.xaxis.set_major_locator(dates.WeekdayLocator(byweekday=dates.MO, interval=max(1, weeks_shown // 12)))
    ax.xaxis.set_major_formatter(dates.DateFormatter("%Y-%m-%d"))
    ax.set_ylim(0, 100)
    ax.set_ylabel("override rate (%)")
    ax.set_xlabel("week (Monday, UTC) of first shown")
    ax.set_title("Weekly override rate")
    if report.topics:
        ax.legend(fontsize="small", loc="best")
        fig.autofmt_xdate()
    fig.tight_layout()
    return _svg(fig)


def _cell(text: str) -> str:
    """A table cell; counts and rates right-aligned so their digits line up."""
    numeric = text.rstrip("%").isdigit() or text == "-"
    return f'<td class="n">{escape(text)}</td>' if numeric else f"<td>{escape(text)}</td>"


def _table(header: tuple[str, ...], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(_cell(c) for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render_html(report: Report) -> str:
    """The whole page."""
    period = f"{stamp(report.since)} .. {stamp(report.until)}"
    charts = zip(CHART_IDS, (override_rate_chart(report), weekly_trend_chart(report)), strict=True)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>Override report {escape(period)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>Override report</h1><p>Period {escape(period)}</p>",
        *(f'<figure id="{cid}">{svg}</figure>' for cid, svg in charts),
        "<h2>Per topic</h2>",
        _table(("topic", *TOPIC_COLUMNS), topic_rows(report)),
        "<h2>Coded override reasons</h2>",
        _table(("topic", "system", "code", "display", "cards"), reason_rows(report)),
        "<h2>Weekly trend</h2>",
        _table(("topic", "week", "shown", "overridden", "override rate"), week_rows(report)),
        f"<p>{escape(unknown_line(report))}</p>",
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"
