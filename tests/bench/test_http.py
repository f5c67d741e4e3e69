"""The HTTP benchmark's arithmetic: wrk reports read right, rounds alternated, ratios paired by round."""

from __future__ import annotations

from dataclasses import asdict

import orjson
import pytest

from bench import http, servers

WRK_REPORT = """Running 5s test @ http://127.0.0.1:8123/cds-services/tofacitinib-order-select
  2 threads and 10 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    31.82ms    6.01ms  80.12ms   81.02%
    Req/Sec   157.02     20.11   200.00     70.00%
  Latency Distribution
     50%   30.51ms
     75%   33.70ms
     90%   38.24ms
     99%    1.02s
  1571 requests in 5.01s, 4.12MB read
  Non-2xx or 3xx responses: 3
Requests/sec:    313.57
Transfer/sec:    842.38KB
"""


def test_a_wrk_report_is_read_with_its_units():
    run = http.parse_wrk(WRK_REPORT)
    assert run == http.WrkRun(requests_per_s=313.57, p50_ms=30.51, p99_ms=1020.0, non_2xx=3, requests=1571)


def test_the_cpu_per_request_is_the_servers_cpu_over_the_run_divided_by_its_requests():
    run = http.parse_wrk(WRK_REPORT)
    assert http._with_cpu(run, 10.0, 20.0).cpu_ms_per_request == round(10_000 / 1571, 3)
    assert http._with_cpu(run, None, 20.0).cpu_ms_per_request is None  # /proc could not tell
    assert http._with_cpu(http.WrkRun(0.0, 1.0, 1.0, 0), 10.0, 20.0).cpu_ms_per_request is None  # nothing answered


def test_a_wrk_report_without_errors_has_no_non_2xx():
    run = http.parse_wrk(WRK_REPORT.replace("  Non-2xx or 3xx responses: 3\n", "").replace("50%   30.51ms", "50%  812.00us"))
    assert run.non_2xx == 0
    assert run.p50_ms == pytest.approx(0.812)


def test_a_failed_wrk_run_is_an_error_not_a_zero():
    with pytest.raises(ValueError):
        http.parse_wrk("unable to connect to 127.0.0.1:8123 Connection refused\n")


def test_rounds_alternate_so_each_server_goes_first_as_often_as_last():
    order = http.alternating_order(["minimal", "service"], 4)
    assert order == ["minimal", "service", "service", "minimal", "minimal", "service", "service", "minimal"]
    assert http.alternating_order(["1", "2", "3"], 2) == ["1", "2", "3", "3", "2", "1"]


def _runs(*rps: float) -> list[http.WrkRun]:
    return [http.WrkRun(r, 10.0 + i, 20.0 + 10 * i, i) for i, r in enumerate(rps)]


def test_a_summary_takes_medians_so_one_slow_round_does_not_decide():
    result = http.summarize("x", "ehr", 5, _runs(300, 100, 310, 305))
    assert result.requests_per_s == 302.5
    assert result.p50_ms == 11.5  # median of 10, 11, 12, 13
    assert result.p99_ms == 35.0  # median of 20, 30, 40, 50
    assert result.non_2xx == 0 + 1 + 2 + 3
    assert result.rounds == 4
    assert result.requests_per_s_by_round == (300, 100, 310, 305)


def test_a_summary_takes_the_median_cpu_of_the_rounds_that_have_one():
    runs = [http.WrkRun(300, 10, 20, 0, 1500, cpu) for cpu in (6.0, None, 8.0, 7.0)]
    result = http.summarize("x", "ehr", 5, runs)
    assert result.cpu_ms_per_request == 7.0
    assert result.cpu_ms_per_request_by_round == (6.0, None, 8.0, 7.0)
    assert http.summarize("x", "ehr", 5, _runs(300, 310)).cpu_ms_per_request is None


def test_the_cpu_ratio_pairs_rounds_and_skips_the_ones_without_a_reading():
    def row(name: str, cpu: tuple) -> dict:
        return {"name": name, "shape": "ehr", "requests_per_s_by_round": (1.0,) * len(cpu),
                "cpu_ms_per_request_by_round": cpu}

    rows = [row(http.MINIMAL, (3.0, 3.0, None, 4.0)), row(http.SERVICE, (6.0, 5.0, 7.0, None))]
    assert http.cpu_ratios(rows) == {"ehr": round((0.5 + 0.6) / 2, 2)}
    assert http.cpu_ratios([row(http.MINIMAL, (3.0,)), row(http.SERVICE, (None,))]) == {}


def test_a_round_where_the_service_answered_nothing_still_counts_in_the_throughput_ratio():
    minimal = http.summarize(http.MINIMAL, "ehr", 5, _runs(600, 600, 600))
    service = http.summarize(http.SERVICE, "ehr", 5, _runs(0, 0, 300))
    assert http.throughput_ratios([asdict(minimal), asdict(service)]) == {"ehr": 0.0}


def test_the_throughput_ratio_pairs_the_runs_of_each_round():
    # Round 2 ran during a slow spell for both: paired, it gives the same ratio as the others.
    minimal = http.summarize(http.MINIMAL, "ehr", 5, _runs(600, 300, 620, 610))
    service = http.summarize(http.SERVICE, "ehr", 5, _runs(300, 150, 310, 305))
    other = http.summarize(http.MINIMAL, "skeletal", 5, _runs(900, 1000))
    other_service = http.summarize(http.SERVICE, "skeletal", 5, _runs(300, 250))
    rows = [asdict(r) for r in (minimal, service, other, other_service)]
    assert http.throughput_ratios(rows) == {"ehr": 0.5, "skeletal": round((300 / 900 + 250 / 1000) / 2, 2)}


def test_servers_are_awaited_on_the_service_of_the_hook_whose_call_they_are_given():
    # A patient-view call posted to the order-select service answers 400, so a
    # wait on the wrong service would time out (the CQL comparison's own failure).
    from bench import patients

    body = orjson.dumps(patients.request("patient-view", 5, shape="ehr"))
    server = http.Server("ours", http.SERVICE_APP, workers=1)
    with http.serving([server], http._env(), body, hook="patient-view") as urls:
        assert urls["ours"].endswith(f"/cds-services/{patients.SERVICE['patient-view']}")
        # and the master's pid, whose process tree has done the work of the call awaited
        assert (servers.tree_cpu_seconds(urls.pids["ours"]) or 0) > 0
