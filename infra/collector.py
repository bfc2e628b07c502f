"""The collector stack: the scheduled Lambda, its read-only role, its secrets and alarms,
and what [alerts] needs (the topic an sns channel publishes to, the webhook secret).

Each construct below is one unit (secrets, function, schedule, alarms); CollectorStack only
composes them and adds the outputs an operator needs (docs/design.md#infrastructure).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_scheduler_targets as targets
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct, IConstruct

from fleetboard.collect import ALERT_TOPIC_ENV
from fleetboard.config import (
    STALE_PERIODS,
    ConfigError,
    DeploySettings,
    LoadedConfig,
)
from fleetboard.config import schedule_problems as _schedule_problems
from fleetboard.config.schedule import lambda_timeout_s
from fleetboard.handler import ALERT_WEBHOOKS, NAMESPACE, SECRET_ENV, SERVICE, WEBHOOK_KINDS
from fleetboard.publish import HISTORY_PREFIX, LATEST, PUBLISHED_KEYS, STATE_PREFIX
from fleetboard.sources.agent import DESCRIBE_INSTANCE_INFORMATION
from fleetboard.sources.aws import (
    DESCRIBE_ADDRESSES,
    DESCRIBE_INSTANCES,
    LIST_COMMANDS,
    LIST_RECORD_SETS,
)
from fleetboard.sources.billing import GET_COST_AND_USAGE
from fleetboard.sources.host import DESCRIBE_INSTANCE_STATUS
from fleetboard.sources.logs import FILTER_LOG_EVENTS
from fleetboard.sources.metrics import GET_METRIC_DATA
from fleetboard.sources.prices import GET_PRODUCTS
from infra.bundling import ARCHITECTURE, RUNTIME, collector_code
from infra.nag import RETENTION, acknowledge, nag_join, nag_name
from infra.shards import ShardedPass

HANDLER = "fleetboard.handler.handler"
#: The metric handler.py emits after every pass: 1 when the board was published, else 0.
PUBLISHED_METRIC = "PassPublished"
#: What the handler counts when an alert channel did not take a message (handler._record).
UNDELIVERED_METRIC = "AlertsUndelivered"
#: How long a channel may keep failing before its alarm: a pass or two of a webhook's
#: hiccup is retried by the next passes, half an hour of it is a channel that is down.
UNDELIVERED_FOR_S = 1800
# The schedule's limits live in config/schedule.py, so `validate` refuses what synth would.
#: The shortest age Lambda and Scheduler accept: a pass that could not start within a
#: minute is dropped, since the next tick brings a fresher one.
MAX_EVENT_AGE = cdk.Duration.seconds(60)


@dataclass(frozen=True, slots=True)
class SecretSpec:
    """One secret the collector reads, as the stack builds it and the operator fills it."""

    id: str  # the construct's id, in its logical id and its output's name
    aws_name: str  # its name in Secrets Manager, as the README's put-secret-value commands say
    what: str  # what it holds, for its description
    issuer: str  # who issues and revokes it (so no rotation)
    value: str  # what its output tells the operator to put in it (`--secret-string '...'`)


#: The collector's secrets by their name in a pass (handler.SECRET_ENV's keys), in the
#: order the stack builds them; the webhook secret only with a slack or webhook channel.
SECRETS = {
    "github_token": SecretSpec(
        "GithubToken",
        aws_name="fleetboard/github-token",
        what="GitHub API token",
        issuer="GitHub",
        value="<github_token>",
    ),
    "rpc_url": SecretSpec(
        "RpcUrl",
        aws_name="fleetboard/rpc-url",
        what="chain JSON-RPC URL with its API key",
        issuer="the RPC provider",
        value="<rpc_url>",
    ),
    # One secret for every webhook channel, a JSON object of name -> URL: one more
    # channel is one more key, not one more $0.40 a month and one more deploy.
    ALERT_WEBHOOKS: SecretSpec(
        "AlertWebhooks",
        aws_name="fleetboard/alert-webhooks",
        what="alert webhook URL of each channel (JSON: channel name -> URL)",
        issuer="Slack or the webhook's owner",
        value='{"<channel name>": "https://<its webhook URL>"}',
    ),
}

#: The one action the role has on the alert topic: no Subscribe, no SetTopicAttributes.
PUBLISH = "sns:Publish"
#: X-Ray's write actions, granted by Lambda's active tracing and only with it.
XRAY_WRITES = ("xray:PutTraceSegments", "xray:PutTelemetryRecords")

# --------------------------------------------------------------------------- settings


def alerts_publish(loaded: LoadedConfig) -> bool:
    """[alerts] has an sns channel: the stack's topic exists and the role may publish to it."""
    alerts = loaded.inventory.alerts
    return alerts is not None and any(c.kind == "sns" for c in alerts.channels)


