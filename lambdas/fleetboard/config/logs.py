"""[logs] and each environment's `log_group`: where its service logs are in CloudWatch
Logs, which lines are error lines, and how many the card keeps (sources/logs.py)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from fleetboard.config.messages import Problems, show
from fleetboard.inventory import LOG_GROUP_ENV, Environment, LogSettings

#: What CloudWatch Logs takes as a group name (its API's pattern and length).
_GROUP_NAME = re.compile(r"[.\-_/#A-Za-z0-9]{1,512}")
MAX_GROUP_CHARS = 512


def log_settings(
    raw: Mapping[str, Any] | None,
    envs: Sequence[Environment],
    specs: Mapping[str, Mapping[str, Any]],
    problems: Problems,
) -> LogSettings | None:
    """[logs] (`raw`) with each environment's group; None without [logs] (an environment's
    `log_group` is then a mistake: nothing would read it)."""
    if raw is None:
        for env in envs:
            if "log_group" in specs.get(env.name, {}):
                problems.add(
                    f"environments.{env.name}.log_group",
                    "is set but there is no [logs] section, so no log is read; add [logs]",
                )
        return None
    # The schema has checked every key and type; LogSettings owns the defaults.
    settings = LogSettings(**raw)
    groups: dict[str, str] = {}
    owner: dict[str, str] = {}
    for env in envs:
        own = specs.get(env.name, {}).get("log_group")
        where = f"environments.{env.name}.log_group" if own is not None else "logs.group"
        group = own if own is not None else settings.group.replace(LOG_GROUP_ENV, env.name)
        if not _GROUP_NAME.fullmatch(group):
            problems.add(
                where,
                f"{show(group)} (the group of environments.{env.name}) is not a CloudWatch "
                f"log group name: at most {MAX_GROUP_CHARS} letters, digits, '_', '-', '/', "
                "'.' and '#'",
            )
        elif env.retired:
            continue  # not read: it may share a group with the environment that replaced it
        elif group in owner:
            problems.add(
                where,
                f"{show(group)}, the group of environments.{env.name}, is already that of "
                f"environments.{owner[group]}: each environment's lines must come from its "
                "own group; put {env} in logs.group or give one a log_group of its own",
            )
        owner.setdefault(group, env.name)
        groups[env.name] = group
    return LogSettings(**{**raw, "groups": groups})
