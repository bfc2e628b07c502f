"""The simulated AWS side of the fleet: a moto server holding instances, tagged EIPs, a zone
and the SSM commands CI's deploys leave behind.

`build_world` seeds a moto server over plain boto3 HTTP calls from a small spec, including the
drift the board must catch (a stopped slot, an EIP with no instance, a record pointing at the
wrong broker, an undeclared slot). It returns what it made, so the demo can write a fleet.toml.

    endpoint, stop = start_moto_server()
    prod = EnvSpec(
        "prod",
        "agentkeys-broker-eip",
        hosts=("broker.litentry.org",),
        deploys=(deploy_comment(9876543210, "main"),),
    )
    world = build_world(WorldSpec(environments=(prod,)), endpoint)
    world.environments["prod"].eip  # a random 127.x.x.x, moto's idea of a public IP
    world.commands[0].requested_at  # when moto says the deploy command was sent
    stop()

What moto's SSM does and does not do (5.2): `send_command` checks neither the instance ids
nor the document, every command is "Success" at once, and a command sent without Targets
goes to every instance in the region (an empty Targets filter matches them all), so each
command here also names its instance as a target; `list_commands` ignores Filters and
MaxResults, never pages, and lists oldest first; RequestedDateTime has millisecond
resolution, so commands here are sent a few milliseconds apart, to be ordered by time.
"""

from __future__ import annotations

import http.client
import logging
import math
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Literal, TypedDict
from urllib.parse import urlsplit

import boto3

from fleetboard.demo import aws_extras, procs
from fleetboard.sources.aws import DEPLOY_DOCUMENT
from fleetboard.sources.awsapi import StaticCredentials

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch import CloudWatchClient
    from mypy_boto3_cloudwatch.type_defs import DimensionTypeDef, MetricDatumTypeDef
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_route53 import Route53Client
    from mypy_boto3_route53.type_defs import ChangeTypeDef
    from mypy_boto3_ssm import SSMClient

#: moto accepts any keys; these only make the requests signable. Not a secret.
DEMO_CREDENTIALS = StaticCredentials(access_key_id="testing", secret_access_key="testing")  # noqa: S106

#: moto does not check image ids; a constant keeps the world reproducible.
_IMAGE_ID = "ami-0fleetb0ard0demo0"

#: Route 53 takes at most 1,000 records per change batch; stay well below it.
_CHANGES_PER_BATCH = 400

EipState = Literal["associated", "unassociated", "absent"]

#: Between two commands: moto stamps RequestedDateTime to the millisecond.
_COMMAND_SPACING_S = 0.002


def deploy_comment(run_id: int | None, ref: str) -> str:
    """The comment CI's deploy step gives its command (docs/fleet.md#ci); an empty
    GITHUB_RUN_ID (run_id None) leaves the two spaces the shell would."""
    return f"gh-ci deploy {run_id if run_id is not None else ''} ref={ref}"


@dataclass(frozen=True, slots=True)
class SsmCommand:
    """A Run Command sent to one environment's instance, e.g. CI's deploy step."""

    comment: str
    document: str = DEPLOY_DOCUMENT


@dataclass(frozen=True, slots=True)
class SentCommand:
    """A command as moto holds it."""

    env: str
    instance_id: str
    command_id: str
    comment: str
    document: str
    requested_at: datetime  # UTC
    status: str


@dataclass(frozen=True, slots=True)
class Load:
    """What CloudWatch holds for a running instance over the last 3 hours, one point per
    5 minutes: CPU around `cpu` %, and the latest credits, memory and disk where given
    (None: not published, as an instance without the CloudWatch agent)."""

    cpu: float = 12.0
    credits: float | None = None
    memory: float | None = None
    disk: float | None = None


