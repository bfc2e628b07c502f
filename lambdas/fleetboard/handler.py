"""The Lambda entry: one pass per scheduled invocation, published to the board bucket.

Thin by design: the config and the clients are built once per container, the pass itself
is collect.run_pass, the same code a laptop runs. Logs are JSON with the request id as the
correlation id; metrics go out as EMF (no PutMetricData call, so no write permission).

The pass's deadline is the sooner of `pass_deadline_s` and the invocation's remaining time
less the grace the pass may wait past its deadline and PUBLISH_RESERVE_S, so the board is
published before Lambda's timeout whatever a source does. A source stuck past it is left
on its daemon thread: the handler returns without it, Lambda freezes it with the container,
and when a warm container thaws it for the next invocation, its pass's gate keeps its
answer and its state writes out of the new pass (collect.PassGate).
"""

from __future__ import annotations

import logging
import os
import re
import time
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit, single_metric

from fleetboard import collect, jsonsafe, registry, schemas
from fleetboard.collect import ALERT_SECRET_PREFIX, PassResult
from fleetboard.config import DEADLINE_GRACE_S, PUBLISH_RESERVE_S, LoadedConfig, load
from fleetboard.inventory import AlertSettings
from fleetboard.publish import Publisher, S3Publisher, s3_client
from fleetboard.secrets import Secret, read_secret
from fleetboard.sources import PassContext, Resolver, system_resolver

#: The metrics' namespace and service dimension: the alarms in infra/collector.py read them.
NAMESPACE = "Fleetboard"
SERVICE = "fleetboard"

# The environment (POWERTOOLS_*) may override both; these defaults keep a laptop run and
# the tests emitting exactly what the deployed function does.
_service = os.environ.get("POWERTOOLS_SERVICE_NAME", SERVICE)
_namespace = os.environ.get("POWERTOOLS_METRICS_NAMESPACE", NAMESPACE)
logger = Logger(service=_service)
metrics = Metrics(service=_service, namespace=_namespace)

#: Environment status as a number, so one alarm or graph can say "went red".
STATUS_LEVEL = {"green": 0, "unknown": 1, "amber": 2, "red": 3}
#: The webhook secret's name below: one JSON object of channel name -> URL, which the pass
#: sees as one secret per channel (`alerts:<name>`, collect.alert_wires reads them).
ALERT_WEBHOOKS = "alert_webhooks"
#: Secret name in a pass -> the environment variable holding its Secrets Manager id. The
#: stack sets the webhook secret's only when [alerts] has a slack or webhook channel.
SECRET_ENV = {
    "github_token": "FLEETBOARD_SECRET_GITHUB_TOKEN",
    "rpc_url": "FLEETBOARD_SECRET_RPC_URL",
    ALERT_WEBHOOKS: "FLEETBOARD_SECRET_ALERT_WEBHOOKS",
}
#: What the webhook secret's value must be (the operator types it in by hand).
WEBHOOKS_SCHEMA = "alert-webhooks.schema.json"
#: Channel kinds whose URL the webhook secret holds (an sns channel has none).
WEBHOOK_KINDS = ("slack", "webhook")
#: What the webhook secret may parse to instead of an object, in JSON's words.
_JSON_TYPES = {
    list: "array",
    str: "string",
    int: "number",
    float: "number",
    bool: "boolean",
    type(None): "null",
}
#: botocore prints every answer's body at DEBUG, GetSecretValue's secret with it: held back,
#: as the chain source and the alerts' delivery hold back urllib3's request lines.
_BODY_LOGGERS = ("botocore.parsers",)


@dataclass(frozen=True)
class Runtime:
    """What a container builds once and every pass reuses."""

    loaded: LoadedConfig
    publisher: Publisher
    aws_client: Any  # sources.awsapi.AwsClientFactory
    secret_ids: dict[str, str] = field(default_factory=dict)
    secrets_client: Any = None  # None: Powertools' own client
    resolver: Resolver = system_resolver


