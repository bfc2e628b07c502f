"""The values fleet.toml holds once for the whole fleet ([fleet] zone, zone_id, region),
taken from the env files that give them.

A file that lacks one is fine (the fleet has one of each); files that disagree end the
import, since which one is right cannot be told.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fleetboard.config.messages import show
from fleetboard.envfiles import EnvFileError
from fleetboard.importer.document import Document
from fleetboard.importer.hostnames import dns_name
from fleetboard.importer.read import Env


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


def fleet_values(envs: Sequence[Env], doc: Document) -> dict[str, Any]:
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


def _given(env: Env, spec: _FleetValue) -> _Given | None:
    for key in spec.keys:
        value = env.get(key)
        if value is not None:
            return _Given(_fleet_spelling(spec.field, value), env.file_of(key), key)
    return None


def _fleet_spelling(field_: str | None, value: str) -> str:
    """One spelling per value, so files that agree are seen to agree."""
    if field_ == "zone":
        return dns_name(value)
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
