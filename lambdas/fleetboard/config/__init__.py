"""fleet.toml -> Inventory, reporting every problem at once before any probe runs.

Read it in the order a file is checked:

- syntax.py: the TOML itself (a parse error names its line and key);
- screen.py: what no value may be, whatever its key (NaN, control characters, lengths);
- shape.py: schema/fleet.schema.json, one readable line per problem; hosts.py: what a host
  name, an address and a URL may be (the schema's formats);
- build.py: each section into its settings type, one module per section (fleet.py,
  environments.py, probe.py, github.py, chain.py, deploy.py, maintenance.py, alerts.py)
  holding the rules that span keys (duplicate slots, a tag the pattern would never find, a
  broker name with no suffix rule, a window that ends before it starts, an alert channel
  that names an undeclared environment); schedule.py: the schedule's rules, which `cdk
  synth` uses too; fields.py: a section's plain keys read over its type's defaults;
- messages.py: how a message quotes a key path and a value.

Every message names the file, the key path and the value, and says what would fix it. The
settings types and their defaults are in fleetboard.inventory.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from fleetboard.config.build import build
from fleetboard.config.deploy import deploy_settings
from fleetboard.config.hosts import host_problem
from fleetboard.config.messages import ConfigError
from fleetboard.config.schedule import (
    AFTER_DEADLINE_S,
    DEADLINE_GRACE_S,
    DEFAULT_PERIOD_S,
    MAX_LAMBDA_TIMEOUT_S,
    PUBLISH_RESERVE_S,
    STALE_PERIODS,
    TIMEOUT_MARGIN_S,
    period_s,
    schedule_problems,
)
from fleetboard.config.screen import MAX_FILE_BYTES, MAX_STRING
from fleetboard.config.shape import shape_problems, window_key
from fleetboard.config.syntax import parse
from fleetboard.inventory import AuthSettings, DeploySettings, Inventory

__all__ = [
    "AFTER_DEADLINE_S",
    "DEADLINE_GRACE_S",
    "DEFAULT_PERIOD_S",
    "MAX_FILE_BYTES",
    "MAX_LAMBDA_TIMEOUT_S",
    "MAX_STRING",
    "PUBLISH_RESERVE_S",
    "STALE_PERIODS",
    "TIMEOUT_MARGIN_S",
    "AuthSettings",
    "ConfigError",
    "DeploySettings",
    "LoadedConfig",
    "host_problem",
    "load",
    "loads",
    "schedule_problems",
]


@dataclass(frozen=True, slots=True)
class LoadedConfig:
    inventory: Inventory
    period_s: int  # the schedule period the page uses to call a board stale
    deploy: DeploySettings = field(default_factory=DeploySettings)


def load(path: str | Path) -> LoadedConfig:
    """Read and check fleet.toml; raise ConfigError listing every problem."""
    path = Path(path)
    try:
        with path.open("rb") as f:
            data = f.read(MAX_FILE_BYTES + 1)
    except (OSError, ValueError) as exc:
        why = getattr(exc, "strerror", None) or str(exc)
        raise ConfigError([f"{path}: cannot read the file ({why})"]) from None
    if len(data) > MAX_FILE_BYTES:
        raise ConfigError([f"{path}: larger than {MAX_FILE_BYTES // 1024} KiB; not a fleet.toml"])
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError([f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})"]) from None
    return loads(text, source=str(path), base_dir=path.parent)


def loads(text: str, *, source: str = "fleet.toml", base_dir: Path | None = None) -> LoadedConfig:
    """Like load(), for config text already in hand (tests, the demo)."""
    if len(text) > MAX_FILE_BYTES:
        raise ConfigError([f"{source}: larger than {MAX_FILE_BYTES // 1024} KiB; not a fleet.toml"])
    raw = parse(text, source)
    shape, broken = shape_problems(raw)
    problems = [f"{source}: {p}" for p in shape]
    # Check meaning too, so one run reports every problem: skip only what the shape check
    # already found broken (a broken [fleet] table leaves nothing to build on).
    if not problems or (broken is not None and "fleet" not in broken):
        skip = broken or set()
        envs = {k: v for k, v in raw["environments"].items() if k not in skip}
        # A refused window stays in its place as None, so the others keep their indexes.
        windows = [] if window_key(None) in skip else raw.get("maintenance", [])
        windows = [None if window_key(i) in skip else w for i, w in enumerate(windows)]
        inventory, found = build(
            {**raw, "environments": envs, "maintenance": windows},
            base_dir or Path(),
            source,
            declared=list(raw["environments"]),
        )
        problems += [f"{source}: {p}" for p in found]
    if problems:
        raise ConfigError(problems)
    return LoadedConfig(
        inventory=inventory,
        period_s=period_s(raw["fleet"]),
        deploy=deploy_settings(raw.get("deploy", {})),
    )
