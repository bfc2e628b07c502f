"""`fleetboard bench`: one pass over a simulated fleet of N environments, with figures.

The hosts and moto run in child processes, so their work does not share the collector's
interpreter (real hosts and AWS never do). The hosts answer after a simulated network
latency, and a share of them can black-hole. The one-probe-at-a-time baseline is measured
in the same run against the same hosts.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from fleetboard import collect, config
from fleetboard.demo import procs
from fleetboard.demo.aws_world import (
    DEMO_CREDENTIALS,
    EnvSpec,
    WorldSpec,
    build_world,
    start_moto_process,
)
from fleetboard.demo.dns import ZoneResolver
from fleetboard.demo.hosts import BlackHole, HostServerProcess, SimHost, json_reply, text_reply
from fleetboard.exits import EXIT_OK
from fleetboard.inventory import Address, Inventory, service_host

ZONE = "litentry.org"
#: The baseline runs one probe at a time for as long as that takes, not a pass's deadline.
BASELINE_S = 3600.0
_NAMES = ("signer", "audit", "email", "cred", "memory", "config", "classify", "channel", "weixin")


def _services(endpoints: int) -> list[str]:
    """The non-broker hosts of an environment with `endpoints` hosts in all."""
    extra = [f"worker{i}" for i in range(len(_NAMES), endpoints)]
    return [*_NAMES, *extra][: endpoints - 1]


def _hosts(env: int, endpoints: int, delay_s: float) -> list[SimHost]:
    suffix = f"-test-{env}"
    broker = f"broker{suffix}.{ZONE}"
    out = [
        SimHost(
            broker,
            {
                "/healthz": text_reply("ok", delay_s=delay_s),
                "/readyz": json_reply(
                    {"status": "ready", "degraded": False, "checks": []}, delay_s=delay_s
                ),
                "/.well-known/openid-configuration": json_reply(
                    {"issuer": f"https://{broker}"}, delay_s=delay_s
                ),
            },
        )
    ]
    for name in _services(endpoints):
        out.append(
            SimHost(
                service_host(name, suffix, ZONE), {"/healthz": text_reply("ok", delay_s=delay_s)}
            )
        )
    return out


def _config(
    world_zone_id: str,
    endpoint: str,
    ca: Path,
    envs: int,
    endpoints: int,
    server: Address,
    holes: dict[str, Address],
) -> str:
    services = _services(endpoints)
    lines = [
        "[fleet]",
        'name = "bench"',
        f'zone = "{ZONE}"',
        f'zone_id = "{world_zone_id}"',
        'region = "us-east-1"',
        "services = []",
        f"workers = [{', '.join(json.dumps(s) for s in services)}]",
        "period_s = 120",  # room for a 60 s pass deadline: a big fleet on a small machine
        "[aws]",
        f'endpoint_url = "{endpoint}"',
        "[probe]",
        f'ca_bundle = "{ca}"',
        "pass_deadline_s = 60",
    ]
    for i in range(1, envs + 1):
        lines += [
            f"[environments.test-{i}]",
            f'broker_host = "broker-test-{i}.{ZONE}"',
            f'address = "{server}"',
        ]
        for key in ["broker", *services]:
            host = (
                f"broker-test-{i}.{ZONE}"
                if key == "broker"
                else service_host(key, f"-test-{i}", ZONE)
            )
            if host in holes:
                lines.append(f'hosts.{key}.address = "{holes[host]}"')
    return "\n".join(lines) + "\n"


def measure(
    *, envs: int, endpoints: int, blackhole_pct: float, latency_ms: float
) -> dict[str, Any]:
    """Build the fleet, run one pass and the baseline; return the figures."""
    delay = latency_ms / 1000
    all_hosts = [h for i in range(1, envs + 1) for h in _hosts(i, endpoints, delay)]
    step = round(100 / blackhole_pct) if blackhole_pct > 0 else 0
    holed = {h.name for n, h in enumerate(all_hosts) if step and n % step == step - 1}
    served = [h for h in all_hosts if h.name not in holed]
    procs.phase("moto")
    endpoint, stop_moto = start_moto_process()
    try:
        spec = WorldSpec(
            environments=tuple(
                EnvSpec(
                    f"test-{i}",
                    f"agentkeys-broker-eip-test-{i}",
                    hosts=tuple(h.name for h in _hosts(i, endpoints, 0)),
                )
                for i in range(1, envs + 1)
            ),
            zone=ZONE,
        )
        world = build_world(spec, endpoint, credentials=DEMO_CREDENTIALS)
        procs.phase("hosts")
        with (
            procs.temp_dir("fleetboard-bench-") as tmp,
            BlackHole() as hole,
            HostServerProcess(served) as server,
        ):
            ca = server.write_ca(tmp / "ca.pem")
            text = _config(
                world.zone_id,
                endpoint,
                ca,
                envs,
                endpoints,
                server.address,
                dict.fromkeys(holed, hole.address),
            )
            loaded = config.loads(text, source="bench.toml")
            procs.phase("pass", f"hosts pid={server.pid}")
            return _run(loaded, world.a_records, holed)
    finally:
        stop_moto()


def _run(loaded: config.LoadedConfig, records: dict[str, str], holed: set[str]) -> dict[str, Any]:
    from fleetboard.sources.awsapi import make_aws_client_factory
    from fleetboard.sources.http import probe_sequentially

    resolver = ZoneResolver({k: [v] for k, v in records.items()})

    def context(deadline_s: float | None = None) -> Any:
        factory = make_aws_client_factory(loaded.inventory.aws, credentials=DEMO_CREDENTIALS)
        ctx = collect.laptop_context(loaded, resolver=resolver, aws_client=factory)
        return ctx if deadline_s is None else replace(ctx, deadline=time.monotonic() + deadline_s)

    started = time.monotonic()
    board = collect.build_board(loaded, context())
    release, _ = collect.release_of(board)
    wall = time.monotonic() - started

    # Warm figures for the two steps after the sources, as a scheduled pass pays them: the
    # median of three, because a garbage collection can land in any one of them.
    from statistics import median

    from fleetboard import render, snapshot

    def timed(step: Callable[[], object]) -> float:
        started = time.perf_counter()
        step()
        return (time.perf_counter() - started) * 1000

    doc = snapshot.to_document(board)
    validate_ms = median(
        timed(lambda: snapshot.validate(snapshot.to_document(board))) for _ in range(3)
    )
    render_ms = median(timed(lambda: render.render_page(doc)) for _ in range(3))

    inv = loaded.inventory
    if holed:
        # Probing every black hole one at a time would take minutes; measure the answering
        # hosts in full and one black hole, and count that once per black hole.
        seq_started = time.monotonic()
        facts = probe_sequentially(_only(inv, lambda name: name not in holed), context(BASELINE_S))
        answered = time.monotonic() - seq_started
        hole_started = time.monotonic()
        probe_sequentially(_only(inv, lambda name: name == min(holed)), context(BASELINE_S))
        baseline = answered + (time.monotonic() - hole_started) * len(holed)
        method = (
            f"measured on {len(facts.exchanges)} answers + {len(holed)} × one measured black hole"
        )
    else:
        seq_started = time.monotonic()
        facts = probe_sequentially(inv, context(BASELINE_S))
        baseline = time.monotonic() - seq_started
        method = "measured"
    c = board.collector
    return {
        "envs": len(inv.environments),
        "endpoints": sum(len(e.hosts) for e in inv.environments),
        "probes": c.probes,
        "blackholed": len(holed),
        "wall_s": round(wall, 3),
        "baseline_s": round(baseline, 3),
        "speedup": round(baseline / wall, 1) if wall else None,
        "baseline_method": method,
        "aws_requests": c.aws_requests,
        # By source, so pages (the only thing that grows with the fleet) can be told apart.
        "requests_by_source": {
            k: v.requests for k, v in sorted(c.sources.items()) if v.requests is not None
        },
        "sources_s": {k: round(v.duration_s, 3) for k, v in c.sources.items()},
        "render_ms": round(render_ms, 1),
        "snapshot_ms": round(validate_ms, 1),
        "page_bytes": len(release.page),
        "snapshot_bytes": len(release.snapshot),
        "probe_timeout_s": inv.probe.read_timeout_s,
        "status": board.summary.status.value,
    }


def _only(inv: Inventory, keep: Callable[[str], bool]) -> Inventory:
    """The inventory with only the hosts whose name `keep` accepts."""
    envs = tuple(
        replace(e, hosts=tuple(h for h in e.hosts if keep(h.hostname))) for e in inv.environments
    )
    return replace(inv, environments=tuple(e for e in envs if e.hosts))


def run_bench(
    *, envs: int, endpoints: int, blackhole_pct: float, latency_ms: float, as_json: bool
) -> int:
    """Measure and print. Ctrl-C, SIGTERM or SIGHUP at any point stops moto and the hosts
    (child processes) and removes the temp folder; the exit code is then 128 + the signal."""
    with procs.stop_on_signals():
        try:
            figures = measure(
                envs=envs, endpoints=endpoints, blackhole_pct=blackhole_pct, latency_ms=latency_ms
            )
        except procs.Stopped as stopped:
            print(f"bench stopped ({stopped}): its servers are stopped", file=sys.stderr)
            return stopped.exit_code
    if as_json:
        print(json.dumps(figures))
        return EXIT_OK
    f = figures
    print(
        f"fleet: {f['envs']} environments, {f['endpoints']} endpoints, {f['probes']} probes, "
        f"{f['blackholed']} black-holed, {latency_ms:g} ms simulated latency"
    )
    print(f"pass:     {f['wall_s']:.2f} s wall (sources {f['sources_s']})")
    print(f"baseline: {f['baseline_s']:.2f} s one probe at a time ({f['baseline_method']})")
    print(f"speedup:  {f['speedup']}×")
    by_source = ", ".join(f"{k} {n}" for k, n in f["requests_by_source"].items())
    print(f"aws requests: {f['aws_requests']} per pass ({by_source})")
    print(
        f"snapshot: {f['snapshot_ms']:.0f} ms (build + validate); render {f['render_ms']:.0f} ms; "
        f"page {f['page_bytes'] / 1024:.0f} KiB, "
        f"snapshot {f['snapshot_bytes'] / 1024:.0f} KiB"
    )
    return EXIT_OK