def alerts_post(loaded: LoadedConfig) -> bool:
    """[alerts] has a slack or webhook channel: their URLs live in the webhook secret."""
    alerts = loaded.inventory.alerts
    return alerts is not None and any(c.kind in WEBHOOK_KINDS for c in alerts.channels)


def timeout_s(loaded: LoadedConfig) -> int:
    """The Lambda timeout: a few seconds short of the period, so passes never overlap."""
    return lambda_timeout_s(loaded.period_s)


def reserved_concurrency(shards: int) -> int:
    """The collector's reserved concurrency: 1 for one Lambda a pass, so passes never
    overlap; with [deploy] shards, every shard at once and the merge of the pass before,
    which may still run when the next tick's shards start (it starts after its own shards,
    and may take up to a function timeout; infra/shards.py)."""
    return 1 if shards <= 1 else shards + 1


def schedule_problems(loaded: LoadedConfig, source: str = "fleet.toml") -> list[str]:
    """What fleet.toml asks of the schedule that AWS cannot do; empty when all is well.

    The rules are config.schedule_problems', which `validate` runs too: one owner. Synth
    checks again because a LoadedConfig can be built in code without loading a file.
    """
    found = _schedule_problems(loaded.period_s, loaded.inventory.probe.pass_deadline_s)
    return [f"{source}: {key}: {text}" for key, text in found]


# --------------------------------------------------------------------------- constructs


