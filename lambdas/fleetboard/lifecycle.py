"""Whether an environment is meant to be up: running, stopped, missing, retired, unknown.

Read from the inventory and the aws source's facts alone, and pure. It sits below both
sources/ and rules/: the rules start every environment's verdict from it, and the http and
tls sources skip the hosts of a stopped environment by it, so both ask the same question of
the same code.
"""

from __future__ import annotations

from fleetboard.inventory import Environment
from fleetboard.model import (
    AddressFacts,
    AwsFacts,
    InstanceFacts,
    Lifecycle,
    SourceFailure,
)

_STOPPED_STATES = frozenset({"stopping", "stopped", "shutting-down", "terminated"})


def find_address(env: Environment, aws: AwsFacts) -> AddressFacts | None:
    """The EIP whose Name tag is exactly the environment's tag (never a first match, #201)."""
    for address in aws.addresses:
        if address.tag == env.eip_tag:
            return address
    return None


def find_instance(env: Environment, aws: AwsFacts) -> InstanceFacts | None:
    """The instance behind the environment's EIP, else the one fleet.toml declares."""
    address = find_address(env, aws)
    if address is not None and address.instance_id in aws.instances:
        return aws.instances[address.instance_id]
    if env.instance_id is not None:
        return aws.instances.get(env.instance_id)
    return None


def env_lifecycle(env: Environment, aws: AwsFacts | SourceFailure | None) -> Lifecycle:
    """Running, stopped, missing, retired, or unknown when AWS could not be read."""
    if env.retired:
        return Lifecycle.RETIRED
    if not isinstance(aws, AwsFacts):
        return Lifecycle.UNKNOWN
    instance = find_instance(env, aws)
    if instance is None:  # no EIP by tag, or an EIP with no instance behind it
        return Lifecycle.MISSING
    if instance.state in _STOPPED_STATES:
        return Lifecycle.STOPPED
    return Lifecycle.RUNNING
