"""The aws source against a moto server on loopback: facts, request counts, failures, deadline.

The deploy trail (ssm:ListCommands) has its own file, test_deploy_trail.py.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from tests.integration.aws.fleet import (
    PATTERN,
    ZONE,
    BuildFleet,
    CountingProxy,
    built_fleet,
    collect,
    declared,
    env_names,
    environment,
    facts_of,
    failure_of,
    inventory,
    prod_only,
    spec,
)
from tests.integration.aws.helpers import RoleAllowing
from tests.integration.fixtures.aws import moto_client

from fleetboard import lifecycle
from fleetboard.demo.aws_world import DEMO_CREDENTIALS, WorldSpec, build_world, deploy_comment
from fleetboard.inventory import AwsSettings
from fleetboard.model import Lifecycle
from fleetboard.sources.aws import COMMANDS_PAGE_SIZE, DEPLOY_DOCUMENT
from fleetboard.sources.awsapi import AwsClientFactory, StaticCredentials, make_aws_client_factory

# --------------------------------------------------------------------------- facts


def test_tagged_eips_and_their_instances_are_found_with_type_state_and_launch_time(
    moto_url: str, factories: Callable[..., AwsClientFactory]
) -> None:
    world, inv = built_fleet(
        moto_url,
        spec("prod"),
        spec("test", instance_type="t3.small", instance_name="agentkeys-broker-test"),
        spec("test-2"),
    )

    facts = facts_of(collect(inv, factories(inv)))

    assert [(a.tag, a.public_ip, a.instance_id) for a in facts.addresses] == sorted(
        (e.eip_tag, e.eip, e.instance_id) for e in world.environments.values()
    )
    assert all(a.allocation_id and a.allocation_id.startswith("eipalloc-") for a in facts.addresses)
    test = world.environments["test"]
    assert test.instance_id is not None
    instance = facts.instances[test.instance_id]
    assert (instance.state, instance.instance_type, instance.name) == (
        "running",
        "t3.small",
        "agentkeys-broker-test",
    )
    assert instance.launched_at is not None
    assert instance.launched_at.utcoffset() == timedelta(0)
    assert (
        facts.instances[world.environments["prod"].instance_id or ""].instance_type == "t3.medium"
    )
    for env in inv.environments:
        assert lifecycle.env_lifecycle(env, facts) is Lifecycle.RUNNING
        assert facts.a_records[env.broker_host] == (world.environments[env.name].eip,)


def test_stopped_instance_is_reported_stopped_and_its_lifecycle_is_stopped(
    moto_url: str, factories: Callable[..., AwsClientFactory]
) -> None:
    world, inv = built_fleet(moto_url, spec("prod"), spec("test-3", stopped=True))

    facts = facts_of(collect(inv, factories(inv)))

    stopped = world.environments["test-3"]
    assert facts.instances[stopped.instance_id or ""].state == "stopped"
    # A stopped instance keeps its EIP: the slot is parked, not gone.
    assert lifecycle.find_address(inv.environment("test-3"), facts) is not None
    assert lifecycle.env_lifecycle(inv.environment("test-3"), facts) is Lifecycle.STOPPED
    assert lifecycle.env_lifecycle(inv.environment("prod"), facts) is Lifecycle.RUNNING


def test_eip_tagged_test_2_is_never_taken_for_test(
    moto_url: str, factories: Callable[..., AwsClientFactory]
) -> None:
    # #201: first-match on a wildcard once sent slot 1's worker records to slot 2's broker.
    # Slot 2's EIP is allocated first so a first match on "agentkeys-broker-eip-test*" finds it.
    world, inv = built_fleet(moto_url, spec("test-2"), spec("test", eip="absent"))

    facts = facts_of(collect(inv, factories(inv)))

    assert [a.tag for a in facts.addresses] == ["agentkeys-broker-eip-test-2"]
    slot_1, slot_2 = inv.environment("test"), inv.environment("test-2")
    assert lifecycle.find_address(slot_1, facts) is None
    assert lifecycle.env_lifecycle(slot_1, facts) is Lifecycle.MISSING
    found = lifecycle.find_address(slot_2, facts)
    assert found is not None and found.public_ip == world.environments["test-2"].eip


def test_both_slot_eips_each_go_to_their_own_slot(
    moto_url: str, factories: Callable[..., AwsClientFactory]
) -> None:
    world, inv = built_fleet(moto_url, spec("test-2"), spec("test"))

    facts = facts_of(collect(inv, factories(inv)))

    for name in ("test", "test-2"):
        found = lifecycle.find_address(inv.environment(name), facts)
        assert found is not None
        assert (found.public_ip, found.instance_id) == (
            world.environments[name].eip,
            world.environments[name].instance_id,
        )


def test_undeclared_tagged_eip_appears_and_other_tags_do_not(
    moto_url: str, factories: Callable[..., AwsClientFactory]
) -> None:
    world = build_world(
        WorldSpec(
            environments=(spec("prod"),),
            extra_eip_tags=("agentkeys-broker-eip-test-7", "some-other-service-eip"),
        ),
        moto_url,
    )
    inv = inventory(moto_url, world.zone_id, declared(world, "prod"))

    facts = facts_of(collect(inv, factories(inv)))

    by_tag = {a.tag: a for a in facts.addresses}
    assert set(by_tag) == {"agentkeys-broker-eip", "agentkeys-broker-eip-test-7"}
    undeclared = by_tag["agentkeys-broker-eip-test-7"]
    assert undeclared.public_ip == world.extra_eips["agentkeys-broker-eip-test-7"]
    assert undeclared.instance_id is None  # moto says "" for an unassociated EIP


def test_declared_environment_without_an_eip_is_missing(
    moto_url: str, factories: Callable[..., AwsClientFactory]
) -> None:
    _, inv = built_fleet(moto_url, spec("prod"), spec("test-4", eip="absent", instance=False))

    facts = facts_of(collect(inv, factories(inv)))

    assert lifecycle.env_lifecycle(inv.environment("test-4"), facts) is Lifecycle.MISSING
    assert lifecycle.env_lifecycle(inv.environment("prod"), facts) is Lifecycle.RUNNING


def test_unassociated_eip_leaves_the_environment_missing(
    moto_url: str, factories: Callable[..., AwsClientFactory]
) -> None:
    _, inv = built_fleet(moto_url, spec("test-5", eip="unassociated"))

    facts = facts_of(collect(inv, factories(inv)))

    (address,) = facts.addresses
    assert (address.tag, address.instance_id) == ("agentkeys-broker-eip-test-5", None)
    assert lifecycle.env_lifecycle(inv.environment("test-5"), facts) is Lifecycle.MISSING


def test_declared_instance_that_no_longer_exists_does_not_fail_the_call(
    moto_url: str, proxy: CountingProxy, factories: Callable[..., AwsClientFactory]
) -> None:
    world = build_world(
        WorldSpec(environments=(spec("prod"), spec("test", eip="absent"))), moto_url
    )
    slot_1 = world.environments["test"].instance_id
    envs = [
        environment("prod"),
        environment("test", instance_id=slot_1),  # found by its declared id, no EIP needed
        environment("test-2", instance_id="i-0a5c74cdbb3e5be84"),  # retired long ago
    ]
    inv = inventory(proxy.url, world.zone_id, envs)

    facts = facts_of(collect(inv, factories(inv)))

    assert "i-0a5c74cdbb3e5be84" not in facts.instances
    assert slot_1 in facts.instances
    assert proxy.calls.count("ec2:DescribeInstances") == 1
    assert lifecycle.env_lifecycle(inv.environment("test"), facts) is Lifecycle.RUNNING
    assert lifecycle.env_lifecycle(inv.environment("test-2"), facts) is Lifecycle.MISSING


def test_more_than_200_instance_ids_are_chunked_by_the_filter_limit(
    moto_url: str, proxy: CountingProxy, factories: Callable[..., AwsClientFactory]
) -> None:
    world = build_world(WorldSpec(environments=(spec("prod"),)), moto_url)
    ghosts = [environment(f"test-{n}", instance_id=f"i-{n:017x}") for n in range(2, 203)]
    inv = inventory(proxy.url, world.zone_id, [environment("prod"), *ghosts])

    facts = facts_of(collect(inv, factories(inv)))

    assert proxy.calls.count("ec2:DescribeInstances") == 2  # 202 ids: 200 + 2
    assert list(facts.instances) == [world.environments["prod"].instance_id]


def test_describe_instances_and_list_commands_are_skipped_when_there_are_no_ids(
    build_fleet: BuildFleet, proxy: CountingProxy
) -> None:
    _, inv, factory = build_fleet(spec("prod", eip="absent", instance=False))

    facts = facts_of(collect(inv, factory))

    assert proxy.calls == ["ec2:DescribeAddresses", "route53:ListResourceRecordSets"]
    assert "ssm:ListCommands" not in proxy.calls  # no instance: no deploy trail to read
    assert facts.instances == {}
    assert facts.requests == 2
    assert (facts.deploys, facts.deploy_error) == ({}, None)


def test_a_records_are_collected_across_pages_with_names_normalised(
    moto_url: str, build_fleet: BuildFleet, proxy: CountingProxy
) -> None:
    world, inv, factory = build_fleet(spec("prod"), spec("test"))
    route53 = moto_client("route53", moto_url)
    extra = [
        ("Broker-Base.litentry.org.", "A", ["10.0.0.1", "10.0.0.2"]),  # case, dot, two values
        ("docs.litentry.org", "CNAME", ["litentry.github.io"]),
        ("litentry.org", "TXT", ['"v=spf1 -all"']),
        ("v6.litentry.org", "AAAA", ["2001:db8::1"]),
    ]
    changes: list[Any] = [
        {
            "Action": "CREATE",
            "ResourceRecordSet": {
                "Name": name,
                "Type": kind,
                "TTL": 300,
                "ResourceRecords": [{"Value": v} for v in values],
            },
        }
        for name, kind, values in extra
    ]
    route53.change_resource_record_sets(
        HostedZoneId=world.zone_id, ChangeBatch={"Changes": changes}
    )
    route53.close()

    # 20 A + 1 extra A + CNAME, TXT, AAAA, NS, SOA = 26 record sets; 7 a page = 4 pages.
    facts = facts_of(collect(inv, factory, record_page_size=7))

    assert proxy.calls.count("route53:ListResourceRecordSets") == 4
    assert facts.a_records == {
        **{host: (ip,) for host, ip in world.a_records.items()},
        "broker-base.litentry.org": ("10.0.0.1", "10.0.0.2"),
    }


# --------------------------------------------------------------------------- request counts


@pytest.mark.parametrize(
    ("environments", "deployed", "record_pages", "command_pages"),
    [
        # 10 hosts an environment; Route 53 pages hold 300 record sets. Never deployed: the
        # deploy trail is one empty ListCommands page.
        (3, False, 1, 1),
        (60, False, 3, 1),
        # One deploy each, listed newest first, 50 a page: 60 of them take a second page.
        (3, True, 1, 1),
        (60, True, 3, 2),
    ],
    ids=["3-envs", "60-envs", "3-envs-deployed", "60-envs-deployed"],
)
def test_requests_per_pass_do_not_grow_with_the_fleet(
    build_fleet: BuildFleet,
    proxy: CountingProxy,
    environments: int,
    deployed: bool,
    record_pages: int,
    command_pages: int,
) -> None:
    specs = (
        spec(name, deploys=(deploy_comment(400 + i, f"pr-{i}"),) if deployed else ())
        for i, name in enumerate(env_names(environments))
    )
    _, inv, factory = build_fleet(*specs)

    facts = facts_of(collect(inv, factory))

    assert len(facts.addresses) == len(facts.instances) == environments
    assert len(facts.a_records) == 10 * environments
    assert facts.deploy_error is None
    assert len(facts.deploys or {}) == (environments if deployed else 0)
    expected = [
        "ec2:DescribeAddresses",
        "ec2:DescribeInstances",
        *["route53:ListResourceRecordSets"] * record_pages,
        *["ssm:ListCommands"] * command_pages,  # one listing serves every instance
    ]
    assert proxy.calls == expected  # what reached the wire
    assert facts.requests == len(expected)  # what the pass reports
    assert factory.requests == len(expected)  # the factory's running total
    # The listing's shape: every instance at once (no InstanceId), shell commands only, full pages.
    first, *rest = [body for call, body in proxy.json_bodies if call == "ssm:ListCommands"]
    assert first == {
        "Filters": [{"key": "DocumentName", "value": DEPLOY_DOCUMENT}],
        "MaxResults": COMMANDS_PAGE_SIZE,
    }
    assert all(body == {**first, "NextToken": body["NextToken"]} for body in rest)


def test_a_retried_request_is_counted_once_per_attempt(
    moto_url: str, proxy: CountingProxy, factories: Callable[..., AwsClientFactory]
) -> None:
    inv = prod_only(moto_url, proxy.url)
    proxy.fail_next(503, "Unavailable", "The server is overloaded.")

    facts = facts_of(collect(inv, factories(inv)))

    assert proxy.calls[:2] == ["ec2:DescribeAddresses", "ec2:DescribeAddresses"]
    assert facts.requests == len(proxy.calls) == 5


def test_counts_of_two_passes_are_kept_apart(
    moto_url: str, proxy: CountingProxy, factories: Callable[..., AwsClientFactory]
) -> None:
    inv = prod_only(moto_url, proxy.url)
    factory = factories(inv)

    first, second = facts_of(collect(inv, factory)), facts_of(collect(inv, factory))

    assert first.requests == second.requests == 4
    assert factory.requests == len(proxy.calls) == 8


# --------------------------------------------------------------------------- failures


def test_endpoint_down_is_a_failure_naming_the_call(
    factories: Callable[..., AwsClientFactory],
) -> None:
    with socket.socket() as closed:  # bound, never listening: connections are refused
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
        inv = inventory(f"http://127.0.0.1:{port}", "Z09723983CFJOHAE3VC65", [environment("prod")])
        factory = factories(inv)

        failure = failure_of(collect(inv, factory))

    assert failure.reason.startswith("ec2:DescribeAddresses could not connect after 3 attempts")
    assert "EndpointConnectionError" in failure.reason
    assert f"127.0.0.1:{port}" in failure.reason
    assert factory.requests == 3


def test_unknown_zone_is_a_failure_naming_the_zone_and_where_to_fix_it(
    moto_url: str, factories: Callable[..., AwsClientFactory]
) -> None:
    world = build_world(WorldSpec(environments=(spec("prod"),)), moto_url)
    inv = inventory(moto_url, "Z0000000NOSUCHZONE", declared(world))

    failure = failure_of(collect(inv, factories(inv)))

    assert failure.reason.startswith("route53:ListResourceRecordSets failed (NoSuchHostedZone)")
    assert "Z0000000NOSUCHZONE" in failure.reason
    assert "aws.zone_id" in failure.reason and "fleet.toml" in failure.reason


def test_throttling_that_outlasts_the_retries_is_a_failure(
    moto_url: str,
    proxy: CountingProxy,
    factories: Callable[..., AwsClientFactory],
    no_backoff: None,
) -> None:
    inv = prod_only(moto_url, proxy.url)
    proxy.fail_always(503, "RequestLimitExceeded", "Request limit exceeded.")

    failure = failure_of(collect(inv, factories(inv)))

    assert failure.reason == (
        "ec2:DescribeAddresses throttled after 3 attempts (RequestLimitExceeded): "
        "Request limit exceeded."
    )
    assert proxy.calls == ["ec2:DescribeAddresses"] * 3


def test_unknown_credentials_are_rejected_and_never_echoed(
    moto_url: str,
    factories: Callable[..., AwsClientFactory],
    enforce_iam: Callable[[], None],
) -> None:
    inv = prod_only(moto_url)
    stranger = StaticCredentials("AKIAFLEETBOARDTEST01", "s3cr3t-never-in-a-reason")
    enforce_iam()

    failure = failure_of(collect(inv, factories(inv, stranger)))

    assert failure.reason.startswith(
        "ec2:DescribeAddresses rejected the credentials (AuthFailure): "
        "AWS was not able to validate the provided access credentials"
    )
    assert "s3cr3t" not in failure.reason and "AKIAFLEETBOARDTEST01" not in failure.reason
    assert "s3cr3t" not in repr(stranger) and "s3cr3t" not in str(stranger)


@pytest.mark.parametrize(
    ("allowed", "denied", "code", "said"),
    [
        # Forgot DescribeInstances: EC2 names the action it refused.
        (
            ["ec2:DescribeAddresses"],
            "ec2:DescribeInstances",
            "AccessDenied",
            "not authorized to perform: ec2:DescribeInstances",
        ),
        # moto answers Route 53 denials with an empty 403; the status stands in for the code.
        (
            ["ec2:DescribeAddresses", "ec2:DescribeInstances"],
            "route53:ListResourceRecordSets",
            "HTTP 403",
            "no message in the response",
        ),
    ],
    ids=["ec2-with-its-error-code", "route53-empty-403"],
)
def test_a_denied_call_is_named_with_aws_error_code(
    moto_url: str,
    role_allowing: RoleAllowing,
    allowed: list[str],
    denied: str,
    code: str,
    said: str,
) -> None:
    inv = prod_only(moto_url)
    factory, collector = role_allowing(inv, allowed)

    failure = failure_of(collect(inv, factory))

    assert failure.reason.startswith(f"{denied} denied ({code}): "), failure.reason
    assert said in failure.reason
    assert failure.reason.endswith(f"allow {denied} for the collector's role")
    assert collector.secret_access_key not in failure.reason


# --------------------------------------------------------------------------- the deadline


def test_a_black_holed_endpoint_fails_with_a_timeout_inside_the_deadline(
    black_hole: str, factories: Callable[..., AwsClientFactory]
) -> None:
    inv = inventory(
        black_hole,
        "Z09723983CFJOHAE3VC65",
        [environment("prod")],
        connect_timeout_s=0.2,
        read_timeout_s=0.5,
    )
    factory = factories(inv)

    # One attempt (0.5 s) fits in 2 s with room for a busy machine; a retry after it (backoff
    # up to 1 s, then 0.7 s more) does not.
    failure = failure_of(collect(inv, factory, deadline_s=2.0))

    assert failure.reason.startswith(
        "ec2:DescribeAddresses timed out after 1 attempt (ReadTimeoutError)"
    )
    assert failure.reason.endswith("not retried: the pass deadline was too close")
    assert factory.requests == 1


def test_nothing_is_sent_once_the_deadline_has_passed(
    moto_url: str, proxy: CountingProxy, factories: Callable[..., AwsClientFactory]
) -> None:
    inv = inventory(proxy.url, "Z09723983CFJOHAE3VC65", [environment("prod")])

    failure = failure_of(collect(inv, factories(inv), deadline_s=-1.0))

    assert (
        failure.reason
        == "ec2:DescribeAddresses not sent: the pass deadline had passed (0 requests made)"
    )
    assert proxy.calls == []


# --------------------------------------------------------------------------- client factory


def test_client_factory_builds_one_bounded_client_per_service() -> None:
    settings = AwsSettings(
        region="us-east-1",
        zone=ZONE,
        zone_id="Z09723983CFJOHAE3VC65",
        eip_tag_pattern=PATTERN,
        endpoint_url="http://127.0.0.1:9",
        connect_timeout_s=1.5,
        read_timeout_s=2.5,
    )
    factory = make_aws_client_factory(settings, credentials=DEMO_CREDENTIALS)
    try:
        ec2 = factory("ec2")
        assert factory("ec2") is ec2
        assert factory("route53").meta.service_model.service_name == "route53"
        config = ec2.meta.config
        assert (config.connect_timeout, config.read_timeout) == (1.5, 2.5)  # type: ignore[attr-defined]
        assert config.retries == {"mode": "standard", "total_max_attempts": 3}  # type: ignore[attr-defined]
        assert ec2.meta.region_name == "us-east-1"
        assert ec2.meta.endpoint_url == "http://127.0.0.1:9"
        assert factory.requests == 0
    finally:
        factory.close()
