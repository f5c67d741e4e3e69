"""`python -m bench` (make bench): run every benchmark, print a table, save JSON.

The JSON goes to bench/results/bench-<UTC time>.json, which git ignores, or to
--output; never over a committed file (bench/results/latest.json is the run
the README's Performance section quotes, updated by hand with the README).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import subprocess
import sys
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import before
from bench import targets as bench_targets

RESULTS = Path(__file__).resolve().parent / "results"


def machine() -> dict[str, str]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def _table(title: str, rows: list[dict], columns: list[str]) -> str:
    widths = [max(len(c), *(len(str(r[c])) for r in rows)) for c in columns]
    line = "  ".join(c.ljust(w) for c, w in zip(columns, widths))
    out = [title, line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(str(r[c]).ljust(w) for c, w in zip(columns, widths)) for r in rows]
    return "\n".join(out)


def main() -> int:
    p = argparse.ArgumentParser(prog="make bench", description=__doc__)
    parts = ["inprocess", "ledger", "store", "http", "workers", "fallback", "coldstart", "cql"]
    p.add_argument("--only", choices=parts, action="append")
    p.add_argument("--quick", action="store_true", help="fewer sizes and iterations (smoke run)")
    p.add_argument("--output", help="where to write the JSON (default: bench/results/bench-<UTC time>.json, not committed)")
    p.add_argument(
        "--before", default=before.BEFORE_ISSUE_18, metavar="COMMIT",
        help="serve this commit too, in the same rounds, for the HTTP and CQL comparisons"
        f" (default {before.BEFORE_ISSUE_18}, main before issue 18; 'none' to skip)",
    )
    args = p.parse_args()
    only = set(args.only or parts)
    with contextlib.ExitStack() as stack:
        old = None if args.before == "none" else stack.enter_context(before.tree(args.before))
        if args.before != "none" and old is None:
            print(f"make bench: commit {args.before} is not in this checkout; no before numbers", file=sys.stderr)
        report, texts = _run(args, only, old)
    report["before_commit"] = None if old is None else args.before
    targets = [asdict(r) for r in bench_targets.rows(report)]
    if targets:
        report["targets"] = targets
        texts.append(_table(
            f"Targets (issue 18): before = commit {report['before_commit'] or '(not run)'}, served in the same run",
            targets, ["target", "before", "now", "floor", "goal", "met"],
        ))
    print("\n\n".join(texts))
    path = save(report, args.output)
    print(f"\nsaved {path}", file=sys.stderr)
    return 0


def _run(args: argparse.Namespace, only: set[str], old: Path | None) -> tuple[dict, list[str]]:
    report: dict[str, Any] = {"taken": datetime.now(UTC).isoformat(timespec="seconds"), "machine": machine()}
    try:
        report["commit"] = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    except OSError:
        pass
    texts = []
    if "inprocess" in only:
        from bench import inprocess

        rows = [asdict(r) for r in inprocess.run(sizes=(200,) if args.quick else (50, 200, 1000))]
        report["inprocess"] = rows
        texts.append(_table(
            "In-process latency (ratio = time / stdlib json.loads of the same body; targets p50 <= 1.5, p99 <= 3)",
            rows,
            ["hook", "shape", "resources", "body_bytes", "p50_ms", "p95_ms", "p99_ms", "json_loads_p50_ms", "p50_ratio", "p99_ratio", "peak_kib_per_request", "cards"],
        ))
    if "ledger" in only:
        from bench import ledger

        rows = [asdict(r) for r in ledger.run(150 if args.quick else 400)]
        report["ledger"] = rows
        texts.append(_table(
            "Alert burden: suppression reads + shown-card ledger write, SQLite file store, 200 resources,"
            " alternating calls (target overhead <= 10%)",
            rows,
            ["hook", "resources", "cards", "with_ledger_p50_ms", "without_p50_ms", "overhead_p50_ms", "overhead_pct",
             "ledger_write_p50_ms"],
        ))
    if "store" in only:
        from bench import store

        rows = [asdict(r) for r in store.run(100 if args.quick else 300)]
        report["store"] = rows
        texts.append(_table(
            "Store backends: in-process order-select p50 with the ledger write (200 resources) and feedback POSTs/s",
            rows,
            ["backend", "order_select_p50_ms", "feedback_posts_per_s", "iterations"],
        ))
    if "http" in only:
        from bench import http

        latency = [
            asdict(r) for size in ((200,) if args.quick else (200, 1000))
            for r in http.latency(size, requests=60 if args.quick else None, before=old)
        ]
        report["http_latency"] = latency
        texts.append(_table(
            "HTTP latency under gunicorn (production settings), one EHR-shaped order-select at a time, servers in turn;"
            " ratio = p50 / stdlib json.loads of the body (targets <= 3.0 at 200, <= 2.0 at 1000)",
            latency, ["name", "resources", "body_bytes", "requests", "p50_ms", "p90_ms", "json_loads_p50_ms", "ratio"],
        ))
        rows = [asdict(r) for r in (http.run(shapes=("ehr",), rounds=2, before=old) if args.quick
                                    else http.run(before=old))]
        report["http"] = rows
        report["http_throughput_ratio"] = http.throughput_ratios(rows)
        report["http_cpu_ratio"] = http.cpu_ratios(rows)
        ratios = ", ".join(f"{shape} {ratio}" for shape, ratio in report["http_throughput_ratio"].items())
        cpu = ", ".join(f"{shape} {ratio}" for shape, ratio in report["http_cpu_ratio"].items()) or "not measured"
        texts.append(_table(
            f"HTTP throughput under gunicorn, wrk {http.CONNECTIONS} connections, 200-resource order-select, medians of"
            f" alternating {http.ROUND_S} s rounds (throughput ratio to the minimal endpoint {ratios}; target >= 0.65;"
            f" the minimal endpoint's server CPU per request over the service's {cpu})",
            rows, ["name", "shape", "workers", "connections", "rounds", "requests_per_s", "p50_ms", "p99_ms", "non_2xx",
                   "cpu_ms_per_request"],
        ))
        if not args.quick:
            scaled = [asdict(r) for r in http.scaling()]
            report["http_scaling"] = scaled
            texts.append(_table(
                f"Scaling with workers (EHR-shaped, wrk {http.CONNECTIONS} connections on the same {os.cpu_count()} cores)",
                scaled, ["workers", "requests_per_s", "p50_ms", "speedup"],
            ))
    if "workers" in only:
        from bench import http, workers

        scaled_workers = [asdict(r) for r in (workers.run(rounds=1, seconds=3) if args.quick else workers.run())]
        report["workers"] = scaled_workers
        texts.append(_table(
            f"Sync workers on {os.cpu_count()} cores: throughput with full prefetch and with FHIR fallback"
            f" (a delayed loopback FHIR stub), wrk {http.CONNECTIONS} connections",
            scaled_workers, ["case", "workers", "requests_per_s", "p50_ms", "p99_ms", "non_2xx"],
        ))
    if "fallback" in only:
        from bench import fallback

        row = asdict(fallback.run())
        report["fallback"] = row
        texts.append(_table("FHIR fallback, no prefetch (target ratio <= 1.3)", [row], list(row)))
    if "coldstart" in only:
        from bench import coldstart

        row = asdict(coldstart.run())
        report["coldstart"] = row
        texts.append(_table("Cold start (target <= 1500 ms to the first answered request)", [row], list(row)))
    if "cql" in only:
        from bench import cql_services

        # Needs a checkout of the CQL Services (CDSHOOKS_BENCH_CQL_SERVICES); without one the row says what is missing.
        cql = (cql_services.run(iterations=30, warmup=10, before=old) if args.quick
               else cql_services.run(before=old))
        row = asdict(cql)
        report["cql_services"] = row
        columns = (
            ["hook", "our_hook", "resources", "body_bytes", "cql_services_body_bytes", "iterations",
             "cql_services_p50_ms", "ours_p50_ms", "ratio", "ours_before_p50_ms", "ratio_before",
             "cql_services_version"]
            if cql.measured else ["hook", "measured", "reason"]
        )
        texts.append(_table(
            "AHRQ CDS Connect CQL Services vs ours, same patient (target ratio >= 30)", [row], columns
        ))
    return report, texts


def result_path(when: datetime | None = None) -> Path:
    """Where a run's JSON goes by default: a timestamped file that .gitignore covers."""
    stamp = (when or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    return RESULTS / f"bench-{stamp}.json"


def save(report: dict, path: str | Path | None = None) -> Path:
    """Write the report as JSON; never over a file git tracks (bench/results/latest.json is the README's record)."""
    target = Path(path) if path else result_path()
    if _tracked(target):
        raise SystemExit(f"make bench: {target} is a committed file; not overwriting it (give another --output)")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(report, indent=1) + "\n")
    return target


def _tracked(path: Path) -> bool:
    try:
        proc = subprocess.run(
            ["git", "ls-files", "--error-unmatch", str(path.resolve())],
            cwd=Path(__file__).resolve().parent, capture_output=True, text=True,
        )
    except OSError:  # no git: a source archive, nothing is tracked
        return False
    return proc.returncode == 0


if __name__ == "__main__":
    sys.exit(main())
