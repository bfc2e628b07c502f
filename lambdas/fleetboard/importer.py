"""`fleetboard inventory import` and `inventory check`: the fleet's env files as the source of
truth for fleet.toml.

`build()` turns every environment's evaluated env files into a fleet.toml document (plain
dicts, in a stable order, with a comment naming the file and key each value came from);
`merge()` keeps what an operator wrote by hand in a previous fleet.toml; `drift()` lists
where a fleet.toml and the env files disagree. Writing is tomlout.py's job.

The files are read as the fleet writes them (issue 18): a fleet-level value may be missing
from some files, AGENTKEYS_HEALTH_OPTIONAL names endpoints in several spellings, and one
environment's broken files leave that environment out, not the fleet (`Document.left_out`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fleetboard.config.messages import show
from fleetboard.envfiles import (
    Checked,
    EnvFileError,
    EnvPair,
    check_pair,
    discover,
    env_order,
    evaluate,
)
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


#: The key listing the endpoints a health wait may skip (docs/fleet.md#health).
OPTIONAL_KEY = "AGENTKEYS_HEALTH_OPTIONAL"
#: Keys of the machine file (broker<ext>.env); every other key belongs in the operator file.
_MACHINE_KEYS = frozenset({"INSTANCE_ID", "EIP"})


@dataclass(slots=True)
class Document:
    """A fleet.toml as nested dicts, plus a comment per key path."""

    data: dict[str, Any] = field(default_factory=dict)
    comments: dict[Path_, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # said to the operator, not written
    #: Every host name the env files give, override or rule, by environment and service.
    hostnames: dict[str, dict[str, str]] = field(default_factory=dict)
    #: Environments whose env files are broken, each with its problem (naming the file):
    #: reported and left out of `data`. With `strict`, build() raises instead.
    left_out: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _Env:
    """One environment's env files, evaluated."""

    checked: Checked
    values: dict[str, str]

    @property
    def pair(self) -> EnvPair:
        return self.checked.pair

    def get(self, key: str) -> str | None:
        value = self.values.get(key, "").strip()
        return value or None

    def require(self, key: str, what: str) -> str:
        value = self.get(key)
        if value is None:
            raise EnvFileError(f"{self.file_of(key)}: {key}: missing or empty ({what})")
        return value

    def file_of(self, key: str) -> Path:
        """The file a key's value comes from; for a key neither file sets, its file."""
        if key in self.checked.sources:
            return self.checked.sources[key]
        return self.pair.machine if key in _MACHINE_KEYS else self.pair.operator

    def where(self, key: str) -> str:
        return f"{self.file_of(key).name} {key}"


@dataclass(frozen=True, slots=True)
class _FleetValue:
    """A value fleet.toml holds once for the whole fleet, whichever env files give it."""

    field: str | None  # its [fleet] key; None: only checked for agreement (fleet.toml has none)
    keys: tuple[str, ...]  # the env keys that give it, best first
    what: str
    required: bool = True


_FLEET_VALUES = (
    _FleetValue("zone", ("ZONE",), "the Route 53 zone"),
    _FleetValue("zone_id", ("PARENT_ZONE_ID",), "the zone's Route 53 id"),
    _FleetValue(
        "region",
        ("REGION", "AWS_REGION", "AWS_DEFAULT_REGION", "BROKER_AWS_REGION"),
        "the fleet's AWS region",
    ),
    _FleetValue(None, ("ACCOUNT_ID",), "the fleet's AWS account", required=False),
)


@dataclass(frozen=True, slots=True)
class _Given:
    """One env file's spelling of a fleet-level value."""

    value: str
    file: Path
    key: str


@dataclass(frozen=True, slots=True)
class _Stack:
    """One environment read into fleet.toml's terms. Its comments go into the document only
    once the whole environment has been read, so a left-out one leaves nothing behind."""

    env: _Env
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


@dataclass(frozen=True, slots=True)
class _Entries:
    """One environment's AGENTKEYS_HEALTH_OPTIONAL, matched to services."""

    here: list[str]  # its own services the entries name, in their order
    absent: dict[str, str]  # a service only other environments run -> the entry naming it


