"""The targets of the HTTP performance work (issue 18), read from one `make bench` report.

Each row gives the service as it was before the change (served from the old
commit in the same run, `bench.before`) beside the service now, with the floor
and the target, so one run answers "did it get there" on any machine.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bench import http


@dataclass(frozen=True)
class TargetRow:
    target: str
    before: float | None
    now: float | None
    floor: float | None  # what the minimal endpoint gives on the same measure (None: no floor)
    goal: str  # "<= 3.0", ">= 0.65"
    met: bool | None  # None when `now` was not measured


def _goal_met(value: float | None, goal: str) -> bool | None:
    if value is None:
        return None
    op, _, limit = goal.partition(" ")
    return value <= float(limit) if op == "<=" else value >= float(limit)


def _latency_ratio(rows: list[dict[str, Any]], name: str, resources: int) -> float | None:
    row = next((r for r in rows if r["name"] == name and r["resources"] == resources), None)
    return row["ratio"] if row else None


LATENCY_GOALS = {200: "<= 3.0", 1000: "<= 2.0"}
THROUGHPUT_GOAL = ">= 0.65"
CQL_GOAL = ">= 30"


def rows(report: dict[str, Any]) -> list[TargetRow]:
    """One row per target found in the report (a part not run gives no row)."""
    out: list[TargetRow] = []
    latency = report.get("http_latency", [])
    for resources, goal in LATENCY_GOALS.items():
        now = _latency_ratio(latency, http.SERVICE, resources)
        if now is None:
            continue
        out.append(TargetRow(
            f"HTTP p50 / stdlib json.loads of the body, {resources} resources, one request at a time",
            _latency_ratio(latency, http.SERVICE_BEFORE, resources), now,
            _latency_ratio(latency, http.MINIMAL_ORJSON, resources), goal, _goal_met(now, goal),
        ))
    throughput = report.get("http", [])
    if throughput:
        now_ratio = http.throughput_ratios(throughput, http.SERVICE).get("ehr")
        before_ratio = http.throughput_ratios(throughput, http.SERVICE_BEFORE).get("ehr")
        out.append(TargetRow(
            f"req/s at {http.CONNECTIONS} connections / minimal Flask endpoint (stdlib json, same workers)",
            before_ratio, now_ratio, 1.0, THROUGHPUT_GOAL, _goal_met(now_ratio, THROUGHPUT_GOAL),
        ))
    cql = report.get("cql_services")
    if cql:
        now_ratio = cql.get("ratio") if cql.get("measured") else None
        out.append(TargetRow(
            "AHRQ CDS Connect CQL Services p50 / ours, same patient data",
            cql.get("ratio_before"), now_ratio, None, CQL_GOAL, _goal_met(now_ratio, CQL_GOAL),
        ))
    return out
