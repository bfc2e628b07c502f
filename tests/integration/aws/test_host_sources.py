"""The host source (ec2:DescribeInstanceStatus) and the agent source
(ssm:DescribeInstanceInformation) against the shared moto server, whose machines
demo/aws_extras.py describes, with the counting proxy as the witness of what was sent.

moto 5.2 does not page DescribeInstanceStatus (it answers every instance at once, whatever
MaxResults says): aws_extras pages it as EC2 does, and pages the agent listing it answers.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
from tests.integration.aws.fleet import (
    BuildFleet,
    CountingProxy,
    built_fleet,
    environment,
    inventory,
    spec,
)
from tests.integration.aws.helpers import (
    HINT,
    Fault,
    Inflict,
    RoleAllowing,
    a_pass,
    answers,
    call_faults,
    fails,
    ids_of,
    json_call_faults,
    utc,
)
from tests.integration.fixtures import results

from fleetboard import collect, snapshot
from fleetboard.config import LoadedConfig, load
from fleetboard.demo import scenario
from fleetboard.demo.aws_extras import AGENT_VERSION, Agent, Event, Host, serialize
from fleetboard.demo.aws_world import EnvSpec, World, WorldSpec, build_world
from fleetboard.demo.dns import ZoneResolver
from fleetboard.demo.hosts import HostServer, refused_port
from fleetboard.inventory import Inventory
from fleetboard.model import (
    AgentFacts,
    AwsFacts,
    HostEvent,
    HostFacts,
    RegionFacts,
)
from fleetboard.publish import LocalPublisher
from fleetboard.sources import PassContext, Source, utc_now
from fleetboard.sources.agent import DESCRIBE_INSTANCE_INFORMATION
from fleetboard.sources.agent import LISTING as AGENT_LISTING
from fleetboard.sources.aws import (
    DESCRIBE_ADDRESSES,
    DESCRIBE_INSTANCES,
    LIST_COMMANDS,
    LIST_RECORD_SETS,
    AwsSource,
)
from fleetboard.sources.awsapi import (
    BODY_CAP_BYTES,
    AwsClientFactory,
    Listing,
    ListingSource,
)
from fleetboard.sources.host import DESCRIBE_INSTANCE_STATUS
from fleetboard.sources.host import LISTING as HOST_LISTING

F = TypeVar("F")

HOST = ListingSource("host", HOST_LISTING)
AGENT = ListingSource("agent", AGENT_LISTING)

DEGRADED = "The instance is running on degraded hardware"
RETIRE_AT = datetime(2031, 3, 14, 9, 0, tzinfo=UTC)
RETIREMENT = Event("instance-retirement", RETIRE_AT, DEGRADED, RETIRE_AT + timedelta(hours=2))
REBOOT_AT = datetime(2031, 3, 20, 22, 30, tzinfo=UTC)
REBOOT = Event("system-reboot", REBOOT_AT, "scheduled reboot")


# --------------------------------------------------------------------------- helpers


def run(
    source: Source, inv: Inventory, factory: AwsClientFactory, *, deadline_s: float = 30.0
) -> object:
    ctx = PassContext(deadline=time.monotonic() + deadline_s, aws_client=factory)
    return source.collect(inv, ctx)


def facts_of(result: object, kind: type[F]) -> F:
    """The source's facts; fails the test, showing the failure, if it failed."""
    assert isinstance(result, kind), result
    return result


def host_facts(result: object) -> HostFacts:
    return facts_of(result, HostFacts)


def agent_facts(result: object) -> AgentFacts:
    return facts_of(result, AgentFacts)


@pytest.fixture
def faulty(proxy: CountingProxy) -> Iterator[CountingProxy]:
    """The proxy, cleared again after the test: a request it still holds is let go then,
    not when the next test happens to clear it."""
    yield proxy
    proxy.clear()  # type: ignore[attr-defined]  # the fixture's CountingProxy has it


def machines(moto_url: str, count: int) -> World:
    """`count` running instances with healthy checks and online agents, and no records."""
    envs = tuple(EnvSpec(f"m{n:02}", f"machine-{n:02}") for n in range(count))
    return build_world(WorldSpec(environments=envs), moto_url)


# --------------------------------------------------------------------------- host source


