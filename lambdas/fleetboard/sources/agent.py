"""The agent source: whether Systems Manager can reach each machine, from one paginated
`ssm:DescribeInstanceInformation` over the region's managed nodes.

CI deploys with `ssm send-command`: a slot whose agent is not online cannot be deployed
to, however healthy its services look.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fleetboard.model import AgentFacts, AgentInfo
from fleetboard.sources.awsapi import Listing, utc

if TYPE_CHECKING:
    from mypy_boto3_ssm.type_defs import InstanceInformationTypeDef

#: The call, as IAM spells it (messages and the role's policy use it).
DESCRIBE_INSTANCE_INFORMATION = "ssm:DescribeInstanceInformation"


def _agent(instance_id: str, item: InstanceInformationTypeDef) -> AgentInfo:
    latest = item.get("IsLatestVersion")
    return AgentInfo(
        instance_id=instance_id,
        ping=str(item.get("PingStatus", "unknown")),
        last_ping=utc(item.get("LastPingDateTime")),
        version=item.get("AgentVersion") or None,
        latest=bool(latest) if latest is not None else None,
    )


#: Pages of 50 (the call's largest), at most 20 a pass: 1,000 managed nodes.
LISTING = Listing(
    call=DESCRIBE_INSTANCE_INFORMATION,
    service="ssm",
    operation="describe_instance_information",
    key="InstanceInformationList",
    parse=_agent,
    facts=AgentFacts,
    page_size=50,
    max_pages=20,
)
