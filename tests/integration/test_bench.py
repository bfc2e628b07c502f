"""`fleetboard bench` prints the figures the README quotes, for a small fleet."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Callable

import pytest
from tests.integration.fixtures.child import MarkedRun, run_fleetboard

from fleetboard.demo import leaks


def bench(*args: str) -> subprocess.CompletedProcess[str]:
    return run_fleetboard("bench", *args, limit_s=300)


def test_bench_json_has_the_promised_figures() -> None:
    done = bench("--envs", "2", "--latency-ms", "1", "--json")
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout)
    assert figures["envs"] == 2
    assert figures["endpoints"] == 20
    assert figures["probes"] == 24  # ten hosts each, the broker asked three paths
    # addresses, instances, one Route 53 page and the deploy trail; the instances' status
    # checks, their SSM agents, their CloudWatch figures and the price of their one type
    by_source = figures["requests_by_source"]
    assert {k: by_source[k] for k in ("aws", "host", "agent", "metrics", "prices")} == {
        "aws": 4,
        "host": 1,
        "agent": 1,
        "metrics": 1,
        "prices": 1,
    }
    assert figures["aws_requests"] == 8
    assert figures["wall_s"] > 0 and figures["baseline_s"] > 0
    assert figures["blackholed"] == 0
    assert figures["status"] == "green"


def test_the_aws_requests_of_a_pass_do_not_grow_with_the_fleet() -> None:
    # Six times the environments, the same requests from every AWS-backed source (pages of
    # 300 records, 1,000 instances, 50 agents and 125 instances' figures are far away).
    small, large = (
        json.loads(bench("--envs", n, "--latency-ms", "1", "--json").stdout) for n in ("2", "12")
    )
    aws = ("aws", "host", "agent", "metrics", "prices")
    assert {k: small["requests_by_source"][k] for k in aws} == {
        k: large["requests_by_source"][k] for k in aws
    }
    assert small["aws_requests"] == large["aws_requests"]


def test_bench_blackhole_makes_that_share_time_out_and_says_how_the_baseline_was_had() -> None:
    done = bench("--envs", "2", "--latency-ms", "1", "--blackhole", "10", "--json")
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout)
    assert figures["blackholed"] == 2
    assert figures["status"] == "red"
    assert "black hole" in figures["baseline_method"]


def test_bench_rejects_nonsense() -> None:
    done = bench("--envs", "0")
    assert done.returncode == 2
    assert "--envs" in done.stderr


# --------------------------------------------------------------------------- stopping


@pytest.fixture
def bench_run(marked_run: Callable[..., MarkedRun]) -> MarkedRun:
    """`fleetboard bench` held once its servers run (procs.HOLD_ENV), as a MarkedRun
    (fixtures/child.py): stopped with all it started at the end of the test."""
    return marked_run("bench", "--envs", "2", "--latency-ms", "1", hold="pass")


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["sigint", "sigterm"])
def test_a_stop_signal_stops_the_bench_servers_and_removes_its_temp_folder(
    bench_run: MarkedRun, signum: int
) -> None:
    line = bench_run.until("phase: pass")
    hosts = int(line.split("pid=")[1])
    children = bench_run.started()
    assert hosts in children and len(children) >= 2  # moto and the hosts, both processes
    names = [p.name for p in leaks.temp_leftovers(bench_run.tmp)]
    assert any(n.startswith("fleetboard-bench-") for n in names), names
    code, _ = bench_run.stop_with(signum)
    assert code == 128 + signum, bench_run.errors.read_text()
    bench_run.assert_nothing_left(children)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_a_sigkilled_bench_takes_moto_and_the_hosts_with_it(bench_run: MarkedRun) -> None:
    bench_run.until("phase: pass")
    children = bench_run.started()
    assert len(children) >= 2
    bench_run.process.kill()
    bench_run.process.wait(timeout=10)
    assert leaks.wait_gone(children, 10) == [], "a child outlived the SIGKILLed bench"
