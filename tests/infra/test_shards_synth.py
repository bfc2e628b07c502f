"""A sharded pass ([deploy] shards > 1, infra/shards.py): the state machine the schedule
starts instead of the function, and what it may do; with the default (1) none of it is built.

The definition is read back from the template (its DefinitionString joined into text), so
these tests check what CloudFormation gets, not what the construct meant to build.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .test_collector import (
    EXAMPLE,
    Built,
    NagRun,
    acknowledgments_used,
    alarm,
    allowed_for,
    as_list,
    attached_policies,
    build_app,
    function,
    logical_id,
    one,
    render,
    resources,
    run_nag,
    unacknowledged,
    violations,
)

#: fleet.example.toml plus these, by fixture name.
CONFIGS = {
    "sharded": "\n[deploy]\nshards = 4\n",
    # The optional parts on: X-Ray (the state machine traces too) and another retention.
    "sharded_traced": "\n[deploy]\nshards = 3\ntracing = true\nlog_retention_days = 14\n",
}
STATE_MACHINE = "AWS::StepFunctions::StateMachine"
#: What Step Functions' role needs to deliver its logs to CloudWatch Logs (CDK grants them
#: with LogOptions); IAM takes only * for them.
LOG_DELIVERY = {
    "logs:CreateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:DescribeLogGroups",
    "logs:DescribeResourcePolicies",
    "logs:GetLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:UpdateLogDelivery",
}
#: X-Ray's actions for a traced state machine, with deploy.tracing only; * only, too.
XRAY = {
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
    "xray:PutTelemetryRecords",
    "xray:PutTraceSegments",
}


# --------------------------------------------------------------------------- fixtures


def config_file(tmp_path_factory: pytest.TempPathFactory, name: str) -> Path:
    text = EXAMPLE.read_text()
    assert "[deploy]" not in text  # else the section added below would be a second one
    path = tmp_path_factory.mktemp(name) / "fleet.toml"
    path.write_text(text + CONFIGS[name])
    return path


@pytest.fixture(scope="session")
def sharded_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return config_file(tmp_path_factory, "sharded")


@pytest.fixture(scope="session")
def sharded_traced_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return config_file(tmp_path_factory, "sharded_traced")


@pytest.fixture(scope="session")
def sharded(sharded_config: Path) -> Built:
    """The example with [deploy] shards = 4, nothing else of [deploy] set."""
    return build_app(sharded_config)


@pytest.fixture(scope="session")
def sharded_traced(sharded_traced_config: Path) -> Built:
    """shards = 3 with X-Ray on and logs kept 14 days."""
    return build_app(sharded_traced_config)


@pytest.fixture(scope="session")
def unsharded(stacks: Any, collector_template: Any) -> Built:
    """conftest's app: fleet.example.toml with no [deploy] section, so shards = 1."""
    return Built(None, stacks, collector_template.to_json(), EXAMPLE)


@pytest.fixture(params=["sharded", "sharded_traced"])
def built(request: pytest.FixtureRequest) -> Built:
    """Each sharded app."""
    value: Built = request.getfixturevalue(request.param)
    return value


def shards_of(built: Built) -> int:
    from fleetboard.config import load

    return load(built.config).deploy.shards


def tracing(built: Built) -> bool:
    from fleetboard.config import load

    return load(built.config).deploy.tracing


def state_machine_id(built: Built) -> str:
    [found] = resources(built.template, STATE_MACHINE)
    return found


def function_arn(built: Built) -> str:
    """The collector's ARN as `render` spells it: `${CollectorFunction....Arn}`."""
    return f"${{{logical_id(built, built.stacks.collector.function)}.Arn}}"


def definition(built: Built) -> dict[str, Any]:
    """The state machine's definition, its Fn::Join resolved into text and parsed; the
    function's ARN reads `${<its logical id>.Arn}`."""
    body = one(built.template, STATE_MACHINE)["DefinitionString"]
    parsed: dict[str, Any] = json.loads(render(body))
    return parsed