def build(scripts: Path, *, chain: str = "heima", strict: bool = False) -> Document:
    """A complete fleet.toml for every environment whose env files are in `scripts`.

    An environment whose files are broken is left out (`Document.left_out`), or with
    `strict` ends the build. Raises EnvFileError when nothing can be imported, or when the
    files disagree on a fleet-level value (which one is right cannot be told).
    """
    doc = Document()
    envs = _read(scripts, doc, strict)
    fleet: dict[str, Any] = _fleet_values(envs, doc)
    stacks = _stacks(envs, fleet["zone"], chain, doc, strict)
    first = stacks[0]
    fleet["services"] = first.services
    fleet["workers"] = first.workers
    entries = {s.name: _read_optional(s, fleet["zone"], stacks, doc) for s in stacks}
    fleet["optional"] = _fleet_optional(stacks, entries)
    _note_dropped(stacks, entries, fleet["optional"], doc)
    doc.comments[("fleet", "services")] = "SIGNER_HOST, MCP_HOST"
    doc.comments[("fleet", "workers")] = "WORKER_*_HOST"
    doc.comments[("fleet", "optional")] = OPTIONAL_KEY
    doc.data["fleet"] = fleet
    _chain(stacks, chain, doc)
    doc.data["environments"] = {
        s.name: _environment(s, fleet, entries[s.name].here, doc) for s in stacks
    }
    return doc


def _chain(stacks: Sequence[_Stack], chain: str, doc: Document) -> None:
    """[chain] when any environment has a wallet, and a [chain.networks] entry for each
    other chain some environment's wallets live on."""
    identities = [s.identity for s in stacks]
    if not any(identities):
        return
    doc.data["chain"] = {"name": chain, **CHAINS[chain]}
    doc.comments[("chain", "rpc_url")] = (
        "public and keyless; a keyed URL goes in the rpc-url secret or $FLEETBOARD_RPC_URL"
    )
    others = sorted({i["network"] for i in identities if "network" in i})
    if others:
        doc.data["chain"]["networks"] = {n: {**CHAINS[n]} for n in others}


def _environment(
    stack: _Stack, fleet: Mapping[str, Any], optional: Sequence[str], doc: Document
) -> dict[str, Any]:
    """environments.<name>: what the stack read, and the lists where they differ from
    [fleet]'s."""
    table = dict(stack.table)
    if stack.workers != fleet["workers"]:
        table["workers"] = stack.workers
    if stack.services != fleet["services"]:
        table["services"] = stack.services
    own = [s for s in optional if s not in fleet["optional"]]
    if own:
        table["optional"] = own
        doc.comments[("environments", stack.name, "optional")] = stack.env.where(OPTIONAL_KEY)
    if stack.identity:
        table["chain"] = stack.identity
    doc.comments.update(stack.comments)
    doc.hostnames[stack.name] = stack.hostnames
    return table


# --------------------------------------------------------------------------- reading


def _read(scripts: Path, doc: Document, strict: bool) -> list[_Env]:
    """Every environment's files, evaluated; the broken ones left out (or, strict, fatal).

    Every line of every file is checked before bash runs on any of them: a refused line
    anywhere stops a --strict import before anything has run at all.
    """
    found = discover(scripts)
    doc.notes += found.notes
    checked: list[Checked] = []
    broken = dict(found.broken)
    for pair in found.pairs:
        try:
            checked.append(check_pair(pair))
        except EnvFileError as exc:
            broken[pair.name] = str(exc)
    _leave_out(doc, broken, strict)
    envs: list[_Env] = []
    for one in checked:
        try:
            envs.append(_Env(one, evaluate(one)))
        except EnvFileError as exc:
            broken[one.pair.name] = str(exc)
    _leave_out(doc, broken, strict)
    if not envs:
        raise EnvFileError(*_left_out_lines(doc), "no environment's env files could be read")
    return envs


