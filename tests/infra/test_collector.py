"""The collector stack's promises, one per test: a read-only role (bar the board's keys and
its sources' state/, and publishing alerts to its own topic), passes that never overlap,
alarms that catch a silent collector, secrets with no value in the template.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "fleet.example.toml"
CDK_CONTEXT = json.loads((ROOT / "cdk.json").read_text())["context"]
#: Everything [deploy] can switch on, so the optional parts (topic, X-Ray) are built too.
FULL_DEPLOY = """
[deploy]
alarm_email = "ops@example.org"
tracing = true
memory_mb = 1024
log_retention_days = 14
"""
#: [alerts] with an sns channel (the topic, publishing to it) ...
SNS_CHANNEL = """
[alerts]
board_url = "https://board.example.org"

[[alerts.channels]]
name = "oncall-mail"
kind = "sns"
levels = ["red"]
"""
#: ... and the channels whose URLs the webhook secret holds.
WEBHOOK_CHANNELS = """
[[alerts.channels]]
name = "prod-slack"
kind = "slack"
url_env = "FLEETBOARD_PROD_SLACK_URL"
environments = ["prod"]

[[alerts.channels]]
name = "ops-hook"
kind = "webhook"
url_env = "FLEETBOARD_OPS_HOOK_URL"
"""
#: [logs]: the service logs of each environment, in a group of its own.
LOGS = """
[logs]
group = "/agentkeys/{env}"
"""
#: fleet.example.toml plus these, by fixture name: each optional part of the stack on and
#: off. `default` (conftest's app) is the example alone.
CONFIGS = {
    "full": FULL_DEPLOY + SNS_CHANNEL + WEBHOOK_CHANNELS + LOGS,  # everything
    "sns_only": SNS_CHANNEL,  # a topic for alerts alone: no e-mail, no webhook secret
    # The alarms' e-mail and webhook channels, no sns channel: the topic, but not for alerts.
    "mail_and_hooks": FULL_DEPLOY + "\n[alerts]\n" + WEBHOOK_CHANNELS,
}


# --------------------------------------------------------------------------- fixtures


@dataclass
class Built:
    app: Any
    stacks: Any  # infra.app.Stacks
    template: dict[str, Any]
    config: Path


def build_app(config: Path, *, outdir: Path | None = None, nag: bool = False) -> Built:
    """The real app as app.py builds it, with cdk.json's feature flags, bundling skipped."""
    import aws_cdk as cdk
    from aws_cdk.assertions import Template

    from fleetboard.config import load
    from infra.app import build

    context = {**CDK_CONTEXT, "aws:cdk:bundling-stacks": []}
    app = cdk.App(context=context, outdir=str(outdir) if outdir else None)
    stacks = build(app, load(config), config)
    if nag:
        import cdk_nag

        cdk.Validations.of(app).add_plugins(cdk_nag.AwsSolutionsChecks(app))
        return Built(app, stacks, {}, config)
    template = Template.from_stack(stacks.collector).to_json()
    return Built(app, stacks, template, config)


def config_file(tmp_path_factory: pytest.TempPathFactory, name: str) -> Path:
    path = tmp_path_factory.mktemp(name) / "fleet.toml"
    path.write_text(EXAMPLE.read_text() + CONFIGS[name])
    return path


#: The example's [aws] with Cost Explorer read (sources/billing.py): off in the example.
COST_EXPLORER = "[aws]\ncost_explorer = true\n"


@pytest.fixture(scope="session")
def cost_explorer_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    text = EXAMPLE.read_text()
    assert text.count("[aws]\n") == 1 and "\ncost_explorer" not in text
    path = tmp_path_factory.mktemp("cost_explorer") / "fleet.toml"
    path.write_text(text.replace("[aws]\n", COST_EXPLORER))
    return path


@pytest.fixture(scope="session")
def cost_explorer(cost_explorer_config: Path) -> Built:
    """The example with [aws] cost_explorer = true: the role may read Cost Explorer."""
    return build_app(cost_explorer_config)


@pytest.fixture(scope="session")
def full_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return config_file(tmp_path_factory, "full")


@pytest.fixture(scope="session")
def full(full_config: Path) -> Built:
    """alarm_email, tracing, memory and retention all set, and an alert channel of each
    kind; cdk.json's flags (minimized IAM)."""
    return build_app(full_config)


@pytest.fixture(scope="session")
def sns_only(tmp_path_factory: pytest.TempPathFactory) -> Built:
    return build_app(config_file(tmp_path_factory, "sns_only"))


@pytest.fixture(scope="session")
def mail_and_hooks(tmp_path_factory: pytest.TempPathFactory) -> Built:
    return build_app(config_file(tmp_path_factory, "mail_and_hooks"))


@pytest.fixture(scope="session")
def default(stacks: Any, collector_template: Any) -> Built:
    """conftest's app: fleet.example.toml with no [deploy] section."""
    return Built(None, stacks, collector_template.to_json(), EXAMPLE)


def resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


def one(template: dict[str, Any], kind: str) -> dict[str, Any]:
    found = list(resources(template, kind).values())
    assert len(found) == 1, f"expected one {kind}, found {len(found)}"
    props: dict[str, Any] = found[0].get("Properties", {})
    return props


def function(template: dict[str, Any]) -> dict[str, Any]:
    return one(template, "AWS::Lambda::Function")