def states_of(machine: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every state, those inside a Map's item processor included."""
    for name, state in machine["States"].items():
        yield name, state
        for inner in ("ItemProcessor", "Iterator"):
            if inner in state:
                yield from states_of(state[inner])


def the_map(machine: dict[str, Any]) -> dict[str, Any]:
    [found] = [s for _, s in states_of(machine) if s["Type"] == "Map"]
    return found


def invocations(machine: dict[str, Any], built: Built) -> list[dict[str, Any]]:
    """The Task states that invoke the collector function."""
    return [
        s
        for _, s in states_of(machine)
        if s["Type"] == "Task" and s.get("Resource") == function_arn(built)
    ]


# A few lines of the States Language, enough to run the Pass states after a Catch: paths
# ($.a.b, $$.Map.Item.Value) and States.JsonMerge; a path to a missing key fails, as it
# fails the state in Step Functions.
def _path(path: str, data: dict[str, Any], context: dict[str, Any]) -> Any:
    root, rest = (context, path[3:]) if path.startswith("$$.") else (data, path[2:])
    value: Any = root
    for key in filter(None, rest.split(".")):
        value = value[key]
    return value


def _value(expression: str, data: dict[str, Any], context: dict[str, Any]) -> Any:
    merge = re.fullmatch(r"States\.JsonMerge\((\S+), (\S+), false\)", expression)
    if merge:
        return {**_path(merge[1], data, context), **_path(merge[2], data, context)}
    assert expression.startswith("$"), f"the stand-in does not know {expression!r}"
    return _path(expression, data, context)


def _parameters(template: Any, data: dict[str, Any], context: dict[str, Any]) -> Any:
    if isinstance(template, dict):
        return {
            (k[:-2] if k.endswith(".$") else k): (
                _value(v, data, context) if k.endswith(".$") else _parameters(v, data, context)
            )
            for k, v in template.items()
        }
    return template


def run_passes(
    states: dict[str, Any], start: str, data: dict[str, Any], context: dict[str, Any]
) -> dict[str, Any]:
    """Run Pass states (Parameters only) from `start` to the End; any other state fails."""
    name = start
    while True:
        state = states[name]
        assert state["Type"] == "Pass", f"{name} is a {state['Type']}, not a Pass"
        assert set(state) <= {"Type", "Comment", "Parameters", "Next", "End"}, state
        data = _parameters(state["Parameters"], data, context)
        if state.get("End"):
            return data
        name = state["Next"]


# --------------------------------------------------------------------------- unsharded


def test_by_default_there_is_no_state_machine_and_the_schedule_invokes_the_function(
    unsharded: Built,
) -> None:
    assert resources(unsharded.template, STATE_MACHINE) == {}
    assert unsharded.stacks.collector.sharded is None
    schedule = one(unsharded.template, "AWS::Scheduler::Schedule")
    fn = logical_id(unsharded, unsharded.stacks.collector.function)
    assert schedule["Target"]["Arn"] == {"Fn::GetAtt": [fn, "Arn"]}
    assert "StateMachineArn" not in unsharded.template["Outputs"]
    assert function(unsharded.template)["ReservedConcurrentExecutions"] == 1


# --------------------------------------------------------------------------- state machine


def test_one_standard_state_machine_with_its_own_time_limit(built: Built) -> None:
    from fleetboard.config import load
    from infra.collector import timeout_s

    props = one(built.template, STATE_MACHINE)
    assert props["StateMachineType"] == "STANDARD"
    timeout = timeout_s(load(built.config))
    assert function(built.template)["Timeout"] == timeout  # the function's, unchanged
    # Shards, then the merge, each within the function's timeout, and a minute more.
    assert definition(built)["TimeoutSeconds"] == 2 * timeout + 60


def test_the_pass_starts_with_every_shard_index_and_the_pass_id(built: Built) -> None:
    machine = definition(built)
    first = machine["States"][machine["StartAt"]]
    assert first["Type"] == "Pass"
    assert first["Parameters"] == {
        "shards": list(range(shards_of(built))),
        "pass.$": "$$.Execution.StartTime",
    }
    assert machine["States"][first["Next"]]["Type"] == "Map"


def test_the_map_runs_every_shard_at_once_each_an_invocation_of_the_collector(
    built: Built,
) -> None:
    machine, n = definition(built), shards_of(built)
    shards = the_map(machine)
    assert shards["MaxConcurrency"] == n
    assert shards["ItemsPath"] == "$.shards"
    assert shards["ItemSelector"]["shard.$"] == "$$.Map.Item.Value"
    assert shards["ItemSelector"]["pass.$"] == "$.pass"
    processor = shards["ItemProcessor"]
    task = processor["States"][processor["StartAt"]]
    assert task["Type"] == "Task"
    assert task["Resource"] == function_arn(built)  # payload_response_only: the function
    assert task["Parameters"] == {
        "fleetboard": "shard",
        "shard.$": "$.shard",
        "shards": n,
        "pass.$": "$.pass",
    }
    assert task["TimeoutSeconds"] == function(built.template)["Timeout"]
    assert "Retry" not in task  # a shard is tried once: the next tick is the retry
    assert task.get("End") is True


def test_a_failed_shard_becomes_its_index_error_and_cause_and_the_map_goes_on(
    built: Built,
) -> None:
    shards = the_map(definition(built))
    processor = shards["ItemProcessor"]
    task = processor["States"][processor["StartAt"]]
    [catch] = task["Catch"]
    assert catch["ErrorEquals"] == ["States.ALL"]
    item = {"shard": 2, "pass": "2026-12-05T02:00:00.000Z"}
    context = {"Map": {"Item": {"Value": 2}}}
    selected = _parameters(shards["ItemSelector"], {"pass": item["pass"]}, context)
    assert {k: selected[k] for k in item} == item
    # What Step Functions hands the Catch: Error and Cause; a timeout may bring no Cause.
    for caught, expected in [
        (
            {"Error": "Sandbox.Timedout", "Cause": "Task timed out after 55.00 seconds"},
            {
                "shard": 2,
                "error": "Sandbox.Timedout",
                "cause": "Task timed out after 55.00 seconds",
            },
        ),
        ({"Error": "States.Timeout"}, {"shard": 2, "error": "States.Timeout", "cause": ""}),
    ]:
        data = dict(selected)
        data[catch["ResultPath"][2:]] = caught
        assert run_passes(processor["States"], catch["Next"], data, context) == expected


def test_the_merge_comes_after_the_map_with_its_results_and_ends_the_pass(built: Built) -> None:
    machine, n = definition(built), shards_of(built)
    shards = the_map(machine)
    assert "Catch" not in shards and "Retry" not in shards
    merge = machine["States"][shards["Next"]]
    assert merge["Type"] == "Task"
    assert merge["Resource"] == function_arn(built)
    assert merge["Parameters"] == {
        "fleetboard": "merge",
        "shards": n,
        "pass.$": "$.pass",
        "results.$": shards["ResultPath"],
    }
    assert merge["TimeoutSeconds"] == function(built.template)["Timeout"]
    assert "Retry" not in merge
    assert merge.get("End") is True
    # The Map and the merge are the only way through: nothing can skip the merge.
    top = [s for s in machine["States"].values() if s["Type"] != "Pass"]
    assert [s["Type"] for s in top] == ["Map", "Task"]
    assert len(invocations(machine, built)) == 2


def test_the_state_machine_logs_everything_for_log_retention_days(
    sharded: Built, sharded_traced: Built
) -> None:
    for built, days, traced in [(sharded, 30, False), (sharded_traced, 14, True)]:
        props = one(built.template, STATE_MACHINE)
        logging = props["LoggingConfiguration"]
        assert logging["Level"] == "ALL"
        [destination] = logging["Destinations"]
        group = logical_id(built, built.stacks.collector.sharded.log_group)
        assert destination["CloudWatchLogsLogGroup"]["LogGroupArn"] == {
            "Fn::GetAtt": [group, "Arn"]
        }
        assert built.template["Resources"][group]["Properties"]["RetentionInDays"] == days
        assert props["TracingConfiguration"] == {"Enabled": traced}


# --------------------------------------------------------------------------- IAM


def test_the_state_machine_role_invokes_the_collector_and_nothing_else(built: Built) -> None:
    collector = built.stacks.collector
    role_id = logical_id(built, collector.sharded.role)
    role = built.template["Resources"][role_id]["Properties"]
    [trust] = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "states.amazonaws.com"}
    fn = function_arn(built)
    traced = tracing(built)
    grants = set()
    for where, document in attached_policies(built.template, role_id):
        assert document is not None, where
        for statement in as_list(document["Statement"]):
            assert statement["Effect"] == "Allow" and "NotResource" not in statement
            for action in as_list(statement["Action"]):
                for resource in map(render, as_list(statement["Resource"])):
                    grants.add((action, resource))
    invokes = {(a, r) for a, r in grants if a.startswith("lambda:")}
    # The function and its versions (CDK's grant): the collector's ARN, and no other.
    assert invokes == {("lambda:InvokeFunction", fn), ("lambda:InvokeFunction", f"{fn}:*")}
    others = grants - invokes
    assert others == {(a, "*") for a in LOG_DELIVERY | (XRAY if traced else set())}