def _leave_out(doc: Document, broken: Mapping[str, str], strict: bool) -> None:
    doc.left_out.update(broken)
    if strict and doc.left_out:
        raise EnvFileError(*_left_out_lines(doc), "--strict: a broken environment is fatal")


def _left_out_lines(doc: Document) -> list[str]:
    ordered = sorted(doc.left_out.items(), key=lambda kv: env_order(kv[0]))
    return [f"{name}: {why}" for name, why in ordered]


def _fleet_values(envs: Sequence[_Env], doc: Document) -> dict[str, Any]:
    """zone, zone_id, region from the files that give them: all must agree, and at least
    one must give each; the account is only checked for agreement (fleet.toml has no key
    for it). A file that lacks one is fine: the fleet has one of each."""
    fleet: dict[str, Any] = {}
    for spec in _FLEET_VALUES:
        given = [g for e in envs if (g := _given(e, spec)) is not None]
        values = list(dict.fromkeys(g.value for g in given))
        if len(values) > 1:
            raise EnvFileError(_disagreement(spec, given))
        if not values:
            if spec.required:
                raise EnvFileError(
                    f"{spec.keys[0]}: set in none of the env files ({spec.what}); "
                    "fleet.toml needs it"
                )
            continue
        if spec.field is not None:
            fleet[spec.field] = values[0]
            doc.comments[("fleet", spec.field)] = given[0].key
    return fleet


def _given(env: _Env, spec: _FleetValue) -> _Given | None:
    for key in spec.keys:
        value = env.get(key)
        if value is not None:
            return _Given(_fleet_spelling(spec.field, value), env.file_of(key), key)
    return None


def _fleet_spelling(field_: str | None, value: str) -> str:
    """One spelling per value, so files that agree are seen to agree."""
    if field_ == "zone":
        return _hostname(value)
    if field_ == "zone_id":
        return value.removeprefix("/hostedzone/")  # as the AWS CLI prints a zone's Id
    return value


def _disagreement(spec: _FleetValue, given: Sequence[_Given]) -> str:
    by_value: dict[str, list[str]] = {}
    for g in given:
        named = f"{g.file}" if g.key == spec.keys[0] else f"{g.file} ({g.key})"
        by_value.setdefault(g.value, []).append(named)
    listed = "; ".join(
        f"{' and '.join(files)} {'says' if len(files) == 1 else 'say'} {show(value)}"
        for value, files in by_value.items()
    )
    return (
        f"{spec.keys[0]}: the env files disagree on {spec.what}: {listed}; "
        "the fleet has one: correct the file that is wrong"
    )


def _hostname(value: str) -> str:
    """A host name as DNS compares them: case-blind, the root's trailing dot dropped."""
    return value.strip().lower().rstrip(".")


# --------------------------------------------------------------------------- environments


def _stacks(
    envs: Sequence[_Env], zone: str, chain: str, doc: Document, strict: bool
) -> list[_Stack]:
    stacks: list[_Stack] = []
    broken: dict[str, str] = {}
    for env in envs:
        try:
            stacks.append(_stack(env, zone, chain))
        except EnvFileError as exc:
            broken[env.pair.name] = str(exc)
    _leave_out(doc, broken, strict)
    if not stacks:
        raise EnvFileError(*_left_out_lines(doc), "no environment could be imported")
    return stacks


def _stack(env: _Env, zone: str, chain: str) -> _Stack:
    """One environment: broker, machine, host names and wallets; raises EnvFileError
    naming the file and key of the first thing missing or wrong."""
    at = ("environments", env.pair.name)
    comments: dict[Path_, str] = {}
    broker = _hostname(env.require("BROKER_HOST", "the broker's public host name"))
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
    return _Stack(env, suffix, table, services, workers, hostnames, identity, comments)


def _workers(env: _Env) -> list[str]:
    found = [m.group("name").lower() for k in env.values if (m := _WORKER_KEY.match(k))]
    found = [w for w in found if env.get(f"WORKER_{w.upper()}_HOST")]
    known = [w for w in KNOWN_WORKERS if w in found]
    return known + sorted(w for w in found if w not in KNOWN_WORKERS)


