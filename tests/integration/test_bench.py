"""`fleetboard bench` prints the figures the README quotes, for a small fleet."""

from __future__ import annotations

import json
import subprocess
import sys


def bench(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fleetboard", "bench", *args],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_bench_json_has_the_promised_figures() -> None:
    done = bench("--envs", "2", "--latency-ms", "1", "--json")
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout)
    assert figures["envs"] == 2
    assert figures["endpoints"] == 20
    assert figures["probes"] == 24  # ten hosts each, the broker asked three paths
    assert figures["aws_requests"] == 4  # addresses, instances, one Route 53 page, the deploy trail
    assert figures["wall_s"] > 0 and figures["baseline_s"] > 0
    assert figures["blackholed"] == 0
    assert figures["status"] == "green"


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
