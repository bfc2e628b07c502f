"""Shards as processes on one machine: `fleetboard collect --shards N` and the bench.

Each shard is a fresh interpreter (`python -m fleetboard.shards.local`) given its job on
stdin, running the same `run_shard` a Lambda invocation runs and saving into the same
store; this process waits for them (never past the pass deadline plus the grace), then
merges as the Step Functions merge step does. A shard that exits with an error or is still
running at the deadline is killed and its environments are unknown; no shard outlives the
pass, however it ends.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from fleetboard.collect import PassResult
from fleetboard.config import DEADLINE_GRACE_S, PUBLISH_RESERVE_S, LoadedConfig
from fleetboard.publish import LocalPublisher
from fleetboard.shards.merge import merge_pass
from fleetboard.shards.run import run_shard
from fleetboard.sources import PassContext, Resolver, system_resolver
from fleetboard.sources.awsapi import StaticCredentials, make_aws_client_factory

#: What a shard process may take past its sources' deadline (and their grace) to write
#: down what they saw before it is killed: a Lambda's publish reserve.
SAVE_RESERVE_S = PUBLISH_RESERVE_S


@dataclass(frozen=True, slots=True)
class ShardJob:
    """Everything a shard process needs: handed over pickled on its stdin, by its parent."""

    loaded: LoadedConfig
    out: Path
    index: int
    count: int
    pass_id: str
    resolver: Resolver = system_resolver
    credentials: StaticCredentials | None = None
    #: time.monotonic() by which its sources stop (the same clock in every process of the
    #: machine): set when the process starts, the pass deadline from then.
    deadline: float = 0.0


def pass_id(now: datetime | None = None) -> str:
    """A pass's name, as Step Functions names it (the execution's start time)."""
    return (now or datetime.now(UTC)).isoformat()


def run_local(
    loaded: LoadedConfig,
    out: Path,
    count: int,
    ctx: PassContext,
    *,
    credentials: StaticCredentials | None = None,
) -> PassResult:
    """Run `count` shard processes into `out`'s state, then merge and publish to `out`."""
    name = pass_id()
    jobs = [ShardJob(loaded, out, i, count, name, ctx.resolver, credentials) for i in range(count)]
    failures = run_processes(jobs, loaded.inventory.probe.pass_deadline_s)
    # The merge's own deadline starts now: the shards' time is not taken out of its sources.
    now = time.monotonic()
    merge_ctx = replace(ctx, started=now, deadline=now + loaded.inventory.probe.pass_deadline_s)
    return merge_pass(
        loaded, merge_ctx, LocalPublisher(out), count=count, pass_id=name, failures=failures
    )


def run_processes(
    jobs: list[ShardJob], deadline_s: float, *, at_once: int | None = None
) -> dict[int, str]:
    """Run a process per job, `at_once` at a time (all by default), each given `deadline_s`
    from its start and killed if still running past it (plus the grace and the time to
    save); shard index -> why it failed."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    failures: dict[int, str] = {}
    size = at_once or len(jobs)
    for first in range(0, len(jobs), size):
        failures |= _run_batch(jobs[first : first + size], deadline_s, env)
    return failures


def _run_batch(jobs: list[ShardJob], deadline_s: float, env: dict[str, str]) -> dict[int, str]:
    started: list[tuple[ShardJob, subprocess.Popen[bytes]]] = []
    failures: dict[int, str] = {}
    try:
        for job in jobs:
            job = replace(job, deadline=time.monotonic() + deadline_s)
            process = subprocess.Popen(
                [sys.executable, "-m", __name__],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                env=env,
            )
            started.append((job, process))
            assert process.stdin is not None
            with process.stdin:
                process.stdin.write(pickle.dumps(job))
        for job, process in started:
            kill_at = job.deadline + DEADLINE_GRACE_S + SAVE_RESERVE_S
            try:
                code = process.wait(timeout=max(0.0, kill_at - time.monotonic()))
            except subprocess.TimeoutExpired:
                failures[job.index] = f"did not finish within {deadline_s:.0f} s"
                continue
            if code != 0:
                failures[job.index] = f"its process exited with code {code}"
    finally:
        for _, process in started:
            if process.poll() is None:
                process.kill()
            process.wait()
    return failures


def _main() -> None:
    job: ShardJob = pickle.loads(sys.stdin.buffer.read())  # noqa: S301 - our parent's pipe
    clients = make_aws_client_factory(job.loaded.inventory.aws, credentials=job.credentials)
    ctx = PassContext(deadline=job.deadline, resolver=job.resolver, aws_client=clients)
    report = run_shard(
        job.loaded,
        ctx,
        LocalPublisher(job.out),
        index=job.index,
        count=job.count,
        pass_id=job.pass_id,
    )
    sys.exit(1 if report.error else 0)


if __name__ == "__main__":
    _main()
