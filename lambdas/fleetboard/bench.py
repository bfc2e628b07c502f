"""`fleetboard bench`: one pass over a simulated fleet of N environments, with figures.

This is the command's front end: it measures (bench_measure.py, over the fleet of
bench_fleet.py) and prints the figures, as text or one JSON object.
"""

from __future__ import annotations

import json
import sys
from typing import Any, Unpack

from fleetboard.bench_measure import ROUTE53_LIST, ROUTE53_PAGE, BenchOptions, measure
from fleetboard.demo import procs
from fleetboard.exits import EXIT_OK


def run_bench(*, as_json: bool, **options: Unpack[BenchOptions]) -> int:
    """Measure and print. Ctrl-C, SIGTERM or SIGHUP at any point stops moto and the hosts
    (child processes) and removes the temp folder; the exit code is then 128 + the signal."""
    with procs.stop_on_signals():
        try:
            figures = measure(options)
        except procs.Stopped as stopped:
            print(f"bench stopped ({stopped}): its servers are stopped", file=sys.stderr)
            return stopped.exit_code
    if as_json:
        print(json.dumps(figures))
    else:
        _print(figures, options["latency_ms"])
    return EXIT_OK


def _print(f: dict[str, Any], latency_ms: float) -> None:
    if f.get("shards", 1) > 1:
        _print_sharded(f)
        return
    names = (
        f"names looked up through the demo's zone ({f['dns_lookups']} lookups)"
        if f["resolve"]
        else "fixed addresses, no lookups"
    )
    print(
        f"fleet: {f['envs']} environments, {f['endpoints']} endpoints, {f['probes']} probes, "
        f"{f['blackholed']} black-holed, {latency_ms:g} ms simulated latency; {names}"
    )
    print(
        f"pass:     {f['wall_s']:.2f} s wall, warm (sources {f['sources_s']}); "
        f"the container's first pass {f['cold_wall_s']:.2f} s"
    )
    fl = f["floor"]
    floor_ms = fl["cpu_ms_per_connection"]
    ratio = f["probe_cpu_ms_per_connection"] / floor_ms if floor_ms else 0
    print(
        f"cpu:      probing {f['probe_cpu_ms_per_connection']:.2f} ms a connection "
        f"({f['probe_cpu_s']:.2f} s over {f['connections']} connections): {ratio:.1f}× the "
        f"floor of {floor_ms:.2f} ms (bare connect + TLS handshake + close, "
        f"{fl['wall_s']:.2f} s wall); every source {f['cpu_ms_per_connection']:.2f} ms"
        + (f"; {f['probe_workers']} probing processes" if f["probe_workers"] > 1 else "")
    )
    if f["baseline_s"] is None:
        print("baseline: not measured (--no-baseline)")
        print("speedup:  not measured")
    else:
        print(f"baseline: {f['baseline_s']:.2f} s one probe at a time ({f['baseline_method']})")
        print(f"speedup:  {f['speedup']}×")
    fired = ", ".join(f"{k} {n}" for k, n in f["blackhole_timeouts"].items())
    print(
        f"timeout:  {f['probe_timeout']} {f['probe_timeout_s']:g} s bounds a black-holed probe"
        + (f" (fired on the black holes: {fired})" if fired else "")
    )
    by_source = ", ".join(f"{k} {n}" for k, n in f["requests_by_source"].items())
    print(f"aws requests: {f['aws_requests']} per pass ({by_source})")
    print(
        f"  Route 53 pages: {f['route53_pages']} "
        f"({f['route53_records']} A records, {ROUTE53_PAGE} records a page)"
    )
    calls = ", ".join(f"{k} {n}" for k, n in f["aws_requests_by_call"].items() if k != ROUTE53_LIST)
    print(f"  other requests: {calls}")
    print(
        f"snapshot: {f['snapshot_ms']:.0f} ms (build + validate); render {f['render_ms']:.0f} ms; "
        f"page {f['page_bytes'] / 1024:.0f} KiB, "
        f"snapshot {f['snapshot_bytes'] / 1024:.0f} KiB"
    )


def _print_sharded(f: dict[str, Any]) -> None:
    failed = f["failed_shards"]
    print(
        f"fleet:  {f['envs']} environments, {f['endpoints']} endpoints, "
        f"{f['blackholed']} black-holed; {f['shards']} shards, each a process run alone"
    )
    walls = ", ".join(f"{w:.2f}" for w in f["shard_walls_s"])
    print(
        f"pass:   {f['wall_s']:.2f} s wall as a Map runs it (the slowest shard, then the "
        f"merge {f['merge_s']:.2f} s); shards {walls} s; {f['probes']} probes"
    )
    print(
        f"board:  {f['board_envs']} environments, status {f['status']}, "
        + ("published" if f["published"] else "NOT published")
        + f"; page {f['page_bytes'] / 1024:.0f} KiB, latest.json "
        f"{f['snapshot_bytes'] / 1024:.0f} KiB"
    )
    if f["first_issue"]:
        print(f"first:  {f['first_issue']}")
    if failed:
        lost = "; ".join(f"shard {int(i) + 1}: {why}" for i, why in failed.items())
        print(f"lost:   {lost} ({f['unknown_from_shards']} checks unknown, never red)")
    else:
        print("lost:   no shard")
