"""[chain], [chain.networks.<name>] and each environment's [environments.<env>.chain]: the
chains the fleet's wallets live on, their floors, and which wallets and contracts are whose."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from fleetboard.chain import parse_amount
from fleetboard.config.fields import overlay
from fleetboard.config.messages import Problems, show
from fleetboard.inventory import (
    DEFAULT_DEPLOY_MIN,
    DEFAULT_PAYMASTER_MIN_DEPOSIT,
    ChainIdentity,
    ChainSettings,
)


def chain_settings(
    raw: Mapping[str, Any], problems: Problems, *, where: str = "chain", name: str | None = None
) -> ChainSettings:
    named = ChainSettings(chain_id=int(raw["chain_id"]))
    if name is not None:  # a [chain.networks] entry is named by its key unless it gives one
        named = replace(named, name=name)
    read = overlay(
        named,
        raw,
        "name",
        "token",
        "decimals",
        "rpc_env",
        "timeout_s",
        "max_block_age_s",
        "runway_days",
    )
    return replace(
        read,
        rpc_url=raw.get("rpc_url"),
        explorer_url=raw.get("explorer_url"),
        deploy_min_wei=_wei(raw, where, "deploy_min", DEFAULT_DEPLOY_MIN, read.decimals, problems),
        paymaster_min_deposit_wei=_wei(
            raw,
            where,
            "paymaster_min_deposit",
            DEFAULT_PAYMASTER_MIN_DEPOSIT,
            read.decimals,
            problems,
        ),
    )


def _wei(
    raw: Mapping[str, Any], where: str, key: str, default: str, decimals: int, problems: Problems
) -> int:
    """ "0.2" HEI -> 200000000000000000 wei, exactly (Decimal, never a float)."""
    text = str(raw.get(key, default))
    try:
        return parse_amount(text, decimals)
    except ValueError as exc:
        problems.add(f"{where}.{key}", f"{show(text)} {exc}")
        return 0  # a stand-in (the default itself may be finer than the token: decimals 0)


def identity(
    name: str, spec: Mapping[str, Any] | None, chain: Mapping[str, Any], problems: Problems
) -> ChainIdentity | None:
    """environments.<name>.chain (`spec`) as a ChainIdentity; contracts it does not name
    come from its network's table."""
    if spec is None:
        return None
    network = spec.get("network")
    # The contract set an environment does not name comes from its network's table.
    shared: Mapping[str, Any] = chain
    if network is not None:
        known = chain.get("networks", {})
        if network not in known:
            listed = ", ".join(sorted(known)) or "none"
            problems.add(
                f"environments.{name}.chain.network",
                f"{show(network)} is no [chain.networks] entry (declared: {listed})",
            )
            return None
        shared = known[network]
    return ChainIdentity(
        network=network,
        deployer=spec.get("deployer"),
        registry=spec.get("registry", shared.get("registry")),
        entrypoint=spec.get("entrypoint", shared.get("entrypoint")),
        paymaster=spec.get("paymaster", shared.get("paymaster")),
        sponsor=spec.get("sponsor"),
        bundler=spec.get("bundler"),
    )