class CollectorSecrets(Construct):
    """The GitHub token and the RPC URL, and with `webhooks` (a slack or webhook channel in
    [alerts]) the alert webhooks' URLs, created empty: no value in the template or code.

    The operator fills each once (README):
        aws secretsmanager put-secret-value --secret-id <output ARN> --secret-string '...'
    Until then GetSecretValue fails and the source (or channel) that needs it shows "not
    configured".
    """

    def __init__(self, scope: Construct, id: str, *, webhooks: bool = False) -> None:
        super().__init__(scope, id)
        #: Secret name in a pass (handler.SECRET_ENV's keys) -> the secret.
        self.by_name: Mapping[str, secretsmanager.Secret] = {
            name: self._secret(spec)
            for name, spec in SECRETS.items()
            if webhooks or name != ALERT_WEBHOOKS
        }
        self.github_token = self.by_name["github_token"]
        self.rpc_url = self.by_name["rpc_url"]
        self.alert_webhooks = self.by_name.get(ALERT_WEBHOOKS)

    def _secret(self, spec: SecretSpec) -> secretsmanager.Secret:
        secret = secretsmanager.Secret(
            self,
            spec.id,
            secret_name=spec.aws_name,
            description=f"fleetboard collector: the {spec.what}; filled by hand, read-only here",
            # RETAIN: the value is typed in by a person and CDK cannot recreate it, so a
            # `cdk destroy` or a replacement must not take it along (an orphan costs
            # $0.40 a month; a redeploy after destroy needs it deleted or imported first).
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        # The L2 always asks CloudFormation to generate a random value; without it the
        # secret is created empty (no AWSCURRENT version), so a placeholder can never be
        # mistaken for a token.
        cfn = secret.node.default_child
        assert isinstance(cfn, secretsmanager.CfnSecret)
        cfn.add_property_deletion_override("GenerateSecretString")
        acknowledge(
            secret,
            "SMG4",
            f"No rotation: the {spec.what} is issued and revoked by a person at {spec.issuer}, "
            "outside AWS; there is no API a rotation Lambda could call to mint a new one.",
        )
        return secret


class CollectorFunction(Construct):
    """The collector Lambda with its own log group and a role that can only read the fleet
    and write the board's own keys (docs/design.md#security). A pass never overlaps the next.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        loaded: LoadedConfig,
        config_path: Path,
        bucket: s3.IBucket,
        secrets: CollectorSecrets,
    ) -> None:
        super().__init__(scope, id)
        deploy = loaded.deploy
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            retention=RETENTION[deploy.log_retention_days],
            removal_policy=cdk.RemovalPolicy.DESTROY,  # logs follow the function they log
        )
        self._policy = iam.PolicyDocument(
            statements=collector_statements(
                zone_id=loaded.inventory.aws.zone_id,
                bucket=bucket,
                secrets=list(secrets.by_name.values()),
                log_group=self.log_group,
                cost_explorer=loaded.inventory.aws.cost_explorer,
            )
        )
        # [logs]: the fleet's service logs, read in the groups fleet.toml names and no other;
        # no grant at all without [logs].
        self.fleet_log_groups = fleet_log_groups(loaded)
        if self.fleet_log_groups:
            region = loaded.inventory.aws.region
            self._policy.add_statements(
                logs_statement([log_group_arn(self, region, g) for g in self.fleet_log_groups])
            )
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=(
                "fleetboard collector: reads the fleet, writes only the board's keys and its "
                "sources' state"
            ),
            inline_policies={"collector": self._policy},
        )
        self.function = lambda_.Function(
            self,
            "Function",
            description="fleetboard collector: one pass of the status board",
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            handler=HANDLER,
            code=collector_code(config_path),
            memory_size=deploy.memory_mb,
            timeout=cdk.Duration.seconds(timeout_s(loaded)),
            # One pass at a time: a tick that finds the last pass still running is
            # throttled; Lambda retries it for at most MAX_EVENT_AGE, then drops it.
            # Sharded, the state machine's invocations (reserved_concurrency).
            reserved_concurrent_executions=reserved_concurrency(deploy.shards),
            retry_attempts=0,  # a failed pass is retried by the next tick, with fresh data
            max_event_age=MAX_EVENT_AGE,
            role=self.role,
            log_group=self.log_group,
            tracing=lambda_.Tracing.ACTIVE if deploy.tracing else lambda_.Tracing.DISABLED,
            environment={
                "FLEETBOARD_BUCKET": bucket.bucket_name,
                "FLEETBOARD_CONFIG": "fleet.toml",  # the bundle's copy of config_path
                "POWERTOOLS_SERVICE_NAME": SERVICE,
                "POWERTOOLS_METRICS_NAMESPACE": NAMESPACE,
                "POWERTOOLS_LOG_LEVEL": "INFO",
                **{SECRET_ENV[name]: s.secret_arn for name, s in secrets.by_name.items()},
            },
        )
        self._acknowledge(bucket, deploy, cost_explorer=loaded.inventory.aws.cost_explorer)

        for group in self.fleet_log_groups:
            arn = log_group_arn(self, loaded.inventory.aws.region, group)
            acknowledge(
                self.role,
                f"IAM5[Resource::{nag_join(cdk.Stack.of(self).resolve(arn))}]",
                f"logs:FilterLogEvents on the log group {group} ([logs] in fleet.toml): a "
                "log group's ARN for IAM ends in ':*' (its streams), and FilterLogEvents "
                "reads the group's streams; no other group, and no write.",
            )

    def publish_alerts_to(self, topic: sns.ITopic) -> None:
        """Let a pass publish its sns channel's alerts to `topic`, and to no other: the
        grant joins the role's one policy, and the function is told the topic's ARN.

        A step of its own because the topic is built after the function: it stays where
        the alarms built it before alerts existed (CollectorAlarms), so an upgrade keeps
        its logical id, its ARN and its confirmed e-mail subscriptions.
        """
        self._policy.add_statements(alert_statement(topic))
        self.function.add_environment(ALERT_TOPIC_ENV, topic.topic_arn)

    def _acknowledge(
        self, bucket: s3.IBucket, deploy: DeploySettings, *, cost_explorer: bool = False
    ) -> None:
        acknowledge(
            self.function,
            "L1",
            f"Runtime pinned to {RUNTIME.name}: the bundle's native wheels and precompiled "
            ".pyc are built for exactly this interpreter (infra/bundling.py); move both "
            "together.",
        )
        role = self.role
        acknowledge(
            role,
            "IAM5[Resource::*]",
            "ec2:DescribeAddresses, ec2:DescribeInstances, ec2:DescribeInstanceStatus, "
            "ssm:ListCommands (the deploy trail: the comments of past Run Commands, read "
            "only), ssm:DescribeInstanceInformation (the agents' ping) and "
            "cloudwatch:GetMetricData (the machines' CPU, credits, memory and disk) and "
            "pricing:GetProducts (list prices, once a day) support no resource-level "
            "scoping; IAM accepts only * for them."
            + (
                " ce:GetCostAndUsage (the month's cost by tag, once a day) reads the whole "
                "account's bill and likewise takes only *; it is granted only because "
                "aws.cost_explorer is on."
                if cost_explorer
                else ""
            )
            + (
                " X-Ray's PutTraceSegments/PutTelemetryRecords likewise take only *, and are "
                "granted only because deploy.tracing is on."
                if deploy.tracing
                else ""
            ),
        )
        acknowledge(
            role,
            f"IAM5[Resource::{nag_name(role, bucket.bucket_arn, owner=bucket)}/{HISTORY_PREFIX}*]",
            "history/ holds one immutable object per pass under a date path "
            "(history/YYYY/MM/DD/HHMMSSZ.json); the keys are not known in advance, and "
            "PutObject is the only action on them.",
        )
        acknowledge(
            role,
            f"IAM5[Resource::{nag_name(role, bucket.bucket_arn, owner=bucket)}/{STATE_PREFIX}*]",
            "state/ holds the small objects kept between passes: one per source that needs "
            "it (state/<source>.json, e.g. the GitHub source's ETags) and the board's "
            "memory (state/timeline.json, state/wallets.json); publish.state_key names "
            "them, and GetObject and PutObject are the only actions on them.",
        )


def collector_statements(
    *,
    zone_id: str,
    bucket: s3.IBucket,
    secrets: list[secretsmanager.Secret],
    log_group: logs.ILogGroup,
    cost_explorer: bool = False,
) -> list[iam.PolicyStatement]:
    """Everything the collector may do: read the fleet and its secrets, write the board,
    keep its sources' state, write its logs; with `cost_explorer` ([aws] cost_explorer),
    read the account's month so far from Cost Explorer. With an sns alert channel,
    alert_statement joins them (CollectorFunction.publish_alerts_to)."""
    zone = cdk.Arn.format(
        cdk.ArnComponents(
            service="route53",
            resource="hostedzone",
            resource_name=zone_id,
            region="",
            account="",
            arn_format=cdk.ArnFormat.SLASH_RESOURCE_NAME,
        ),
        cdk.Stack.of(log_group),
    )
    board_keys = [*PUBLISHED_KEYS, f"{HISTORY_PREFIX}*"]
    return [
        iam.PolicyStatement(
            sid="DescribeFleet",  # EC2 Describe* cannot be scoped to resources: * only
            actions=[DESCRIBE_ADDRESSES, DESCRIBE_INSTANCES, DESCRIBE_INSTANCE_STATUS],
            resources=["*"],
        ),
        iam.PolicyStatement(sid="ReadZone", actions=[LIST_RECORD_SETS], resources=[zone]),
        iam.PolicyStatement(
            sid="ReadDeployTrail",  # ListCommands cannot be scoped to resources: * only
            actions=[LIST_COMMANDS],
            resources=["*"],
        ),
        iam.PolicyStatement(
            sid="ReadAgents",  # whether SSM reaches each machine; * only, like ListCommands
            actions=[DESCRIBE_INSTANCE_INFORMATION],
            resources=["*"],
        ),
        iam.PolicyStatement(
            sid="ReadMetrics",  # GetMetricData takes no resource: * only
            actions=[GET_METRIC_DATA],
            resources=["*"],
        ),
        iam.PolicyStatement(
            sid="ReadPrices",  # the Price List is a catalogue, not a resource: * only
            actions=[GET_PRODUCTS],
            resources=["*"],
        ),
        # Only when asked for: the account's bill is more than the fleet's status.
        *(
            [
                iam.PolicyStatement(
                    sid="ReadMonthCost",  # the account's cost by tag: * only
                    actions=[GET_COST_AND_USAGE],
                    resources=["*"],
                )
            ]
            if cost_explorer
            else []
        ),
        iam.PolicyStatement(
            sid="ReadSecrets",
            actions=["secretsmanager:GetSecretValue"],
            resources=[s.secret_arn for s in secrets],
        ),
        iam.PolicyStatement(
            sid="PublishBoard",
            actions=["s3:PutObject"],
            resources=[bucket.arn_for_objects(key) for key in board_keys],
        ),
        iam.PolicyStatement(
            sid="ReadPreviousBoard",
            actions=["s3:GetObject"],
            resources=[bucket.arn_for_objects(LATEST)],
        ),
        iam.PolicyStatement(
            # state.StateStore: state/<name>.json (sources, the timeline), read then written
            sid="KeepSourceState",
            actions=["s3:GetObject", "s3:PutObject"],
            resources=[bucket.arn_for_objects(f"{STATE_PREFIX}*")],
        ),
        iam.PolicyStatement(
            sid="WriteOwnLogs",
            actions=["logs:CreateLogStream", "logs:PutLogEvents"],
            # The group's Arn attribute ends in ":*", its streams: Lambda names them at run
            # time. It is a GetAtt in the template, so cdk-nag has no wildcard to report.
            resources=[log_group.log_group_arn],
        ),
    ]


def fleet_log_groups(loaded: LoadedConfig) -> list[str]:
    """The CloudWatch Logs groups a pass reads ([logs]: every watched environment's);
    none without [logs]."""
    logs = loaded.inventory.logs
    return sorted(set(logs.groups.values())) if logs is not None else []


def log_group_arn(scope: IConstruct, region: str, group: str) -> str:
    """arn:aws:logs:<region>:<account>:log-group:<group>:* in the stack's account: the
    fleet's region, where its machines ship their logs."""
    return cdk.Arn.format(
        cdk.ArnComponents(
            service="logs",
            resource="log-group",
            resource_name=f"{group}:*",
            region=region,
            arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
        ),
        cdk.Stack.of(scope),
    )


def logs_statement(group_arns: list[str]) -> iam.PolicyStatement:
    """The one read of the fleet's service logs: FilterLogEvents, on the groups named."""
    return iam.PolicyStatement(
        sid="ReadServiceLogs", actions=[FILTER_LOG_EVENTS], resources=group_arns
    )


def alert_statement(topic: sns.ITopic) -> iam.PolicyStatement:
    """The one write outside the bucket and the logs: publish an alert to the stack's topic.
    It reaches the topic's subscribers and changes nothing in the fleet."""
    return iam.PolicyStatement(sid="PublishAlerts", actions=[PUBLISH], resources=[topic.topic_arn])


class CollectorSchedule(Construct):
    """EventBridge Scheduler invoking the collector every period: no retries, short event
    age, so a late tick is dropped rather than stacked behind the next
    (docs/design.md#infrastructure). With `state_machine` (a sharded pass, infra/shards.py)
    it starts an execution of it instead, on the same terms.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        function: lambda_.IFunction,
        period_s: int,
        state_machine: sfn.IStateMachine | None = None,
    ) -> None:
        super().__init__(scope, id)
        stack = cdk.Stack.of(self)
        # Our own role rather than the stack-wide one LambdaInvoke would make, so its one
        # finding is acknowledged here; same trust as CDK's: this account's default group.
        self.role = iam.Role(
            self,
            "InvokeRole",
            description=(
                "fleetboard schedule: invokes the collector, nothing else"
                if state_machine is None
                else "fleetboard schedule: starts the collector's sharded pass, nothing else"
            ),
            assumed_by=iam.ServicePrincipal(
                "scheduler.amazonaws.com",
                conditions={
                    "StringEquals": {
                        "aws:SourceAccount": stack.account,
                        "aws:SourceArn": stack.format_arn(
                            service="scheduler",
                            resource="schedule-group",
                            resource_name="default",
                        ),
                    }
                },
            ),
        )
        target: scheduler.IScheduleTarget
        if state_machine is not None:
            # states:StartExecution on this state machine only (grantStartExecution): no
            # wildcard, so nothing to acknowledge.
            target = targets.StepFunctionsStartExecution(
                state_machine, retry_attempts=0, max_event_age=MAX_EVENT_AGE, role=self.role
            )
        else:
            target = targets.LambdaInvoke(
                function, retry_attempts=0, max_event_age=MAX_EVENT_AGE, role=self.role
            )
        self.schedule = scheduler.Schedule(
            self,
            "Schedule",
            description="fleetboard: one collector pass per period",
            schedule=scheduler.ScheduleExpression.rate(cdk.Duration.seconds(period_s)),
            target=target,
        )
        if state_machine is None:
            acknowledge(
                self.role,
                f"IAM5[Resource::{nag_name(self, function.function_arn)}:*]",
                "lambda:InvokeFunction on the collector only; the :* (its versions and "
                "aliases) is how CDK's grantInvoke writes it, and the schedule targets "
                "$LATEST.",
            )


class CollectorAlarms(Construct):
    """Two alarms: the collector fails, or no board was published for STALE_PERIODS
    periods (missing data counts: a collector that stopped running is the worst case);
    with [alerts], a third: a channel has not taken a message for half an hour.

    The stack's topic lives here: built when deploy.alarm_email is set (which it mails) or
    when `alert_topic` (an sns alert channel publishes to it). Both alarms notify it
    whenever it exists, so whoever hears the alerts also hears that they may have stopped.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        function: lambda_.IFunction,
        period_s: int,
        alarm_email: str | None,
        alert_topic: bool = False,
        alerts: bool = False,
    ) -> None:
        super().__init__(scope, id)
        period = cdk.Duration.seconds(period_s)
        self.errors = cloudwatch.Alarm(
            self,
            "Errors",
            alarm_description="fleetboard collector failed (error, timeout or crash)",
            metric=function.metric_errors(period=period, statistic="Sum"),
            threshold=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            evaluation_periods=1,
            # No invocation is no error; the staleness alarm covers a collector not running.
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        self.stale = cloudwatch.Alarm(
            self,
            "Stale",
            alarm_description=(
                f"fleetboard published no board for {STALE_PERIODS} schedule periods: "
                "the page is going stale"
            ),
            metric=cloudwatch.Metric(
                namespace=NAMESPACE,
                metric_name=PUBLISHED_METRIC,
                dimensions_map={"service": SERVICE},  # Powertools' default dimension
                statistic="Sum",
                period=period,
            ),
            threshold=1,
            comparison_operator=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
            evaluation_periods=STALE_PERIODS,
            datapoints_to_alarm=STALE_PERIODS,
            treat_missing_data=cloudwatch.TreatMissingData.BREACHING,
        )
        # With [alerts]: a channel that has failed every pass for half an hour is down, and
        # the messages waiting for it are news nobody hears (the footer says so too).
        self.undelivered: cloudwatch.Alarm | None = None
        if alerts:
            periods = max(1, -(-UNDELIVERED_FOR_S // period_s))
            self.undelivered = cloudwatch.Alarm(
                self,
                "Undelivered",
                alarm_description=(
                    "fleetboard alerts: a channel has not taken a message for "
                    f"{UNDELIVERED_FOR_S // 60} minutes (the board's footer names it and why)"
                ),
                metric=cloudwatch.Metric(
                    namespace=NAMESPACE,
                    metric_name=UNDELIVERED_METRIC,
                    dimensions_map={"service": SERVICE},
                    statistic="Sum",
                    period=period,
                ),
                threshold=1,
                comparison_operator=(
                    cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD
                ),
                evaluation_periods=periods,
                datapoints_to_alarm=periods,
                # A pass with nothing to send counts nothing: no data is no failure.
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
        self.topic: sns.Topic | None = None
        if alarm_email or alert_topic:
            # Its display name, the e-mails' sender, stays "fleetboard alarms": a new one
            # would be a topic update for nothing, and the alerts' subjects say what they are.
            self.topic = sns.Topic(
                self, "Topic", display_name="fleetboard alarms", enforce_ssl=True
            )
            if alarm_email:
                self.topic.add_subscription(subscriptions.EmailSubscription(alarm_email))
            action = cw_actions.SnsAction(self.topic)
            for alarm in (self.errors, self.stale, self.undelivered):
                if alarm is None:
                    continue
                alarm.add_alarm_action(action)
                alarm.add_ok_action(action)
            # Unencrypted on purpose (AwsSolutions 3 has no SSE rule; SNS3, TLS-only
            # publishing, is met by enforce_ssl): the messages are alarm names and states,
            # and alerts (environment names, check reasons, links to the board: nothing
            # secret); CloudWatch can only publish to an encrypted topic through a customer
            # managed key, $1 a month, half the board's budget.


class CollectorStack(cdk.Stack):
    """The scheduled collector, composed; outputs what an operator types next.

    collector = CollectorStack(app, "fleetboard-collector", loaded=loaded,
                               config_path=path, bucket=site.bucket, env=env)
    collector.function, collector.role, collector.log_group, collector.schedule,
    collector.secrets (.github_token, .rpc_url, .alert_webhooks: None without a slack or
    webhook channel), collector.alarms (.errors, .stale), collector.alarm_topic (None
    without deploy.alarm_email and without an sns alert channel), collector.sharded (the
    ShardedPass the schedule starts with [deploy] shards > 1, else None)
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        loaded: LoadedConfig,
        config_path: Path,
        bucket: s3.IBucket,
        **kwargs: Any,
    ) -> None:
        problems = schedule_problems(loaded, str(config_path))
        if problems:
            raise ConfigError(problems)
        super().__init__(scope, id, **kwargs)
        self.secrets = CollectorSecrets(self, "Secrets", webhooks=alerts_post(loaded))
        collector = CollectorFunction(
            self,
            "Collector",
            loaded=loaded,
            config_path=config_path,
            bucket=bucket,
            secrets=self.secrets,
        )
        self.function = collector.function
        self.role = collector.role
        self.log_group = collector.log_group
        # [deploy] shards > 1: a state machine runs the pass (infra/shards.py); 1 builds
        # nothing more.
        self.sharded: ShardedPass | None = None
        if loaded.deploy.shards > 1:
            self.sharded = ShardedPass(
                self,
                "Shards",
                function=self.function,
                shards=loaded.deploy.shards,
                timeout_s=timeout_s(loaded),
                deploy=loaded.deploy,
            )
        self.schedule = CollectorSchedule(
            self,
            "Schedule",
            function=self.function,
            period_s=loaded.period_s,
            state_machine=self.sharded.state_machine if self.sharded is not None else None,
        ).schedule
        self.alarms = CollectorAlarms(
            self,
            "Alarms",
            function=self.function,
            period_s=loaded.period_s,
            alarm_email=loaded.deploy.alarm_email,
            alert_topic=alerts_publish(loaded),
            alerts=loaded.inventory.alerts is not None,
        )
        self.alarm_topic = self.alarms.topic
        if self.alarm_topic is not None and alerts_publish(loaded):
            collector.publish_alerts_to(self.alarm_topic)

        cdk.CfnOutput(self, "FunctionName", value=self.function.function_name)
        if self.sharded is not None:
            cdk.CfnOutput(
                self,
                "StateMachineArn",
                value=self.sharded.state_machine.state_machine_arn,
                description=(
                    f"The sharded pass ({self.sharded.shards} shards, then a merge) the "
                    "schedule starts each period. Run one now: aws stepfunctions "
                    "start-execution --state-machine-arn <this ARN>"
                ),
            )
        for name, secret in self.secrets.by_name.items():
            cdk.CfnOutput(
                self,
                f"Secret{secret.node.id}Arn",
                value=secret.secret_arn,
                description=(
                    f"Fill once: aws secretsmanager put-secret-value --secret-id <this ARN> "
                    f"--secret-string '{SECRETS[name].value}'"
                ),
            )
        if self.alarm_topic is not None:
            cdk.CfnOutput(
                self,
                "TopicArn",
                value=self.alarm_topic.topic_arn,
                description=(
                    "The alarms and the sns alert channel publish here. Subscribe: aws sns "
                    "subscribe --topic-arn <this ARN> --protocol email --notification-endpoint "
                    "<address>"
                ),
            )
