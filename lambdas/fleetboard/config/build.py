"""A shape-checked fleet.toml -> Inventory, section by section, collecting the problems
that span keys (each section's rules are in its own module)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import replace
from pathlib import Path
from typing import Any

from fleetboard.config.alerts import alert_settings
from fleetboard.config.chain import chain_settings, identity
from fleetboard.config.deploy import check_deploy
from fleetboard.config.environments import check_unique, environment
from fleetboard.config.fleet import aws_settings, bucket_pattern, check_optional
from fleetboard.config.github import github_settings
from fleetboard.config.logs import log_settings
from fleetboard.config.maintenance import maintenance_windows
from fleetboard.config.messages import Problems
from fleetboard.config.probe import probe_settings, thresholds
from fleetboard.config.schedule import period_s
from fleetboard.inventory import Inventory


def build(
    raw: dict[str, Any],
    base_dir: Path,
    source: str,
    declared: Collection[str] | None = None,
) -> tuple[Inventory, list[str]]:
    """The Inventory, and one line per problem found ("key.path: what is wrong"), in the
    order of the file's sections. `declared`: every environment the file names, when some
    were left out of `raw` for problems of their own (a window may still name them)."""
    problems = Problems()
    fleet = raw["fleet"]
    aws = aws_settings(fleet, raw.get("aws", {}))
    probe = probe_settings(raw.get("probe", {}), base_dir, problems)
    limits = thresholds(raw.get("thresholds", {}), problems)
    buckets = bucket_pattern(fleet, problems)
    envs = tuple(
        environment(name, spec, fleet, aws.eip_tag_pattern, problems)
        for name, spec in raw["environments"].items()
    )
    check_deploy(raw, period_s(fleet), probe, problems)
    check_unique(envs, problems)
    check_optional(fleet, envs, problems)
    github = raw.get("github")
    chain = raw.get("chain")
    main_chain = chain_settings(chain, problems) if chain is not None else None
    networks = {
        name: chain_settings(spec, problems, where=f"chain.networks.{name}", name=name)
        for name, spec in (chain or {}).get("networks", {}).items()
    }
    if chain is not None:
        envs = tuple(
            replace(
                e, chain=identity(e.name, raw["environments"][e.name].get("chain"), chain, problems)
            )
            for e in envs
        )
    else:
        for e in envs:
            if "chain" in raw["environments"][e.name]:
                problems.add(
                    f"environments.{e.name}.chain",
                    "needs a [chain] section (at least chain_id) to be read",
                )
    declared_envs = list(raw["environments"]) if declared is None else declared
    windows = maintenance_windows(raw.get("maintenance", []), envs, declared_envs, problems)
    alerts = alert_settings(raw.get("alerts"), declared_envs, problems)
    logs = log_settings(raw.get("logs"), envs, raw["environments"], problems)
    inventory = Inventory(
        github=github_settings(github) if github is not None else None,
        chain=main_chain,
        chain_networks=networks,
        source=source,
        fleet=fleet.get("name", fleet["zone"]),
        aws=aws,
        probe=probe,
        thresholds=limits,
        environments=envs,
        bucket_pattern=buckets,
        maintenance=windows,
        alerts=alerts,
        logs=logs,
    )
    return inventory, problems.lines
