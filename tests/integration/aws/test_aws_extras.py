"""demo/aws_extras.py, the layer the shared moto server runs behind: what it answers for
ec2:DescribeInstanceStatus and ssm:DescribeInstanceInformation is what its scenario says, as
boto3 reads it; an answer that does not fit botocore's output shape is refused, never sent;
moto's reset forgets the scenario; every other request is moto's own business.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.error import HTTPError
from urllib.request import Request, urlopen

import pytest
from botocore.exceptions import ClientError
from tests.integration.fixtures.aws import moto_client

from fleetboard.demo.aws_extras import AGENT_VERSION, API_PATH, Agent, Event, Host, serialize
from fleetboard.demo.aws_world import EnvSpec, World, WorldSpec, build_world, reset_moto

NOT_BEFORE = datetime(2031, 3, 14, 9, 0, tzinfo=UTC)
RETIREMENT = Event(
    "instance-retirement",
    NOT_BEFORE,
    "The instance is running on degraded hardware",
    NOT_BEFORE + timedelta(hours=2),
)
REBOOT = Event("system-reboot", NOT_BEFORE + timedelta(days=3), "[Completed] reboot")
#: A whole second: SSM's JSON carries times as epoch seconds.
LOST_AT = datetime(2026, 1, 5, 3, 4, 5, tzinfo=UTC)


@pytest.fixture
def clients(moto_url: str) -> Iterator[dict[str, Any]]:
    """boto3 clients of the layer (moto behind it), one attempt each: a refused answer is
    seen as it is, not retried."""
    made = {s: moto_client(s, moto_url, retries={"total_max_attempts": 1}) for s in ("ec2", "ssm")}
    yield made
    for client in made.values():
        client.close()


def world_of(moto_url: str, *envs: EnvSpec) -> World:
    return build_world(WorldSpec(environments=envs), moto_url)


def statuses(ec2: Any) -> dict[str, dict[str, Any]]:
    answer = ec2.describe_instance_status(IncludeAllInstances=True)
    return {item["InstanceId"]: item for item in answer["InstanceStatuses"]}


def agents(ssm: Any) -> dict[str, dict[str, Any]]:
    answer = ssm.describe_instance_information()
    return {item["InstanceId"]: item for item in answer["InstanceInformationList"]}


def post(url: str, body: bytes, **headers: str) -> tuple[int, bytes]:
    request = Request(url, data=body, method="POST", headers=headers)  # loopback
    try:
        with urlopen(request, timeout=10) as answer:
            return answer.status, answer.read()
    except HTTPError as refused:
        return refused.code, refused.read()


# --------------------------------------------------------------------------- the answers


def test_status_checks_and_events_parse_with_boto3_as_the_scenario_says(
    moto_url: str, clients: dict[str, Any]
) -> None:
    world = world_of(
        moto_url,
        EnvSpec(
            "sick",
            "tag-sick",
            host=Host(
                system="impaired",
                instance="insufficient-data",
                ebs="impaired",
                events=(RETIREMENT, REBOOT),
            ),
        ),
        EnvSpec("well", "tag-well"),
        # Checks EC2 cannot run on a stopped instance are not invented for it; events are.
        EnvSpec(
            "parked", "tag-parked", stopped=True, host=Host(system="impaired", events=(REBOOT,))
        ),
    )
    ec2 = clients["ec2"]
    # An instance the scenario has no word on.
    (unlisted,) = ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1)["Instances"]
    ids = {name: env.instance_id or "" for name, env in world.environments.items()}

    found = statuses(ec2)

    assert set(found) == {*ids.values(), unlisted["InstanceId"]}
    sick = found[ids["sick"]]
    assert sick["InstanceState"]["Name"] == "running"
    system, ebs = sick["SystemStatus"], sick["AttachedEbsStatus"]
    for summary in (system, ebs):
        assert summary["Status"] == "impaired"
        ((detail),) = summary["Details"]
        assert (detail["Name"], detail["Status"]) == ("reachability", "failed")
        assert detail["ImpairedSince"] < datetime.now(UTC)
    assert sick["InstanceStatus"] == {
        "Status": "insufficient-data",
        "Details": [{"Name": "reachability", "Status": "insufficient-data"}],
    }
    assert [
        (e["Code"], e["Description"], e["NotBefore"], e.get("NotAfter")) for e in sick["Events"]
    ] == [(e.code, e.description, e.not_before, e.not_after) for e in (RETIREMENT, REBOOT)]
    well = found[ids["well"]]
    assert (well["SystemStatus"]["Status"], well["InstanceStatus"]["Status"]) == ("ok", "ok")
    assert "AttachedEbsStatus" not in well and "Events" not in well
    parked = found[ids["parked"]]
    assert parked["InstanceState"]["Name"] == "stopped"
    assert parked["SystemStatus"]["Status"] == "not-applicable"  # moto's, not the scenario's
    assert [e["Code"] for e in parked["Events"]] == ["system-reboot"]
    other = found[unlisted["InstanceId"]]
    assert (other["SystemStatus"]["Status"], other["InstanceStatus"]["Status"]) == ("ok", "ok")
    assert "Events" not in other


def test_launch_times_are_the_scenario_s_and_the_rest_of_the_answer_moto_s(
    moto_url: str, clients: dict[str, Any]
) -> None:
    """The demo's idle slot started hours before the demo: EC2's LaunchTime says so; an
    instance the scenario does not date keeps moto's, and nothing else in moto's answer
    changes."""
    started = datetime(2026, 1, 5, 3, 4, 5, tzinfo=UTC)
    ec2 = clients["ec2"]
    before = datetime.now(UTC).replace(microsecond=0)
    world = world_of(
        moto_url,
        EnvSpec("idle", "tag-idle", host=Host(launched=started)),
        EnvSpec("fresh", "tag-fresh"),
    )
    ids = {name: env.instance_id or "" for name, env in world.environments.items()}

    answer = ec2.describe_instances()

    found = {i["InstanceId"]: i for r in answer["Reservations"] for i in r["Instances"]}
    assert set(found) == set(ids.values())
    assert found[ids["idle"]]["LaunchTime"] == started
    assert found[ids["fresh"]]["LaunchTime"] >= before  # moto's: when the world was built
    for instance in found.values():  # the rest is moto's, read by boto3 as before
        assert instance["State"]["Name"] == "running"
        assert instance["InstanceType"] and instance["ImageId"]
    filtered = ec2.describe_instances(InstanceIds=[ids["idle"]])["Reservations"]
    assert [i["LaunchTime"] for r in filtered for i in r["Instances"]] == [started]


def test_agents_parse_with_boto3_as_the_scenario_says(
    moto_url: str, clients: dict[str, Any]
) -> None:
    world = world_of(
        moto_url,
        EnvSpec("online", "tag-online"),
        EnvSpec("lost", "tag-lost", host=Host(agent=Agent("ConnectionLost", LOST_AT, "3.2.582.0"))),
        EnvSpec("unmanaged", "tag-unmanaged", host=Host(agent=None)),
        # A stopped machine's agent cannot be online, whatever the spec says.
        EnvSpec("parked", "tag-parked", stopped=True),
    )
    ids = {name: env.instance_id or "" for name, env in world.environments.items()}

    found = agents(clients["ssm"])

    assert set(found) == {ids["online"], ids["lost"], ids["parked"]}
    online, lost = found[ids["online"]], found[ids["lost"]]
    assert (online["PingStatus"], online["AgentVersion"], online["IsLatestVersion"]) == (
        "Online",
        AGENT_VERSION,
        True,
    )
    assert online["LastPingDateTime"] <= datetime.now(UTC)
    assert (
        lost["PingStatus"],
        lost["LastPingDateTime"],
        lost["AgentVersion"],
        lost["IsLatestVersion"],
    ) == ("ConnectionLost", LOST_AT, "3.2.582.0", False)
    assert found[ids["parked"]]["PingStatus"] == "ConnectionLost"
    assert {i["ResourceType"] for i in found.values()} == {"EC2Instance"}


# --------------------------------------------------------------------------- refused shapes


@pytest.mark.parametrize(
    ("service", "operation", "answer", "problem"),
    [
        (
            "ec2",
            "DescribeInstanceStatus",
            {"InstanceStatuses": [{"InstanceId": "i-1", "SystemStatus": {"Status": 3}}]},
            "Invalid type for parameter InstanceStatuses[0].SystemStatus.Status, value: 3",
        ),
        (
            "ec2",
            "DescribeInstanceStatus",
            {"InstanceStatuses": [{"InstanceId": "i-1", "Events": {"Code": "system-reboot"}}]},
            "Invalid type for parameter InstanceStatuses[0].Events",
        ),
        (
            "ssm",
            "DescribeInstanceInformation",
            {"InstanceInformationList": [{"InstanceId": "i-1", "PingStaus": "Online"}]},
            'Unknown parameter in InstanceInformationList[0]: "PingStaus"',
        ),
        (
            "ssm",
            "DescribeInstanceInformation",
            {"InstanceInformationList": [{"InstanceId": "i-1", "LastPingDateTime": "lately"}]},
            "Invalid type for parameter InstanceInformationList[0].LastPingDateTime",
        ),
        (
            "ssm",
            "DescribeInstanceInformation",
            {"InstanceInformationList": [{"InstanceId": "i-1", "IsLatestVersion": "yes"}]},
            "Invalid type for parameter InstanceInformationList[0].IsLatestVersion",
        ),
        # Words AWS never sends: botocore's validator leaves enums alone, the layer does not.
        (
            "ec2",
            "DescribeInstanceStatus",
            {"InstanceStatuses": [{"InstanceId": "i-1", "SystemStatus": {"Status": "purple"}}]},
            "InstanceStatuses[0].SystemStatus.Status: 'purple' is not one of",
        ),
        (
            "ssm",
            "DescribeInstanceInformation",
            {"InstanceInformationList": [{"InstanceId": "i-1", "PingStatus": "Sleeping"}]},
            "InstanceInformationList[0].PingStatus: 'Sleeping' is not one of",
        ),
    ],
    ids=[
        "status-not-a-string",
        "events-not-a-list",
        "misspelt-member",
        "time-not-a-time",
        "flag-not-a-bool",
        "status-word-ec2-never-sends",
        "ping-word-ssm-never-sends",
    ],
)
def test_an_answer_that_does_not_fit_botocore_s_shape_is_refused_naming_the_problem(
    service: str, operation: str, answer: dict[str, Any], problem: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(problem)) as refused:
        serialize(service, operation, answer)
    assert str(refused.value).startswith(f"{service}:{operation} answer does not fit its shape")


def test_an_answer_that_fits_is_written_in_the_service_s_own_protocol() -> None:
    xml, xml_type = serialize("ec2", "DescribeInstanceStatus", {"InstanceStatuses": []})
    body, json_type = serialize(
        "ssm", "DescribeInstanceInformation", {"InstanceInformationList": []}
    )
    assert xml.lstrip().startswith(b"<?xml") and b"<DescribeInstanceStatusResponse" in xml
    assert "xml" in xml_type
    assert json.loads(body) == {"InstanceInformationList": []}
    assert json_type == "application/x-amz-json-1.1"


def pings(ssm: Any) -> dict[str, str]:
    return {i: a["PingStatus"] for i, a in agents(ssm).items()}


@pytest.mark.parametrize(
    "body",
    [
        b"instances: all of them",
        b'{"instances": ["i-0123456789abcdef0"]}',
        # One good host beside a bad one: neither is taken.
        b'{"instances": {"i-0123456789abcdef0": {"agent": {"ping": "Online"}}, "i-0bad": 3}}',
        # Well-formed JSON whose answers would not fit EC2's or SSM's shapes: refused when
        # set, rather than breaking every call after it.
        b'{"instances": {"i-0123456789abcdef0": {"ebs": 5}}}',
        b'{"instances": {"i-0123456789abcdef0": {"instance": "purple"}}}',
        b'{"instances": {"i-0123456789abcdef0": {"agent": {"ping": "Sleeping"}}}}',
    ],
    ids=[
        "not-json",
        "not-a-mapping",
        "one-host-not-an-object",
        "ebs-not-a-word",
        "status-ec2-never-sends",
        "ping-ssm-never-sends",
    ],
)
def test_a_malformed_scenario_is_refused_and_changes_nothing(
    moto_url: str, clients: dict[str, Any], body: bytes
) -> None:
    world = world_of(
        moto_url, EnvSpec("lost", "tag-lost", host=Host(agent=Agent("ConnectionLost")))
    )

    status, said = post(moto_url + API_PATH, body, **{"Content-Type": "application/json"})

    assert status == 400 and said
    assert pings(clients["ssm"]) == {world.environments["lost"].instance_id: "ConnectionLost"}


def test_a_malformed_agent_listing_request_is_refused_as_ssm_refuses_one(moto_url: str) -> None:
    status, said = post(
        moto_url + "/",
        b'{"MaxResults": "many"}',
        **{
            "X-Amz-Target": "AmazonSSM.DescribeInstanceInformation",
            "Content-Type": "application/x-amz-json-1.1",
        },
    )
    assert status == 400
    assert json.loads(said)["__type"] == "ValidationException"


# --------------------------------------------------------------------------- reset, pass-through


def test_moto_s_reset_forgets_the_scenario_with_everything_else(
    moto_url: str, clients: dict[str, Any]
) -> None:
    world = world_of(
        moto_url, EnvSpec("lost", "tag-lost", host=Host(agent=Agent("ConnectionLost")))
    )
    assert list(agents(clients["ssm"])) == [world.environments["lost"].instance_id]

    reset_moto(moto_url)

    assert agents(clients["ssm"]) == {}  # the layer's scenario
    assert statuses(clients["ec2"]) == {}  # moto's own state: the reset reached it too


def test_every_other_request_is_moto_s_own(moto_url: str, clients: dict[str, Any]) -> None:
    world = world_of(
        moto_url,
        EnvSpec("prod", "tag-prod", hosts=("broker.litentry.org",), deploys=("deploy pr-7",)),
    )
    prod = world.environments["prod"]
    ec2, ssm = clients["ec2"], clients["ssm"]

    # EC2's query protocol, another action.
    reservations = ec2.describe_instances(InstanceIds=[prod.instance_id])["Reservations"]
    assert [i["InstanceId"] for r in reservations for i in r["Instances"]] == [prod.instance_id]
    # SSM's JSON protocol, another target.
    commands = ssm.list_commands()["Commands"]
    assert [c["Comment"] for c in commands] == ["deploy pr-7"]
    # Route 53's REST protocol.
    route53 = moto_client("route53", moto_url)
    records = route53.list_resource_record_sets(HostedZoneId=world.zone_id)["ResourceRecordSets"]
    route53.close()
    assert {r["Name"] for r in records if r["Type"] == "A"} == {"broker.litentry.org."}
    # A request body the layer read (to find the call) reaches moto whole.
    s3 = moto_client("s3", moto_url)
    payload = bytes(range(256)) * 64
    s3.create_bucket(Bucket="fleetboard-extras")
    s3.put_object(Bucket="fleetboard-extras", Key="k", Body=payload)
    got = s3.get_object(Bucket="fleetboard-extras", Key="k")["Body"].read()
    s3.close()
    assert got == payload
    # moto's error for the one call the layer rewrites is passed on as moto gave it.
    with pytest.raises(ClientError) as refused:
        ec2.describe_instance_status(InstanceIds=["i-0000000000000000f"])
    assert refused.value.response["Error"]["Code"] == "InvalidInstanceID.NotFound"
