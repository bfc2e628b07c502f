"""A warm pass over the benchmark's simulated fleet (bench_fleet.py), after the container's
first, with figures: its wall time and CPU (beside a bare-handshake floor), what it sent
(DNS lookups, AWS requests by source and by call), the warm cost of the snapshot and the
page, which timeout stopped the black holes, and the one-probe-at-a-time baseline measured
in the same run against the same hosts, unless `baseline` is False.

The hosts and moto run in child processes, so their work does not share the collector's
interpreter (real hosts and AWS never do). The hosts answer after a simulated network
latency, and a share of them can black-hole.

With `resolve=True` no host has a fixed IP: every probe looks its name up through the
demo's DNS view (a `ZoneResolver` over the names Route 53 holds, as `fleetboard demo`
resolves them), so the pass pays the lookups a real one pays.
"""

from __future__ import annotations

import resource
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any, TypedDict

from fleetboard import collect, config
from fleetboard.bench_fleet import ZONE, fleet_toml, hosts
from fleetboard.demo import procs
from fleetboard.demo.aws_world import (
    DEMO_CREDENTIALS,
    EnvSpec,
    WorldSpec,
    build_world,
    start_moto_process,
)
from fleetboard.demo.dns import ZoneResolver
from fleetboard.demo.hosts import LOOPBACK, BlackHole, HostServerProcess
from fleetboard.inventory import Inventory, ProbeSettings
from fleetboard.model import Board, Check, CheckKind
from fleetboard.sources import PassContext
from fleetboard.sources.http import probe_targets, worker_count

#: The baseline runs one probe at a time for as long as that takes, not a pass's deadline.
BASELINE_S = 3600.0
#: Route 53's ListResourceRecordSets page: the aws source asks for AWS's default size.
ROUTE53_PAGE = 300
#: How the figures name Route 53's pages among the AWS requests, by call.
ROUTE53_LIST = "route53.ListResourceRecordSets"


class BenchOptions(TypedDict):
    """What one run simulates and measures: `fleetboard bench`'s flags, said once for
    measure() and for bench.run_bench, which passes them on."""

    envs: int
    endpoints: int  # per environment
    blackhole_pct: float  # the share of endpoints that accept and never answer
    latency_ms: float  # how long each simulated host takes to answer
    baseline: bool  # False: skip the one-probe-at-a-time baseline
    resolve: bool  # True: every probe looks its host's name up through the zone
    workers: int  # [probe] workers: processes probing at once
    shards: int  # > 1: a sharded pass of that many shard processes (bench_shards.py)


def measure(options: BenchOptions) -> dict[str, Any]:
    """Build the fleet, run one pass and (unless `baseline` is False) the baseline; return
    the figures."""
    envs, endpoints, resolve = options["envs"], options["endpoints"], options["resolve"]
    blackhole_pct = options["blackhole_pct"]
    delay = options["latency_ms"] / 1000
    all_hosts = [h for i in range(1, envs + 1) for h in hosts(i, endpoints, delay)]
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
                    hosts=tuple(h.name for h in hosts(i, endpoints, 0)),
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
            text = fleet_toml(
                world.zone_id,
                endpoint,
                ca,
                envs,
                endpoints,
                server.address,
                dict.fromkeys(holed, hole.address),
                resolve=resolve,
                workers=options["workers"],
            )
            loaded = config.loads(text, source="bench.toml")
            # The zone as the demo serves it; with `resolve`, each name Route 53 holds leads
            # to this machine (where its EIP would lead), and a name it lacks is NXDOMAIN.
            records = {k: [LOOPBACK if resolve else v] for k, v in world.a_records.items()}
            procs.phase("pass", f"hosts pid={server.pid}")
            if options["shards"] > 1:
                from fleetboard.bench_shards import measure_sharded

                sharded = measure_sharded(
                    loaded, _CountedResolver(records), tmp / "board", options["shards"], holed
                )
                return {**sharded, "resolve": resolve, "route53_records": len(world.a_records)}
            figures = _run(loaded, _CountedResolver(records), holed, baseline=options["baseline"])
            # One keep-alive connection a host: what the pass's CPU is divided by.
            figures["connections"] = len(served)
            per = 1000 / len(served)
            figures["cpu_ms_per_connection"] = round(figures["pass_cpu_s"] * per, 2)
            figures["probe_cpu_ms_per_connection"] = round(figures["probe_cpu_s"] * per, 2)
            procs.phase("floor")
            figures["floor"] = floor(
                [h.name for h in served], server.address, ca, loaded.inventory.probe.concurrency
            )
    finally:
        stop_moto()
    return {**figures, "resolve": resolve, "route53_records": len(world.a_records)}


class _CountedResolver(ZoneResolver):
    """The demo's zone, counting lookups: they run on threads of their own (net._lookup)."""

    def __init__(self, records: dict[str, list[str]]) -> None:
        super().__init__(records)
        self._lock = threading.Lock()
        self.lookups = 0

    def __call__(self, host: str, port: int) -> list[str]:
        with self._lock:
            self.lookups += 1
        return super().__call__(host, port)

    def __getstate__(self) -> dict[str, Any]:
        # A probe worker gets a copy without the lock; its lookups are not counted here.
        return {k: v for k, v in self.__dict__.items() if k != "_lock"}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()