@cache
def runtime() -> Runtime:
    """Config from the bundle, clients at container scope (docs/design.md#infrastructure)."""
    from fleetboard.sources.awsapi import make_aws_client_factory

    loaded = load(os.environ.get("FLEETBOARD_CONFIG", "fleet.toml"))
    built = Runtime(
        loaded=loaded,
        publisher=S3Publisher(os.environ["FLEETBOARD_BUCKET"], s3_client()),
        aws_client=make_aws_client_factory(loaded.inventory.aws),
        secret_ids={k: os.environ[v] for k, v in SECRET_ENV.items() if os.environ.get(v)},
    )
    # Seconds of import: once, not inside a pass's budget. (What it leaves on the heap is
    # set aside from the garbage collector while each pass runs: collect.heap_set_aside.)
    registry.warm_up(loaded.inventory)
    return built


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return run(runtime(), context, event)


#: What a sharded pass's state machine (infra/shards.py) says in its events: the shard
#: steps' `{"fleetboard": "shard", "shard", "shards", "pass"}` and the merge step's
#: `{"fleetboard": "merge", "shards", "pass", "results"}`. The schedule's own event has no
#: "fleetboard" key: a whole pass.
SHARD_STEP, MERGE_STEP = "shard", "merge"


def run(rt: Runtime, context: Any, event: Any = None) -> dict[str, Any]:
    """One pass within the invocation's remaining time; returns what it published. A
    sharded pass's shard step probes its share and returns what it saved instead."""
    logger.set_correlation_id(context.aws_request_id)
    remaining_s = context.get_remaining_time_in_millis() / 1000
    budget_s = pass_budget_s(rt.loaded.inventory.probe.pass_deadline_s, remaining_s)
    step = event.get("fleetboard") if isinstance(event, dict) else None
    ctx = PassContext(
        deadline=time.monotonic() + budget_s,
        aws_client=rt.aws_client,
        resolver=rt.resolver,
        # A shard runs aws, http and tls only: none of them reads a secret.
        secrets={} if step == SHARD_STEP else _secrets(rt),
    )
    if step not in (None, SHARD_STEP, MERGE_STEP):
        _rejected()
        raise ValueError(f"event: fleetboard: {str(step)[:40]!r} is neither shard nor merge")
    if step == SHARD_STEP:
        return _shard_step(rt, ctx, event)
    if step == MERGE_STEP:
        from fleetboard import shards

        count, pass_id = _sharding(event)
        results = event.get("results")
        failures = shards.failures_from(results if isinstance(results, list) else [])
        result = shards.merge_pass(
            rt.loaded, ctx, rt.publisher, count=count, pass_id=pass_id, failures=failures
        )
    else:
        result = collect.run_pass(rt.loaded, ctx, rt.publisher)
    _record(result)
    summary = result.board.summary
    outcome = {
        "status": summary.status.value,
        "published": result.published,
        "unpublished": result.unpublished,
        "error": result.error,
        "duration_s": round(result.board.collector.duration_s, 3),
        "issues": len(summary.issues),
    }
    logger.info("pass done", extra=outcome)
    return outcome


def _rejected() -> None:
    """Counted before a bad step event fails its step: a state machine out of step with
    the function's code (a deploy half done) shows as a metric, not only as errors."""
    metrics.add_metric("StepEventsRejected", MetricUnit.Count, 1)


def _sharding(event: dict[str, Any]) -> tuple[int, str]:
    """A shard or merge event's `shards` and `pass`, checked: a bad one fails the step."""
    from fleetboard.shards.plan import MAX_SHARDS

    count, pass_id = event.get("shards"), event.get("pass")
    if not isinstance(count, int) or not 1 <= count <= MAX_SHARDS:
        _rejected()
        raise ValueError(f"event: shards must be 1 to {MAX_SHARDS}, not {str(count)[:20]!r}")
    if not isinstance(pass_id, str) or not 0 < len(pass_id) <= 64:
        _rejected()
        raise ValueError("event: pass must be the execution's start time (a short string)")
    return count, pass_id


