"""The simulated AWS world: what build_world creates (deploy commands included), and the moto
server's start and stop."""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

import pytest
from tests.integration.aws.fleet import built_fleet, spec
from tests.integration.fixtures.aws import moto_client

from fleetboard.demo.aws_world import (
    EnvSpec,
    SsmCommand,
    WorldSpec,
    build_world,
    deploy_comment,
    start_moto_server,
)


def test_moto_server_listens_on_loopback_only_and_stops_cleanly() -> None:
    url, stop = start_moto_server()
    parts = urlsplit(url)
    assert parts.hostname == "127.0.0.1"
    assert parts.port is not None
    with socket.create_connection(("127.0.0.1", parts.port), timeout=2):
        pass

    stop()

    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", parts.port), timeout=2).close()


def test_world_holds_instances_tagged_eips_records_and_drift(moto_url: str) -> None:
    world_spec = WorldSpec(
        environments=(
            EnvSpec("prod", "agentkeys-broker-eip", hosts=("broker.litentry.org",)),
            EnvSpec(
                "test-2",
                "agentkeys-broker-eip-test-2",
                hosts=("broker-test-2.litentry.org", "audit-test-2.litentry.org"),
                instance_type="t3.small",
                stopped=True,
                # The #201 drift: a worker record left pointing at prod's broker.
                records_to={"audit-test-2.litentry.org": "prod"},
            ),
            EnvSpec("test-3", "agentkeys-broker-eip-test-3", eip="unassociated"),
            EnvSpec(
                "test-4",
                "agentkeys-broker-eip-test-4",
                hosts=("broker-test-4.litentry.org",),
                eip="absent",
            ),
        ),
        extra_eip_tags=("agentkeys-broker-eip-test-9",),
    )

    world = build_world(world_spec, moto_url)

    prod, slot_2, slot_3, slot_4 = (
        world.environments[n] for n in ("prod", "test-2", "test-3", "test-4")
    )
    assert world.a_records == {
        "broker.litentry.org": prod.eip,
        "broker-test-2.litentry.org": slot_2.eip,
        "audit-test-2.litentry.org": prod.eip,
    }  # test-4 has no EIP, so its broker has no record
    assert (slot_2.state, slot_2.instance_type) == ("stopped", "t3.small")
    assert slot_3.eip is not None and slot_3.instance_id is not None  # both, not joined
    assert slot_4.eip is None and slot_4.instance_id is not None

    ec2 = moto_client("ec2", moto_url, world.region)
    addresses = {
        tag["Value"]: address
        for address in ec2.describe_addresses()["Addresses"]
        for tag in address.get("Tags", [])
        if tag["Key"] == "Name"
    }
    assert set(addresses) == {
        "agentkeys-broker-eip",
        "agentkeys-broker-eip-test-2",
        "agentkeys-broker-eip-test-3",
        "agentkeys-broker-eip-test-9",
    }
    assert addresses["agentkeys-broker-eip-test-2"].get("InstanceId") == slot_2.instance_id
    assert not addresses["agentkeys-broker-eip-test-3"].get("InstanceId")
    assert (
        addresses["agentkeys-broker-eip-test-9"]["PublicIp"]
        == world.extra_eips["agentkeys-broker-eip-test-9"]
    )
    reservations = ec2.describe_instances(InstanceIds=[slot_2.instance_id or ""])["Reservations"]
    (instance,) = reservations[0]["Instances"]
    assert instance["State"]["Name"] == "stopped"
    assert {"Key": "Name", "Value": "test-2"} in instance.get("Tags", [])
    ec2.close()

    route53 = moto_client("route53", moto_url, world.region)
    zone = route53.get_hosted_zone(Id=world.zone_id)["HostedZone"]
    assert zone["Name"] == "litentry.org."
    route53.close()


def test_deploys_are_sent_round_by_round_each_to_its_own_instance(moto_url: str) -> None:
    patch = SsmCommand("patch", document="AWS-RunPatchBaseline")

    world, _ = built_fleet(
        moto_url,
        spec("prod", deploys=("gh-ci deploy 1 ref=main",)),
        spec("test-2", deploys=(deploy_comment(2, "feat/a"), patch)),
        spec("test-3"),
    )

    assert [(c.env, c.comment, c.document) for c in world.commands] == [
        ("prod", "gh-ci deploy 1 ref=main", "AWS-RunShellScript"),
        ("test-2", "gh-ci deploy 2 ref=feat/a", "AWS-RunShellScript"),
        ("test-2", "patch", "AWS-RunPatchBaseline"),
    ]
    times = [c.requested_at for c in world.commands]
    assert times == sorted(set(times))  # strictly increasing
    assert world.commands_to("test-3") == ()

    ssm = moto_client("ssm", moto_url, world.region)
    # What moto does with ListCommands: the filter and the page size are ignored, there is
    # no NextToken, and the oldest comes first (AWS lists the newest first). The counting
    # proxy in conftest.py does what AWS does for the source's tests.
    listed = ssm.list_commands(
        Filters=[{"key": "DocumentName", "value": "AWS-RunShellScript"}], MaxResults=1
    )
    assert "NextToken" not in listed
    assert [(c.get("CommandId"), c.get("InstanceIds")) for c in listed["Commands"]] == [
        (c.command_id, [world.environments[c.env].instance_id]) for c in world.commands
    ]
    ssm.close()


def test_deploys_need_an_instance(moto_url: str) -> None:
    gone = EnvSpec("test-4", "agentkeys-broker-eip-test-4", instance=False, deploys=("x",))

    with pytest.raises(ValueError, match="test-4: deploys need an instance"):
        build_world(WorldSpec(environments=(gone,)), moto_url)