def _children_cpu() -> float:
    """CPU seconds of this process's children that have ended and been joined: the probe
    workers (moto and the hosts are still running, so not counted)."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


class _ThreadCpu:
    """The sources of a pass, with the CPU one of them spent on its own thread measured
    (`time.thread_time`: its event loop's work, not the other sources' running beside it)."""

    def __init__(self, sources: Iterable[Any], name: str) -> None:
        self.cpu_s = 0.0
        self.all = tuple(self._timed(s) if s.name == name else s for s in sources)

    def _timed(self, source: Any) -> Any:
        outer = self

        class Timed:
            name = source.name
            needs = source.needs
            wants = source.wants

            def collect(self, inventory: Inventory, ctx: Any) -> object:
                started = time.thread_time()
                try:
                    return source.collect(inventory, ctx)
                finally:
                    outer.cpu_s = time.thread_time() - started

        return Timed()


class _CountedClients:
    """An AWS client factory whose clients count their HTTP requests by operation, so the
    figures can tell Route 53's pages from the calls that take one request."""

    def __init__(self, clients: Callable[[str], Any]) -> None:
        self._clients = clients
        self._lock = threading.Lock()
        self._hooked: set[str] = set()
        self.requests: Counter[str] = Counter()

    def __call__(self, service: str) -> Any:
        client = self._clients(service)
        with self._lock:
            if service not in self._hooked:
                self._hooked.add(service)
                # before-send fires once per HTTP attempt: pages and retries are each counted.
                client.meta.events.register(
                    "before-send", lambda event_name, **_: self._count(service, event_name)
                )
        return client

    def _count(self, service: str, event_name: str) -> None:
        with self._lock:
            self.requests[f"{service}.{event_name.rsplit('.', 1)[-1]}"] += 1


def _run(
    loaded: config.LoadedConfig, resolver: _CountedResolver, holed: set[str], *, baseline: bool
) -> dict[str, Any]:
    from fleetboard.sources.awsapi import make_aws_client_factory

    def context(deadline_s: float | None = None, clients: Any = None) -> Any:
        factory = clients or make_aws_client_factory(
            loaded.inventory.aws, credentials=DEMO_CREDENTIALS
        )
        ctx = collect.laptop_context(loaded, resolver=resolver, aws_client=factory)
        return ctx if deadline_s is None else replace(ctx, deadline=time.monotonic() + deadline_s)

    counted = _CountedClients(
        make_aws_client_factory(loaded.inventory.aws, credentials=DEMO_CREDENTIALS)
    )
    # A container's first pass builds its AWS clients (botocore loads each service's model)
    # and imports what the sources use; a scheduled Lambda pays that once, then runs warm
    # passes. The figures are the warm pass's; the cold one's wall time is said beside them.
    probing = _ThreadCpu(collect.default_sources(loaded.inventory), "http")
    cold_started = time.monotonic()
    collect.release_of(collect.build_board(loaded, context(clients=counted), sources=probing.all))
    cold_wall = time.monotonic() - cold_started
    counted.requests.clear()
    resolver.lookups = 0
    started, cpu_started, workers_before = time.monotonic(), time.process_time(), _children_cpu()
    board = collect.build_board(loaded, context(clients=counted), sources=probing.all)
    # The sources' and rules' CPU (every thread of the process, and the probe workers it
    # ran and joined), before the page's.
    workers_cpu = _children_cpu() - workers_before
    pass_cpu = time.process_time() - cpu_started + workers_cpu
    release, _ = collect.release_of(board)
    wall = time.monotonic() - started
    lookups = resolver.lookups

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
    base_s, method = _baseline(inv, holed, context) if baseline else (None, "skipped")
    c = board.collector
    pages = counted.requests[ROUTE53_LIST]
    fired = _timeouts_fired(board, holed)
    limits = _limits(inv.probe)
    # The timeout most black holes ran into; with none, the one that would stop them.
    named = {k: n for k, n in fired.items() if k in limits}
    timeout = max(named, key=named.__getitem__) if named else "connect"
    return {
        "envs": len(inv.environments),
        "endpoints": sum(len(e.hosts) for e in inv.environments),
        "probes": c.probes,
        "blackholed": len(holed),
        "wall_s": round(wall, 3),
        "cold_wall_s": round(cold_wall, 3),
        "pass_cpu_s": round(pass_cpu, 3),
        # The probing's own CPU: the http source's thread (its event loop), the figure to
        # hold against the floor; pass_cpu_s adds every other source's (botocore's parsing).
        "probe_cpu_s": round(probing.cpu_s + workers_cpu, 3),
        # as the http source decides it, for the hosts it probes and the pass's resolver
        "probe_workers": worker_count(
            inv.probe,
            len(probe_targets(inv, None)[0]),
            PassContext(deadline=time.monotonic(), resolver=resolver),
        ),
        "baseline_s": None if base_s is None else round(base_s, 3),
        "speedup": round(base_s / wall, 1) if base_s is not None and wall else None,
        "baseline_method": method,
        "dns_lookups": lookups,
        "aws_requests": c.aws_requests,
        # By source, so pages (the only thing that grows with the fleet) can be told apart.
        "requests_by_source": {
            k: v.requests for k, v in sorted(c.sources.items()) if v.requests is not None
        },
        # By operation, as sent: Route 53's pages apart from the rest.
        "route53_pages": pages,
        "aws_requests_by_call": dict(sorted(counted.requests.items())),
        "sources_s": {k: round(v.duration_s, 3) for k, v in c.sources.items()},
        "render_ms": round(render_ms, 1),
        "snapshot_ms": round(validate_ms, 1),
        "page_bytes": len(release.page),
        "snapshot_bytes": len(release.snapshot),
        # What bounds a black-holed probe, and what the black holes' checks said fired.
        "probe_timeout": timeout,
        "probe_timeout_s": limits[timeout],
        "blackhole_timeouts": fired,
        "status": board.summary.status.value,
    }


