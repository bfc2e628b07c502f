"""How the importer compares host names: as DNS does.

Apart because the env files, AGENTKEYS_HEALTH_OPTIONAL and an existing fleet.toml all
spell host names, and each comparison must agree with the others.
"""

from __future__ import annotations


def dns_name(value: str) -> str:
    """A host name as DNS compares them: case-blind, the root's trailing dot dropped."""
    return value.strip().lower().rstrip(".")
