"""[fleet] and [aws]: the fleet's region and zone, how its EIPs and buckets are found, and
what [fleet] says of every environment (optional services)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from fleetboard.config.fields import overlay
from fleetboard.config.messages import Problems, show
from fleetboard.inventory import AwsSettings, Environment

DEFAULT_TAG_PATTERN = "agentkeys-broker-eip*"
DEFAULT_BUCKET_PATTERN = r"^agentkeys-[a-z]+(?P<suffix>-test(?:-\d+)?|-base)?-\d{12}$"


def aws_settings(fleet: Mapping[str, Any], raw: Mapping[str, Any]) -> AwsSettings:
    """[fleet]'s region, zone and EIP tag pattern, and [aws] (`raw`); AwsSettings owns the
    timeouts' defaults."""
    defaults = AwsSettings(
        region=fleet["region"],
        zone=fleet["zone"],
        zone_id=fleet["zone_id"],
        eip_tag_pattern=fleet.get("eip_tag_pattern", DEFAULT_TAG_PATTERN),
        endpoint_url=raw.get("endpoint_url"),
    )
    return overlay(
        defaults,
        raw,
        "connect_timeout_s",
        "read_timeout_s",
        "metrics_every_s",
        "cost_explorer",
        "cost_tag",
    )


def bucket_pattern(fleet: Mapping[str, Any], problems: Problems) -> str:
    """fleet.bucket_pattern: a regular expression with a (?P<suffix>...) group."""
    pattern: str = fleet.get("bucket_pattern", DEFAULT_BUCKET_PATTERN)
    try:
        compiled = re.compile(pattern)
    except re.error as exc:
        problems.add("fleet.bucket_pattern", f"{show(pattern)} is not a regular expression ({exc})")
        return pattern
    if "suffix" not in compiled.groupindex:
        problems.add("fleet.bucket_pattern", f"{show(pattern)} has no (?P<suffix>...) group")
    return pattern


def check_optional(
    fleet: Mapping[str, Any], envs: tuple[Environment, ...], problems: Problems
) -> None:
    """fleet.optional names services some environment has."""
    services = {h.label.removeprefix("worker:") for e in envs for h in e.hosts}
    for name in fleet.get("optional", ()):
        if envs and name not in services:
            problems.add("fleet.optional", f"{name!r} is a service of no environment")
