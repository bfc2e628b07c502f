"""Drift flags: what AWS and the answers say against what the slot should be.

Which flags there are, and why: docs/design.md#status-rules.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from fleetboard.inventory import HEALTH_PATH, ISSUER_PATH, Environment, Inventory
from fleetboard.lifecycle import find_address
from fleetboard.model import (
    AwsFacts,
    Drift,
    DriftKind,
    HttpFacts,
    SourceFailure,
    Status,
)
from fleetboard.rules.verdicts import deployed_issuer, json_object


def _env_where(
    inventory: Inventory, key: Callable[[Environment], object], value: object
) -> str | None:
    """The first declared environment whose `key` is `value`: for drift sentences that
    say whose EIP, issuer or bucket a stack is using."""
    return next((env.name for env in inventory.environments if key(env) == value), None)


def aws_drift(env: Environment, aws: AwsFacts, inventory: Inventory) -> list[Drift]:
    """EIP by tag vs declared, and every host's A record vs the broker's (the #201 trap)."""
    found: list[Drift] = []
    address = find_address(env, aws)
    if address is None:
        found.append(
            Drift(
                DriftKind.EIP_MISSING,
                Status.AMBER,
                f"no EIP is tagged {env.eip_tag}, but fleet.toml declares {env.name}",
            )
        )
    elif env.eip is not None and env.eip != address.public_ip:
        found.append(
            Drift(
                DriftKind.EIP_TAG,
                Status.AMBER,
                f"EIP by tag {env.eip_tag} is {address.public_ip}, but the env file says {env.eip}",
            )
        )
    broker_ips = aws.a_records.get(env.broker_host.lower())
    if address is not None and broker_ips and address.public_ip not in broker_ips:
        found.append(
            Drift(
                DriftKind.BROKER_A_RECORD,
                Status.RED,
                f"{env.broker_host} A {', '.join(broker_ips)} is not the EIP "
                f"{address.public_ip} tagged {env.eip_tag}",
            )
        )
    if not broker_ips:
        return found
    for host in env.hosts[1:]:
        ips = aws.a_records.get(host.hostname.lower())
        if not ips or set(ips) == set(broker_ips):
            continue
        tag = next((a.tag for a in aws.addresses if a.public_ip == ips[0]), None)
        owner = _env_where(inventory, lambda e: e.eip_tag, tag)
        whose = f" ({owner}'s EIP)" if owner and owner != env.name else ""
        found.append(
            Drift(
                DriftKind.WORKER_A_RECORD,
                Status.RED,
                f"{host.hostname} A {', '.join(ips)}{whose} is not the broker's "
                f"{', '.join(broker_ips)}: requests go to another stack",
            )
        )
    return found


def http_drift(env: Environment, http: HttpFacts, inventory: Inventory) -> list[Drift]:
    """Deployed issuer vs the slot's, and bucket names in worker bodies vs the slot."""
    found: list[Drift] = []
    issuer = deployed_issuer(http.exchanges.get((env.broker_host, ISSUER_PATH)))
    if issuer is not None and issuer.rstrip("/") != env.expected_issuer.rstrip("/"):
        other = _env_where(inventory, lambda e: e.expected_issuer.rstrip("/"), issuer.rstrip("/"))
        names = f" (the issuer of {other})" if other else ""
        found.append(
            Drift(
                DriftKind.ISSUER,
                Status.RED,
                f"the broker's issuer is {issuer}{names}, not {env.expected_issuer}: "
                "this stack was set up for another slot",
            )
        )
    pattern = re.compile(inventory.bucket_pattern)
    for host in env.hosts:
        exchange = http.exchanges.get((host.hostname, HEALTH_PATH))
        doc = json_object(exchange.body) if exchange and exchange.status_code == 200 else None
        for key, value in sorted((doc or {}).items()):
            if not (key.endswith("_bucket") and isinstance(value, str)):
                continue
            m = pattern.match(value)
            if m is None:
                continue
            suffix = m.group("suffix") or ""
            if suffix != env.suffix:
                other = _env_where(inventory, lambda e: e.suffix, suffix)
                names = f" ({other}'s)" if other else ""
                found.append(
                    Drift(
                        DriftKind.BUCKET,
                        Status.RED,
                        f"{host.hostname} reports {key} {value}{names}; "
                        f"{env.name} should use its own buckets",
                    )
                )
    return found


def fleet_drift(inventory: Inventory, aws: AwsFacts | SourceFailure | None) -> list[Drift]:
    """EIPs tagged like a slot that fleet.toml does not declare."""
    if not isinstance(aws, AwsFacts):
        return []
    declared = {env.eip_tag for env in inventory.environments}
    return [
        Drift(
            DriftKind.UNDECLARED_SLOT,
            Status.AMBER,
            f"EIP {a.public_ip} tagged {a.tag} belongs to no environment in fleet.toml",
        )
        for a in aws.addresses
        if a.tag not in declared
    ]
