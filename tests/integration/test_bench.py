"""`fleetboard bench` prints the figures the README quotes, for a small fleet."""

from __future__ import annotations

import json
import os
import re
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
    # The same requests by operation as sent: Route 53's one page among the single calls.
    calls = figures["aws_requests_by_call"]
    assert sum(calls.values()) == figures["aws_requests"]
    assert calls["route53.ListResourceRecordSets"] == figures["route53_pages"] == 1
    assert figures["wall_s"] > 0 and figures["baseline_s"] > 0
    assert figures["baseline_method"] == "measured"
    assert (figures["resolve"], figures["dns_lookups"]) == (False, 0)  # fixed addresses
    assert figures["blackholed"] == 0
    assert figures["status"] == "green"
    # the collector's CPU a connection beside the floor, measured against the same hosts
    assert figures["connections"] == 20  # one keep-alive connection a host
    assert figures["cpu_ms_per_connection"] > 0
    floor = figures["floor"]
    assert floor["connections"] == 20 and floor["cpu_ms_per_connection"] > 0


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
    # A black hole takes TCP and never answers the ClientHello: the connect timeout (3 s by
    # default, the handshake included) is what stopped both, and the one the bench names.
    assert figures["blackhole_timeouts"] == {"connect": 2}
    assert (figures["probe_timeout"], figures["probe_timeout_s"]) == ("connect", 3.0)


def test_bench_can_skip_the_baseline_and_resolve_every_name_through_the_zone() -> None:
    done = bench("--envs", "2", "--latency-ms", "1", "--no-baseline", "--resolve", "--json")
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout)
    assert (figures["baseline_s"], figures["speedup"]) == (None, None)
    assert figures["baseline_method"] == "skipped"
    # No fixed addresses: every host's name was looked up, and every host answered.
    assert figures["resolve"] is True
    assert figures["dns_lookups"] >= figures["endpoints"] == 20
    assert figures["status"] == "green"


def test_bench_prints_route53_pages_apart_and_says_the_baseline_was_not_measured() -> None:
    # 300 A records and the zone's SOA and NS: two pages of 300.
    done = bench("--envs", "1", "--endpoints", "300", "--latency-ms", "1", "--no-baseline")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "baseline: not measured" in out
    assert "Route 53 pages: 2 (300 A records, 300 records a page)" in out
    # the CPU line sets the pass beside the floor, measured in the same run
    assert re.search(
        r"cpu: +probing [\d.]+ ms a connection \([\d.]+ s over 300 connections\): "
        r"[\d.]+× the floor of [\d.]+ ms \(bare connect \+ TLS handshake \+ close, "
        r"[\d.]+ s wall\); every source [\d.]+ ms",
        out,
    ), out
    assert "ec2.DescribeAddresses 1" in out.split("other requests:")[1]
    assert "timeout:  connect 3 s" in out


def test_bench_rejects_nonsense() -> None:
    done = bench("--envs", "0")
    assert done.returncode == 2
    assert "--envs" in done.stderr
    done = bench("--workers", "0")
    assert done.returncode == 2
    assert "--workers 1–16" in done.stderr
    done = bench("--shards", "41")
    assert done.returncode == 2
    assert "--shards 1–40" in done.stderr


def test_bench_probes_in_worker_processes_when_asked_and_the_fleet_is_large_enough() -> None:
    # 50 environments of ten hosts: 500 hosts, two workers' worth (250 each)
    args = ("--envs", "50", "--latency-ms", "1", "--no-baseline", "--json", "--workers", "4")
    done = bench(*args)
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout)
    assert figures["probe_workers"] == 2
    assert figures["status"] == "green"  # every host seen, from whichever process
    # the workers' CPU is counted: joined children, read from the kernel
    assert figures["probe_cpu_s"] > 0


def test_bench_collects_as_shards_merged_into_one_board_and_none_outlives_it() -> None:
    args = ("--envs", "6", "--endpoints", "2", "--latency-ms", "1", "--shards", "3", "--json")
    done = bench(*args)
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout)
    assert (figures["shards"], figures["board_envs"], figures["failed_shards"]) == (3, 6, {})
    # every host seen through its shard: two endpoints an environment, the broker's three
    assert (figures["probes"], figures["status"], figures["published"]) == (24, "green", True)
    assert figures["unknown_from_shards"] == 0
    assert len(figures["shard_walls_s"]) == 3
    slowest_then_merge = max(figures["shard_walls_s"]) + figures["merge_s"]
    assert abs(figures["wall_s"] - slowest_then_merge) <= 0.002
    me = os.getpid()
    assert not leaks.processes(
        lambda pid, _env, cmd: "fleetboard.shards.local" in cmd and leaks.descends_from(pid, me)
    )


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
