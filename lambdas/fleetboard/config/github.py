"""[github]: where CI runs and how to read it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fleetboard.inventory import GithubSettings


def github_settings(raw: Mapping[str, Any]) -> GithubSettings:
    # The schema has checked every key and type; GithubSettings owns the defaults.
    return GithubSettings(**{**raw, "workflows": tuple(raw["workflows"])})