def logical_id(built: Built, construct: Any) -> str:
    stack = built.stacks.collector
    return str(stack.get_logical_id(construct.node.default_child))


def alarm(built: Built, name: str) -> dict[str, Any]:
    """The properties of the `errors`, `stale` or `undelivered` alarm."""
    construct = getattr(built.stacks.collector.alarms, name)
    props: dict[str, Any] = built.template["Resources"][logical_id(built, construct)]["Properties"]
    return props


# --------------------------------------------------------------------------- function


def test_the_function_runs_the_handler_on_python_3_12_x86_64(default: Built) -> None:
    props = function(default.template)
    assert (props["Runtime"], props["Handler"], props["Architectures"]) == (
        "python3.12",
        "fleetboard.handler.handler",
        ["x86_64"],
    )


def test_memory_comes_from_deploy_memory_mb(default: Built, full: Built) -> None:
    assert function(default.template)["MemorySize"] == 512  # DeploySettings' default
    assert function(full.template)["MemorySize"] == 1024


def test_the_timeout_ends_a_pass_before_the_next_tick_and_after_its_deadline(
    default: Built,
) -> None:
    from fleetboard.config import load

    loaded = load(EXAMPLE)
    timeout = function(default.template)["Timeout"]
    assert loaded.inventory.probe.pass_deadline_s < timeout < loaded.period_s


def test_reserved_concurrency_is_one_so_passes_never_overlap(default: Built) -> None:
    assert function(default.template)["ReservedConcurrentExecutions"] == 1


def test_a_failed_pass_is_never_retried_and_a_late_event_expires_within_a_minute(
    default: Built,
) -> None:
    config = one(default.template, "AWS::Lambda::EventInvokeConfig")
    assert config["FunctionName"] == {"Ref": logical_id(default, default.stacks.collector.function)}
    assert config["MaximumRetryAttempts"] == 0
    assert config["MaximumEventAgeInSeconds"] <= 60


def test_the_function_is_told_its_bucket_config_and_secret_arns(default: Built) -> None:
    env = function(default.template)["Environment"]["Variables"]
    secrets = default.stacks.collector.secrets
    assert env["FLEETBOARD_CONFIG"] == "fleet.toml"
    assert env["FLEETBOARD_BUCKET"]["Fn::ImportValue"].startswith("fleetboard-site:")
    assert env["FLEETBOARD_SECRET_GITHUB_TOKEN"] == {
        "Ref": logical_id(default, secrets.github_token)
    }
    assert env["FLEETBOARD_SECRET_RPC_URL"] == {"Ref": logical_id(default, secrets.rpc_url)}
    assert (env["POWERTOOLS_SERVICE_NAME"], env["POWERTOOLS_METRICS_NAMESPACE"]) == (
        "fleetboard",
        "Fleetboard",
    )
    assert env["POWERTOOLS_LOG_LEVEL"] == "INFO"


def test_tracing_is_off_unless_deploy_tracing_is_set(default: Built, full: Built) -> None:
    assert "TracingConfig" not in function(default.template)
    assert function(full.template)["TracingConfig"] == {"Mode": "Active"}


def test_logs_go_to_its_own_group_kept_for_log_retention_days(default: Built, full: Built) -> None:
    for built, days in ((default, 30), (full, 14)):
        group = logical_id(built, built.stacks.collector.log_group)
        assert function(built.template)["LoggingConfig"]["LogGroup"] == {"Ref": group}
        assert built.template["Resources"][group]["Properties"]["RetentionInDays"] == days


# --------------------------------------------------------------------------- schedule


def test_the_schedule_fires_once_a_period_without_retries(default: Built) -> None:
    schedule = one(default.template, "AWS::Scheduler::Schedule")
    fn = logical_id(default, default.stacks.collector.function)
    assert schedule["ScheduleExpression"] == "rate(1 minute)"  # period_s = 60
    assert schedule["FlexibleTimeWindow"] == {"Mode": "OFF"}
    assert schedule["Target"]["Arn"] == {"Fn::GetAtt": [fn, "Arn"]}
    assert schedule["Target"]["RetryPolicy"] == {
        "MaximumRetryAttempts": 0,
        "MaximumEventAgeInSeconds": 60,
    }


@pytest.mark.parametrize(
    ("fleet", "probe", "message"),
    [
        (
            "period_s = 90",
            "",
            "fleet.toml: fleet.period_s: 90 is not a whole number of minutes; EventBridge "
            "Scheduler rates are whole minutes (try 60)",
        ),
        (
            "period_s = 36000",
            "",
            "fleet.toml: fleet.period_s: 36000 is too long for the staleness alarm: 3 periods "
            "must fit in CloudWatch's one-day window (at most 28800)",
        ),
        (
            "period_s = 3600",
            "pass_deadline_s = 897",
            "fleet.toml: probe.pass_deadline_s: 897 leaves less than 7 s of the Lambda's 900 s "
            "timeout to wait for late sources and publish in (Lambda allows at most 900 s)",
        ),
    ],
    ids=["not-whole-minutes", "alarm-window-over-a-day", "deadline-past-lambda-limit"],
)
def test_a_schedule_aws_cannot_run_stops_synth_with_a_message(
    fleet: str, probe: str, message: str
) -> None:
    import aws_cdk as cdk
    from aws_cdk import aws_s3 as s3

    from fleetboard.config import ConfigError, loads
    from infra.collector import CollectorStack

    text = EXAMPLE.read_text()
    text = re.sub(r"^period_s = \d+.*$", fleet, text, flags=re.MULTILINE)
    if probe:
        text = re.sub(r"^pass_deadline_s = \d+.*$", probe, text, flags=re.MULTILINE)
    # `validate` and `collect` refuse it first, with the very message synth gives ...
    with pytest.raises(ConfigError) as refused:
        loads(text)
    assert refused.value.problems == [message]
    # ... and synth still refuses a LoadedConfig built in code, without a file.
    example = loads(EXAMPLE.read_text())
    inv = example.inventory
    period = _number(fleet) if fleet else example.period_s
    deadline = float(_number(probe)) if probe else inv.probe.pass_deadline_s
    loaded = replace(
        example,
        period_s=period,
        inventory=replace(inv, probe=replace(inv.probe, pass_deadline_s=deadline)),
    )
    app = cdk.App(context={"aws:cdk:bundling-stacks": []})
    bucket = s3.Bucket(cdk.Stack(app, "site"), "Bucket")
    with pytest.raises(ConfigError) as caught:
        CollectorStack(app, "c", loaded=loaded, config_path=Path("fleet.toml"), bucket=bucket)
    assert caught.value.problems == [message]