def test_each_instance_s_checks_and_scheduled_events_are_read_as_ec2_gives_them(
    build_fleet: BuildFleet, proxy: CountingProxy, far_from_utc: None
) -> None:
    world, inv, factory = build_fleet(
        spec("prod", host=Host(ebs="ok", events=(RETIREMENT,))),
        spec("test", host=Host(instance="impaired", ebs="ok")),
        spec("test-2", host=Host(system="impaired")),
        spec("test-3", stopped=True, host=Host(events=(REBOOT,))),
    )
    ids = ids_of(world)

    facts = host_facts(run(HOST, inv, factory))

    assert set(facts.items) == set(ids.values())  # stopped ones too: retirements hit them
    prod = facts.items[ids["prod"]]
    assert (prod.state, prod.system, prod.instance, prod.ebs) == ("running", "ok", "ok", "ok")
    assert prod.impaired_since == {}
    assert prod.events == (
        HostEvent("instance-retirement", DEGRADED, RETIRE_AT, RETIRE_AT + timedelta(hours=2)),
    )
    assert utc(prod.events[0].not_before, prod.events[0].not_after)

    slot_1 = facts.items[ids["test"]]
    assert (slot_1.system, slot_1.instance, slot_1.ebs) == ("ok", "impaired", "ok")
    assert list(slot_1.impaired_since) == ["instance"]
    since = slot_1.impaired_since["instance"]
    assert utc(since) and since < facts.observed_at

    slot_2 = facts.items[ids["test-2"]]
    # No EBS check: EC2 says nothing of attached volumes on older instance types.
    assert (slot_2.system, slot_2.instance, slot_2.ebs) == ("impaired", "ok", None)
    assert list(slot_2.impaired_since) == ["system"]
    assert utc(slot_2.impaired_since["system"])

    parked = facts.items[ids["test-3"]]
    # EC2 runs no status check on a stopped instance, and says so.
    assert (parked.state, parked.system, parked.instance) == (
        "stopped",
        "not-applicable",
        "not-applicable",
    )
    assert parked.events == (HostEvent("system-reboot", "scheduled reboot", REBOOT_AT),)

    assert utc(facts.observed_at)
    assert proxy.calls == [DESCRIBE_INSTANCE_STATUS]  # the whole region in one request
    assert facts.requests == 1 and facts.complete


# --------------------------------------------------------------------------- agent source


def test_each_agent_is_read_online_lost_outdated_or_not_registered(
    build_fleet: BuildFleet, proxy: CountingProxy, far_from_utc: None
) -> None:
    lost_at = utc_now().replace(microsecond=0) - timedelta(hours=7, minutes=12)
    world, inv, factory = build_fleet(
        spec("prod"),
        spec("test", host=Host(agent=Agent("ConnectionLost", lost_at))),
        spec("test-2", host=Host(agent=Agent("Online", version="3.2.582.0"))),
        spec("test-3", host=Host(agent=None)),  # no instance profile: never registered
    )
    ids = ids_of(world)

    facts = agent_facts(run(AGENT, inv, factory))

    assert set(facts.items) == {ids["prod"], ids["test"], ids["test-2"]}
    prod = facts.items[ids["prod"]]
    assert (prod.ping, prod.version, prod.latest) == ("Online", AGENT_VERSION, True)
    assert prod.last_ping is not None and utc(prod.last_ping)
    lost = facts.items[ids["test"]]
    assert (lost.ping, lost.last_ping) == ("ConnectionLost", lost_at)
    assert utc(lost.last_ping)
    outdated = facts.items[ids["test-2"]]
    assert (outdated.ping, outdated.version, outdated.latest) == ("Online", "3.2.582.0", False)
    assert proxy.calls == [DESCRIBE_INSTANCE_INFORMATION]
    assert facts.requests == 1 and facts.complete


@pytest.mark.parametrize(
    ("listing", "max_pages", "requests", "listed", "complete"),
    [
        (HOST_LISTING, 5, 3, 12, True),
        (HOST_LISTING, 2, 2, 10, False),
        (AGENT_LISTING, 20, 3, 12, True),
        (AGENT_LISTING, 2, 2, 10, False),
    ],
    ids=[
        "host-every-page",
        "host-capped-at-2-pages",
        "agent-every-page",
        "agent-capped-at-2-pages",
    ],
)
def test_a_listing_reads_the_region_page_by_page_up_to_its_cap(
    moto_url: str,
    proxy: CountingProxy,
    factories: Callable[..., AwsClientFactory],
    listing: Listing[Any, Any],
    max_pages: int,
    requests: int,
    listed: int,
    complete: bool,
) -> None:
    world = machines(moto_url, 12)
    inv = inventory(proxy.url, world.zone_id, [])
    source = ListingSource("listing", replace(listing, page_size=5, max_pages=max_pages))

    got = run(source, inv, factories(inv))

    assert isinstance(got, HostFacts | AgentFacts), got
    assert proxy.calls == [listing.call] * requests  # one request a page, no more
    assert got.requests == requests
    assert len(got.items) == listed
    assert set(got.items) <= set(ids_of(world).values())
    # Capped: an instance not listed is not known to be healthy (rules/host.py says unknown).
    assert got.complete is complete
    # The whole region each time (no ids, no filters), pages of the listing's size: EC2's
    # form as SSM's JSON.
    if listing is AGENT_LISTING:
        first, *rest = [body for call, body in proxy.json_bodies if call == listing.call]
        assert first == {"MaxResults": 5}
        assert all(body == {"MaxResults": 5, "NextToken": body["NextToken"]} for body in rest)


