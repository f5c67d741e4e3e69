"""The issue-18 targets table: read from a report, before beside now, met or not; the old commit's tree."""

from __future__ import annotations

import subprocess

from bench import before, http, targets


def _latency(name: str, resources: int, ratio: float) -> dict:
    return {"name": name, "resources": resources, "ratio": ratio}


def _throughput(name: str, by_round: tuple[float, ...]) -> dict:
    return {"name": name, "shape": "ehr", "requests_per_s_by_round": by_round}


REPORT = {
    "http_latency": [
        _latency(http.MINIMAL_ORJSON, 200, 1.5), _latency(http.SERVICE, 200, 2.9),
        _latency(http.SERVICE_BEFORE, 200, 4.2), _latency(http.SERVICE, 1000, 2.1),
    ],
    "http": [
        _throughput(http.MINIMAL, (600, 300)), _throughput(http.SERVICE, (420, 180)),
        _throughput(http.SERVICE_BEFORE, (300, 150)),
    ],
    "cql_services": {"measured": True, "ratio": 31.0, "ratio_before": 21.0},
}


def test_each_target_has_its_before_now_floor_and_verdict():
    latency_200, latency_1000, throughput, cql = targets.rows(REPORT)
    assert (latency_200.before, latency_200.now, latency_200.floor, latency_200.met) == (4.2, 2.9, 1.5, True)
    assert latency_1000.before is None and latency_1000.met is False  # 2.1 > 2.0; no before row in the report
    assert (throughput.before, throughput.now, throughput.met) == (0.5, 0.65, True)  # medians of paired rounds
    assert (cql.before, cql.now, cql.met) == (21.0, 31.0, True)


def test_a_part_not_run_gives_no_row_and_an_unmeasured_comparison_no_verdict():
    rows = targets.rows({"cql_services": {"measured": False, "ratio": 0.0, "reason": "no checkout"}})
    assert [(r.now, r.met) for r in rows] == [(None, None)]
    assert targets.rows({}) == []


def test_the_old_commit_is_served_from_its_own_files():
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=before.ROOT, capture_output=True, text=True).stdout.strip()
    with before.tree(head) as folder:
        assert folder is not None
        committed = subprocess.run(["git", "show", f"{head}:cdshooks/app.py"], cwd=before.ROOT,
                                   capture_output=True, text=True).stdout
        assert (folder / "cdshooks" / "app.py").read_text() == committed  # the commit's, not the working tree's
        assert not (folder / ".git").exists()
    assert not folder.exists()  # removed after the run


def test_a_commit_that_is_not_here_gives_no_tree():
    with before.tree("0" * 40) as folder:
        assert folder is None