def _number(line: str) -> int:
    found = re.search(r"\d+", line)
    assert found is not None, line
    return int(found.group())


# --------------------------------------------------------------------------- alarms


GE, LT = "GreaterThanOrEqualToThreshold", "LessThanThreshold"
#: Each alarm and what sets it off: the config whose stack has it, then namespace, metric,
#: statistic, comparison, threshold, period (s), evaluation periods and datapoints to alarm
#: (None: not set).
ALARMS = {
    # one failed pass
    "errors": ("default", "AWS/Lambda", "Errors", "Sum", GE, 1, 60, 1, None),
    # three periods without a published board
    "stale": ("default", "Fleetboard", "PassPublished", "Sum", LT, 1, 60, 3, 3),
    # with alerts, a channel failing for half an hour
    "undelivered": ("full", "Fleetboard", "AlertsUndelivered", "Sum", GE, 1, 60, 30, 30),
}
TRIGGER = ("Namespace", "MetricName", "Statistic", "ComparisonOperator", "Threshold", "Period")


@pytest.mark.parametrize("name", ALARMS)
def test_each_alarm_goes_off_when_its_table_row_says(
    request: pytest.FixtureRequest, name: str
) -> None:
    config, *expected = ALARMS[name]
    props = alarm(request.getfixturevalue(config), name)
    found = [
        *(props[k] for k in TRIGGER),
        props["EvaluationPeriods"],
        props.get("DatapointsToAlarm"),
    ]
    assert found == expected


def test_the_stale_alarm_counts_the_passes_of_fleetboard_alone(default: Built) -> None:
    dimensions = alarm(default, "stale")["Dimensions"]
    assert dimensions == [{"Name": "service", "Value": "fleetboard"}]


def test_with_alerts_a_channel_failing_for_half_an_hour_raises_its_alarm(
    default: Built, full: Built, sns_only: Built
) -> None:
    assert default.stacks.collector.alarms.undelivered is None  # no [alerts]: no alarm
    props = alarm(full, "undelivered")  # what sets it off: ALARMS
    assert props["TreatMissingData"] == "notBreaching"  # nothing to send is no failure
    topic = logical_id(full, full.stacks.collector.alarm_topic)
    assert props["AlarmActions"] == [{"Ref": topic}]
    assert alarm(sns_only, "undelivered")["AlarmActions"]  # the alerts' own topic hears it


def test_a_collector_that_stopped_running_counts_as_stale(default: Built) -> None:
    assert alarm(default, "stale")["TreatMissingData"] == "breaching"


def test_without_alarm_email_there_is_no_topic_and_no_alarm_action(default: Built) -> None:
    assert default.stacks.collector.alarm_topic is None
    assert resources(default.template, "AWS::SNS::Topic") == {}
    for name in ("errors", "stale"):
        assert "AlarmActions" not in alarm(default, name)


def test_with_alarm_email_both_alarms_mail_it_through_a_tls_only_topic(full: Built) -> None:
    topic = logical_id(full, full.stacks.collector.alarm_topic)
    subscription = one(full.template, "AWS::SNS::Subscription")
    assert (subscription["Protocol"], subscription["Endpoint"]) == ("email", "ops@example.org")
    assert subscription["TopicArn"] == {"Ref": topic}
    for name in ("errors", "stale"):
        assert alarm(full, name)["AlarmActions"] == [{"Ref": topic}]
    [deny] = one(full.template, "AWS::SNS::TopicPolicy")["PolicyDocument"]["Statement"]
    assert deny["Effect"] == "Deny"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def env_of(built: Built) -> dict[str, Any]:
    variables: dict[str, Any] = function(built.template)["Environment"]["Variables"]
    return variables


def test_an_sns_channel_alone_builds_the_tls_only_topic_and_tells_the_function(
    sns_only: Built,
) -> None:
    topic = logical_id(sns_only, sns_only.stacks.collector.alarm_topic)
    assert env_of(sns_only)["FLEETBOARD_ALERT_TOPIC_ARN"] == {"Ref": topic}
    # No e-mail set, so no one is subscribed by the stack: the README's subscribe command.
    assert resources(sns_only.template, "AWS::SNS::Subscription") == {}
    [deny] = one(sns_only.template, "AWS::SNS::TopicPolicy")["PolicyDocument"]["Statement"]
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    # Whoever hears the alerts hears that the collector (and with it the alerts) stopped.
    for name in ("errors", "stale"):
        assert alarm(sns_only, name)["AlarmActions"] == [{"Ref": topic}]


