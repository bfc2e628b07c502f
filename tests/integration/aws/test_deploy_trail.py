"""The deploy trail: the newest `gh-ci deploy` SSM command per instance, read with one
`ssm:ListCommands` listing (plus pages) per pass, and the other aws facts standing when it
cannot be read.

moto (5.2) lists commands oldest first, in one page, ignoring Filters and MaxResults. The
counting proxy lists them as AWS does (filtered, newest first, paged: conftest.py), so
tests that are about order or pages go through it; the others also run straight at moto.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta

import pytest
from tests.integration.aws.fleet import (
    BuildFleet,
    CountingProxy,
    built_fleet,
    collect,
    environment,
    facts_of,
    inventory,
    spec,
)

from fleetboard.demo.aws_world import SsmCommand, World, WorldSpec, build_world, deploy_comment
from fleetboard.inventory import Inventory
from fleetboard.model import AwsFacts, DeployFacts
from fleetboard.sources import awsapi
from fleetboard.sources.aws import AwsSource, parse_deploy_comment
from fleetboard.sources.awsapi import AwsClientFactory

LIST_COMMANDS = "ssm:ListCommands"


def instance_of(world: World, env: str) -> str:
    instance_id = world.environments[env].instance_id
    assert instance_id is not None
    return instance_id


def last_deploy(world: World, env: str, run_id: int | None, ref: str) -> DeployFacts:
    """What the trail should say for env: its newest command, with this run id and ref."""
    sent = world.commands_to(env)[-1]
    return DeployFacts(
        instance_id=instance_of(world, env),
        run_id=run_id,
        ref=ref,
        requested_at=sent.requested_at,
        status="Success",  # moto completes every command at once
        comment=sent.comment,
    )


def deploys_of(facts: AwsFacts) -> dict[str, DeployFacts]:
    assert facts.deploy_error is None, facts.deploy_error
    assert facts.deploys is not None
    return facts.deploys


def assert_other_facts_stand(facts: AwsFacts, world: World) -> None:
    """The EIPs, instances and records were read in full although the trail was not."""
    assert {a.public_ip for a in facts.addresses} == {
        e.eip for e in world.environments.values() if e.eip
    }
    assert set(facts.instances) == {
        e.instance_id for e in world.environments.values() if e.instance_id
    }
    assert facts.a_records == {host: (ip,) for host, ip in world.a_records.items()}


# --------------------------------------------------------------------------- the comment


@pytest.mark.parametrize(
    ("comment", "parsed"),
    [
        ("gh-ci deploy 9876543210 ref=main", (9876543210, "main")),
        ("gh-ci deploy 42 ref=feat/multi-broker", (42, "feat/multi-broker")),
        ("gh-ci deploy 42 ref=3f2c1a9e0b7d", (42, "3f2c1a9e0b7d")),
        ("  gh-ci   deploy\t42   ref=main  ", (42, "main")),  # loose spacing
        ("gh-ci deploy  ref=main", (None, "main")),  # GITHUB_RUN_ID was empty
        ("gh-ci deploy ref=main", (None, "main")),
        ("GH-CI Deploy 7 REF=main", (7, "main")),
        ("gh-ci deploy 42", None),  # no ref
        ("gh-ci deploy 42 ref=", None),  # an empty ref names nothing
        ("gh-ci deploy 42 ref=two words", None),
        ("gh-ci deploy abc ref=main", None),  # run ids are numbers
        ("gh-ci deployed 42 ref=main", None),
        ("gh-ci rollback 42 ref=main", None),
        ("deploy 42 ref=main", None),
        ("manual: restart broker", None),
        ("", None),
    ],
)
def test_only_ci_deploy_comments_parse(comment: str, parsed: tuple[int | None, str] | None) -> None:
    assert parse_deploy_comment(comment) == parsed


def test_the_world_writes_the_comment_ci_writes() -> None:
    assert deploy_comment(9876543210, "main") == "gh-ci deploy 9876543210 ref=main"
    assert deploy_comment(None, "main") == "gh-ci deploy  ref=main"


# --------------------------------------------------------------------------- facts


@pytest.mark.parametrize("listed", ["by-moto", "newest-first", "oldest-first-paged"])
def test_the_newest_deploy_per_instance_is_kept_with_run_id_ref_and_time(
    moto_url: str, proxy: CountingProxy, factories: Callable[..., AwsClientFactory], listed: str
) -> None:
    proxy.commands_order = "oldest" if listed == "oldest-first-paged" else "newest"
    world, inv = built_fleet(
        moto_url,
        spec("prod", deploys=(deploy_comment(101, "main"), deploy_comment(104, "main"))),
        spec(
            "test",
            deploys=(
                deploy_comment(102, "feat/a"),
                deploy_comment(105, "feat/b"),
                deploy_comment(106, "fix/c"),
            ),
        ),
        spec("test-2", deploys=(deploy_comment(103, "feat/x"),)),
        endpoint=moto_url if listed == "by-moto" else proxy.url,
    )

    facts = facts_of(collect(inv, factories(inv), source=AwsSource(command_page_size=2)))

    assert deploys_of(facts) == {
        instance_of(world, "prod"): last_deploy(world, "prod", 104, "main"),
        instance_of(world, "test"): last_deploy(world, "test", 106, "fix/c"),
        instance_of(world, "test-2"): last_deploy(world, "test-2", 103, "feat/x"),
    }
    for deploy in deploys_of(facts).values():
        assert deploy.requested_at.utcoffset() == timedelta(0)


def test_commands_of_other_shapes_and_documents_are_ignored(
    moto_url: str, factories: Callable[..., AwsClientFactory]
) -> None:
    world, inv = built_fleet(
        moto_url,
        spec(
            "prod",
            deploys=(
                deploy_comment(201, "main"),
                # All newer than the deploy, none of them one:
                SsmCommand(deploy_comment(202, "main"), document="AWS-RunPatchBaseline"),
                "manual: restart broker",
                "gh-ci deploy 203",
                "gh-ci deploy abc ref=main",
                "gh-ci deployed 204 ref=main",
                "",
            ),
        ),
        spec("test", deploys=("  gh-ci   deploy   42   ref=feature/x  ",)),
        spec("test-2", deploys=(deploy_comment(None, "main"),)),
    )

    deploys = deploys_of(facts_of(collect(inv, factories(inv))))

    prod = deploys[instance_of(world, "prod")]
    assert (prod.run_id, prod.ref, prod.comment) == (201, "main", "gh-ci deploy 201 ref=main")
    assert prod.requested_at == world.commands_to("prod")[0].requested_at
    assert (
        deploys[instance_of(world, "test")].run_id,
        deploys[instance_of(world, "test")].ref,
    ) == (
        42,
        "feature/x",
    )
    assert deploys[instance_of(world, "test-2")].run_id is None
    assert deploys[instance_of(world, "test-2")].ref == "main"


def test_an_instance_never_deployed_is_absent_and_instances_outside_the_fleet_are_left_out(
    moto_url: str, factories: Callable[..., AwsClientFactory]
) -> None:
    world, inv = built_fleet(
        moto_url,
        spec("prod", deploys=(deploy_comment(301, "main"),)),
        spec("test-2", deploys=("manual: restart broker",)),
        spec("test-3"),
        # Not declared and no tagged EIP: the fleet does not know this instance.
        spec("test-9", eip="absent", deploys=(deploy_comment(302, "main"),)),
        declare=("prod", "test-2", "test-3"),
    )

    facts = facts_of(collect(inv, factories(inv)))

    assert set(deploys_of(facts)) == {instance_of(world, "prod")}
    assert instance_of(world, "test-9") not in facts.instances


# --------------------------------------------------------------------------- requests and pages


# One listing a pass serves every instance, however many: test_aws_source.py's
# test_requests_per_pass_do_not_grow_with_the_fleet counts it with the pass's other calls.


#: How far the listing is read, 5 commands a page and at most 4 pages (commands are sent
#: round by round, prod's with ref main and test's with ref feat): the run ids deployed to
#: prod and to test, how the listing is ordered, the ssm:ListCommands calls made, and the
#: newest deploy found per environment.
PAGING = [
    # 24 deploys, two slots taking turns: the newest page of 5 holds both slots' newest.
    pytest.param(
        range(500, 512),
        range(600, 612),
        "newest",
        1,  # of five pages
        {"prod": 511, "test": 611},
        id="stops-once-every-instance-has-its-newest-deploy",
    ),
    # prod was deployed first, then test 30 times: prod's deploy is on the seventh page of 5.
    pytest.param(
        range(700, 701),
        range(800, 830),
        "newest",
        4,
        {"test": 829},
        id="stops-at-the-page-cap-and-an-older-deploy-is-not-seen",
    ),
    # Both slots appear on the first page, but oldest first: stopping there would keep
    # their oldest deploys. The source sees the order and reads on.
    pytest.param(
        range(900, 906),
        range(950, 956),
        "oldest",
        3,  # 12 commands, 5 a page
        {"prod": 905, "test": 955},
        id="a-listing-not-newest-first-is-read-to-the-end",
    ),
]


@pytest.mark.parametrize(("prod_runs", "test_runs", "order", "calls", "newest"), PAGING)
def test_paging_stops_once_every_instance_has_its_newest_deploy_or_at_the_cap(
    build_fleet: BuildFleet,
    proxy: CountingProxy,
    prod_runs: range,
    test_runs: range,
    order: str,
    calls: int,
    newest: dict[str, int],
) -> None:
    refs = {"prod": "main", "test": "feat"}
    world, inv, factory = build_fleet(
        spec("prod", deploys=tuple(deploy_comment(run, refs["prod"]) for run in prod_runs)),
        spec("test", deploys=tuple(deploy_comment(run, refs["test"]) for run in test_runs)),
    )
    proxy.commands_order = order
    source = AwsSource(command_page_size=5, max_command_pages=4)

    facts = facts_of(collect(inv, factory, source=source))

    assert proxy.calls.count(LIST_COMMANDS) == calls
    assert deploys_of(facts) == {
        instance_of(world, env): last_deploy(world, env, run, refs[env])
        for env, run in newest.items()
    }


def test_page_bounds_are_checked() -> None:
    with pytest.raises(ValueError, match=r"command_page_size must be 1\.\.50"):
        AwsSource(command_page_size=51)
    with pytest.raises(ValueError, match="max_command_pages at least 1"):
        AwsSource(max_command_pages=0)


# --------------------------------------------------------------------------- failures


@pytest.mark.parametrize(
    ("status", "code", "message", "xml", "attempts", "reason"),
    [
        (
            400,
            "AccessDeniedException",
            "User: arn:aws:sts::429071895007:assumed-role/collector/fleetboard is not "
            "authorized to perform: ssm:ListCommands because no identity-based policy allows "
            "the ssm:ListCommands action",
            False,
            1,
            "ssm:ListCommands denied (AccessDeniedException): User: arn:aws:sts::429071895007:"
            "assumed-role/collector/fleetboard is not authorized to perform: ssm:ListCommands "
            "because no identity-based policy allows the ssm:ListCommands action — allow "
            "ssm:ListCommands for the collector's role",
        ),
        (
            # moto's answer when its IAM checks deny an SSM call: EC2's XML, status 403.
            403,
            "AccessDenied",
            "User: arn:aws:iam::123456789012:user/collector is not authorized to perform: "
            "ssm:ListCommands",
            True,
            1,
            "ssm:ListCommands denied (AccessDenied): User: arn:aws:iam::123456789012:user/"
            "collector is not authorized to perform: ssm:ListCommands — allow "
            "ssm:ListCommands for the collector's role",
        ),
        (
            400,
            "UnknownOperationException",
            "The operation is not supported in this region",
            False,
            1,
            "ssm:ListCommands failed after 1 attempt (UnknownOperationException): "
            "The operation is not supported in this region",
        ),
        (
            500,
            "InternalServerError",
            "An internal error occurred",
            False,
            3,
            "ssm:ListCommands failed after 3 attempts (InternalServerError): "
            "An internal error occurred",
        ),
    ],
    ids=["denied", "denied-in-xml", "not-available", "server-error"],
)
def test_list_commands_failing_leaves_the_other_facts_standing(
    build_fleet: BuildFleet,
    proxy: CountingProxy,
    no_backoff: None,
    status: int,
    code: str,
    message: str,
    xml: bool,
    attempts: int,
    reason: str,
) -> None:
    world, inv, factory = build_fleet(
        spec("prod", deploys=(deploy_comment(1, "main"),)), spec("test")
    )
    proxy.fail_call(LIST_COMMANDS, status, code, message, xml=xml)

    facts = facts_of(collect(inv, factory))

    assert_other_facts_stand(facts, world)
    assert (facts.deploys, facts.deploy_error) == (None, reason)
    assert proxy.calls.count(LIST_COMMANDS) == attempts
    assert facts.requests == len(proxy.calls) == 3 + attempts


# --------------------------------------------------------------------------- the deadline


def warm(inv: Inventory, factory: AwsClientFactory) -> None:
    """Builds and connects `factory`'s clients, so a short deadline is spent on the calls
    under test, not on a first pass's set-up (loading service models: ~0.5 s)."""
    deploys_of(facts_of(collect(inv, factory)))