# --------------------------------------------------------------------------- failures


def holds(call: str) -> Inflict:
    return lambda proxy: proxy.hold(call, 20.0)  # let go when the test ends (`faulty`)


EC2, SSM = DESCRIBE_INSTANCE_STATUS, DESCRIBE_INSTANCE_INFORMATION
EC2_XML, SSM_JSON = "text/xml;charset=UTF-8", "application/x-amz-json-1.1"
NOT_AUTHORIZED = "You are not authorized to perform this operation."
TRUNCATED_XML = (
    b'<?xml version="1.0" encoding="UTF-8"?><DescribeInstanceStatusResponse '
    b'xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><instanceStatusSet><item><instanceId>i-0'
)
TRUNCATED_JSON = b'{"InstanceInformationList": [{"InstanceId": "i-0'
OVERSIZED_XML = b'<?xml version="1.0"?><DescribeInstanceStatusResponse xmlns="x">' + b" " * (
    BODY_CAP_BYTES + 1
)
OVERSIZED_JSON = b'{"InstanceInformationList": []' + b" " * (BODY_CAP_BYTES + 1) + b"}"
#: Well-formed answers of another call, in each service's own protocol.
ADDRESSES_XML = serialize("ec2", "DescribeAddresses", {"Addresses": []})[0]
COMMANDS_JSON = serialize("ssm", "ListCommands", {"Commands": []})[0]


def named(source: str, faults: dict[str, Fault]) -> dict[str, Fault]:
    """The faults of one source's call, each named after the source."""
    return {f"{source}-{name}": fault for name, fault in faults.items()}


FAULTS = {
    # The agent's listing is a JSON-protocol call: it fails as every such call does.
    **named(
        "agent",
        json_call_faults(
            SSM,
            internal="InternalServerError",
            another_call=COMMANDS_JSON,
            missing="InstanceInformationList",
        ),
    ),
    # The host source's listing is EC2's, in its XML.
    **named(
        "host",
        call_faults(
            EC2,
            protocol="XML",
            internal="InternalError",
            throttling="Throttling",
            denied=(403, "UnauthorizedOperation", NOT_AUTHORIZED),
            another_call=(EC2_XML, ADDRESSES_XML),
            another_said="answered 200 with XML rooted at <DescribeAddressesResponse>, not "
            "AWS's <DescribeInstanceStatusResponse>",
        ),
    ),
    # EC2's own throttling code for its request rate (botocore retries it as throttling).
    "host-request-limit": Fault(
        EC2,
        fails(EC2, 503, "RequestLimitExceeded", "Request limit exceeded."),
        f"{EC2} throttled after 3 attempts (RequestLimitExceeded): Request limit exceeded.",
        3,
    ),
    "host-malformed": Fault(
        EC2,
        answers(EC2, EC2_XML, TRUNCATED_XML),
        f"{EC2} answered with a malformed body that could not be parsed (ResponseParserError)"
        f" — {HINT}",
        1,
    ),
    "agent-malformed": Fault(
        SSM,
        answers(SSM, SSM_JSON, TRUNCATED_JSON),
        f"{SSM} answered 200 with a body that is not JSON",
        1,
    ),
    "host-oversized": Fault(
        EC2,
        answers(EC2, EC2_XML, OVERSIZED_XML),
        f"{EC2} answered 200 with {len(OVERSIZED_XML)} bytes, over the {BODY_CAP_BYTES} byte cap",
        1,
    ),
    "agent-oversized": Fault(
        SSM,
        answers(SSM, SSM_JSON, OVERSIZED_JSON),
        f"{SSM} answered 200 with {len(OVERSIZED_JSON)} bytes, over the {BODY_CAP_BYTES} byte cap",
        1,
    ),
    # Silent past the pass's deadline: the read is cut there, not at the 5 s read timeout.
    "host-silent": Fault(
        EC2,
        holds(EC2),
        f"{EC2} had no complete answer by the pass deadline after 1 attempt (ReadTimeoutError)",
        1,
        deadline_s=3.0,
    ),
    "agent-silent": Fault(
        SSM,
        holds(SSM),
        f"{SSM} had no complete answer by the pass deadline after 1 attempt (ReadTimeoutError)",
        1,
        deadline_s=3.0,
    ),
}