def test_without_an_sns_channel_the_function_is_not_told_the_alarm_topic(
    default: Built, mail_and_hooks: Built
) -> None:
    assert mail_and_hooks.stacks.collector.alarm_topic is not None  # alarm_email's
    for built in (default, mail_and_hooks):
        assert "FLEETBOARD_ALERT_TOPIC_ARN" not in env_of(built)
        assert [a for a, _ in grants(built) if a.startswith("sns:")] == []


def test_the_topic_keeps_its_logical_id_so_an_upgrade_keeps_its_subscriptions(
    full: Built, sns_only: Built, mail_and_hooks: Built
) -> None:
    # The id the topic has had in every stack deployed with alarm_email since before alerts:
    # another would make CloudFormation replace it, and every subscriber confirm again.
    for built in (full, sns_only, mail_and_hooks):
        assert logical_id(built, built.stacks.collector.alarm_topic) == "AlarmsTopic3A2DFEBA"


def test_an_output_names_the_topic_and_how_to_subscribe(full: Built, default: Built) -> None:
    output = full.template["Outputs"]["TopicArn"]
    assert output["Value"] == {"Ref": logical_id(full, full.stacks.collector.alarm_topic)}
    assert "aws sns subscribe --topic-arn <this ARN> --protocol email" in output["Description"]
    assert "TopicArn" not in default.template["Outputs"]


# --------------------------------------------------------------------------- secrets


def test_both_secrets_exist_with_no_value_in_the_template(default: Built) -> None:
    secrets = resources(default.template, "AWS::SecretsManager::Secret")
    names = sorted(s["Properties"]["Name"] for s in secrets.values())
    assert names == ["fleetboard/github-token", "fleetboard/rpc-url"]
    for secret in secrets.values():
        assert not {"SecretString", "GenerateSecretString"} & set(secret["Properties"])
    assert "SecretString" not in json.dumps(default.template)


def test_a_webhook_channel_adds_the_webhook_secret_created_empty(
    default: Built, sns_only: Built, mail_and_hooks: Built
) -> None:
    for built, has in ((default, False), (sns_only, False), (mail_and_hooks, True)):
        secrets = resources(built.template, "AWS::SecretsManager::Secret")
        names = {s["Properties"]["Name"] for s in secrets.values()}
        assert ("fleetboard/alert-webhooks" in names) is has
        assert ("FLEETBOARD_SECRET_ALERT_WEBHOOKS" in env_of(built)) is has
    hooks = mail_and_hooks.stacks.collector.secrets.alert_webhooks
    props = mail_and_hooks.template["Resources"][logical_id(mail_and_hooks, hooks)]
    assert not {"SecretString", "GenerateSecretString"} & set(props["Properties"])
    assert props["DeletionPolicy"] == "Retain"
    assert env_of(mail_and_hooks)["FLEETBOARD_SECRET_ALERT_WEBHOOKS"] == {
        "Ref": logical_id(mail_and_hooks, hooks)
    }


def test_the_webhook_secrets_output_says_how_to_fill_it_with_json(mail_and_hooks: Built) -> None:
    output = mail_and_hooks.template["Outputs"]["SecretAlertWebhooksArn"]
    hooks = mail_and_hooks.stacks.collector.secrets.alert_webhooks
    assert output["Value"] == {"Ref": logical_id(mail_and_hooks, hooks)}
    command = output["Description"]
    assert "aws secretsmanager put-secret-value --secret-id <this ARN>" in command
    # What the command puts is the JSON object the handler reads: channel name -> URL.
    example = json.loads(command.split("--secret-string '", 1)[1].rstrip("'"))
    assert isinstance(example, dict) and list(example) == ["<channel name>"]


def test_the_secrets_outlive_the_stack(default: Built) -> None:
    for secret in resources(default.template, "AWS::SecretsManager::Secret").values():
        assert (secret["DeletionPolicy"], secret["UpdateReplacePolicy"]) == ("Retain", "Retain")


def test_outputs_name_the_function_and_both_secret_arns(default: Built) -> None:
    outputs = default.template["Outputs"]
    stack = default.stacks.collector
    assert outputs["FunctionName"]["Value"] == {"Ref": logical_id(default, stack.function)}
    assert {outputs[k]["Value"]["Ref"] for k in ("SecretGithubTokenArn", "SecretRpcUrlArn")} == {
        logical_id(default, stack.secrets.github_token),
        logical_id(default, stack.secrets.rpc_url),
    }


# --------------------------------------------------------------------------- IAM walker


def render(value: Any) -> str:
    """A policy resource as one string: intrinsics become `${...}`, joins are joined."""
    match value:
        case str():
            return value
        case {"Ref": str(name)}:
            return f"${{{name}}}"
        case {"Fn::GetAtt": [str(name), str(attribute)]}:
            return f"${{{name}.{attribute}}}"
        case {"Fn::ImportValue": name}:
            return f"${{Import:{render(name)}}}"
        case {"Fn::Join": [str(separator), list(parts)]}:
            return separator.join(render(p) for p in parts)
    raise AssertionError(f"the walker does not know this intrinsic: {value!r}")


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