def test_the_schedule_starts_the_state_machine_not_the_function(built: Built) -> None:
    schedule = one(built.template, "AWS::Scheduler::Schedule")
    machine = state_machine_id(built)
    assert schedule["Target"]["Arn"] == {"Ref": machine}
    assert schedule["Target"]["RetryPolicy"] == {
        "MaximumRetryAttempts": 0,
        "MaximumEventAgeInSeconds": 60,
    }
    role_id = schedule["Target"]["RoleArn"]["Fn::GetAtt"][0]
    documents = [d for _, d in attached_policies(built.template, role_id)]
    assert None not in documents
    grants = [
        (action, render(resource))
        for document in documents
        for statement in as_list(document["Statement"])
        for action in as_list(statement["Action"])
        for resource in as_list(statement["Resource"])
    ]
    assert grants == [("states:StartExecution", f"${{{machine}}}")]


def test_the_function_is_the_same_one_with_room_for_every_shard_and_a_merge(
    built: Built, unsharded: Built
) -> None:
    props, before = function(built.template), function(unsharded.template)
    # Every shard at once, and the merge of the pass before that may still be running.
    assert props["ReservedConcurrentExecutions"] == shards_of(built) + 1
    # Its code asset too, but that is named by a hash of the config file it bundles.
    same = ("Handler", "Runtime", "Architectures", "Timeout", "MemorySize", "Role", "Environment")
    assert {k: props[k] for k in same} == {k: before[k] for k in same}
    # One role, its grants those of the unsharded collector: the shards and the merge
    # write nothing the single pass does not.
    role = logical_id(built, built.stacks.collector.role)
    assert violations(built.template, role, allowed_for(built)) == []
    assert (
        built.template["Resources"][role]["Properties"]
        == unsharded.template["Resources"][role]["Properties"]
    )


