"""[deploy] and [deploy.auth]: how `cdk deploy` builds the scheduled board, checked here so
`fleetboard validate` refuses what `cdk synth` would."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fleetboard.config.messages import Problems, show
from fleetboard.config.schedule import schedule_problems
from fleetboard.inventory import AuthSettings, DeploySettings, ProbeSettings


def deploy_settings(raw: Mapping[str, Any]) -> DeploySettings:
    # The schema has checked every key and type; the settings types own the defaults.
    auth = raw.get("auth")
    return DeploySettings(**{**raw, "auth": AuthSettings(**auth) if auth is not None else None})


def check_deploy(
    raw: Mapping[str, Any], period_s: int, probe: ProbeSettings, problems: Problems
) -> None:
    """The rules of [deploy] that span keys, and the schedule's (`raw` is the whole file)."""
    deploy = raw.get("deploy", {})
    _both_or_neither(deploy, "deploy", ("domain_name", "certificate_arn"), problems)
    auth = deploy.get("auth", {})
    _both_or_neither(
        auth,
        "deploy.auth",
        ("user_pool_id", "client_id"),
        problems,
        why="the edge function needs both "
        "(the fleetboard-auth stack's UserPoolId and ClientId outputs)",
    )
    region = raw.get("fleet", {}).get("region")
    pool = auth.get("user_pool_id")
    if pool and region and not pool.startswith(f"{region}_"):
        problems.add(
            "deploy.auth.user_pool_id",
            f"{show(pool)} is not in the fleet region {show(region)}; the fleetboard-auth "
            "stack builds the pool there: copy its UserPoolId output",
        )
    for key, text in schedule_problems(period_s, probe.pass_deadline_s):
        problems.add(key, text)


def _both_or_neither(
    table: Mapping[str, Any],
    where: str,
    keys: tuple[str, str],
    problems: Problems,
    why: str = "one needs the other",
) -> None:
    """One of two keys of `table` (at `where`) set without the other: the other is missing."""
    first, second = keys
    if (first in table) != (second in table):
        have, want = keys if first in table else (second, first)
        problems.add(f"{where}.{want}", f"missing: {where}.{have} is set, and {why}")
