"""The http source: GET every host's health paths, concurrently, and keep what came back.

Status codes and bodies are facts here; rules.py decides what is green. Hosts marked skip and
environments AWS says are stopped are not probed, and say why in `HttpFacts.skipped`.
"""

from __future__ import annotations

from dataclasses import replace
from typing import ClassVar

from fleetboard.inventory import Host, Inventory
from fleetboard.model import AwsFacts, HttpFacts, Lifecycle
from fleetboard.rules import env_lifecycle
from fleetboard.sources import PassContext
from fleetboard.sources.net import HostProbe, probe_hosts, run_sync


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
    needs: ClassVar[tuple[str, ...]] = ("aws",)

    def __init__(self, *, concurrency: int | None = None) -> None:
        self.concurrency = concurrency

    def collect(self, inventory: Inventory, ctx: PassContext) -> HttpFacts:
        hosts, skipped = probe_targets(inventory, ctx.results.get("aws"))
        # Sources run on worker threads with no event loop of their own: start one per pass.
        probes = run_sync(probe_hosts(hosts, inventory.probe, ctx, concurrency=self.concurrency))
        return facts_from(probes, skipped)


def probe_sequentially(inventory: Inventory, ctx: PassContext) -> HttpFacts:
    """The same probes one host at a time: the benchmark's baseline."""
    return HttpSource(concurrency=1).collect(inventory, ctx)