@pytest.mark.parametrize("fault", FAULTS.values(), ids=FAULTS.keys())
def test_a_failed_listing_names_its_call_and_fault_and_the_pass_s_other_facts_stand(
    build_fleet: BuildFleet, faulty: CountingProxy, no_backoff: None, fault: Fault
) -> None:
    world, inv, factory = build_fleet(spec("prod"), spec("test"))
    fault.inflict(faulty)
    failed, other = ("host", "agent") if fault.call == EC2 else ("agent", "host")

    sources: list[Source] = [AwsSource(), HOST, AGENT]
    answers, _ = a_pass(inv, factory, sources, deadline_s=fault.deadline_s)

    failure = results.failure_of(answers[failed], failed)
    assert failure.reason.startswith(fault.said), failure.reason
    assert not failure.blind  # AWS's side (or the path to it), not the collector's
    assert faulty.calls.count(fault.call) == fault.sent
    assert failure.requests == fault.sent  # the footer counts what the failed read sent
    # The same pass's other AWS facts are whole, and cost what they always cost.
    ids = set(ids_of(world).values())
    aws = facts_of(answers["aws"], AwsFacts)
    assert set(aws.instances) == ids
    assert {a.instance_id for a in aws.addresses} == ids
    assert aws.requests == 4  # addresses, instances, records, deploy trail
    kind: type[RegionFacts[Any]] = HostFacts if other == "host" else AgentFacts
    standing = facts_of(answers[other], kind)
    assert set(standing.items) == ids and standing.requests == 1


@pytest.mark.parametrize(("source", "call"), [(HOST, EC2), (AGENT, SSM)], ids=["host", "agent"])
def test_a_refused_endpoint_is_named_and_is_not_the_collector_s_blindness(
    factories: Callable[..., AwsClientFactory], no_backoff: None, source: Source, call: str
) -> None:
    port = refused_port()
    inv = inventory(f"http://127.0.0.1:{port}", "Z0000000000000000000", [environment("prod")])

    failure = results.failure_of(run(source, inv, factories(inv)), source.name)

    assert failure.reason.startswith(
        f"{call} could not connect after 3 attempts (EndpointConnectionError)"
    )
    assert f"127.0.0.1:{port}" in failure.reason
    assert not failure.blind  # AWS's endpoint is down: the collector itself can see


@pytest.mark.parametrize(("source", "call"), [(HOST, EC2), (AGENT, SSM)], ids=["host", "agent"])
def test_an_endpoint_that_does_not_resolve_leaves_the_collector_blind(
    unresolvable: str,
    factories: Callable[..., AwsClientFactory],
    no_backoff: None,
    source: Source,
    call: str,
) -> None:
    inv = inventory(f"http://{unresolvable}:4566", "Z0000000000000000000", [environment("prod")])

    failure = results.failure_of(run(source, inv, factories(inv)), source.name)

    assert failure.blind
    assert failure.reason == (
        f"{call} not answered after 3 attempts: the collector cannot resolve AWS's endpoint "
        f"(no DNS on this machine?): check its network and resolver (http://{unresolvable}:4566)"
    )


@pytest.mark.parametrize("kind", ["host", "agent"])
def test_a_role_that_predates_the_new_sources_is_told_which_action_to_allow(
    moto_url: str,
    role_allowing: RoleAllowing,
    kind: str,
) -> None:
    # moto's own IAM refuses the call (aws_extras asks moto before it answers). Only the
    # new source runs: moto's IAM refuses Route 53 calls whatever the policy allows, so the
    # aws source cannot pass under it (the table above shows its facts stand).
    source, action = (HOST, EC2) if kind == "host" else (AGENT, SSM)
    _, inv = built_fleet(moto_url, spec("prod"))
    before_the_feature = [DESCRIBE_ADDRESSES, DESCRIBE_INSTANCES, LIST_RECORD_SETS, LIST_COMMANDS]
    factory, collector = role_allowing(inv, before_the_feature)

    failure = results.failure_of(run(source, inv, factory), kind)

    assert failure.reason.startswith(f"{action} denied (AccessDenied): "), failure.reason
    assert f"not authorized to perform: {action}" in failure.reason
    assert failure.reason.endswith(f"allow {action} for the collector's role")
    assert collector.secret_access_key not in failure.reason


