"""The host source: EC2's status checks (system, instance, attached EBS) and scheduled
events of every instance in the region, in one paginated `ec2:DescribeInstanceStatus`.

It asks for no instance ids (awsapi.Listing says why): the rules pick each environment's
instance by id (rules/host.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from fleetboard.model import HostEvent, HostFacts, HostStatus
from fleetboard.sources.awsapi import Listing, utc

if TYPE_CHECKING:
    from mypy_boto3_ec2.type_defs import InstanceStatusTypeDef

#: The call, as IAM spells it (messages and the role's policy use it).
DESCRIBE_INSTANCE_STATUS = "ec2:DescribeInstanceStatus"


def _status(instance_id: str, item: InstanceStatusTypeDef) -> HostStatus:
    summaries: dict[str, Any] = {
        "system": item.get("SystemStatus"),
        "instance": item.get("InstanceStatus"),
        "ebs": item.get("AttachedEbsStatus"),
    }
    impaired_since = {
        check: since
        for check, summary in summaries.items()
        if (since := _impaired_since(summary)) is not None
    }
    return HostStatus(
        instance_id=instance_id,
        state=item.get("InstanceState", {}).get("Name", "unknown"),
        system=_word(summaries["system"]),
        instance=_word(summaries["instance"]),
        ebs=_word(summaries["ebs"]),
        impaired_since=impaired_since,
        events=tuple(
            HostEvent(
                code=str(event.get("Code", "unknown")),
                description=str(event.get("Description", "")),
                not_before=utc(event.get("NotBefore")),
                not_after=utc(event.get("NotAfter")),
            )
            for event in item.get("Events", [])
        ),
    )


def _word(summary: Any) -> str | None:
    status = summary.get("Status") if isinstance(summary, dict) else None
    return str(status) if status else None


def _impaired_since(summary: Any) -> datetime | None:
    if not isinstance(summary, dict):
        return None
    times = [d["ImpairedSince"] for d in summary.get("Details", []) if d.get("ImpairedSince")]
    return utc(min(times)) if times else None


#: Pages of 1,000 (the call's largest), at most 5 a pass: 5,000 instances in the region.
LISTING = Listing(
    call=DESCRIBE_INSTANCE_STATUS,
    service="ec2",
    operation="describe_instance_status",
    key="InstanceStatuses",
    parse=_status,
    facts=HostFacts,
    page_size=1000,
    max_pages=5,
    # Stopped instances too: a retirement is scheduled on them as well.
    arguments={"IncludeAllInstances": True},
)
