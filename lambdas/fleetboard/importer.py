"""`fleetboard inventory import` and `inventory check`: the fleet's env files as the source of
truth for fleet.toml.

`build()` turns every environment's evaluated env files into a fleet.toml document (plain
dicts, in a stable order, with a comment naming the file and key each value came from);
`merge()` keeps what an operator wrote by hand in a previous fleet.toml; `drift()` lists
where a fleet.toml and the env files disagree. Writing is tomlout.py's job.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fleetboard.envfiles import EnvFileError, EnvPair, discover, env_order, evaluate
from fleetboard.inventory import Inventory, service_host, suffix_from_broker
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


@dataclass(slots=True)
class Document:
    """A fleet.toml as nested dicts, plus a comment per key path."""

    data: dict[str, Any] = field(default_factory=dict)
    comments: dict[Path_, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # said to the operator, not written
    #: Every host name the env files give, override or rule, by environment and service.
    hostnames: dict[str, dict[str, str]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _Env:
    pair: EnvPair
    values: dict[str, str]

    def get(self, key: str) -> str | None:
        value = self.values.get(key, "").strip()
        return value or None

    def require(self, key: str, what: str) -> str:
        value = self.get(key)
        if value is None:
            raise EnvFileError(f"{self.pair.operator}: {key}: missing or empty ({what})")
        return value

    def where(self, key: str) -> str:
        machine = {"INSTANCE_ID", "EIP"}
        return f"{(self.pair.machine if key in machine else self.pair.operator).name} {key}"


def read(scripts: Path) -> tuple[list[_Env], list[str]]:
    pairs, notes = discover(scripts)
    return [_Env(pair, evaluate(pair)) for pair in pairs], notes


def build(scripts: Path, *, chain: str = "heima") -> Document:
    """A complete fleet.toml for every environment whose env files are in `scripts`."""
    envs, notes = read(scripts)
    doc = Document(notes=notes)
    first = envs[0]
    fleet: dict[str, Any] = {}
    for key, source, what in (
        ("zone", "ZONE", "the Route 53 zone"),
        ("zone_id", "PARENT_ZONE_ID", "the zone's id"),
    ):
        fleet[key] = _same(envs, source, what)
        doc.comments[("fleet", key)] = source
    fleet["region"] = _region(first)
    doc.comments[("fleet", "region")] = "REGION"
    workers_by_env = {e.pair.name: _workers(e) for e in envs}
    services_by_env = {e.pair.name: [s for s, k in SERVICE_KEYS.items() if e.get(k)] for e in envs}
    optional_by_env = {e.pair.name: _optional(e) for e in envs}
    fleet["services"] = services_by_env[first.pair.name]
    fleet["workers"] = workers_by_env[first.pair.name]
    fleet["optional"] = optional_by_env[first.pair.name]
    doc.comments[("fleet", "services")] = "SIGNER_HOST, MCP_HOST"
    doc.comments[("fleet", "workers")] = "WORKER_*_HOST"
    doc.comments[("fleet", "optional")] = "AGENTKEYS_HEALTH_OPTIONAL"
    doc.data["fleet"] = fleet

    # Each environment's wallets on the chosen chain, else on another known chain (Base
    # prod has DEPLOYER_ADDR_BASE only): that one becomes a [chain.networks] entry.
    identities: dict[str, dict[str, str]] = {}
    for e in envs:
        identities[e.pair.name] = _identity(e, chain, doc)
        for other in (c for c in CHAINS if c != chain):
            if identities[e.pair.name]:
                break
            found = _identity(e, other, doc)
            if found:
                identities[e.pair.name] = {"network": other, **found}
    if any(identities.values()):
        doc.data["chain"] = {"name": chain, **CHAINS[chain]}
        doc.comments[("chain", "rpc_url")] = (
            "public and keyless; a keyed URL goes in the rpc-url secret or $FLEETBOARD_RPC_URL"
        )
        others = sorted({i["network"] for i in identities.values() if "network" in i})
        if others:
            doc.data["chain"]["networks"] = {n: {**CHAINS[n]} for n in others}

    environments: dict[str, Any] = {}
    for env in envs:
        name = env.pair.name
        table = _environment(env, fleet["zone"], doc)
        if workers_by_env[name] != fleet["workers"]:
            table["workers"] = workers_by_env[name]
        if services_by_env[name] != fleet["services"]:
            table["services"] = services_by_env[name]
        if optional_by_env[name] != fleet["optional"]:
            table["optional"] = optional_by_env[name]
        if identities[name]:
            table["chain"] = identities[name]
        environments[name] = table
    doc.data["environments"] = environments
    return doc


def _same(envs: Sequence[_Env], key: str, what: str) -> str:
    values = {e.require(key, what) for e in envs}
    if len(values) > 1:
        listed = ", ".join(f"{e.pair.operator.name}={e.get(key)}" for e in envs)
        raise EnvFileError(f"{key}: the env files disagree ({listed}); fleet.toml has one {what}")
    return values.pop()


def _region(env: _Env) -> str:
    for key in ("REGION", "AWS_REGION", "AWS_DEFAULT_REGION", "BROKER_AWS_REGION"):
        if env.get(key):
            return env.require(key, "")
    raise EnvFileError(f"{env.pair.operator}: REGION: missing or empty (the fleet's AWS region)")


def _workers(env: _Env) -> list[str]:
    found = [m.group("name").lower() for k in env.values if (m := _WORKER_KEY.match(k))]
    found = [w for w in found if env.get(f"WORKER_{w.upper()}_HOST")]
    known = [w for w in KNOWN_WORKERS if w in found]
    return known + sorted(w for w in found if w not in KNOWN_WORKERS)


def _optional(env: _Env) -> list[str]:
    raw = env.get("AGENTKEYS_HEALTH_OPTIONAL") or ""
    return [s for s in re.split(r"[,\s]+", raw) if s]


def _environment(env: _Env, zone: str, doc: Document) -> dict[str, Any]:
    name = env.pair.name
    broker = env.require("BROKER_HOST", "the broker's public host name")
    table: dict[str, Any] = {"broker_host": broker}
    doc.comments[("environments", name, "broker_host")] = env.where("BROKER_HOST")
    suffix = suffix_from_broker(broker)
    if suffix is None:
        raise EnvFileError(
            f"{env.pair.operator}: BROKER_HOST: {broker!r} follows no naming rule "
            "(broker., test-broker., broker-test-N., broker-base.)"
        )
    for key, source in (("instance_id", "INSTANCE_ID"), ("eip", "EIP")):
        value = env.get(source)
        if value is None:
            raise EnvFileError(f"{env.pair.machine}: {source}: missing or empty")
        table[key] = value
        doc.comments[("environments", name, key)] = env.where(source)
    hosts: dict[str, Any] = {}
    wanted = list(SERVICE_KEYS.items())
    wanted += [(w, f"WORKER_{w.upper()}_HOST") for w in _workers(env)]
    for service, key in wanted:
        rule = service_host(service, suffix, zone)
        explicit = env.get(key)
        if explicit is None and service == "mcp" and suffix == "-test":
            explicit = f"test-mcp.{zone}"  # slot 1's exception (docs/fleet.md#hosts)
            source = "slot 1's known exception"
        else:
            source = env.where(key)
        doc.hostnames.setdefault(name, {})[service] = explicit or rule
        if explicit is not None and explicit != rule:
            hosts[service] = {"hostname": explicit}
            doc.comments[("environments", name, "hosts", service, "hostname")] = (
                f"{source}: not the rule's {rule}"
            )
    if hosts:
        table["hosts"] = hosts
    return table


def _identity(env: _Env, chain: str, doc: Document) -> dict[str, str]:
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
    for field_, candidates in keys.items():
        for key in candidates:
            value = env.get(key)
            if value is None:
                continue
            if not _ADDRESS.match(value):
                raise EnvFileError(f"{env.pair.operator}: {key}: {value!r} is not an address")
            identity[field_] = value
            doc.comments[("environments", env.pair.name, "chain", field_)] = env.where(key)
            break
    if "deployer" not in identity:
        return {}  # no wallet of this chain: nothing to watch
    return identity


# --------------------------------------------------------------------------- merge


def merge(generated: Document, previous: Mapping[str, Any]) -> Document:
    """The generated document, plus every key of `previous` it does not set (hand-written
    overrides: `retired`, `optional`, [github], [probe], an `address`…). Generated values win
    where both set a key: the env files are the source of truth. An environment missing from
    the env files is kept only when marked `retired` by hand."""
    data = _merge_tables(generated.data, previous, generated.comments, ())
    envs = data.get("environments", {})
    for name in list(envs):
        if name in generated.data["environments"]:
            continue
        if envs[name].get("retired") is True:
            generated.notes.append(f"{name}: no env files; kept as retired (hand-written)")
        else:
            del envs[name]
            generated.notes.append(
                f"{name}: in the previous fleet.toml but has no env files: dropped "
                "(mark it retired = true to keep it on the board)"
            )
    data["environments"] = dict(sorted(envs.items(), key=lambda kv: env_order(kv[0])))
    return Document(data, generated.comments, generated.notes, generated.hostnames)


def _merge_tables(
    new: Mapping[str, Any], old: Mapping[str, Any], comments: dict[Path_, str], at: Path_
) -> dict[str, Any]:
    out = dict(new)
    for key, value in old.items():
        if key not in out:
            out[key] = value
            comments.setdefault((*at, key), "kept from the previous fleet.toml")
        elif isinstance(out[key], dict) and isinstance(value, dict):
            out[key] = _merge_tables(out[key], value, comments, (*at, key))
    return out


# --------------------------------------------------------------------------- check


def drift(generated: Document, inventory: Inventory) -> list[str]:
    """Where fleet.toml and the env files disagree, one sentence each."""
    found: list[str] = []
    files = generated.data["environments"]
    declared = {e.name: e for e in inventory.environments}
    for name, table in files.items():
        env = declared.get(name)
        if env is None:
            found.append(f"{name}: in the env files but not in {inventory.source}")
            continue
        if env.retired:
            continue
        at = ("environments", name)

        def differs(key: str, want: object, have: object, path: Path_, name: str = name) -> None:
            if want != have:
                where = generated.comments.get(path, "the env files")
                found.append(
                    f"{name} {key}: the env files say {want} ({where}), "
                    f"{inventory.source} says {'nothing' if have is None else have}"
                )

        differs("broker_host", table["broker_host"], env.broker_host, (*at, "broker_host"))
        differs("instance_id", table["instance_id"], env.instance_id, (*at, "instance_id"))
        differs("eip", table["eip"], env.eip, (*at, "eip"))
        names = {h.label.removeprefix("worker:"): h.hostname for h in env.hosts}
        for service, hostname in generated.hostnames.get(name, {}).items():
            differs(
                f"{service} host",
                hostname,
                names.get(service, "nothing"),
                (*at, "hosts", service, "hostname"),
            )
        chain = table.get("chain", {})
        have = env.chain
        for field_, value in chain.items():
            current = getattr(have, field_, None) if have is not None else None
            differs(
                f"chain {field_}",
                value.lower(),
                current.lower() if current else "nothing",
                (*at, "chain", field_),
            )
    for name, env in declared.items():
        if name not in files and not env.retired:
            found.append(f"{name}: in {inventory.source} but has no env files (retired?)")
    return found
