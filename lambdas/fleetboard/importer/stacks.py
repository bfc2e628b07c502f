"""Each environment's evaluated env files read into fleet.toml's terms (a stack): its
broker and machine, its services' host names, and its wallets on a chain the importer knows.

A stack whose files miss or garble something is left out, naming the file and key.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from fleetboard.envfiles import EnvFileError
from fleetboard.importer.document import Document
from fleetboard.importer.hostnames import dns_name
from fleetboard.importer.read import Env, each_readable
from fleetboard.inventory import service_host, suffix_from_broker
from fleetboard.tomlout import Path_

#: Chains the importer knows, from the fleet's chain-profiles/<chain>.json (docs/fleet.md#chain).
CHAINS: dict[str, dict[str, Any]] = {
    "heima": {
        "chain_id": 212013,
        "token": "HEI",
        "rpc_url": "https://rpc.heima-parachain.heima.network",
        "explorer_url": "https://explorer.heima.network",
        "deploy_min": "1",  # the chain profile's funding{} floors (docs/fleet.md#chain)
        "paymaster_min_deposit": "0.2",
    },
    "base": {
        "chain_id": 8453,
        "token": "ETH",
        "rpc_url": "https://mainnet.base.org",
        "explorer_url": "https://basescan.org",
        "deploy_min": "0.003",
        "paymaster_min_deposit": "0.008",
    },
}
#: Service host keys other than the broker and the workers.
SERVICE_KEYS = {"signer": "SIGNER_HOST", "mcp": "MCP_HOST"}
_WORKER_KEY = re.compile(r"^WORKER_(?P<name>[A-Z0-9_]+)_HOST$")
#: The order workers are listed in: the original six, then newer ones by name.
KNOWN_WORKERS = ("audit", "email", "cred", "memory", "config", "classify")
_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")


@dataclass(frozen=True, slots=True)
class Stack:
    """One environment read into fleet.toml's terms. Its comments go into the document only
    once the whole environment has been read, so a left-out one leaves nothing behind."""

    env: Env
    suffix: str
    table: dict[str, Any]  # broker_host, instance_id, eip, hosts
    services: list[str]
    workers: list[str]
    hostnames: dict[str, str]  # service -> host name, override or rule
    identity: dict[str, str]  # its wallets; "network" when not on the chosen chain
    comments: dict[Path_, str]

    @property
    def name(self) -> str:
        return self.env.pair.name

    def runs(self) -> list[str]:
        """Every service this environment runs, as config names them (broker included)."""
        return ["broker", *self.services, *self.workers]


def read_stacks(
    envs: Sequence[Env], zone: str, chain: str, doc: Document, strict: bool
) -> list[Stack]:
    return each_readable(
        envs,
        lambda env: env.pair.name,
        lambda env: _stack(env, zone, chain),
        doc,
        strict,
        none_left="no environment could be imported",
    )


def _stack(env: Env, zone: str, chain: str) -> Stack:
    """One environment: broker, machine, host names and wallets; raises EnvFileError
    naming the file and key of the first thing missing or wrong."""
    at = ("environments", env.pair.name)
    comments: dict[Path_, str] = {}
    broker = dns_name(env.require("BROKER_HOST", "the broker's public host name"))
    suffix = suffix_from_broker(broker)
    if suffix is None:
        raise EnvFileError(
            f"{env.file_of('BROKER_HOST')}: BROKER_HOST: {broker!r} follows no naming rule "
            "(broker., test-broker., broker-test-N., broker-base.)"
        )
    table: dict[str, Any] = {"broker_host": broker}
    comments[(*at, "broker_host")] = env.where("BROKER_HOST")
    for field_, key, what in (
        ("instance_id", "INSTANCE_ID", "the EC2 instance id"),
        ("eip", "EIP", "the Elastic IP"),
    ):
        table[field_] = env.require(key, what)
        comments[(*at, field_)] = env.where(key)
    services = [s for s, k in SERVICE_KEYS.items() if env.get(k)]
    workers = _workers(env)
    hostnames, overrides = _hosts(env, [*services, *workers], suffix, zone, comments)
    if overrides:
        table["hosts"] = overrides
    identity = _wallets(env, chain, comments)
    return Stack(env, suffix, table, services, workers, hostnames, identity, comments)


def _workers(env: Env) -> list[str]:
    found = [m.group("name").lower() for k in env.values if (m := _WORKER_KEY.match(k))]
    found = [w for w in found if env.get(f"WORKER_{w.upper()}_HOST")]
    known = [w for w in KNOWN_WORKERS if w in found]
    return known + sorted(w for w in found if w not in KNOWN_WORKERS)


def _host_key(service: str) -> str:
    return SERVICE_KEYS.get(service, f"WORKER_{service.upper()}_HOST")


def _hosts(
    env: Env, services: Sequence[str], suffix: str, zone: str, comments: dict[Path_, str]
) -> tuple[dict[str, str], dict[str, Any]]:
    """Each service's host name, and the ones the suffix rule does not give (overrides)."""
    hostnames: dict[str, str] = {}
    overrides: dict[str, Any] = {}
    for service in services:
        key = _host_key(service)
        rule = service_host(service, suffix, zone)
        explicit = env.get(key)
        hostname = dns_name(explicit) if explicit is not None else rule
        hostnames[service] = hostname
        if hostname != rule:
            overrides[service] = {"hostname": hostname}
            comments[("environments", env.pair.name, "hosts", service, "hostname")] = (
                f"{env.where(key)}: not the rule's {rule}"
            )
    return hostnames, overrides


def _wallets(env: Env, chain: str, comments: dict[Path_, str]) -> dict[str, str]:
    """The environment's wallets on the chosen chain, else on another known chain (Base
    prod has DEPLOYER_ADDR_BASE only): that one is named, for a [chain.networks] entry."""
    found = _identity(env, chain, comments)
    for other in (c for c in CHAINS if c != chain):
        if found:
            break
        found = _identity(env, other, comments)
        if found:
            found = {"network": other, **found}
    return found


def _identity(env: Env, chain: str, comments: dict[Path_, str]) -> dict[str, str]:
    upper = chain.upper()
    keys = {
        "deployer": (f"DEPLOYER_ADDR_{upper}", f"HEIMA_DEPLOYER_ADDR_{upper}"),
        "registry": (f"SIDECAR_REGISTRY_ADDRESS_{upper}",),
        "entrypoint": (f"ENTRYPOINT_ADDRESS_{upper}",),
        "paymaster": (f"PAYMASTER_ADDRESS_{upper}",),
        "sponsor": (f"BROKER_SPONSOR_SIGNER_ADDRESS_{upper}",),
        "bundler": (f"AGENTKEYS_BUNDLER_SIGNER_ADDRESS_{upper}",),
    }
    identity: dict[str, str] = {}
    where: dict[Path_, str] = {}
    for field_, candidates in keys.items():
        for key in candidates:
            value = env.get(key)
            if value is None:
                continue
            if not _ADDRESS.match(value):
                raise EnvFileError(f"{env.file_of(key)}: {key}: {value!r} is not an address")
            identity[field_] = value
            where[("environments", env.pair.name, "chain", field_)] = env.where(key)
            break
    if "deployer" not in identity:
        return {}  # no wallet of this chain: nothing to watch
    comments.update(where)
    return identity