@dataclass(frozen=True)
class Allowed:
    """The only writes the collector role may hold, as `render` spells their resources:
    the board's keys, history/*, the sources' state/*, its own log group and, with an sns
    alert channel, publishing to the stack's topic; and the only secrets it may read."""

    bucket_arn: str
    log_group_arn: str
    tracing: bool
    secret_arns: frozenset[str]  # the stack's own secrets
    topic_arn: str | None  # the topic an sns channel publishes to; None: no sns channel
    #: The log groups [logs] reads (logs:FilterLogEvents, on nothing else); none without it.
    log_groups: frozenset[str] = frozenset()


#: A read, by IAM's naming: Describe*, List*, Get*. A wildcard only after the whole verb.
READ = re.compile(r"^[a-z0-9-]+:(Describe|List|Get)[A-Za-z0-9]*\*?$")


def permitted(action: str, resource: str, allowed: Allowed) -> bool:
    from fleetboard.publish import HISTORY_PREFIX, PUBLISHED_KEYS, STATE_PREFIX
    from infra.collector import XRAY_WRITES

    # Whole resources, never prefixes: "state/../x" or "state*" is not "state/*".
    keys = (*PUBLISHED_KEYS, f"{HISTORY_PREFIX}*", f"{STATE_PREFIX}*")
    board = {f"{allowed.bucket_arn}/{key}" for key in keys}
    if action.startswith("secretsmanager:Get"):
        # A read, but of someone's secret: only the stack's own, one action, no wildcard.
        return action == "secretsmanager:GetSecretValue" and resource in allowed.secret_arns
    return bool(
        READ.match(action)
        or (action in ("logs:CreateLogStream", "logs:PutLogEvents")
            and resource == allowed.log_group_arn)
        or (action == "s3:PutObject" and resource in board)
        or (allowed.tracing and action in XRAY_WRITES and resource == "*")
        or (action == "sns:Publish" and allowed.topic_arn is not None
            and resource == allowed.topic_arn)
        # A read, but not Describe/List/Get-named: only in the groups [logs] names.
        or (action == "logs:FilterLogEvents" and resource in allowed.log_groups)
    )  # fmt: skip


def attached_policies(
    template: dict[str, Any], role_id: str
) -> Iterator[tuple[str, dict[str, Any] | None]]:
    """(where, document) for every policy on the role; None for one we cannot read."""
    role = template["Resources"][role_id]["Properties"]
    for policy in role.get("Policies", []):
        yield f"{role_id} inline {policy['PolicyName']}", policy["PolicyDocument"]
    for arn in role.get("ManagedPolicyArns", []):
        yield f"{role_id} managed policy {render(arn)}", None
    for name, resource in template["Resources"].items():
        kind, props = resource["Type"], resource.get("Properties", {})
        if kind in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy") and {
            "Ref": role_id
        } in props.get("Roles", []):
            yield name, props["PolicyDocument"]


def violations(template: dict[str, Any], role_id: str, allowed: Allowed) -> list[str]:
    """Every grant on the role that is not a read, its own log stream or a board key."""
    found = []
    for where, document in attached_policies(template, role_id):
        if document is None:
            found.append(f"{where}: its statements are not in the template to check")
            continue
        for statement in as_list(document["Statement"]):
            if statement["Effect"] != "Allow":
                continue
            if "NotAction" in statement or "NotResource" in statement:
                found.append(f"{where}: an Allow with NotAction/NotResource grants everything else")
                continue
            for action in as_list(statement["Action"]):
                for resource in map(render, as_list(statement["Resource"])):
                    if not permitted(action, resource, allowed):
                        found.append(f"{where}: {action} on {resource}")
    return found


def allowed_for(built: Built) -> Allowed:
    from fleetboard.config import load

    collector = built.stacks.collector
    site = built.stacks.site
    # The import the collector's template uses for the site bucket's ARN (export_value
    # returns the very export CDK made for the reference).
    bucket_arn = collector.resolve(site.export_value(site.bucket.bucket_arn))
    alerts = load(built.config).inventory.alerts
    sns_channel = alerts is not None and any(c.kind == "sns" for c in alerts.channels)
    topic = collector.alarm_topic
    return Allowed(
        bucket_arn=render(bucket_arn),
        log_group_arn=render(collector.resolve(collector.log_group.log_group_arn)),
        tracing=bool(function(built.template).get("TracingConfig")),
        secret_arns=frozenset(
            render(collector.resolve(s.secret_arn)) for s in collector.secrets.by_name.values()
        ),
        topic_arn=render(collector.resolve(topic.topic_arn)) if sns_channel and topic else None,
        log_groups=frozenset(log_group_arns(built)),
    )


def log_group_arns(built: Built) -> list[str]:
    """The ARNs of the groups the config's [logs] reads, as `render` spells them: the
    fleet's region (us-east-1: partition aws), the stack's account, `:*` for the group's
    streams."""
    from fleetboard.config import load

    inventory = load(built.config).inventory
    if inventory.logs is None:
        return []
    region = inventory.aws.region
    return [
        f"arn:aws:logs:{region}:${{AWS::AccountId}}:log-group:{group}:*"
        for group in sorted(set(inventory.logs.groups.values()))
    ]


Mutation = Callable[[dict[str, Any], str, Allowed], Allowed]


