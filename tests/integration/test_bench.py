"""`fleetboard bench` prints the figures the README quotes, for a small fleet."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from fleetboard.demo import leaks, procs


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


# --------------------------------------------------------------------------- stopping


class BenchRun:
    """`fleetboard bench` held once its servers run (procs.HOLD_ENV), its processes marked."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp = tmp_path / "tmp"
        self.tmp.mkdir()
        self.token = uuid.uuid4().hex
        env = {
            **os.environ,
            "TMPDIR": str(self.tmp),
            procs.PHASES_ENV: "1",
            procs.HOLD_ENV: "pass",
            "FLEETBOARD_TEST_BENCH": self.token,
        }
        self.process = subprocess.Popen(
            [sys.executable, "-m", "fleetboard", "bench", "--envs", "2", "--latency-ms", "1"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )

    def until(self, prefix: str) -> str:
        assert self.process.stdout is not None
        for line in self.process.stdout:  # bounded by pytest-timeout; the bench prints it
            if line.startswith(prefix):
                return line.strip()
        pytest.fail(f"the bench ended before {prefix!r}")

    def started(self) -> list[int]:
        needle = f"FLEETBOARD_TEST_BENCH={self.token}".encode()
        found = leaks.processes(lambda _pid, env, _cmd: needle in env)
        return [p.pid for p in found if p.pid != self.process.pid]

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.communicate()
        leaks.kill(leaks.processes(lambda _p, env, _c: self.token.encode() in env))


@pytest.fixture
def bench_run(tmp_path: Path) -> Iterator[BenchRun]:
    run = BenchRun(tmp_path)
    yield run
    run.close()  # even when the test failed


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["sigint", "sigterm"])
def test_a_stop_signal_stops_the_bench_servers_and_removes_its_temp_folder(
    bench_run: BenchRun, signum: int
) -> None:
    line = bench_run.until("phase: pass")
    hosts = int(line.split("pid=")[1])
    children = bench_run.started()
    assert hosts in children and len(children) >= 2  # moto and the hosts, both processes
    names = [p.name for p in leaks.temp_leftovers(bench_run.tmp)]
    assert any(n.startswith("fleetboard-bench-") for n in names), names
    bench_run.process.send_signal(signum)
    assert bench_run.process.wait(timeout=procs.STOP_GRACE_S + 10) == 128 + signum
    assert leaks.wait_gone(children, 5) == []
    assert leaks.temp_leftovers(bench_run.tmp) == []


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_a_sigkilled_bench_takes_moto_and_the_hosts_with_it(bench_run: BenchRun) -> None:
    bench_run.until("phase: pass")
    children = bench_run.started()
    assert len(children) >= 2
    bench_run.process.kill()
    bench_run.process.wait(timeout=10)
    assert leaks.wait_gone(children, 10) == [], "a child outlived the SIGKILLed bench"
