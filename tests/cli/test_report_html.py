"""The HTML report in a real browser: Debian's headless Chromium, JavaScript off, network blocked.

The charts must render from the file alone: both are present, visible and of
non-zero size, and their screenshots hold the charts' own colours (bars, lines),
not a blank box. Chromium missing: skipped, unless CDSHOOKS_REQUIRE_SERVERS is set
(`make test` sets it and installs the `chromium` package first), where it fails.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from cdshooks.cli.report_figures import compute_report
from cdshooks.cli.report_html import CHART_IDS, render_html
from tests.cli.report_ledger import LEDGER, NOW, at, seed

playwright = pytest.importorskip("playwright.sync_api", reason="playwright (the test extra) is not installed")
Image = pytest.importorskip("PIL.Image", reason="Pillow (the test extra) is not installed")

CHROMIUM = Path("/usr/bin/chromium")
# Without the background-networking flags Chromium stalls on this machine trying to reach its services.
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run",
]
BAR = (0xC0, 0x50, 0x4D)  # report_html's bar colour
LINE = (0x1F, 0x77, 0xB4)  # matplotlib's first line colour (tab:blue)


def require_chromium() -> str:
    if os.access(CHROMIUM, os.X_OK):
        return str(CHROMIUM)
    reason = f"{CHROMIUM} (Debian package `chromium`) is not installed; `make test` installs it"
    if os.environ.get("CDSHOOKS_REQUIRE_SERVERS", "").strip() not in ("", "0"):
        pytest.fail(f"{reason}, and CDSHOOKS_REQUIRE_SERVERS is set: the HTML report test must run")
    pytest.skip(reason)


@pytest.fixture
def page(tmp_path):
    """A page of a headless Chromium with JavaScript off; every request but file:// is aborted and noted."""
    executable = require_chromium()
    blocked: list[str] = []

    def route(r):
        if r.request.url.startswith("file://"):
            r.continue_()
        else:
            blocked.append(r.request.url)
            r.abort()

    with playwright.sync_playwright() as pw:
        # A persistent context is how Playwright takes a user data dir (launch() refuses --user-data-dir).
        context = pw.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"), executable_path=executable, headless=True, args=CHROMIUM_ARGS,
            java_script_enabled=False, viewport={"width": 1000, "height": 1400}, timeout=60_000,
        )
        try:
            context.route("**/*", route)
            tab = context.new_page()
            tab.blocked = blocked
            yield tab
        finally:
            context.close()


def pixels(png: bytes) -> list[tuple[int, int, int]]:
    with Image.open(io.BytesIO(png)) as img:
        raw = img.convert("RGB").tobytes()
    return list(zip(raw[0::3], raw[1::3], raw[2::3], strict=True))


def near(pixel: tuple[int, int, int], colour: tuple[int, int, int]) -> bool:
    return all(abs(a - b) <= 12 for a, b in zip(pixel, colour, strict=True))


def report_file(tmp_path: Path, ledger=LEDGER) -> Path:
    store = seed(tmp_path / "feedback.sqlite3")
    since = at(5)
    report = compute_report([r for r in store.shown_since(since) if r in ledger], store.feedback_since(since), since, NOW)
    path = tmp_path / "report.html"
    path.write_text(render_html(report), encoding="utf-8")
    return path


def test_charts_render_offline_without_javascript(page, tmp_path):
    page.goto(report_file(tmp_path).as_uri())
    shots = {}
    for cid in CHART_IDS:
        chart = page.locator(f"#{cid} svg")
        assert chart.count() == 1
        assert chart.is_visible()
        box = chart.bounding_box()
        assert box and box["width"] > 100 and box["height"] > 100, (cid, box)
        shots[cid] = pixels(chart.screenshot())
    assert page.blocked == []  # the page asked for nothing outside its file

    for cid, shot in shots.items():
        inked = sum(1 for p in shot if p != (255, 255, 255))
        assert inked > 0.02 * len(shot), f"{cid}: {inked} of {len(shot)} pixels drawn: blank?"
    # The bars and the lines themselves, not only axes: their colours are on screen.
    assert sum(1 for p in shots["chart-override-rate"] if near(p, BAR)) > 500
    assert sum(1 for p in shots["chart-weekly-trend"] if near(p, LINE)) > 50


def test_a_different_report_draws_a_different_chart(page, tmp_path):
    (tmp_path / "all").mkdir()
    (tmp_path / "one").mkdir()
    page.goto(report_file(tmp_path / "all").as_uri())
    everything = page.locator("#chart-override-rate svg").screenshot()
    # Only the cards of one topic: one bar instead of three.
    page.goto(report_file(tmp_path / "one", [r for r in LEDGER if r.topic == "live-vaccine"]).as_uri())
    one_topic = page.locator("#chart-override-rate svg").screenshot()
    assert pixels(everything) != pixels(one_topic)
    assert page.blocked == []