def _placed(text: str, allowed: Allowed) -> str:
    """`text` with BUCKET as the board bucket's ARN and TOPIC as the alert topic's."""
    text = text.replace("BUCKET", allowed.bucket_arn)
    return text.replace("TOPIC", allowed.topic_arn or "arn:aws:sns:us-east-1:1:none")


def _add(statement: dict[str, Any]) -> Mutation:
    """Append a statement to the role's inline policy (BUCKET and TOPIC `_placed`)."""

    def mutate(template: dict[str, Any], role_id: str, allowed: Allowed) -> Allowed:
        policy = template["Resources"][role_id]["Properties"]["Policies"][0]
        text = _placed(json.dumps(statement), allowed)
        policy["PolicyDocument"]["Statement"].append(json.loads(text))
        return allowed

    return mutate


def _attach(kind: str, document: dict[str, Any]) -> Mutation:
    """Attach a separate policy resource to the role."""

    def mutate(template: dict[str, Any], role_id: str, allowed: Allowed) -> Allowed:
        template["Resources"]["Extra"] = {
            "Type": kind,
            "Properties": {"PolicyDocument": document, "Roles": [{"Ref": role_id}]},
        }
        return allowed

    return mutate


def _managed(template: dict[str, Any], role_id: str, allowed: Allowed) -> Allowed:
    role = template["Resources"][role_id]["Properties"]
    role["ManagedPolicyArns"] = ["arn:aws:iam::aws:policy/ReadOnlyAccess"]
    return allowed


def _no_tracing(template: dict[str, Any], role_id: str, allowed: Allowed) -> Allowed:
    return replace(allowed, tracing=False)  # the X-Ray grant stays, the setting goes


def _no_logs(template: dict[str, Any], role_id: str, allowed: Allowed) -> Allowed:
    return replace(allowed, log_groups=frozenset())  # the grant stays, [logs] goes


def _no_sns_channel(template: dict[str, Any], role_id: str, allowed: Allowed) -> Allowed:
    return replace(allowed, topic_arn=None)  # the Publish grant stays, the channel goes


OTHER_SECRET = "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-password-AbCdEf"
OTHER_TOPIC = "arn:aws:sns:us-east-1:123456789012:someone-elses-topic"


def _allow(action: str, resource: str) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource}


def _grant(action: str, resource: str) -> tuple[Mutation, str]:
    """A bad policy that allows `action` on `resource` in the role's own policy; the
    violation names both (BUCKET and TOPIC `_placed`)."""
    return _add(_allow(action, resource)), f"{action} on {resource}"


#: Deliberately bad policies: each must be caught, with this text (`_placed`) in the violation.
BAD: dict[str, tuple[Mutation, str]] = {
    "delete-a-board-key": _grant("s3:DeleteObject", "BUCKET/latest.json"),
    "put-anywhere-in-the-bucket": _grant("s3:PutObject", "BUCKET/*"),
    # IAM's * spans "/": "state*" also covers state.html, statements/... beside the prefix.
    "put-beside-state-without-the-slash": _grant("s3:PutObject", "BUCKET/state*"),
    # A ".." segment some HTTP stacks fold away: not a state/ key, whatever S3 makes of it.
    "put-through-state-dot-dot": _grant("s3:PutObject", "BUCKET/state/../*"),
    "delete-state": _grant("s3:DeleteObject", "BUCKET/state/*"),
    "put-state-of-another-bucket": _grant("s3:PutObject", "arn:aws:s3:::other/state/*"),
    "ssm-send-command": _grant("ssm:SendCommand", "*"),
    "put-into-another-bucket": _grant("s3:PutObject", "arn:aws:s3:::other/latest.json"),
    "ec2-wildcard": _grant("ec2:*", "*"),
    "wildcard-disguised-as-a-read": _grant("s3:*Object", "*"),
    "logs-of-another-group": _grant(
        "logs:PutLogEvents", "arn:aws:logs:us-east-1:1:log-group:other:*"
    ),
    "not-action": (_add({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}), "NotAction"),
    "separate-policy-passes-a-role": (
        _attach("AWS::IAM::Policy", {"Statement": [_allow("iam:PassRole", "*")]}),
        "Extra: iam:PassRole",
    ),
    "customer-managed-policy-sends": (
        _attach("AWS::IAM::ManagedPolicy", {"Statement": [_allow("sqs:SendMessage", "*")]}),
        "Extra: sqs:SendMessage",
    ),
    "aws-managed-policy": (_managed, "managed policy arn:aws:iam::aws:policy/ReadOnlyAccess"),
    "xray-without-tracing": (_no_tracing, "xray:Put"),
    "publish-to-every-topic": _grant("sns:Publish", "*"),
    "publish-to-another-topic": _grant("sns:Publish", OTHER_TOPIC),
    "publish-without-an-sns-channel": (_no_sns_channel, "sns:Publish"),
    "change-the-alert-topic": _grant("sns:SetTopicAttributes", "TOPIC"),
    "filter-every-log-group": _grant("logs:FilterLogEvents", "*"),
    "filter-another-log-group": _grant(
        "logs:FilterLogEvents", "arn:aws:logs:us-east-1:1:log-group:/other:*"
    ),
    "filter-logs-without-logs": (_no_logs, "logs:FilterLogEvents"),
    # Reading a group's events by query is not the one read [logs] asks for.
    "query-the-log-groups": _grant(
        "logs:StartQuery", "arn:aws:logs:us-east-1:1:log-group:/agentkeys/prod:*"
    ),
    "read-another-secret": _grant("secretsmanager:GetSecretValue", OTHER_SECRET),
    "read-every-secret-through-a-wildcard": _grant("secretsmanager:Get*", "*"),
    # Cost Explorer's writes: switching which tags the bill is split by is not a read.
    "ce-activate-a-tag": _grant("ce:UpdateCostAllocationTagsStatus", "*"),
}
#: Bad policies that take away a setting the default config does not have.
NEEDS_FULL = {"xray-without-tracing", "publish-without-an-sns-channel", "filter-logs-without-logs"}


