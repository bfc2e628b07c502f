"""The http source: GET every host's health paths, concurrently, and keep what came back.

Status codes and bodies are facts here; rules.py decides what is green. Hosts marked skip and
environments AWS says are stopped are not probed, and say why in `HttpFacts.skipped`.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from dataclasses import replace
from typing import ClassVar

from fleetboard.inventory import Host, Inventory, ProbeSettings
from fleetboard.lifecycle import env_lifecycle
from fleetboard.model import AwsFacts, HttpFacts, Lifecycle
from fleetboard.sources import PassContext
from fleetboard.sources.net import HostProbe, Prober, run_sync
from fleetboard.sources.workers import Workers, picklable, shares

log = logging.getLogger(__name__)

#: Below this many hosts for each worker a process costs more than it saves (spawning one
#: is about 0.2 s of CPU, the hosts' handshakes about a millisecond each).
WORKER_MIN_HOSTS = 250


def worker_count(settings: ProbeSettings, hosts: int, ctx: PassContext) -> int:
    """How many processes probe: `settings.workers`, fewer when the fleet is too small to
    pay for them, 1 when the pass's resolver cannot be handed to another process."""
    wanted = min(settings.workers, max(1, hosts // WORKER_MIN_HOSTS))
    if wanted > 1 and not picklable(ctx.resolver):
        log.warning("probing in one process: the resolver cannot be given to a worker")
        return 1
    return wanted


def probe_targets(inventory: Inventory, aws: object) -> tuple[list[Host], dict[str, str]]:
    """Hosts to probe (one per name, paths merged) and host name -> why not, for the rest.

    `aws` is whatever the aws source left in ctx.results: only an AwsFacts that says an
    environment is stopped stops its probes; a failed or missing aws source probes all.
    """
    facts = aws if isinstance(aws, AwsFacts) else None
    targets: dict[str, Host] = {}
    skipped: dict[str, str] = {}
    for env, host in inventory.hosts():
        if host.skip:
            skipped.setdefault(host.hostname, "marked skip in the inventory")
        elif facts is not None and env_lifecycle(env, facts) is Lifecycle.STOPPED:
            skipped.setdefault(host.hostname, f"environment {env.name} is stopped")
        elif host.hostname in targets:  # one name in two places: probe it once, all paths
            known = targets[host.hostname]
            paths = known.paths + tuple(p for p in host.paths if p not in known.paths)
            targets[host.hostname] = replace(known, paths=paths)
        else:
            targets[host.hostname] = host
    return list(targets.values()), {h: why for h, why in skipped.items() if h not in targets}


def facts_from(probes: list[HostProbe], skipped: dict[str, str]) -> HttpFacts:
    exchanges = {(ex.host, ex.path): ex for probe in probes for ex in probe.exchanges}
    certs = {probe.host: probe.cert for probe in probes if probe.cert is not None}
    return HttpFacts(exchanges=exchanges, certs=certs, skipped=skipped)


class HttpSource:
    """GET /healthz (and the broker's /readyz and OIDC document) on every probed host.

    `concurrency` overrides `ProbeSettings.concurrency`; 1 gives the one-after-another
    baseline the benchmark compares against.
    """

    name: ClassVar[str] = "http"
    needs: ClassVar[tuple[str, ...]] = ()
    # Probing starts at once; when AWS answers, a stopped slot's probes still waiting are
    # dropped (its EIP leads nowhere, so they would only wait out their timeouts).
    wants: ClassVar[tuple[str, ...]] = ("aws",)

    def __init__(self, *, concurrency: int | None = None) -> None:
        self.concurrency = concurrency

    def collect(self, inventory: Inventory, ctx: PassContext) -> HttpFacts:
        aws = ctx.pending.get("aws")
        known = aws.result() if aws is not None and aws.done() else None
        hosts, skipped = probe_targets(inventory, known)
        later = aws if known is None else None
        # Sources run on worker threads with no event loop of their own: start one per pass.
        probes, dropped = run_sync(self._probe(hosts, inventory, ctx, later))
        return facts_from(probes, {**skipped, **dropped})

    async def _probe(
        self, hosts: list[Host], inventory: Inventory, ctx: PassContext, aws: Future[object] | None
    ) -> tuple[list[HostProbe], dict[str, str]]:
        dropped: dict[str, str] = {}
        asked: dict[str, str] = {}  # the workers' hosts of stopped slots: why
        settings = inventory.probe
        n = 1 if self.concurrency is not None else worker_count(settings, len(hosts), ctx)
        # The connections in flight stay `concurrency` in all, shared among the processes.
        shared = replace(settings, concurrency=math.ceil(settings.concurrency / n))
        mine, *theirs = shares(hosts, n)
        async with (
            Workers(theirs, shared, ctx) as workers,
            Prober(shared, ctx, concurrency=self.concurrency) as prober,
        ):
            tasks = {h.hostname: asyncio.ensure_future(prober.probe(h)) for h in mine}
            watch = asyncio.ensure_future(
                _drop_stopped(aws, inventory, tasks, dropped, workers.drop, asked)
            )
            outcomes = await asyncio.gather(*tasks.values(), return_exceptions=True)
            probes = await workers.collect()
            watch.cancel()
            dropped.update({h: why for h, why in asked.items() if h in workers.dropped})
        for outcome in outcomes:
            if isinstance(outcome, HostProbe):
                probes.append(outcome)
            elif not isinstance(outcome, asyncio.CancelledError):
                raise outcome  # a bug in the prober: collect.py reports it as internal
        return probes, dropped


async def _drop_stopped(
    aws: Future[object] | None,
    inventory: Inventory,
    tasks: Mapping[str, asyncio.Future[HostProbe]],
    dropped: dict[str, str],
    elsewhere: Callable[[list[str]], None],
    asked: dict[str, str],
) -> None:
    """When the aws facts arrive, cancel the probes of stopped environments not yet done:
    this process's, and (through `elsewhere`) the workers', noting in `asked` why; the
    ones a worker did cancel join `dropped` when it has said so."""
    if aws is None:
        return
    try:
        facts = await asyncio.wrap_future(aws)
    except Exception:  # the aws source's own failure is reported by the pass
        return
    stopped = probe_targets(inventory, facts)[1]
    for hostname, why in stopped.items():
        task = tasks.get(hostname)
        if task is not None and not task.done():
            task.cancel()
            dropped[hostname] = why
    asked.update({h: why for h, why in stopped.items() if h not in tasks})
    elsewhere(list(asked))


def probe_sequentially(inventory: Inventory, ctx: PassContext) -> HttpFacts:
    """The same probes one host at a time: the benchmark's baseline."""
    return HttpSource(concurrency=1).collect(inventory, ctx)