def _shard_step(rt: Runtime, ctx: PassContext, event: dict[str, Any]) -> dict[str, Any]:
    """One shard of a sharded pass: probe its share, save it for the merge. A shard that
    could not save raises, so the state machine's Catch tells the merge why."""
    from fleetboard import shards

    count, pass_id = _sharding(event)
    index = event.get("shard")
    if not isinstance(index, int) or not 0 <= index < count:
        _rejected()
        raise ValueError(f"event: shard must be 0 to {count - 1}, not {str(index)[:20]!r}")
    report = shards.run_shard(
        rt.loaded, ctx, rt.publisher, index=index, count=count, pass_id=pass_id
    )
    logger.info("shard done", extra=report.as_dict())
    metrics.add_metric("ShardProbes", MetricUnit.Count, report.probes)
    if report.error is not None:
        raise RuntimeError(f"shard {index + 1} of {count}: {report.error}")
    return report.as_dict()


def pass_budget_s(pass_deadline_s: float, remaining_s: float) -> float:
    """Seconds the sources get: the config's deadline, or less when the invocation has less
    left than that plus the pass's grace past it plus the time to judge and publish."""
    room_s = remaining_s - DEADLINE_GRACE_S - PUBLISH_RESERVE_S
    return max(1.0, min(pass_deadline_s, room_s))


def _secrets(rt: Runtime) -> dict[str, Secret]:
    """The secrets that are filled in; one that cannot be read is logged, never fatal. The
    webhook secret comes out as one secret per channel (`webhook_urls`)."""
    for name in _BODY_LOGGERS:  # whatever level the root logger was turned down to
        body_logger = logging.getLogger(name)
        if body_logger.getEffectiveLevel() < logging.INFO:
            body_logger.setLevel(logging.INFO)
    found: dict[str, Secret] = {}
    for name, secret_id in rt.secret_ids.items():
        try:
            value = read_secret(secret_id, client=rt.secrets_client)
        except Exception as exc:  # its source will show "not configured" with the reason
            logger.warning(
                "secret not readable", extra={"secret": name, "error": type(exc).__name__}
            )
            continue
        if value is not None:
            found[name] = value
    try:
        hooks = webhook_urls(found.pop(ALERT_WEBHOOKS, None), rt.loaded.inventory.alerts)
    except Exception as exc:  # a bug here costs the webhook channels, never the board
        note = f"alerts: the webhook secret could not be read as URLs ({type(exc).__name__})"
        hooks = WebhookUrls({}, (note,))
    for note in hooks.notes:
        logger.warning(note)
    return {**found, **hooks.urls}


@dataclass(frozen=True)
class WebhookUrls:
    """The webhook secret as a pass uses it."""

    urls: dict[str, Secret]  # `alerts:<channel name>` -> that channel's URL
    notes: tuple[str, ...] = ()  # what the log should say about it: names, never a URL


