"""The importer's output: a fleet.toml as nested dicts, and what goes with it.

Apart so every step of the import can fill it in without importing the others.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fleetboard.tomlout import Path_


@dataclass(slots=True)
class Document:
    """A fleet.toml as nested dicts, plus a comment per key path."""

    data: dict[str, Any] = field(default_factory=dict)
    comments: dict[Path_, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # said to the operator, not written
    #: Every host name the env files give, override or rule, by environment and service.
    hostnames: dict[str, dict[str, str]] = field(default_factory=dict)
    #: Environments whose env files are broken, each with its problem (naming the file):
    #: reported and left out of `data`. With `strict`, build() raises instead.
    left_out: dict[str, str] = field(default_factory=dict)
