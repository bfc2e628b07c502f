"""`fleetboard bench`: one pass over a simulated fleet of N environments, with figures.

The hosts and moto run in child processes, so their work does not share the collector's
interpreter (real hosts and AWS never do). The hosts answer after a simulated network
latency, and a share of them can black-hole. The one-probe-at-a-time baseline is measured
in the same run against the same hosts, unless `baseline=False` skips it.

With `resolve=True` no host has a fixed IP: every probe looks its name up through the
demo's DNS view (a `ZoneResolver` over the names Route 53 holds, as `fleetboard demo`
resolves them), so the pass pays the lookups a real one pays.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
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
from fleetboard.demo.hosts import (
    LOOPBACK,
    BlackHole,
    HostServerProcess,
    SimHost,
    json_reply,
    text_reply,
)
from fleetboard.exits import EXIT_OK
from fleetboard.inventory import Address, Inventory, ProbeSettings, service_host
from fleetboard.model import Board, Check, CheckKind

ZONE = "litentry.org"
#: The baseline runs one probe at a time for as long as that takes, not a pass's deadline.
BASELINE_S = 3600.0
#: Route 53's ListResourceRecordSets page: the aws source asks for AWS's default size.
ROUTE53_PAGE = 300
_ROUTE53_LIST = "route53.ListResourceRecordSets"
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
    *,
    resolve: bool,
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
        lines += [f"[environments.test-{i}]", f'broker_host = "broker-test-{i}.{ZONE}"']
        if not resolve:
            lines.append(f'address = "{server}"')
        for key in ["broker", *services]:
            host = (
                f"broker-test-{i}.{ZONE}"
                if key == "broker"
                else service_host(key, f"-test-{i}", ZONE)
            )
            at = holes.get(host, server)
            if resolve:
                # A name in the address is looked up like the host's own name would be: only
                # the port is fixed, since the simulated hosts cannot listen on 443.
                lines.append(f'hosts.{key}.address = "{host}:{at.port}"')
            elif host in holes:
                lines.append(f'hosts.{key}.address = "{at}"')
    return "\n".join(lines) + "\n"


def measure(
    *,
    envs: int,
    endpoints: int,
    blackhole_pct: float,
    latency_ms: float,
    baseline: bool = True,
    resolve: bool = False,
) -> dict[str, Any]:
    """Build the fleet, run one pass and (unless `baseline` is False) the baseline; return
    the figures."""
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
                resolve=resolve,
            )
            loaded = config.loads(text, source="bench.toml")
            # The zone as the demo serves it; with `resolve`, each name Route 53 holds leads
            # to this machine (where its EIP would lead), and a name it lacks is NXDOMAIN.
            records = {k: [LOOPBACK if resolve else v] for k, v in world.a_records.items()}
            procs.phase("pass", f"hosts pid={server.pid}")
            figures = _run(loaded, _CountedResolver(records), holed, baseline=baseline)
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
    started = time.monotonic()
    board = collect.build_board(loaded, context(clients=counted))
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
    pages = counted.requests[_ROUTE53_LIST]
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


def run_bench(
    *,
    envs: int,
    endpoints: int,
    blackhole_pct: float,
    latency_ms: float,
    as_json: bool,
    baseline: bool = True,
    resolve: bool = False,
) -> int:
    """Measure and print. Ctrl-C, SIGTERM or SIGHUP at any point stops moto and the hosts
    (child processes) and removes the temp folder; the exit code is then 128 + the signal."""
    with procs.stop_on_signals():
        try:
            figures = measure(
                envs=envs,
                endpoints=endpoints,
                blackhole_pct=blackhole_pct,
                latency_ms=latency_ms,
                baseline=baseline,
                resolve=resolve,
            )
        except procs.Stopped as stopped:
            print(f"bench stopped ({stopped}): its servers are stopped", file=sys.stderr)
            return stopped.exit_code
    if as_json:
        print(json.dumps(figures))
    else:
        _print(figures, latency_ms)
    return EXIT_OK


def _print(f: dict[str, Any], latency_ms: float) -> None:
    names = (
        f"names looked up through the demo's zone ({f['dns_lookups']} lookups)"
        if f["resolve"]
        else "fixed addresses, no lookups"
    )
    print(
        f"fleet: {f['envs']} environments, {f['endpoints']} endpoints, {f['probes']} probes, "
        f"{f['blackholed']} black-holed, {latency_ms:g} ms simulated latency; {names}"
    )
    print(f"pass:     {f['wall_s']:.2f} s wall (sources {f['sources_s']})")
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
    calls = ", ".join(
        f"{k} {n}" for k, n in f["aws_requests_by_call"].items() if k != _ROUTE53_LIST
    )
    print(f"  other requests: {calls}")
    print(
        f"snapshot: {f['snapshot_ms']:.0f} ms (build + validate); render {f['render_ms']:.0f} ms; "
        f"page {f['page_bytes'] / 1024:.0f} KiB, "
        f"snapshot {f['snapshot_bytes'] / 1024:.0f} KiB"
    )
