"""The fleet the tests of the aws source (and of the sources beside it) build and declare:
names, hosts, EIP tags, inventories, and a pass of the aws source against them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from tests.integration.fixtures import results
from tests.integration.fixtures.inventory import AWS, aws_settings, inventory_of

from fleetboard.demo.aws_world import EnvSpec, World, WorldSpec, build_world
from fleetboard.inventory import (
    BROKER_PATHS,
    Environment,
    Host,
    Inventory,
    eip_tag_for,
    service_host,
)
from fleetboard.model import AwsFacts, EnvKind, SourceFailure
from fleetboard.sources import PassContext
from fleetboard.sources.aws import AwsSource
from fleetboard.sources.awsapi import AwsClientFactory

ZONE = "litentry.org"
TAG_BASE = "agentkeys-broker-eip"
PATTERN = "agentkeys-broker-eip*"
WORKERS = ("audit", "email", "cred", "memory", "config", "classify", "channel", "weixin")


class CountingProxy(Protocol):
    """The `proxy` fixture (conftest.py): counts and names the requests that reach moto."""

    url: str
    calls: list[str]
    json_bodies: list[tuple[str, dict[str, Any]]]  # (call, JSON request body)
    commands_order: str  # how it lists ssm:ListCommands: "newest" (AWS) or "oldest" first

    def fail_next(self, status: int, code: str, message: str) -> None: ...
    def fail_always(self, status: int, code: str, message: str) -> None: ...
    def fail_call(
        self, call: str, status: int, code: str, message: str, *, xml: bool = False
    ) -> None: ...
    def answer_call(self, call: str, status: int, content_type: str, body: bytes) -> None: ...
    def hold(self, call: str, seconds: float) -> None: ...


# --------------------------------------------------------------------------- fleet helpers


def suffix_of(name: str) -> str:
    return "" if name == "prod" else f"-{name}"


def broker_host(suffix: str) -> str:
    # Slot 1 keeps the grandfathered prefix style (docs/fleet.md#hosts).
    return f"test-broker.{ZONE}" if suffix == "-test" else f"broker{suffix}.{ZONE}"


def hostnames(name: str) -> tuple[str, ...]:
    suffix = suffix_of(name)
    others = ("signer", *WORKERS)
    return (broker_host(suffix), *(service_host(s, suffix, ZONE) for s in others))


def env_names(count: int) -> list[str]:
    """prod, test, test-2, test-3, ...: `count` of them."""
    return ["prod", "test", *(f"test-{n}" for n in range(2, count))][:count]


def spec(name: str, **kwargs: object) -> EnvSpec:
    return EnvSpec(name, eip_tag_for(TAG_BASE, suffix_of(name)), hosts=hostnames(name), **kwargs)  # type: ignore[arg-type]


def environment(name: str, *, instance_id: str | None = None) -> Environment:
    suffix = suffix_of(name)
    broker = broker_host(suffix)
    hosts = (
        Host("broker", "broker", broker, BROKER_PATHS),
        *(
            Host("worker", f"worker:{h.split('-')[0].split('.')[0]}", h)
            for h in hostnames(name)[1:]
        ),
    )
    slot = None
    if name.startswith("test"):
        slot = int(name.split("-")[1]) if "-" in name else 1
    return Environment(
        name=name,
        kind=EnvKind.PROD if name == "prod" else EnvKind.TEST_SLOT,
        slot=slot,
        suffix=suffix,
        broker_host=broker,
        eip_tag=eip_tag_for(TAG_BASE, suffix),
        expected_issuer=f"https://{broker}",
        hosts=hosts,
        instance_id=instance_id,
    )


#: The [aws] timeouts of the fleets these tests declare: short, so a test of an endpoint that
#: does not answer is soon over.
TIMEOUTS = {"connect_timeout_s": 2.0, "read_timeout_s": 5.0}


def inventory(endpoint: str, zone_id: str, envs: Sequence[Environment], **aws: Any) -> Inventory:
    """`envs` declared as the fleet, AWS reached at `endpoint`; `aws`: [aws] settings changed
    from these tests' (TIMEOUTS, region, cost_explorer, ...)."""
    settings = {**TIMEOUTS, **aws}
    return inventory_of(
        envs,
        aws=aws_settings(
            zone=ZONE, zone_id=zone_id, eip_tag_pattern=PATTERN, endpoint_url=endpoint, **settings
        ),
    )


def declared(world: World, *names: str) -> list[Environment]:
    return [environment(n) for n in names or tuple(world.environments)]


def built_fleet(
    moto_url: str,
    *environments: EnvSpec,
    endpoint: str | None = None,
    declare: Sequence[str] = (),
    **aws: Any,
) -> tuple[World, Inventory]:
    """`environments` built in moto (EIPs, instances, records, the deploys sent to each) and
    declared as the fleet (all of them, or those named in `declare`), AWS reached at
    `endpoint` (the counting proxy's URL) or at moto itself; `aws`: `inventory`'s (its
    region, if given, the world's too)."""
    region = aws.get("region", AWS.region)
    world = build_world(WorldSpec(environments=environments, region=region), moto_url)
    inv = inventory(endpoint or moto_url, world.zone_id, declared(world, *declare), **aws)
    return world, inv


#: A fleet built in moto and declared (`built_fleet`), and a client factory for it.
Fleet = tuple[World, Inventory, AwsClientFactory]
#: The `build_fleet` fixture (conftest.py): (EnvSpecs, `built_fleet`'s keywords) -> that fleet,
#: AWS reached through the counting proxy.
BuildFleet = Callable[..., Fleet]


def prod_only(moto_url: str, endpoint: str | None = None, **aws: Any) -> Inventory:
    """prod alone, built in moto and declared as the fleet (see `built_fleet`)."""
    _, inv = built_fleet(moto_url, spec("prod"), endpoint=endpoint, declare=("prod",), **aws)
    return inv


def collect(
    inv: Inventory,
    factory: AwsClientFactory,
    *,
    deadline_s: float = 30.0,
    record_page_size: int | None = None,
    source: AwsSource | None = None,
) -> AwsFacts | SourceFailure:
    ctx = PassContext(deadline=time.monotonic() + deadline_s, aws_client=factory)
    return (source or AwsSource(record_page_size=record_page_size)).collect(inv, ctx)


def facts_of(result: AwsFacts | SourceFailure) -> AwsFacts:
    return results.facts_of(result, AwsFacts)


def failure_of(result: AwsFacts | SourceFailure) -> SourceFailure:
    return results.failure_of(result, "aws")
