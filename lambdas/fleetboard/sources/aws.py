"""The aws source: Elastic IPs by Name tag, the instances behind them, the zone's A records,
and the deploy trail (the newest CI deploy command per instance).

A pass makes the same few requests whatever the fleet size (docs/design.md#requests): one
`ec2:DescribeAddresses`, one `ec2:DescribeInstances` (plus pages), the pages of one
`route53:ListResourceRecordSets` and of one `ssm:ListCommands` (at most MAX_DEPLOY_PAGES).
Failures come back as a `SourceFailure` whose reason names the call and AWS's error code,
never as an exception; the deploy trail alone is optional: when ListCommands fails, the
other facts stand, with `AwsFacts.deploys = None` and the reason in `deploy_error`.

The clients, the deadline, the check that every answer is AWS's own (an HTML page read as
"no resources" would make every environment "missing") and the failure reasons are
sources/awsapi.py's, shared with the other sources that read AWS.

    clients = make_aws_client_factory(inventory.aws)  # once, at module scope
    ctx = PassContext(deadline=time.monotonic() + 20, aws_client=clients)
    facts = AwsSource().collect(inventory, ctx)  # AwsFacts | SourceFailure
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar

from fleetboard.inventory import Inventory
from fleetboard.model import AddressFacts, AwsFacts, DeployFacts, InstanceFacts, SourceFailure
from fleetboard.sources import PassContext
from fleetboard.sources.awsapi import (
    AWS_FAILURES,
    PassScope,
    chunks,
    default_factory,
    expect,
    failure_of,
    instrument_client,
    pass_scope,
    tag,
)

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_ec2.type_defs import AddressTypeDef, InstanceTypeDef
    from mypy_boto3_route53 import Route53Client
    from mypy_boto3_route53.type_defs import PaginatorConfigTypeDef
    from mypy_boto3_ssm import SSMClient
    from mypy_boto3_ssm.type_defs import CommandTypeDef

logger = logging.getLogger(__name__)

#: The calls this source makes, as IAM spells them (messages and the role's policy use these).
DESCRIBE_ADDRESSES = "ec2:DescribeAddresses"
DESCRIBE_INSTANCES = "ec2:DescribeInstances"
LIST_RECORD_SETS = "route53:ListResourceRecordSets"
LIST_COMMANDS = "ssm:ListCommands"

#: The SSM document CI's deploy step runs (docs/fleet.md#ci); ListCommands is filtered to it.
DEPLOY_DOCUMENT = "AWS-RunShellScript"

#: ListCommands' largest page: its MaxResults takes 1 to 50.
COMMANDS_PAGE_SIZE = 50

#: ListCommands pages read at most per pass: the newest 200 shell commands of the account and
#: region. Paging stops earlier, usually after the first page, once every known instance has
#: its newest deploy (the list comes newest first). The cap only bites when some instance
#: has no deploy among the newest 200 (a slot parked for weeks): it then shows no deploy
#: rather than costing a page per 50 commands every minute. SSM keeps 30 days of commands
#: anyway, so nothing older is ever listed.
MAX_DEPLOY_PAGES = 4


#: reference gives none), so more instance ids than that go in a second DescribeInstances.
#: Only a fleet of 200+ hosts pays for it, far beyond today's handful.
_FILTER_VALUES_LIMIT = 200


# --------------------------------------------------------------------------- the source


class AwsSource:
    """EIPs by Name tag, their instances, the zone's A records and the last deploy to each
    instance, in a constant number of calls."""

    name: ClassVar[str] = "aws"
    needs: ClassVar[tuple[str, ...]] = ()
    wants: ClassVar[tuple[str, ...]] = ()

    def __init__(
        self,
        *,
        record_page_size: int | None = None,
        command_page_size: int = COMMANDS_PAGE_SIZE,
        max_command_pages: int = MAX_DEPLOY_PAGES,
    ) -> None:
        # None: Route 53's own page size (300, its maximum). Tests pass a small one.
        self._record_page_size = record_page_size
        if not 1 <= command_page_size <= COMMANDS_PAGE_SIZE or max_command_pages < 1:
            raise ValueError(
                f"command_page_size must be 1..{COMMANDS_PAGE_SIZE} and max_command_pages "
                f"at least 1, not {command_page_size} and {max_command_pages}"
            )
        self._command_page_size = command_page_size
        self._max_command_pages = max_command_pages

    def collect(self, inventory: Inventory, ctx: PassContext) -> AwsFacts | SourceFailure:
        """Return this pass's AwsFacts, or a SourceFailure naming the call that failed.

        Honours ctx.deadline: no request starts after it, no retry starts that could not
        finish before it, and no read waits past it. botocore bounds each read, not a whole
        answer: a body trickling in faster than one byte per read timeout can still overrun
        the deadline, and then the pass abandons the source (collect.py).
        """
        clients: Callable[[str], Any] = ctx.aws_client or default_factory(inventory.aws)
        with pass_scope(ctx.deadline) as scope:
            call = DESCRIBE_ADDRESSES
            try:
                ec2: EC2Client = clients("ec2")
                instrument_client(ec2)
                addresses = _describe_addresses(ec2, inventory.aws.eip_tag_pattern)

                call = DESCRIBE_INSTANCES
                wanted = {a.instance_id for a in addresses if a.instance_id}
                wanted |= {e.instance_id for e in inventory.environments if e.instance_id}
                instances = _describe_instances(ec2, sorted(wanted))

                call = LIST_RECORD_SETS
                route53: Route53Client = clients("route53")
                instrument_client(route53)
                a_records = _list_a_records(route53, inventory.aws.zone_id, self._record_page_size)
            except AWS_FAILURES as exc:
                return failure_of(self.name, call, exc, scope, inventory)
            except Exception as exc:  # a bug here, not an AWS answer: say so, keep the pass going
                logger.exception("aws source failed inside %s", call)
                return SourceFailure(
                    source=self.name,
                    reason=f"internal error during {call} ({type(exc).__name__}); see the logs",
                )
            # After everything else, in the same pass and deadline: a trail that cannot be read
            # leaves the facts above standing.
            deploys, deploy_error = self._deploy_trail(clients, set(instances), scope, inventory)
            return AwsFacts(
                addresses=addresses,
                instances=instances,
                a_records=a_records,
                requests=scope.requests,
                deploys=deploys,
                deploy_error=deploy_error,
            )

    def _deploy_trail(
        self,
        clients: Callable[[str], Any],
        known: set[str],
        scope: PassScope,
        inventory: Inventory,
    ) -> tuple[dict[str, DeployFacts] | None, str | None]:
        """The newest deploy per known instance, or (None, why the trail was not read)."""
        if not known:  # no instance to attribute a deploy to: no request either
            return {}, None
        scope.attempts, scope.retry_withheld = 0, False
        try:
            ssm: SSMClient = clients("ssm")
            instrument_client(ssm)
            return (
                _list_deploys(ssm, known, self._command_page_size, self._max_command_pages),
                None,
            )
        except AWS_FAILURES as exc:
            return None, failure_of(self.name, LIST_COMMANDS, exc, scope, inventory).reason
        except Exception as exc:  # a bug in the trail must not cost the pass its other facts
            logger.exception("aws source failed inside %s", LIST_COMMANDS)
            return None, (
                f"internal error during {LIST_COMMANDS} ({type(exc).__name__}); see the logs"
            )


# --------------------------------------------------------------------------- the calls


def _describe_addresses(ec2: EC2Client, pattern: str) -> tuple[AddressFacts, ...]:
    # One call: DescribeAddresses has no paginator and returns every match. The tag filter does
    # the discovery; the exact tag value is kept so rules never take a first match (#201).
    response = ec2.describe_addresses(Filters=[{"Name": "tag:Name", "Values": [pattern]}])
    expect(response, "Addresses")
    found = [fact for a in response.get("Addresses", []) if (fact := _address(a)) is not None]
    return tuple(sorted(found, key=lambda a: (a.tag, a.public_ip)))


def _address(address: AddressTypeDef) -> AddressFacts | None:
    name = tag(address.get("Tags", []), "Name")
    public_ip = address.get("PublicIp")
    if name is None or not public_ip:
        return None
    return AddressFacts(
        public_ip=public_ip,
        tag=name,
        allocation_id=address.get("AllocationId") or None,
        # An unassociated EIP may carry "" rather than no key at all (moto does).
        instance_id=address.get("InstanceId") or None,
    )


def _describe_instances(ec2: EC2Client, instance_ids: list[str]) -> dict[str, InstanceFacts]:
    # An `instance-id` filter, not InstanceIds=: with InstanceIds one id that no longer exists
    # (a retired slot still in fleet.toml) fails the whole call with InvalidInstanceID.NotFound;
    # a filter just leaves it out.
    instances: dict[str, InstanceFacts] = {}
    paginator = ec2.get_paginator("describe_instances")
    for chunk in chunks(instance_ids, _FILTER_VALUES_LIMIT):
        pages = paginator.paginate(Filters=[{"Name": "instance-id", "Values": chunk}])
        for page in pages:
            expect(page, "Reservations")
            for reservation in page.get("Reservations", []):
                for instance in reservation.get("Instances", []):
                    fact = _instance(instance)
                    if fact is not None:
                        instances[fact.instance_id] = fact
    return instances


def _instance(instance: InstanceTypeDef) -> InstanceFacts | None:
    instance_id = instance.get("InstanceId")
    if not instance_id:
        return None
    launched = instance.get("LaunchTime")
    return InstanceFacts(
        instance_id=instance_id,
        state=instance.get("State", {}).get("Name", "unknown"),
        instance_type=instance.get("InstanceType", "unknown"),
        # botocore parses times into the local zone; the model keeps UTC.
        launched_at=launched.astimezone(UTC) if launched is not None else None,
        name=tag(instance.get("Tags", []), "Name"),
    )


def _list_a_records(
    route53: Route53Client, zone_id: str, page_size: int | None
) -> dict[str, tuple[str, ...]]:
    records: dict[str, list[str]] = {}
    paginator = route53.get_paginator("list_resource_record_sets")
    config: PaginatorConfigTypeDef = {"PageSize": page_size} if page_size else {}
    for page in paginator.paginate(HostedZoneId=zone_id, PaginationConfig=config):
        expect(page, "ResourceRecordSets")
        for record_set in page.get("ResourceRecordSets", []):
            # A records only: the rules compare hosts with EIPs. Alias A records carry a target
            # name, not addresses, and are left out; so are SOA/NS (moto garbles its SOA).
            if record_set.get("Type") != "A":
                continue
            values = [r["Value"] for r in record_set.get("ResourceRecords", []) if "Value" in r]
            if not values:
                continue
            # Weighted or latency sets repeat a name: merge their addresses.
            ips = records.setdefault(normalise_record_name(record_set["Name"]), [])
            ips.extend(v for v in values if v not in ips)
    return {name: tuple(ips) for name, ips in records.items()}


def _list_deploys(
    ssm: SSMClient, known: set[str], page_size: int, max_pages: int
) -> dict[str, DeployFacts]:
    # One listing across all instances (no InstanceId), so a pass costs the same for 3 or 60
    # of them. The DocumentName filter keeps other documents' commands off the pages; the
    # document is checked again below, as moto (and any proxy) may ignore the filter.
    newest: dict[str, DeployFacts] = {}
    # Early stopping needs the list newest first, which AWS does but does not document:
    # any command newer than the one before it turns early stopping off for this pass.
    newest_first = True
    previous: datetime | None = None
    paginator = ssm.get_paginator("list_commands")
    pages = paginator.paginate(
        Filters=[{"key": "DocumentName", "value": DEPLOY_DOCUMENT}],
        PaginationConfig={"PageSize": page_size},
    )
    for number, page in enumerate(pages, start=1):
        expect(page, "Commands")
        for command in page.get("Commands", []):
            requested = command.get("RequestedDateTime")
            if requested is None:
                continue
            if previous is not None and requested > previous:
                newest_first = False
            previous = requested
            for deploy in _deploys(command, known):
                held = newest.get(deploy.instance_id)
                # Same instant: the one listed first stands (newest first, as AWS lists).
                if held is None or deploy.requested_at > held.requested_at:
                    newest[deploy.instance_id] = deploy
        if number >= max_pages or (newest_first and newest.keys() >= known):
            break  # the paginator is lazy: no further page is requested
    return newest


def _deploys(command: CommandTypeDef, known: set[str]) -> Iterator[DeployFacts]:
    """The command as a deploy to each known instance it was sent to; nothing if it is not a
    `gh-ci deploy` command. Commands sent by tag (Targets) list no instance ids and are
    skipped: telling their instances apart would take a ListCommandInvocations per command.
    """
    if command.get("DocumentName") != DEPLOY_DOCUMENT:
        return
    comment = command.get("Comment", "")
    parsed = parse_deploy_comment(comment)
    requested = command.get("RequestedDateTime")
    if parsed is None or requested is None:
        return
    run_id, ref = parsed
    for instance_id in dict.fromkeys(command.get("InstanceIds", [])):
        if instance_id in known:
            yield DeployFacts(
                instance_id=instance_id,
                run_id=run_id,
                ref=ref,
                # botocore parses times into the local zone; the model keeps UTC.
                requested_at=requested.astimezone(UTC),
                status=command.get("Status", "unknown"),
                comment=comment,
            )


#: `gh-ci deploy ${GITHUB_RUN_ID} ref=${DEPLOY_REF}` (docs/fleet.md#ci), spaced loosely; an empty
#: GITHUB_RUN_ID leaves no run id. The ref is one token: a branch name or a sha.
_DEPLOY_COMMENT = re.compile(
    r"^\s*gh-ci\s+deploy(?:\s+(?P<run_id>\d+))?\s+ref=(?P<ref>\S+)\s*$", re.IGNORECASE
)


def parse_deploy_comment(comment: str) -> tuple[int | None, str] | None:
    """(run id, ref) from a CI deploy command's comment; None for any other comment.

    >>> parse_deploy_comment("gh-ci deploy 9876543210 ref=feat/slots")
    (9876543210, 'feat/slots')
    >>> parse_deploy_comment("gh-ci deploy  ref=main")  # GITHUB_RUN_ID was empty
    (None, 'main')
    >>> parse_deploy_comment("restart broker") is None
    True
    """
    match = _DEPLOY_COMMENT.match(comment)
    if match is None:
        return None
    run_id = match.group("run_id")
    return (int(run_id) if run_id else None), match.group("ref")


_OCTAL_ESCAPE = re.compile(r"\\(\d{3})")


def normalise_record_name(name: str) -> str:
    """Route 53's record name as the inventory writes host names.

    >>> normalise_record_name("Broker-Test-2.Litentry.org.")
    'broker-test-2.litentry.org'
    >>> normalise_record_name("\\\\052.litentry.org.")  # Route 53 escapes '*' as \\052
    '*.litentry.org'
    """
    name = _OCTAL_ESCAPE.sub(lambda m: chr(int(m.group(1), 8)), name)
    return name.rstrip(".").lower()