def webhook_urls(value: Secret | None, settings: AlertSettings | None) -> WebhookUrls:
    """Each slack and webhook channel's URL from the webhook secret's `value` (None: not
    filled in), a JSON object of channel name -> https:// URL (schema/WEBHOOKS_SCHEMA).

    A value that is anything else configures no channel at all, rather than some: the
    operator typed it in one go, and a half-read secret would fail in ways harder to see.
    Nothing here raises, and no note quotes the value: a URL holds its channel's token, and
    a URL typed where a name belongs would be quoted as a name.
    """
    if value is None:
        return WebhookUrls({})
    unusable = "every slack and webhook channel is not configured until it is fixed"
    try:
        doc = jsonsafe.loads(value.reveal())
    except ValueError as exc:  # the decoder's words quote no input, but say none anyway
        note = f"alerts: the webhook secret is not JSON ({type(exc).__name__}); {unusable}"
        return WebhookUrls({}, (note,))
    if not isinstance(doc, dict):
        note = (
            f"alerts: the webhook secret is a JSON {_JSON_TYPES.get(type(doc), 'value')}, not "
            f"an object of channel name to https:// URL; {unusable}"
        )
        return WebhookUrls({}, (note,))
    if schemas.problems(WEBHOOKS_SCHEMA, doc):
        note = f"alerts: the webhook secret does not match {WEBHOOKS_SCHEMA} ({_where(doc)}); "
        return WebhookUrls({}, (note + unusable,))
    channels = settings.channels if settings is not None else ()
    wanted = {c.name for c in channels if c.kind in WEBHOOK_KINDS}
    notes = [
        f"alerts: the webhook secret names {name!r}, which is no slack or webhook channel "
        "in fleet.toml; ignored"
        for name in sorted(set(doc) - wanted)
    ]
    notes += [
        f"alerts: the webhook secret has no URL for channel {name!r}; it is not configured"
        for name in sorted(wanted - set(doc))
    ]
    urls = {ALERT_SECRET_PREFIX + name: Secret(url) for name, url in doc.items() if name in wanted}
    return WebhookUrls(urls, tuple(notes))


def _where(doc: dict[str, Any]) -> str:
    """Which of the webhook secret's entries break its schema, by name: a key shaped like
    a channel name is safe to show, any other is not (it may be a URL typed as a key)."""
    schema = schemas.load(WEBHOOKS_SCHEMA)
    if len(doc) > schema["maxProperties"]:
        return f"{len(doc)} entries, at most {schema['maxProperties']}"
    name = re.compile(schema["propertyNames"]["pattern"])
    bad = [key for key in doc if schemas.problems(WEBHOOKS_SCHEMA, {key: doc[key]})]
    shown = sorted(repr(key) for key in bad if name.fullmatch(key))
    hidden = len(bad) - len(shown)
    parts = [f"not an https:// URL at {', '.join(shown)}"] if shown else []
    if hidden:
        parts.append(
            "a key that is not a channel name"
            if hidden == 1
            else f"{hidden} keys that are not channel names"
        )
    return "; ".join(parts) or "not an object of channel name to https:// URL"


def _record(result: PassResult) -> None:
    """EMF metrics of one pass: what the alarms and graphs read."""
    board = result.board
    metrics.add_metric("PassDuration", MetricUnit.Seconds, board.collector.duration_s)
    # The "no successful pass for 3 periods" alarm reads this; missing data is breaching.
    # Only a whole board counts: a publish that stopped part-way is not a successful pass.
    whole = bool(result.published) and result.error is None
    metrics.add_metric("PassPublished", MetricUnit.Count, 1 if whole else 0)
    # State this pass did not write because another pass had since it read it: only when
    # it happens (reserved concurrency 1 should keep it from ever happening).
    if result.state_conflicts:
        metrics.add_metric("StateConflicts", MetricUnit.Count, len(result.state_conflicts))
    # With [alerts]: messages sent, and deliveries that failed (retried by the next pass);
    # a channel down for long shows here, and as the footer's "not delivered to".
    if result.alerts is not None:
        metrics.add_metric("AlertsSent", MetricUnit.Count, result.alerts.sent)
        metrics.add_metric("AlertsUndelivered", MetricUnit.Count, len(result.alerts.failed))
    for source, run_ in board.collector.sources.items():
        if not run_.ok:
            with _one("SourceFailures", MetricUnit.Count, 1) as metric:
                metric.add_dimension("Source", source)
    for env in board.environments:
        if env.lifecycle.parked:
            continue  # its status says nothing about health
        with _one("EnvironmentStatus", MetricUnit.NoUnit, STATUS_LEVEL[env.status.value]) as m:
            m.add_dimension("Environment", env.name)


def _one(name: str, unit: MetricUnit, value: float) -> Any:
    """A metric with a dimension of its own, in the same namespace and service as the rest."""
    return single_metric(
        name, unit, value, namespace=_namespace, default_dimensions={"service": _service}
    )