def _host_key(service: str) -> str:
    return SERVICE_KEYS.get(service, f"WORKER_{service.upper()}_HOST")


def _hosts(
    env: _Env, services: Sequence[str], suffix: str, zone: str, comments: dict[Path_, str]
) -> tuple[dict[str, str], dict[str, Any]]:
    """Each service's host name, and the ones the suffix rule does not give (overrides)."""
    hostnames: dict[str, str] = {}
    overrides: dict[str, Any] = {}
    for service in services:
        key = _host_key(service)
        rule = service_host(service, suffix, zone)
        explicit = env.get(key)
        hostname = _hostname(explicit) if explicit is not None else rule
        hostnames[service] = hostname
        if hostname != rule:
            overrides[service] = {"hostname": hostname}
            comments[("environments", env.pair.name, "hosts", service, "hostname")] = (
                f"{env.where(key)}: not the rule's {rule}"
            )
    return hostnames, overrides


def _wallets(env: _Env, chain: str, comments: dict[Path_, str]) -> dict[str, str]:
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


def _identity(env: _Env, chain: str, comments: dict[Path_, str]) -> dict[str, str]:
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


# --------------------------------------------------------------------------- optional
#
# The fleet writes the endpoints a health wait may skip as it names them: by service
# (`mcp`), by host label (`classify-test`, as wait-stack-healthy.sh does), by host name
# (`classify-test.${ZONE}`), separated by commas, spaces or both, quoted or not; and it
# lists services an environment does not run yet (`weixin` before it is deployed there).
# fleet.toml takes service names only, so each entry is matched to one here.


def optional_entries(raw: str, values: Mapping[str, str]) -> list[tuple[str, str]]:
    """Each entry of the value as written, and as compared: unquoted, `${VAR}` filled in
    from the same files (a single-quoted value reaches here unexpanded), lower case, no
    trailing dot."""
    entries: list[tuple[str, str]] = []
    for word in re.split(r"[,\s]+", raw):
        written = word.strip("'\"")
        if not written:
            continue
        filled = _VARIABLE.sub(lambda m: values.get(m.group(1) or m.group(2), m.group(0)), written)
        entries.append((written, _hostname(filled)))
    return entries


_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")


def _read_optional(stack: _Stack, zone: str, stacks: Sequence[_Stack], doc: Document) -> _Entries:
    raw = stack.env.get(OPTIONAL_KEY)
    if raw is None:
        return _Entries([], {})
    aliases = _aliases(stack, zone)
    elsewhere = {s for other in stacks for s in other.runs()}
    here: list[str] = []
    absent: dict[str, str] = {}
    for written, entry in optional_entries(raw, stack.env.values):
        service = aliases.get(entry)
        if service is not None:
            if service not in here:
                here.append(service)
            continue
        named = _service_named(entry, stack.suffix, zone)
        if named in elsewhere:
            absent.setdefault(named, written)
            continue
        doc.notes.append(
            f"warning: {stack.env.file_of(OPTIONAL_KEY)}: {OPTIONAL_KEY}: {show(written)} "
            f"matches no service of {stack.name} nor of any other environment: ignored"
        )
    return _Entries(here, absent)


def _aliases(stack: _Stack, zone: str) -> dict[str, str]:
    """Every spelling of this environment's services -> the service: its name (and
    `worker:<name>`), its host name and host label, and the rule's, where they differ
    (slot 1's `test-mcp` and `mcp-test` both name its mcp)."""
    hostnames = {"broker": stack.table["broker_host"], **stack.hostnames}
    aliases = {s: s for s in hostnames}  # names first: a name never loses to a label
    for service, hostname in hostnames.items():
        rule = service_host(service, stack.suffix, zone) if service != "broker" else hostname
        spellings = [hostname, _label(hostname), rule, _label(rule)]
        if service in stack.workers:
            spellings.append(f"worker:{service}")
        for spelling in spellings:
            aliases.setdefault(spelling, service)
    return aliases