def test_list_commands_is_not_sent_once_the_deadline_has_passed(
    build_fleet: BuildFleet, proxy: CountingProxy
) -> None:
    world, inv, factory = build_fleet(spec("prod", deploys=(deploy_comment(1, "main"),)))
    warm(inv, factory)
    sent_before = len(proxy.calls)

    def deadline_passes(**_: object) -> None:  # Route 53 answers, and the deadline is past
        scope = awsapi._SCOPE.get()
        assert scope is not None
        scope.deadline = time.monotonic() - 0.001

    factory("route53").meta.events.register(
        "after-call.route-53.ListResourceRecordSets", deadline_passes, unique_id="test-deadline"
    )
    try:
        facts = facts_of(collect(inv, factory, deadline_s=30.0))
    finally:
        factory("route53").meta.events.unregister(
            "after-call.route-53.ListResourceRecordSets", unique_id="test-deadline"
        )

    assert_other_facts_stand(facts, world)
    assert LIST_COMMANDS not in proxy.calls[sent_before:]
    assert facts.deploys is None
    assert facts.deploy_error == (
        "ssm:ListCommands not sent: the pass deadline had passed (3 requests made)"
    )


def test_a_black_holed_list_commands_times_out_inside_the_deadline(
    build_fleet: BuildFleet, proxy: CountingProxy
) -> None:
    world, inv, factory = build_fleet(
        spec("prod", deploys=(deploy_comment(1, "main"),)),
        connect_timeout_s=0.2,
        read_timeout_s=0.3,
    )
    warm(inv, factory)
    sent_before = len(proxy.calls)
    proxy.hold(LIST_COMMANDS, 5.0)  # released when the next test clears the proxy
    deadline_s = 1.5

    started = time.monotonic()
    facts = facts_of(collect(inv, factory, deadline_s=deadline_s))
    elapsed = time.monotonic() - started

    assert_other_facts_stand(facts, world)
    assert facts.deploys is None
    assert facts.deploy_error is not None
    # One attempt (0.3 s) fits; a retry (backoff up to 1 s, then 0.5 s more) would not.
    assert facts.deploy_error.startswith(
        "ssm:ListCommands timed out after 1 attempt (ReadTimeoutError)"
    )
    assert facts.deploy_error.endswith("not retried: the pass deadline was too close")
    assert proxy.calls[sent_before:].count(LIST_COMMANDS) == 1
    assert elapsed < deadline_s


def test_a_declared_instance_id_counts_as_known(
    moto_url: str, factories: Callable[..., AwsClientFactory]
) -> None:
    # Slot 1 has no EIP but fleet.toml names its instance: its deploys are still read.
    world = build_world(
        WorldSpec(environments=(spec("test", eip="absent", deploys=(deploy_comment(7, "x"),)),)),
        moto_url,
    )
    slot_1 = instance_of(world, "test")
    inv = inventory(moto_url, world.zone_id, [environment("test", instance_id=slot_1)])

    facts = facts_of(collect(inv, factories(inv)))

    assert deploys_of(facts) == {slot_1: last_deploy(world, "test", 7, "x")}
