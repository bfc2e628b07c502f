"""[environments.<env>]: each environment's kind, slot, naming suffix, EIP tag and hosts,
and the rules between environments (no two share a slot, a host, a tag, an instance)."""

from __future__ import annotations

import difflib
import fnmatch
import re
from collections.abc import Iterable, Mapping
from typing import Any

from fleetboard.config.hosts import has_port, host_problem
from fleetboard.config.messages import Problems, show
from fleetboard.inventory import (
    BROKER_PATHS,
    Address,
    Environment,
    Host,
    eip_tag_for,
    service_host,
    suffix_from_broker,
)
from fleetboard.model import EnvKind

#: What every environment runs unless [fleet] or the environment lists its own.
DEFAULT_SERVICES = ("signer",)
DEFAULT_WORKERS = ("audit", "email", "cred", "memory", "config", "classify")
#: EC2 tag values have at most 256 characters.
MAX_TAG_VALUE = 256


def environment(
    name: str,
    spec: Mapping[str, Any],
    fleet: Mapping[str, Any],
    pattern: str,
    problems: Problems,
) -> Environment:
    """environments.<name> as an Environment: its suffix, kind, slot, EIP tag and hosts."""
    where = f"environments.{name}"
    zone = fleet["zone"]
    broker_host = spec["broker_host"]
    if not broker_host.endswith("." + zone):
        problems.add(f"{where}.broker_host", f"{show(broker_host)} is not in the zone {zone!r}")
    suffix = spec.get("suffix")
    if suffix is None:
        suffix = suffix_from_broker(broker_host)
        if suffix is None:
            problems.add(
                f"{where}.broker_host",
                f"{show(broker_host)} does not follow the broker naming rule "
                '(broker., test-broker., broker-test-N., broker-base.); set "suffix"',
            )
            suffix = f"-{name}"  # a stand-in, so one mistake does not cascade
    kind, slot = _kind_and_slot(where, spec, suffix, problems)
    tag_base = pattern.rstrip("*?")
    eip_tag = spec.get("eip_tag", eip_tag_for(tag_base, suffix))
    if len(eip_tag) > MAX_TAG_VALUE:
        problems.add(
            f"{where}.eip_tag",
            f"{show(eip_tag)} is {len(eip_tag)} characters long; an EC2 tag value has at "
            f"most {MAX_TAG_VALUE}",
        )
    if not fnmatch.fnmatchcase(eip_tag, pattern):
        problems.add(
            f"{where}.eip_tag",
            f"{show(eip_tag)} does not match fleet.eip_tag_pattern {show(pattern)}, "
            "so discovery would never find its EIP",
        )
    optional = set(fleet.get("optional", ())) | set(spec.get("optional", ()))
    hosts = _hosts(where, spec, fleet, broker_host, suffix, zone, optional, problems)
    return Environment(
        name=name,
        kind=kind,
        slot=slot,
        suffix=suffix,
        broker_host=broker_host,
        eip_tag=eip_tag,
        expected_issuer=spec.get("issuer", f"https://{broker_host}"),
        hosts=hosts,
        instance_id=spec.get("instance_id"),
        eip=spec.get("eip"),
        retired=bool(spec.get("retired", False)),
    )


def _kind_and_slot(
    where: str, spec: Mapping[str, Any], suffix: str, problems: Problems
) -> tuple[EnvKind, int | None]:
    inferred_slot: int | None = None
    if suffix == "":
        inferred = EnvKind.PROD
    elif suffix == "-base":
        inferred = EnvKind.BASE
    elif m := re.fullmatch(r"-test(?:-(\d+))?", suffix):
        inferred, inferred_slot = EnvKind.TEST_SLOT, int(m.group(1) or 1)
    else:
        inferred = EnvKind.OTHER
    kind = EnvKind(spec.get("kind", inferred))
    slot = spec.get("slot", inferred_slot if kind is EnvKind.TEST_SLOT else None)
    if kind is EnvKind.TEST_SLOT and slot is None:
        problems.add(f"{where}.slot", "missing: a test-slot environment needs its slot number")
    if slot is not None and kind is not EnvKind.TEST_SLOT:
        problems.add(f"{where}.slot", f'{slot} is set but kind is {kind.value!r}, not "test-slot"')
    return kind, slot