def _label(hostname: str) -> str:
    return hostname.split(".", 1)[0]


def _service_named(entry: str, suffix: str, zone: str) -> str:
    """The service an entry names in this environment's spelling, whether or not this
    environment runs it: `weixin-test-2.litentry.org` in test-2 -> `weixin`."""
    name = entry.removeprefix("worker:").removesuffix(f".{zone}")
    if suffix and name.endswith(suffix):
        return name.removesuffix(suffix)
    if suffix and name.startswith(f"{suffix[1:]}-"):  # the prefix style: slot 1's test-mcp
        return name.removeprefix(f"{suffix[1:]}-")
    return name


def _fleet_optional(stacks: Sequence[_Stack], entries: Mapping[str, _Entries]) -> list[str]:
    """fleet.optional: the services optional in every environment that runs them. config
    applies fleet.optional to every environment, so a service one environment requires is
    not put there; the environments that list it get their own `optional`."""
    listed = dict.fromkeys(s for e in entries.values() for s in e.here)
    return [
        service
        for service in listed
        if all(service in entries[s.name].here for s in stacks if service in s.runs())
    ]


def _note_dropped(
    stacks: Sequence[_Stack],
    entries: Mapping[str, _Entries],
    fleet_optional: Sequence[str],
    doc: Document,
) -> None:
    """An entry naming a service its environment does not run is the fleet's "may be
    absent": kept when fleet.optional holds the service, else dropped, said in one line.
    Dropping it changes nothing: there is no such host in that environment to mark."""
    for stack in stacks:
        for service, written in entries[stack.name].absent.items():
            if service in fleet_optional:
                continue
            required = next(s.name for s in stacks if service in s.runs())
            doc.notes.append(
                f"{stack.env.file_of(OPTIONAL_KEY)}: {OPTIONAL_KEY}: {show(written)}: "
                f"{stack.name} does not run {service}, and {required} requires it, so it "
                "is not fleet-wide optional: dropped"
            )


# --------------------------------------------------------------------------- merge


def merge(generated: Document, previous: Mapping[str, Any]) -> Document:
    """The generated document, plus every key of `previous` it does not set (hand-written
    overrides: `retired`, `optional`, [github], [probe], an `address`…). Generated values win
    where both set a key: the env files are the source of truth. An environment missing from
    the env files is kept only when marked `retired` by hand; one left out of this import
    (its files are broken) keeps its previous table, so a typo does not drop it off the
    board."""
    data = _merge_tables(generated.data, previous, generated.comments, ())
    envs = data.get("environments", {})
    for name in list(envs):
        if name in generated.data["environments"]:
            continue
        if name in generated.left_out:
            generated.notes.append(
                f"{name}: left out of this import: its table in the previous fleet.toml is "
                "kept as it was"
            )
        elif envs[name].get("retired") is True:
            generated.notes.append(f"{name}: no env files; kept as retired (hand-written)")
        else:
            del envs[name]
            generated.notes.append(
                f"{name}: in the previous fleet.toml but has no env files: dropped "
                "(mark it retired = true to keep it on the board)"
            )
    data["environments"] = dict(sorted(envs.items(), key=lambda kv: env_order(kv[0])))
    return Document(
        data, generated.comments, generated.notes, generated.hostnames, generated.left_out
    )


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
    """Where fleet.toml and the env files disagree, one sentence each. Host names compare
    as DNS does (case-blind); an environment left out of `generated` (broken env files) is
    not compared: build() reported it."""
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

        broker = _hostname(env.broker_host)
        differs("broker_host", table["broker_host"], broker, (*at, "broker_host"))
        differs("instance_id", table["instance_id"], env.instance_id, (*at, "instance_id"))
        differs("eip", table["eip"], env.eip, (*at, "eip"))
        names = {h.label.removeprefix("worker:"): _hostname(h.hostname) for h in env.hosts}
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
        if name not in files and name not in generated.left_out and not env.retired:
            found.append(f"{name}: in {inventory.source} but has no env files (retired?)")
    return found
