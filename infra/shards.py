"""A sharded pass ([deploy] shards > 1): one Step Functions execution per schedule tick.

Its states, in order (docs/design.md#infrastructure):

    Plan         Pass: the shard indexes [0..n-1] and the pass id ($$.Execution.StartTime)
    Shards       Map over the indexes, all at once (MaxConcurrency n):
      Shard        the collector function: {"fleetboard": "shard", "shard": i, "shards": n,
                   "pass": id}; it probes its share of the environments and saves what it
                   saw as a state object (fleetboard/shards/run.py)
      Caught,      on any error of Shard (Catch States.ALL): {"shard": i, "error": <Error>,
      ShardFailed  "cause": <Cause>}, so the Map itself never fails
    Merge        the collector function: {"fleetboard": "merge", "shards": n, "pass": id,
                 "results": <the Map's array>}; it reads the shards' objects, runs the
                 fleet-wide sources and publishes (fleetboard/shards/merge.py)

A failed or timed-out shard is one item of the array saying why; its environments' probes
are unknown on the board, never missing, and the merge runs whatever the shards did (within
Step Functions' own limits: the array, causes included, must fit a state's 256 KB).

Neither invocation is retried, so an execution takes at most two function timeouts: a
shard is stopped at the function's timeout, and so is the merge.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from fleetboard.inventory import DeploySettings
from infra.nag import RETENTION, acknowledge, nag_name

#: What a pass's state machine may run past its two invocations (Step Functions' own
#: transitions, a cold start): its timeout is 2 x the function's timeout + this.
SLACK_S = 60
#: What a caught error is merged over, so the Pass after the Catch finds both keys even
#: when Step Functions gives no Cause (a JsonPath to a missing key would fail the Map).
NO_CAUSE = {"Error": "States.ALL", "Cause": ""}


def state_machine_timeout_s(function_timeout_s: int) -> int:
    """The execution's limit: the shards, then the merge, each within the function's
    timeout, and SLACK_S for the rest."""
    return 2 * function_timeout_s + SLACK_S


class ShardedPass(Construct):
    """The state machine that runs `shards` invocations of `function`, then one merge.

    pass_ = ShardedPass(stack, "Shards", function=fn, shards=4, timeout_s=55, deploy=deploy)
    pass_.state_machine, pass_.log_group, pass_.role
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        function: lambda_.IFunction,
        shards: int,
        timeout_s: int,
        deploy: DeploySettings,
    ) -> None:
        super().__init__(scope, id)
        if shards < 2:
            raise ValueError(f"a sharded pass needs at least 2 shards, not {shards}")
        self.shards = shards
        task_timeout = sfn.Timeout.duration(cdk.Duration.seconds(timeout_s))

        plan = sfn.Pass(
            self,
            "Plan",
            comment="The shard indexes and the pass id every invocation of this pass shares",
            parameters={
                "shards": list(range(shards)),
                "pass": sfn.JsonPath.execution_start_time,
            },
        )

        shard = tasks.LambdaInvoke(
            self,
            "Shard",
            comment="One shard: probe its share of the environments, save what it saw",
            lambda_function=function,
            payload=sfn.TaskInput.from_object(
                {
                    "fleetboard": "shard",
                    "shard": sfn.JsonPath.number_at("$.shard"),
                    "shards": shards,
                    "pass": sfn.JsonPath.string_at("$.pass"),
                }
            ),
            payload_response_only=True,
            # No retry of any kind: a second try would end past the pass's deadline, and
            # the execution's timeout counts on one function timeout for the shards.
            retry_on_service_exceptions=False,
            task_timeout=task_timeout,
        )
        caught = sfn.Pass(
            self,
            "Caught",
            comment="The Catch's Error and Cause over defaults, so both keys exist",
            parameters={
                "shard": sfn.JsonPath.number_at("$.shard"),
                "failure": sfn.JsonPath.json_merge(
                    sfn.JsonPath.object_at("$.unknown"), sfn.JsonPath.object_at("$.caught")
                ),
            },
        )
        failed = sfn.Pass(
            self,
            "ShardFailed",
            comment="What the merge reads of a shard that failed or timed out",
            parameters={
                "shard": sfn.JsonPath.number_at("$.shard"),
                "error": sfn.JsonPath.string_at("$.failure.Error"),
                "cause": sfn.JsonPath.string_at("$.failure.Cause"),
            },
        )
        shard.add_catch(caught.next(failed), errors=[sfn.Errors.ALL], result_path="$.caught")

        each = sfn.Map(
            self,
            "Shards",
            comment="Every shard at once; a failed one is an item saying why",
            items_path="$.shards",
            max_concurrency=shards,
            item_selector={
                "shard": sfn.JsonPath.number_at("$$.Map.Item.Value"),
                "pass": sfn.JsonPath.string_at("$.pass"),
                "unknown": NO_CAUSE,
            },
            result_path="$.results",
        )
        each.item_processor(shard)

        merge = tasks.LambdaInvoke(
            self,
            "Merge",
            comment="The board: the shards' answers and the fleet-wide sources, published",
            lambda_function=function,
            payload=sfn.TaskInput.from_object(
                {
                    "fleetboard": "merge",
                    "shards": shards,
                    "pass": sfn.JsonPath.string_at("$.pass"),
                    "results": sfn.JsonPath.list_at("$.results"),
                }
            ),
            payload_response_only=True,
            retry_on_service_exceptions=False,  # the next tick is the retry, with fresh data
            task_timeout=task_timeout,
        )

        stack = cdk.Stack.of(self)
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            # Step Functions' recommended prefix: the account's log-delivery resource
            # policy covers /aws/vendedlogs/* once, instead of a statement per group.
            log_group_name=f"/aws/vendedlogs/states/{stack.stack_name}-shards",
            retention=RETENTION[deploy.log_retention_days],
            removal_policy=cdk.RemovalPolicy.DESTROY,  # logs follow the state machine
        )
        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            comment=f"fleetboard: one pass in {shards} shards of the collector, then a merge",
            definition_body=sfn.DefinitionBody.from_chainable(plan.next(each).next(merge)),
            state_machine_type=sfn.StateMachineType.STANDARD,
            timeout=cdk.Duration.seconds(state_machine_timeout_s(timeout_s)),
            logs=sfn.LogOptions(
                destination=self.log_group,
                level=sfn.LogLevel.ALL,
                # The events only: the inputs and outputs (shard answers, errors) are in
                # the execution's own history for 90 days.
                include_execution_data=False,
            ),
            tracing_enabled=deploy.tracing,
        )
        # The role StateMachine makes when given none: trusted by Step Functions in this
        # account only, granted what the tasks, logs and X-Ray need (and acknowledged here).
        role = self.state_machine.role
        assert isinstance(role, iam.Role)
        self.role = role
        self._acknowledge(function, deploy)

    def _acknowledge(self, function: lambda_.IFunction, deploy: DeploySettings) -> None:
        role = self.role
        acknowledge(
            role,
            f"IAM5[Resource::{nag_name(self, function.function_arn)}:*]",
            "lambda:InvokeFunction on the collector only; the :* (its versions and aliases) "
            "is how CDK's LambdaInvoke task writes the grant, and the tasks invoke $LATEST.",
        )
        acknowledge(
            role,
            "IAM5[Resource::*]",
            "CloudWatch Logs' log-delivery actions (logs:CreateLogDelivery, "
            "logs:GetLogDelivery, logs:UpdateLogDelivery, logs:DeleteLogDelivery, "
            "logs:ListLogDeliveries, logs:PutResourcePolicy, logs:DescribeResourcePolicies, "
            "logs:DescribeLogGroups), which Step Functions needs to write the state "
            "machine's logs, support no resource-level scoping; IAM accepts only * for them."
            + (
                " X-Ray's PutTraceSegments/PutTelemetryRecords and GetSamplingRules/"
                "GetSamplingTargets likewise take only *, and are granted only because "
                "deploy.tracing is on."
                if deploy.tracing
                else ""
            ),
        )
        if not deploy.tracing:
            acknowledge(
                self.state_machine,
                "SF2",
                "X-Ray follows deploy.tracing, as the collector function's does: off, so "
                "no role writes traces; the execution history and the ALL-level log record "
                "every state of a pass, and the function logs each invocation.",
            )
