"""cdk-nag's words: acknowledging a finding where it is, and spelling the ARN tokens of a
finding's id the way cdk-nag does; and the log retention the schema allows, as CDK's enum.
Every stack's module takes these from here (infra/collector.py, shards.py, site.py, ...)."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_logs as logs
from constructs import Construct, IConstruct

#: deploy.log_retention_days (the schema allows exactly these) -> CDK's enum.
RETENTION = {
    1: logs.RetentionDays.ONE_DAY,
    3: logs.RetentionDays.THREE_DAYS,
    5: logs.RetentionDays.FIVE_DAYS,
    7: logs.RetentionDays.ONE_WEEK,
    14: logs.RetentionDays.TWO_WEEKS,
    30: logs.RetentionDays.ONE_MONTH,
    60: logs.RetentionDays.TWO_MONTHS,
    90: logs.RetentionDays.THREE_MONTHS,
    120: logs.RetentionDays.FOUR_MONTHS,
    150: logs.RetentionDays.FIVE_MONTHS,
    180: logs.RetentionDays.SIX_MONTHS,
    365: logs.RetentionDays.ONE_YEAR,
    400: logs.RetentionDays.THIRTEEN_MONTHS,
    545: logs.RetentionDays.EIGHTEEN_MONTHS,
    731: logs.RetentionDays.TWO_YEARS,
    1096: logs.RetentionDays.THREE_YEARS,
    1827: logs.RetentionDays.FIVE_YEARS,
    2192: logs.RetentionDays.SIX_YEARS,
    2557: logs.RetentionDays.SEVEN_YEARS,
    2922: logs.RetentionDays.EIGHT_YEARS,
    3288: logs.RetentionDays.NINE_YEARS,
    3653: logs.RetentionDays.TEN_YEARS,
}


def acknowledge(construct: Construct, finding: str, reason: str) -> None:
    """Acknowledge one cdk-nag AwsSolutions finding on the construct it concerns."""
    cdk.Validations.of(construct).acknowledge(
        cdk.Acknowledgment(id=f"AwsSolutions::AwsSolutions-{finding}", reason=reason)
    )


def nag_name(scope: IConstruct, arn: str, *, owner: IConstruct | None = None) -> str:
    """How cdk-nag spells an ARN token in a finding id: `<LogicalId.Arn>`, or the export's
    name when `owner` (the construct the ARN belongs to) lives in another stack.
    """
    here = cdk.Stack.of(scope)
    home = cdk.Stack.of(owner) if owner is not None else here
    if home is not here:
        # The same export CDK makes for the cross-stack reference (it is idempotent), asked
        # for now because the automatic one is only named at synth, after we acknowledge.
        arn = home.export_value(arn)
    resolved = here.resolve(arn)
    match resolved:
        case {"Fn::GetAtt": [logical_id, attribute]}:
            return f"<{logical_id}.{attribute}>"
        case {"Ref": logical_id}:
            return f"<{logical_id}>"
        case {"Fn::ImportValue": str(name)}:
            return name  # another stack's export, e.g. the site stack's bucket ARN
    raise TypeError(f"cannot name {resolved!r} the way cdk-nag does")


def nag_join(resolved: Any) -> str:
    """How cdk-nag spells a joined ARN in a finding id: its pieces, a Ref as `<Name>`
    (`arn:aws:logs:us-east-1:<AWS::AccountId>:log-group:/fleet/prod:*`)."""
    match resolved:
        case str():
            return resolved
        case {"Fn::Join": [str(separator), list(parts)]}:
            return separator.join(nag_join(part) for part in parts)
        case {"Ref": str(name)}:
            return f"<{name}>"
    raise TypeError(f"cannot name {resolved!r} the way cdk-nag does")