@dataclass(frozen=True, slots=True)
class EnvSpec:
    """One environment as AWS holds it: an instance, its tagged EIP and its hosts' A records."""

    name: str
    eip_tag: str  # the EIP's Name tag, e.g. "agentkeys-broker-eip-test-2"
    hosts: tuple[str, ...] = ()  # host names given an A record to this environment's EIP
    instance_type: str = "t3.medium"
    instance_name: str | None = None  # the instance's Name tag; defaults to the env name
    instance: bool = True  # False: no instance at all (a slot torn down by hand)
    stopped: bool = False  # parked by the idle stop
    eip: EipState = "associated"
    #: Drift: host -> name of another environment whose EIP its A record points at instead.
    records_to: Mapping[str, str] = field(default_factory=dict)
    #: Commands sent to the instance, oldest first; a plain string is a comment sent with
    #: AWS-RunShellScript, as CI's deploy step does (see deploy_comment).
    deploys: tuple[SsmCommand | str, ...] = ()
    #: What EC2's status checks, scheduled events and SSM say of the instance (moto keeps
    #: none of it; demo/aws_extras.py answers it). A stopped one's agent is not online.
    host: aws_extras.Host = field(default_factory=aws_extras.Host)
    #: Its CloudWatch figures while running (moto keeps them; sources/metrics.py reads them).
    load: Load = field(default_factory=Load)


@dataclass(frozen=True, slots=True)
class WorldSpec:
    environments: tuple[EnvSpec, ...]
    zone: str = "litentry.org"
    region: str = "us-east-1"
    #: Extra EIP Name tags allocated with no instance and no records (an undeclared slot).
    extra_eip_tags: tuple[str, ...] = ()
    ttl: int = 300


@dataclass(frozen=True, slots=True)
class CreatedEnv:
    name: str
    eip_tag: str
    eip: str | None
    allocation_id: str | None
    instance_id: str | None
    instance_type: str | None
    state: str | None  # "running", "stopped", or None without an instance


@dataclass(frozen=True, slots=True)
class World:
    """What build_world created: enough to write a fleet.toml and to check a pass against."""

    endpoint_url: str
    region: str
    zone: str
    zone_id: str  # without the "/hostedzone/" prefix, as fleet.toml writes it
    environments: dict[str, CreatedEnv]
    extra_eips: dict[str, str]  # Name tag -> public IP
    a_records: dict[str, str]  # host name -> IP, as written
    #: Every command sent, oldest first (strictly increasing requested_at).
    commands: tuple[SentCommand, ...] = ()

    def commands_to(self, env: str) -> tuple[SentCommand, ...]:
        """The commands sent to one environment's instance, oldest first."""
        return tuple(c for c in self.commands if c.env == env)


def start_moto_server() -> tuple[str, Callable[[], None]]:
    """Start moto in a thread on 127.0.0.1 (a free port); return its URL and a stop function.

    The server holds moto's process-wide state: `reset_moto` clears it between scenarios.
    """
    # Heavy, and only the demo and tests need them.
    from moto.moto_server.werkzeug_app import MotoRequestHandler
    from werkzeug.serving import make_server

    # werkzeug logs every request at INFO to stderr unless told otherwise; keep errors only.
    werkzeug_log = logging.getLogger("werkzeug")
    if werkzeug_log.level == logging.NOTSET:
        werkzeug_log.setLevel(logging.WARNING)

    # moto's own server, with what it does not simulate about a machine answered in front
    # of it (demo/aws_extras.py).
    server = make_server(
        "127.0.0.1", 0, aws_extras.make_app(), threaded=True, request_handler=MotoRequestHandler
    )
    thread = threading.Thread(target=server.serve_forever, name="moto", daemon=True)

    def stop() -> None:
        if thread.is_alive():  # shutdown() waits for a loop that never started otherwise
            server.shutdown()
            thread.join()
        server.server_close()  # no socket left listening for connections nobody answers

    try:
        thread.start()
    except BaseException:  # Ctrl-C while it starts: no server left listening
        stop()
        raise
    return f"http://127.0.0.1:{server.server_port}", stop