def _baseline(
    inv: Inventory, holed: set[str], context: Callable[[float], Any]
) -> tuple[float, str]:
    """The same probes one at a time, and how that figure was had."""
    from fleetboard.sources.http import probe_sequentially

    if not holed:
        started = time.monotonic()
        probe_sequentially(inv, context(BASELINE_S))
        return time.monotonic() - started, "measured"
    # Probing every black hole one at a time would take minutes; measure the answering
    # hosts in full and one black hole, and count that once per black hole.
    started = time.monotonic()
    facts = probe_sequentially(_only(inv, lambda name: name not in holed), context(BASELINE_S))
    answered = time.monotonic() - started
    hole_started = time.monotonic()
    probe_sequentially(_only(inv, lambda name: name == min(holed)), context(BASELINE_S))
    total = answered + (time.monotonic() - hole_started) * len(holed)
    return total, (
        f"measured on {len(facts.exchanges)} answers + {len(holed)} × one measured black hole"
    )


def _limits(probe: ProbeSettings) -> dict[str, float]:
    return {
        "connect": probe.connect_timeout_s,
        "read": probe.read_timeout_s,
        "pass deadline": probe.pass_deadline_s,
    }


#: How net.py names the step a probe timed out in: a lookup, a connect and the TLS
#: handshake all run under the connect timeout; the answer under the read timeout.
_STEPS = (
    ("pass deadline", ("pass deadline",)),
    ("connect", ("DNS lookup of", "lookup of", "connect to", "TLS handshake with")),
    ("read", ("the answer from", "no complete answer within")),
)


def _timeouts_fired(board: Board, holed: set[str]) -> dict[str, int]:
    """Which timeout stopped each black-holed host's first probe, by the words of its check.

    A black hole completes TCP (the kernel's backlog) and never answers the ClientHello,
    so the connect timeout is expected; this reads what actually happened."""
    fired: Counter[str] = Counter()
    seen: set[str] = set()
    for check in _checks(board):
        if check.kind is not CheckKind.HTTP or check.host not in holed or check.host in seen:
            continue
        seen.add(check.host)
        step = next(
            (name for name, words in _STEPS if any(w in check.summary for w in words)), None
        )
        fired[step or "other"] += 1
    return dict(fired)


def _checks(board: Board) -> Iterable[Check]:
    for env in board.environments:
        yield from env.checks


def _only(inv: Inventory, keep: Callable[[str], bool]) -> Inventory:
    """The inventory with only the hosts whose name `keep` accepts."""
    envs = tuple(
        replace(e, hosts=tuple(h for h in e.hosts if keep(h.hostname))) for e in inv.environments
    )
    return replace(inv, environments=tuple(e for e in envs if e.hosts))


def floor(names: list[str], at: Any, ca: Path, concurrency: int) -> dict[str, float]:
    """What the bare minimum costs on this machine against the same server: a TCP connect, a
    verified TLS handshake (SNI, the same CA) and an abrupt close for each host, on one
    event loop with the probes' concurrency, and nothing else. The collector's CPU per
    connection is read against this figure."""
    import asyncio
    import ssl

    context = ssl.create_default_context(cafile=str(ca))

    async def handshake(name: str, slots: asyncio.Semaphore) -> None:
        async with slots:
            _, writer = await asyncio.open_connection(
                at.host, at.port, ssl=context, server_hostname=name
            )
            # The least a close can cost: no close_notify, no wait for the peer's. The
            # probes close politely, so the floor never flatters them.
            writer.transport.abort()

    async def every() -> None:
        slots = asyncio.Semaphore(concurrency)
        await asyncio.gather(*(handshake(n, slots) for n in names))

    started, cpu_started = time.monotonic(), time.process_time()
    asyncio.run(every())
    wall, cpu = time.monotonic() - started, time.process_time() - cpu_started
    return {
        "connections": len(names),
        "wall_s": round(wall, 3),
        "cpu_s": round(cpu, 3),
        "cpu_ms_per_connection": round(cpu * 1000 / len(names), 2) if names else 0.0,
    }