def test_the_errors_alarm_still_watches_the_function(sharded: Built) -> None:
    fn = logical_id(sharded, sharded.stacks.collector.function)
    props = alarm(sharded, "errors")
    assert props["Namespace"] == "AWS/Lambda" and props["MetricName"] == "Errors"
    assert props["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": fn}}]


def test_an_output_names_the_state_machine(built: Built) -> None:
    output = built.template["Outputs"]["StateMachineArn"]
    assert output["Value"] == {"Ref": state_machine_id(built)}
    assert "aws stepfunctions start-execution" in output["Description"]


# --------------------------------------------------------------------------- cdk-nag


@pytest.fixture(scope="session", params=["sharded", "sharded_traced"])
def nag(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> NagRun:
    """cdk-nag's AwsSolutions checks over the whole sharded app, X-Ray off and on, as
    test_collector.py runs them over the unsharded one."""
    config = request.getfixturevalue(f"{request.param}_config")
    return run_nag(config, tmp_path_factory.mktemp(f"nag-{request.param}"))


def test_cdk_nag_finds_nothing_unacknowledged_in_the_sharded_stack(nag: NagRun) -> None:
    assert unacknowledged(nag) == []


def test_every_sharded_acknowledgment_still_matches_a_finding(nag: NagRun) -> None:
    assert nag.acknowledged == acknowledgments_used(nag)  # none with no finding: stale


def test_the_state_machines_findings_are_acknowledged_for_what_they_are(nag: NagRun) -> None:
    [plugin] = nag.report["pluginReports"]
    on_shards = {
        (e["ruleName"], e["acknowledgedId"])
        for e in plugin["suppressedViolations"]
        if any(
            c["constructPath"].startswith("fleetboard-collector/Shards/")
            for c in e["violatingConstructs"]
        )
    }
    ids = {rule for _, rule in on_shards}
    assert "AwsSolutions::AwsSolutions-IAM5[Resource::*]" in ids  # log delivery (and X-Ray)
    assert any(re.fullmatch(r".*IAM5\[Resource::<CollectorFunction\w+\.Arn>:\*\]", i) for i in ids)
    assert not any("SF1" in i for i in ids)  # logging at ALL is met, not excused
    template = json.loads((nag.out / "fleetboard-collector.template.json").read_text())
    traced = one(template, STATE_MACHINE)["TracingConfiguration"]["Enabled"]
    assert any("SF2" in i for i in ids) is not traced  # X-Ray off is excused, on is met


def test_cfn_lint_finds_nothing_in_the_sharded_template(nag: NagRun) -> None:
    from .conftest import cfn_lint

    assert (nag.out / "fleetboard-collector.template.json").is_file()
    done = cfn_lint(nag.out)
    assert done.returncode == 0, done.stdout + done.stderr