# --------------------------------------------------------------------------- a whole pass


@pytest.fixture(scope="module")
def demo_hosts() -> Iterator[HostServer]:
    """The demo's HTTPS hosts (scenario.py), so the board's http and tls checks are real."""
    with HostServer(scenario.sim_hosts(utc_now())) as server:
        yield server


def demo_config(world: World, hosts: HostServer, folder: Path, endpoint: str) -> LoadedConfig:
    """The demo's fleet.toml, AWS at `endpoint`, without the GitHub part (not under test)."""
    ca = hosts.write_ca(folder / "demo-ca.pem")
    path = folder / "fleet.toml"
    github = f"http://127.0.0.1:{refused_port()}"
    path.write_text(scenario.fleet_toml(world, hosts.address, ca.name, github))
    loaded = load(path)
    aws = replace(loaded.inventory.aws, endpoint_url=endpoint)
    return replace(loaded, inventory=replace(loaded.inventory, aws=aws, github=None))


def board(
    loaded: LoadedConfig, world: World, factory: AwsClientFactory, out: Path
) -> dict[str, Any]:
    resolver = ZoneResolver({name: [ip] for name, ip in world.a_records.items()})
    ctx = collect.laptop_context(loaded, resolver=resolver, aws_client=factory)
    result = collect.run_pass(loaded, ctx, LocalPublisher(out))
    assert result.error is None
    return result.document


def checks_of(doc: dict[str, Any], *, host: bool) -> dict[tuple[str, str], tuple[str, str]]:
    """(env, check id) -> (status, reason) of the host source's checks, or of all others."""
    return {
        (env["name"], check["id"]): (check["status"], check["reason"])
        for env in doc["environments"]
        for check in env["checks"]
        if (check.get("source") == "host") is host
    }


def test_a_pass_whose_host_source_fails_shows_its_checks_unknown_and_the_rest_as_before(
    moto_url: str,
    proxy: CountingProxy,
    factories: Callable[..., AwsClientFactory],
    demo_hosts: HostServer,
    tmp_path: Path,
) -> None:
    world = build_world(scenario.world_spec(utc_now()), moto_url)
    loaded = demo_config(world, demo_hosts, tmp_path, proxy.url)
    factory = factories(loaded.inventory)
    seen = board(loaded, world, factory, tmp_path / "seen")
    proxy.fail_call(EC2, 403, "UnauthorizedOperation", NOT_AUTHORIZED)

    doc = board(loaded, world, factory, tmp_path / "blind")

    assert snapshot.problems(doc) == []
    reason = doc["collector"]["sources"]["host"]["error"]
    assert reason.startswith(f"{EC2} denied (UnauthorizedOperation)")
    assert reason.endswith(f"allow {EC2} for the collector's role")
    running = [e["name"] for e in doc["environments"] if e["lifecycle"] == "running"]
    assert running == ["prod", "test", "test-2", "test-4"]
    # Each running environment's host check is unknown with the reason; none is green, and
    # what the host source alone saw (prod's retirement, slot 2's impaired instance) is gone.
    host = checks_of(doc, host=True)
    assert list(host) == [(name, f"source:host:{name}") for name in running]
    for status, why in host.values():
        assert status == "unknown"
        assert why.startswith("source: host failed") and reason in why
    assert checks_of(seen, host=True)[("test-2", "source:host:test-2")][0] == "red"
    assert checks_of(seen, host=True)[("prod", "source:host:prod:events")][0] == "amber"
    (issue,) = [i for i in doc["summary"]["issues"] if i["check"] == "source:host"]
    assert issue["status"] == "unknown" and f"allow {EC2}" in issue["text"]
    # Everything else on the board is as the pass that saw the hosts left it: machines,
    # probes, certificates, agents, drift.
    assert checks_of(doc, host=False) == checks_of(seen, host=False)
    assert [(e["name"], e["lifecycle"]) for e in doc["environments"]] == [
        (e["name"], e["lifecycle"]) for e in seen["environments"]
    ]
    assert [e.get("drift") for e in doc["environments"]] == [
        e.get("drift") for e in seen["environments"]
    ]
    assert doc["collector"]["sources"]["aws"]["ok"] and doc["collector"]["sources"]["agent"]["ok"]