def start_moto_process() -> tuple[str, Callable[[], None]]:
    """Start moto as a child process on 127.0.0.1; return its URL and a stop function.

    For the benchmark: an in-process moto server shares the interpreter lock with the
    probes it is measured against, which real AWS never does.
    """
    import socket
    import subprocess
    import sys
    import time

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # Its own process group, dying with this process even if it is SIGKILLed (procs).
    child = procs.spawn(
        [sys.executable, "-m", "fleetboard.demo.aws_extras", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"

    def stop() -> None:
        procs.stop(child, grace_s=10)

    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # poll until it answers: a start-up, not a test wait
            if child.poll() is not None:
                raise RuntimeError(f"moto server exited with code {child.returncode}")
            try:
                _moto_api(url, "/moto-api/reset", b"")
                return url, stop
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("moto server did not start within 60 s")
    except BaseException:  # did not start, or Ctrl-C while it did: stop it either way
        stop()
        raise


def reset_moto(endpoint_url: str) -> None:
    """Forget every resource the moto server holds (its `POST /moto-api/reset`)."""
    _moto_api(endpoint_url, "/moto-api/reset", b"")


def set_moto_auth(endpoint_url: str, *, enforced: bool) -> None:
    """Turn moto's IAM checks on (every request is authenticated and authorized) or off."""
    _moto_api(endpoint_url, "/moto-api/reset-auth", b"0" if enforced else b"inf")


def _moto_api(endpoint_url: str, path: str, body: bytes) -> None:
    url = urlsplit(endpoint_url)
    if url.hostname is None or url.port is None:
        raise ValueError(f"moto endpoint {endpoint_url!r} needs a host and a port")
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    try:
        # text/plain: with a form content type the server would consume the body as a form.
        conn.request("POST", path, body=body, headers={"Content-Type": "text/plain"})
        response = conn.getresponse()
        response.read()
        if response.status != 200:
            raise RuntimeError(f"moto {path} answered HTTP {response.status}")
    finally:
        conn.close()


class _ClientArgs(TypedDict):
    """boto3.client()'s keywords for a client of the moto server (typed, so mypy still
    matches each call to its service's client type)."""

    region_name: str
    endpoint_url: str
    aws_access_key_id: str
    aws_secret_access_key: str


def build_world(
    spec: WorldSpec,
    endpoint_url: str,
    *,
    credentials: StaticCredentials = DEMO_CREDENTIALS,
) -> World:
    """Create the spec's instances, EIPs, zone and A records on the moto server at endpoint_url."""
    # Every client of the world talks to the same moto server, in the spec's region, as
    # the same user: one set of arguments.
    moto = _ClientArgs(
        region_name=spec.region,
        endpoint_url=endpoint_url,
        aws_access_key_id=credentials.access_key_id,
        aws_secret_access_key=credentials.secret_access_key,
    )
    ec2: EC2Client = boto3.client("ec2", **moto)
    route53: Route53Client = boto3.client("route53", **moto)

    created = {env.name: _create_environment(ec2, env) for env in spec.environments}
    to_stop = [
        c.instance_id
        for env, c in zip(spec.environments, created.values(), strict=True)
        if env.stopped and c.instance_id
    ]
    if to_stop:
        ec2.stop_instances(InstanceIds=to_stop)
        created = {
            name: replace(c, state="stopped") if c.instance_id in to_stop else c
            for name, c in created.items()
        }

    extra = {tag: _allocate_eip(ec2, tag)[0] for tag in spec.extra_eip_tags}
    aws_extras.set_hosts(endpoint_url, _hosts(spec.environments, created))
    cloudwatch: CloudWatchClient = boto3.client("cloudwatch", **moto)
    _publish_load(cloudwatch, spec.environments, created, datetime.now(UTC))
    cloudwatch.close()

    zone_id = _create_zone(route53, spec.zone)
    records = _a_records(spec.environments, created)
    _write_records(route53, zone_id, records, spec.ttl)

    ssm: SSMClient = boto3.client("ssm", **moto)
    # Asked even with nothing to send: moto builds its SSM backend on first use, ~2 s in a
    # fresh process, which belongs to building the world, not to the first pass over it.
    ssm.list_commands(MaxResults=1)
    commands = _send_commands(ssm, spec.environments, created)
    ssm.close()
    ec2.close()
    route53.close()

    return World(
        endpoint_url=endpoint_url,
        region=spec.region,
        zone=spec.zone,
        zone_id=zone_id,
        environments=created,
        extra_eips=extra,
        a_records=records,
        commands=commands,
    )


def _hosts(
    envs: Sequence[EnvSpec], created: Mapping[str, CreatedEnv]
) -> dict[str, aws_extras.Host]:
    hosts: dict[str, aws_extras.Host] = {}
    for env in envs:
        instance_id = created[env.name].instance_id
        if instance_id is None:
            continue
        host = env.host
        if env.stopped and host.agent is not None and host.agent.ping == "Online":
            host = replace(host, agent=replace(host.agent, ping="ConnectionLost"))
        hosts[instance_id] = host
    return hosts


#: put_metric_data takes at most 1,000 points a request.
_POINTS_PER_PUT = 1000
#: 3 hours of 5-minute steps, as the metrics source reads them.
_LOAD_STEPS = 36


def _publish_load(
    cloudwatch: CloudWatchClient,
    envs: Sequence[EnvSpec],
    created: Mapping[str, CreatedEnv],
    now: datetime,
) -> None:
    points: list[MetricDatumTypeDef] = []
    for env in envs:
        instance_id = created[env.name].instance_id
        if instance_id is None or env.stopped:
            continue
        dims: list[DimensionTypeDef] = [{"Name": "InstanceId", "Value": instance_id}]
        # One point a step on CloudWatch's 5-minute marks (30 s into each), now's step and
        # the 35 before it: a pass in the same step finds a figure in every step of its
        # window wherever in the step its clock is; a later one finds the newest steps not
        # yet published, as CloudWatch shows them, never a figure that was not there before.
        step_began = now.replace(minute=now.minute - now.minute % 5, second=0, microsecond=0)
        for step in range(_LOAD_STEPS):
            at = step_began - timedelta(minutes=5 * step, seconds=-30)
            # A gentle wave around the average, so the card's line has a shape.
            cpu = max(0.0, min(100.0, env.load.cpu * (1 + 0.3 * math.sin(step / 3))))
            points.append(_point("CPUUtilization", dims, at, round(cpu, 1)))
        latest = now - timedelta(minutes=1)
        if env.load.credits is not None:
            points.append(_point("CPUCreditBalance", dims, latest, env.load.credits))
        for metric, value in (
            ("mem_used_percent", env.load.memory),
            ("disk_used_percent", env.load.disk),
        ):
            if value is not None:
                points.append(_point(metric, dims, latest, value))
    by_namespace: dict[str, list[MetricDatumTypeDef]] = {}
    for point in points:
        namespace = "CWAgent" if point["MetricName"].endswith("_percent") else "AWS/EC2"
        by_namespace.setdefault(namespace, []).append(point)
    for namespace, data in by_namespace.items():
        for start in range(0, len(data), _POINTS_PER_PUT):
            cloudwatch.put_metric_data(
                Namespace=namespace, MetricData=data[start : start + _POINTS_PER_PUT]
            )


def _point(
    metric: str, dims: list[DimensionTypeDef], at: datetime, value: float
) -> MetricDatumTypeDef:
    return {"MetricName": metric, "Dimensions": dims, "Timestamp": at, "Value": value}


def _send_commands(
    ssm: SSMClient, envs: Sequence[EnvSpec], created: Mapping[str, CreatedEnv]
) -> tuple[SentCommand, ...]:
    """Send every environment's commands, round by round: the first command of each
    environment (in spec order), then the second of each, and so on, as CI's slots take
    turns. Each is stamped later than the one before it."""
    for env in envs:
        if env.deploys and created[env.name].instance_id is None:
            raise ValueError(f"{env.name}: deploys need an instance to be sent to")
    sent: list[SentCommand] = []
    rounds = max((len(env.deploys) for env in envs), default=0)
    for index in range(rounds):
        for env in envs:
            if index >= len(env.deploys):
                continue
            given = env.deploys[index]
            command = SsmCommand(given) if isinstance(given, str) else given
            instance_id = created[env.name].instance_id
            assert instance_id is not None  # checked above
            if sent:
                time.sleep(_COMMAND_SPACING_S)
            answer = ssm.send_command(
                InstanceIds=[instance_id],
                # Only for moto: it adds every instance an (empty) Targets matches, which is
                # all of them, to each command. AWS takes InstanceIds or Targets, not both.
                Targets=[{"Key": "instance-id", "Values": [instance_id]}],
                DocumentName=command.document,
                Comment=command.comment,
                Parameters={"commands": ["true"]},
            )["Command"]
            if answer.get("InstanceIds") != [instance_id]:
                raise RuntimeError(
                    f"moto sent {command.comment!r} to {answer.get('InstanceIds')}, "
                    f"not just {instance_id}"
                )
            requested = answer.get("RequestedDateTime")
            if requested is None:
                raise RuntimeError("moto's send_command answered without a RequestedDateTime")
            requested = requested.astimezone(UTC)
            if sent and requested <= sent[-1].requested_at:
                raise RuntimeError(
                    f"moto stamped two commands {sent[-1].requested_at} and {requested}: "
                    "their order would be lost"
                )
            sent.append(
                SentCommand(
                    env=env.name,
                    instance_id=instance_id,
                    command_id=answer.get("CommandId", ""),
                    comment=command.comment,
                    document=command.document,
                    requested_at=requested,
                    status=answer.get("Status", "unknown"),
                )
            )
    return tuple(sent)


def _create_environment(ec2: EC2Client, env: EnvSpec) -> CreatedEnv:
    instance_id: str | None = None
    if env.instance:
        reservation = ec2.run_instances(
            ImageId=_IMAGE_ID,
            MinCount=1,
            MaxCount=1,
            InstanceType=env.instance_type,  # type: ignore[arg-type]  # any string, as in fleet.toml
            TagSpecifications=[
                {
                    "ResourceType": "instance",
                    "Tags": [{"Key": "Name", "Value": env.instance_name or env.name}],
                }
            ],
        )
        instance_id = reservation["Instances"][0]["InstanceId"]

    eip: str | None = None
    allocation_id: str | None = None
    if env.eip != "absent":
        eip, allocation_id = _allocate_eip(ec2, env.eip_tag)
        if env.eip == "associated" and instance_id is not None:
            ec2.associate_address(AllocationId=allocation_id, InstanceId=instance_id)

    return CreatedEnv(
        name=env.name,
        eip_tag=env.eip_tag,
        eip=eip,
        allocation_id=allocation_id,
        instance_id=instance_id,
        instance_type=env.instance_type if instance_id else None,
        state="running" if instance_id else None,
    )


def _allocate_eip(ec2: EC2Client, tag: str) -> tuple[str, str]:
    # Tagged at allocation, as the fleet's setup-cloud.sh does (docs/fleet.md#hosts).
    address = ec2.allocate_address(
        Domain="vpc",
        TagSpecifications=[
            {"ResourceType": "elastic-ip", "Tags": [{"Key": "Name", "Value": tag}]},
        ],
    )
    return address["PublicIp"], address["AllocationId"]


def _create_zone(route53: Route53Client, zone: str) -> str:
    hosted = route53.create_hosted_zone(Name=zone, CallerReference=f"fleetboard-demo-{zone}")
    return hosted["HostedZone"]["Id"].rsplit("/", 1)[-1]


def _a_records(envs: Sequence[EnvSpec], created: Mapping[str, CreatedEnv]) -> dict[str, str]:
    records: dict[str, str] = {}
    for env in envs:
        for host in env.hosts:
            target = created[env.records_to.get(host, env.name)]
            if target.eip is not None:  # no EIP, no record: the host simply does not resolve
                records[host] = target.eip
    return records


def _write_records(route53: Route53Client, zone_id: str, records: dict[str, str], ttl: int) -> None:
    changes: list[ChangeTypeDef] = [
        {
            "Action": "UPSERT",
            "ResourceRecordSet": {
                "Name": host,
                "Type": "A",
                "TTL": ttl,
                "ResourceRecords": [{"Value": ip}],
            },
        }
        for host, ip in records.items()
    ]
    for start in range(0, len(changes), _CHANGES_PER_BATCH):
        route53.change_resource_record_sets(
            HostedZoneId=zone_id,
            ChangeBatch={"Changes": changes[start : start + _CHANGES_PER_BATCH]},
        )
