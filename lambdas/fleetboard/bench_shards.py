"""`fleetboard bench --shards N`: the simulated fleet collected as a sharded pass.

The shards run as processes on this machine (shards/local.py), through the same shard and
merge code a Step Functions execution runs, and the merged board is checked as a whole: how
many environments it holds, and how many checks a lost shard left unknown. On AWS each
shard is a Lambda of its own, all at once; here they would share two cores with the
simulated hosts, so they run one after another, each with the machine to itself, and the
pass's wall time is said as the Map would have it: its slowest shard, then the merge.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from fleetboard import collect, config
from fleetboard.demo.aws_world import DEMO_CREDENTIALS
from fleetboard.publish import LocalPublisher
from fleetboard.shards.local import ShardJob, pass_id, run_processes
from fleetboard.shards.merge import merge_pass
from fleetboard.sources import Resolver
from fleetboard.sources.awsapi import make_aws_client_factory


def measure_sharded(
    loaded: config.LoadedConfig, resolver: Resolver, out: Path, count: int, holed: set[str]
) -> dict[str, Any]:
    """Run `count` shard processes, then the merge, into `out`; the figures."""
    name = pass_id()
    deadline_s = loaded.inventory.probe.pass_deadline_s
    failures: dict[int, str] = {}
    walls: list[float] = []
    for index in range(count):
        job = ShardJob(loaded, out, index, count, name, resolver, DEMO_CREDENTIALS)
        started = time.monotonic()
        failures |= run_processes([job], deadline_s)
        walls.append(time.monotonic() - started)
    clients = make_aws_client_factory(loaded.inventory.aws, credentials=DEMO_CREDENTIALS)
    ctx = collect.laptop_context(loaded, resolver=resolver, aws_client=clients)
    merged_at = time.monotonic()
    result = merge_pass(
        loaded, ctx, LocalPublisher(out), count=count, pass_id=name, failures=failures
    )
    merge_s = time.monotonic() - merged_at
    doc = result.document
    checks = [c for env in doc.get("environments", []) for c in env["checks"]]
    inv = loaded.inventory
    return {
        "envs": len(inv.environments),
        "endpoints": sum(len(e.hosts) for e in inv.environments),
        "blackholed": len(holed),
        "shards": count,
        # As a Map runs them, all at once: its slowest shard, then the merge.
        "wall_s": round(max(walls) + merge_s, 3),
        "shard_walls_s": [round(w, 3) for w in walls],
        "merge_s": round(merge_s, 3),
        "probes": result.board.collector.probes,
        "failed_shards": {str(i): why for i, why in sorted(failures.items())},
        "board_envs": len(doc.get("environments", [])),
        # Checks a lost shard left unknown: the collector's blindness, said on the board.
        "unknown_from_shards": sum(1 for c in checks if "shard " in c.get("summary", "")),
        "published": result.error is None,
        "page_bytes": _size(out / "index.html"),
        "snapshot_bytes": _size(out / "latest.json"),
        "status": doc.get("summary", {}).get("status", "unknown"),
        # Why the board is not green, in its own words: its first issue.
        "first_issue": next((i["text"] for i in doc.get("summary", {}).get("issues", [])), None),
    }


def _size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0