def _hosts(
    where: str,
    spec: Mapping[str, Any],
    fleet: Mapping[str, Any],
    broker_host: str,
    suffix: str,
    zone: str,
    optional: set[str],
    problems: Problems,
) -> tuple[Host, ...]:
    env_address = _address(f"{where}.address", spec.get("address"), problems)
    overrides: Mapping[str, Mapping[str, Any]] = spec.get("hosts", {})
    services = list(spec.get("services", fleet.get("services", DEFAULT_SERVICES)))
    workers = list(spec.get("workers", fleet.get("workers", DEFAULT_WORKERS)))
    plan: list[tuple[str, str, str, str, tuple[str, ...]]] = [
        ("broker", "broker", "broker", broker_host, BROKER_PATHS)
    ]
    plan += [(s, "service", s, service_host(s, suffix, zone), ("/healthz",)) for s in services]
    plan += [
        (w, "worker", f"worker:{w}", service_host(w, suffix, zone), ("/healthz",)) for w in workers
    ]
    known = {key for key, *_ in plan}
    for key in overrides:
        if key not in known:
            close = difflib.get_close_matches(key, sorted(known), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            problems.add(
                f"{where}.hosts.{key}",
                f"no such service in this environment{hint} (known: {', '.join(sorted(known))})",
            )
    # fleet.optional may name services some environments lack ("may be absent" is its
    # point); an environment's own list must name its own services.
    for name in set(spec.get("optional", ())) - known:
        problems.add(f"{where}.optional", f"{name!r} is not a service of this environment")
    hosts = []
    for key, role, label, hostname, paths in plan:
        o = overrides.get(key, {})
        if "hostname" not in o and key != "broker" and (why := host_problem(hostname)):
            listed = "services" if role == "service" else "workers"
            origin = f"{where}.{listed}" if listed in spec else f"fleet.{listed}"
            problems.add(
                origin,
                f"{show(key)} makes the host name {show(hostname)}, which {why}; "
                f'name it in [{where}.hosts.{key}] hostname = "..."',
            )
        address = _address(f"{where}.hosts.{key}.address", o.get("address"), problems)
        hosts.append(
            Host(
                role=role,
                label=label,
                hostname=o.get("hostname", hostname),
                paths=paths,
                address=address or env_address,
                optional=bool(o.get("optional", key in optional)),
                skip=bool(o.get("skip", False)),
            )
        )
    return tuple(hosts)


def _address(where: str, text: str | None, problems: Problems) -> Address | None:
    if text is None:
        return None
    host, _, port_text = text.rpartition(":") if has_port(text) else (text, "", "")
    host = host.strip("[]")
    port = int(port_text) if port_text else 443
    if not 0 < port < 65536:
        problems.add(where, f"{show(text)} has port {port}; ports run from 1 to 65535")
    return Address(host=host, port=port)


def check_unique(envs: tuple[Environment, ...], problems: Problems) -> None:
    """No two environments share a slot, broker host, EIP tag, instance or EIP."""

    def dupes(label: str, key: str, values: Iterable[tuple[str, object]]) -> None:
        seen: dict[object, str] = {}
        for env_name, value in values:
            if value is None:
                continue
            if value in seen:
                problems.add(
                    f"environments.{env_name}.{key}",
                    f"{show(value)} is already the {label} of environments.{seen[value]}",
                )
            else:
                seen[value] = env_name

    dupes("slot", "slot", ((e.name, e.slot) for e in envs))
    dupes("broker host", "broker_host", ((e.name, e.broker_host) for e in envs))
    dupes("EIP tag", "eip_tag", ((e.name, e.eip_tag) for e in envs))
    dupes("instance", "instance_id", ((e.name, e.instance_id) for e in envs))
    dupes("EIP", "eip", ((e.name, e.eip) for e in envs))
