"""One shard: the aws, http and tls sources over its share of the environments, their facts
saved as the state object `shard-<index>` for the merge to read.

The aws source runs in every shard so each one knows its stopped slots (whose probes it
skips, as a single collector does); its requests are a handful whatever the share's size.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any

from fleetboard import registry
from fleetboard.collect import default_sources, run_sources
from fleetboard.config import LoadedConfig
from fleetboard.model import HttpFacts
from fleetboard.shards import codec
from fleetboard.shards.plan import restrict, split
from fleetboard.sources import PassContext
from fleetboard.state import StateStore

#: The sources a shard runs; the rest run once, in the merge.
SHARD_SOURCES = ("aws", "http", "tls")
#: The version of the object a shard writes; the merge refuses any other.
SHARD_FORMAT = 1


def state_name(index: int) -> str:
    """The state object shard `index` writes (state/shard-<index>.json): one per index,
    overwritten each pass, so no shard object outlives the next pass."""
    return f"shard-{index}"


@dataclass(frozen=True, slots=True)
class ShardReport:
    """What a shard says it did: the Step Functions Map's item result, and the merge's check
    that a shard it hears from did write its object."""

    shard: int
    shards: int
    pass_id: str
    environments: int
    probes: int
    error: str | None = None  # why its facts were not saved

    def as_dict(self) -> dict[str, Any]:
        return {
            "shard": self.shard,
            "shards": self.shards,
            "pass": self.pass_id,
            "environments": self.environments,
            "probes": self.probes,
            "error": self.error,
        }


def run_shard(
    loaded: LoadedConfig,
    ctx: PassContext,
    store: StateStore,
    *,
    index: int,
    count: int,
    pass_id: str,
) -> ShardReport:
    """Probe shard `index` of `count` and save what it saw; never raises for a source."""
    names = split(loaded.inventory, count)[index]
    mine = restrict(loaded, names)
    kinds = [kind for kind in registry.KINDS if kind.name in SHARD_SOURCES]
    if ctx.state is None:
        ctx = replace(ctx, state=store)
    results, _runs = run_sources(default_sources(mine.inventory, kinds), mine, ctx)
    http, tls = results["http"], results["tls"]
    doc = {
        "format": SHARD_FORMAT,
        "pass": pass_id,
        "shard": index,
        "shards": count,
        "environments": list(names),
        "http": codec.encode_http(http),
        "tls": codec.encode_tls(tls),
    }
    probes = len(http.exchanges) if isinstance(http, HttpFacts) else 0
    report = ShardReport(index, count, pass_id, len(names), probes)
    try:
        # Read first: a store writes a state object only over the version it read (two
        # executions' shards racing for one name: the later write is refused, not mixed),
        # and the last pass's object was written by another process or container.
        store.load_state(state_name(index))
        store.save_state(state_name(index), json.dumps(doc, separators=(",", ":")).encode())
    except Exception as exc:  # the merge will say this shard left nothing
        return ShardReport(index, count, pass_id, len(names), probes, f"not saved: {exc}")
    return report
