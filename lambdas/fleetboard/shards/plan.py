"""Which environments each shard probes: dealt round-robin in inventory order, so a run of
slow or dead environments (a slot range being rebuilt) is spread over every shard."""

from __future__ import annotations

from dataclasses import replace

from fleetboard.config import LoadedConfig
from fleetboard.inventory import Inventory

#: As many shards as a Step Functions Map runs at once by default (and a sane upper bound
#: for processes on a laptop); the schema allows no more.
MAX_SHARDS = 40


def split(inventory: Inventory, count: int) -> list[tuple[str, ...]]:
    """The environment names of each of `count` shards; every environment in exactly one."""
    if not 1 <= count <= MAX_SHARDS:
        raise ValueError(f"shards must be 1 to {MAX_SHARDS}, not {count}")
    names = [env.name for env in inventory.environments]
    return [tuple(names[i::count]) for i in range(count)]


def restrict(loaded: LoadedConfig, names: tuple[str, ...]) -> LoadedConfig:
    """The config as one shard sees it: only its environments."""
    wanted = set(names)
    inventory = loaded.inventory
    mine = tuple(env for env in inventory.environments if env.name in wanted)
    return replace(loaded, inventory=replace(inventory, environments=mine))