#: (config, bad policy or None): each config as synthesized, then the default and the full
#: one with each bad policy (the default has no X-Ray or Publish grant to take the setting
#: away from).
WALKS = [
    *((config, bad) for config in ("default", "full") for bad in (None, *BAD)
      if not (config == "default" and bad in NEEDS_FULL)),
    ("sns_only", None),
    ("mail_and_hooks", None),
    ("cost_explorer", None),
    ("cost_explorer", "ce-activate-a-tag"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("config", "bad"), WALKS, ids=[f"{c}-{b or 'as-synthesized'}" for c, b in WALKS]
)
def test_every_grant_of_the_collector_role_is_a_read_its_own_logs_or_a_board_key(
    request: pytest.FixtureRequest, config: str, bad: str | None
) -> None:
    built: Built = request.getfixturevalue(config)
    template = copy.deepcopy(built.template)
    role_id = logical_id(built, built.stacks.collector.role)
    allowed = allowed_for(built)
    if bad is None:
        assert violations(template, role_id, allowed) == []
        return
    mutate, expected = BAD[bad]
    expected = _placed(expected, allowed)
    allowed = mutate(template, role_id, allowed)
    found = violations(template, role_id, allowed)
    assert any(expected in line for line in found), (expected, found)


def grants(built: Built) -> list[tuple[str, str]]:
    """(action, resource) of every Allow on the collector role, rendered."""
    template = built.template
    role_id = logical_id(built, built.stacks.collector.role)
    return [
        (action, resource)
        for _, document in attached_policies(template, role_id)
        for statement in as_list(document["Statement"] if document else [])
        for action in as_list(statement.get("Action", []))
        for resource in map(render, as_list(statement.get("Resource", [])))
    ]


@pytest.mark.parametrize("config", ["default", "full", "cost_explorer"])
def test_only_ec2_and_ssm_reads_and_xray_writes_use_a_wildcard_resource(
    request: pytest.FixtureRequest, config: str
) -> None:
    built: Built = request.getfixturevalue(config)
    wildcard = {action for action, resource in grants(built) if resource == "*"}
    expected = {
        "ec2:DescribeAddresses",
        "ec2:DescribeInstances",
        "ec2:DescribeInstanceStatus",
        "ssm:ListCommands",
        "ssm:DescribeInstanceInformation",
        "cloudwatch:GetMetricData",
        "pricing:GetProducts",
    }
    if config == "full":
        expected |= {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}
    if config == "cost_explorer":
        expected |= {"ce:GetCostAndUsage"}
    assert wildcard == expected


@pytest.mark.parametrize("config", ["default", "full"])
def test_cost_explorer_is_not_granted_unless_the_fleet_config_turns_it_on(
    request: pytest.FixtureRequest, config: str, cost_explorer: Built
) -> None:
    # Each request is billed and reads the whole account's bill: off by default, and the
    # role then cannot read it at all; [aws] cost_explorer = true grants that one read.
    built: Built = request.getfixturevalue(config)
    assert not [a for a, _ in grants(built) if a.startswith("ce:")]
    assert [(a, r) for a, r in grants(cost_explorer) if a.startswith("ce:")] == [
        ("ce:GetCostAndUsage", "*")
    ]


def test_service_logs_are_read_only_with_logs_and_only_in_its_groups(
    default: Built, full: Built
) -> None:
    # No [logs] (the example): no grant on any log group but its own log's writes.
    assert not [(a, r) for a, r in grants(default) if a == "logs:FilterLogEvents"]
    # [logs]: FilterLogEvents, on exactly the watched environments' groups (test-2 is
    # retired: not read), and no other logs action but its own log's writes.
    region = "us-east-1"
    assert {(a, r) for a, r in grants(full) if a.startswith("logs:")} == {
        *(
            ("logs:FilterLogEvents", f"arn:aws:logs:{region}:"
             f"${{AWS::AccountId}}:log-group:/agentkeys/{env}:*")
            for env in ("prod", "base", "test")
        ),
        *((a, allowed_for(full).log_group_arn) for a in ("logs:CreateLogStream", "logs:PutLogEvents")),
    }  # fmt: skip


def test_route53_is_read_only_in_the_fleet_zone(default: Built) -> None:
    route53 = {(a, r) for a, r in grants(default) if a.startswith("route53:")}
    assert route53 == {
        ("route53:ListResourceRecordSets", "arn:aws:route53:::hostedzone/Z09723983CFJOHAE3VC65")
    }


@pytest.mark.parametrize("config", ["default", "full"])
def test_secrets_are_read_from_the_collector_secrets_only(
    request: pytest.FixtureRequest, config: str
) -> None:
    built: Built = request.getfixturevalue(config)
    secrets = built.stacks.collector.secrets
    own = [secrets.github_token, secrets.rpc_url]
    if config == "full":  # it has webhook channels: their URLs' secret too
        own.append(secrets.alert_webhooks)
    expected = {f"${{{logical_id(built, secret)}}}" for secret in own}
    reads = {(a, r) for a, r in grants(built) if a.startswith("secretsmanager:")}
    assert reads == {("secretsmanager:GetSecretValue", r) for r in expected}


def test_the_role_publishes_to_the_stacks_topic_only(full: Built) -> None:
    topic = logical_id(full, full.stacks.collector.alarm_topic)
    assert {(a, r) for a, r in grants(full) if a.startswith("sns:")} == {
        ("sns:Publish", f"${{{topic}}}")
    }


def test_ssm_is_read_for_the_deploy_trail_and_the_agents_only(default: Built) -> None:
    # ListCommands shows past commands' comments and DescribeInstanceInformation the agents'
    # ping; SendCommand would run code on the fleet.
    ssm = {(a, r) for a, r in grants(default) if a.startswith("ssm:")}
    assert ssm == {("ssm:ListCommands", "*"), ("ssm:DescribeInstanceInformation", "*")}


def test_latest_json_and_state_are_the_only_objects_the_collector_reads(default: Built) -> None:
    bucket = allowed_for(default).bucket_arn
    reads = {(a, r) for a, r in grants(default) if a.startswith("s3:") and a != "s3:PutObject"}
    assert reads == {
        ("s3:GetObject", f"{bucket}/latest.json"),
        ("s3:GetObject", f"{bucket}/state/*"),
    }


def test_the_collector_writes_the_board_history_and_state_only(default: Built) -> None:
    bucket = allowed_for(default).bucket_arn
    writes = {r for a, r in grants(default) if a == "s3:PutObject"}
    keys = (
        *("latest.json", "index.html", "feed.xml", "history.html", "version.json"),
        *("board.css", "board.js", "not-found.html"),
    )
    assert writes == {f"{bucket}/{key}" for key in (*keys, "history/*", "state/*")}


def test_only_lambda_can_assume_the_collector_role(default: Built) -> None:
    role_id = logical_id(default, default.stacks.collector.role)
    trust = default.template["Resources"][role_id]["Properties"]["AssumeRolePolicyDocument"]
    [statement] = trust["Statement"]
    assert statement["Principal"] == {"Service": "lambda.amazonaws.com"}


# --------------------------------------------------------------------------- cdk-nag


@dataclass
class NagRun:
    report: dict[str, Any]  # validation-report.json, as `cdk synth` writes it
    acknowledged: set[str]  # every acknowledgment made in the collector stack
    out: Path  # the cloud assembly, templates and all


@pytest.fixture(scope="session", params=["default", "full", "cost_explorer"])
def nag(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> NagRun:
    """cdk-nag's AwsSolutions checks over the whole app, default and full [deploy], and
    with Cost Explorer read."""
    config = (
        EXAMPLE
        if request.param == "default"
        else request.getfixturevalue(f"{request.param}_config")
    )
    return run_nag(config, tmp_path_factory.mktemp(f"nag-{request.param}"))


def run_nag(config: Path, outdir: Path) -> NagRun:
    """Synthesize the app of `config` into `outdir` with cdk-nag's AwsSolutions checks."""
    import aws_cdk as cdk

    built = build_app(config, outdir=outdir, nag=True)
    try:
        built.app.synth()
    except Exception as exc:  # the site stack's findings are not this file's to judge
        if "Validation failed" not in str(exc) and "ValidationFailed" not in str(exc):
            raise
    key = cdk.Validations.ACKNOWLEDGED_RULES_METADATA_KEY
    acknowledged = {
        rule
        for construct in built.stacks.collector.node.find_all()
        for entry in construct.node.metadata
        if entry.type == key
        for rule in entry.data
    }
    report = json.loads((outdir / "validation-report.json").read_text())
    return NagRun(report, acknowledged, outdir)


def _in_collector(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        e
        for e in entries
        if any(
            c["constructPath"].startswith("fleetboard-collector/") for c in e["violatingConstructs"]
        )
    ]


def unacknowledged(nag: NagRun) -> list[tuple[str, str]]:
    """The collector stack's findings nobody acknowledged: (rule, construct path)."""
    [plugin] = nag.report["pluginReports"]
    return [
        (v["ruleName"], c["constructPath"])
        for v in _in_collector(plugin["violations"])
        for c in v["violatingConstructs"]
    ]


def acknowledgments_used(nag: NagRun) -> set[str]:
    """The acknowledgments some finding of the collector stack needed."""
    [plugin] = nag.report["pluginReports"]
    return {e["acknowledgedId"] for e in _in_collector(plugin["suppressedViolations"])}


def test_cdk_nag_finds_nothing_unacknowledged_in_the_collector_stack(nag: NagRun) -> None:
    assert unacknowledged(nag) == []


def test_every_collector_acknowledgment_still_matches_a_finding(nag: NagRun) -> None:
    assert nag.acknowledged == acknowledgments_used(nag)  # none with no finding: stale


def test_cfn_lint_finds_nothing_in_the_collector_template(nag: NagRun) -> None:
    # The full config builds every optional part: the topic, the webhook secret, X-Ray.
    from .conftest import cfn_lint

    assert (nag.out / "fleetboard-collector.template.json").is_file()
    done = cfn_lint(nag.out)
    assert done.returncode == 0, done.stdout + done.stderr
