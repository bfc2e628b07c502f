"""The Lambda's pass against real parts: moto server S3, Secrets Manager, SNS and SQS, the
demo hosts, the loopback webhook receiver."""

from __future__ import annotations

import io
import json
import logging
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import pytest
from tests.integration.fixtures.aws import moto_client

from fleetboard import handler, render
from fleetboard.demo.aws_world import DEMO_CREDENTIALS
from fleetboard.demo.dns import ZoneResolver
from fleetboard.demo.run import DemoFleet, demo_fleet
from fleetboard.publish import (
    CACHE_ASSET,
    CACHE_BOARD,
    CACHE_HISTORY,
    FEED,
    HISTORY_PAGE,
    INDEX,
    LATEST,
    VERSION,
    S3Publisher,
)
from fleetboard.sources.awsapi import make_aws_client_factory

BUCKET = "fleetboard-board-test"
TOKEN = "ghp_n0tAr3alT0kenButSecretAllTheSame42"


@dataclass
class FakeLambdaContext:
    """The attributes Powertools and the handler read from a Lambda context."""

    aws_request_id: str = "req-0001"
    function_name: str = "fleetboard-collector"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = (
        "arn:aws:lambda:us-east-1:123456789012:function:fleetboard-collector"
    )
    remaining_ms: int = 55_000

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


class Recording:
    """The real moto S3 client of the board's `bucket`, with the keys it was asked to write,
    in order.

    `puts` are the board's objects; `state_puts` what sources kept between passes. A key
    in `refuse` is answered as S3 answers when it is throttling (SlowDown), and not written.
    """

    def __init__(self, client: Any, bucket: str) -> None:
        self._client = client
        self.bucket = bucket
        self.puts: list[str] = []
        self.state_puts: list[str] = []
        self.refuse: set[str] = set()

    def put_object(self, **kwargs: Any) -> Any:
        from botocore.exceptions import ClientError

        key = kwargs["Key"]
        if key in self.refuse:
            error = {"Code": "SlowDown", "Message": "Please reduce your request rate."}
            raise ClientError({"Error": error}, "PutObject")
        (self.state_puts if key.startswith("state/") else self.puts).append(key)
        return self._client.put_object(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoFleet]:
    with demo_fleet(tmp_path_factory.mktemp("demo")) as running:
        yield running


@pytest.fixture
def s3(fleet: DemoFleet) -> Recording:
    raw = moto_client("s3", fleet.world.endpoint_url)
    bucket = f"{BUCKET}-{id(raw)}"
    raw.create_bucket(Bucket=bucket)
    S3Publisher._written_assets.clear()  # a new container for every test
    return Recording(raw, bucket)


@pytest.fixture
def secrets(fleet: DemoFleet) -> dict[str, str]:
    sm = moto_client("secretsmanager", fleet.world.endpoint_url)
    token = sm.create_secret(Name=f"fleetboard/github-token-{id(sm)}", SecretString=TOKEN)
    rpc = sm.create_secret(Name=f"fleetboard/rpc-url-{id(sm)}", SecretString="REPLACE_ME")
    return {"github_token": token["ARN"], "rpc_url": rpc["ARN"]}


def runtime(
    fleet: DemoFleet, s3: Recording, secret_ids: dict[str, str] | None = None
) -> handler.Runtime:
    return handler.Runtime(
        loaded=fleet.loaded,
        publisher=S3Publisher(s3.bucket, s3),
        aws_client=make_aws_client_factory(
            fleet.loaded.inventory.aws, credentials=DEMO_CREDENTIALS
        ),
        secret_ids=secret_ids or {},
        secrets_client=moto_client("secretsmanager", fleet.world.endpoint_url),
        resolver=ZoneResolver({k: [v] for k, v in fleet.world.a_records.items()}),
    )


def invoke(
    rt: handler.Runtime, monkeypatch: pytest.MonkeyPatch, request_id: str = "req-0001"
) -> dict[str, Any]:
    monkeypatch.setattr(handler, "runtime", lambda: rt)
    return handler.handler(
        {"source": "aws.scheduler"}, FakeLambdaContext(aws_request_id=request_id)
    )


def emitted(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def test_a_pass_publishes_history_latest_assets_then_the_page(
    fleet: DemoFleet, s3: Recording, monkeypatch: pytest.MonkeyPatch
) -> None:
    outcome = invoke(runtime(fleet, s3), monkeypatch)
    assert outcome["status"] == "red" and outcome["error"] is None
    assert s3.puts[0].startswith("history/")
    assert s3.puts[1:3] == [LATEST, FEED]
    assert s3.puts[-3:] == [HISTORY_PAGE, INDEX, VERSION]
    assert set(s3.puts[3:-3]) == {"board.css", "board.js", "not-found.html"}
    # what the page polls names the pass latest.json holds, in a few bytes
    latest = json.loads(s3.get_object(Bucket=s3.bucket, Key=LATEST)["Body"].read())
    version = s3.get_object(Bucket=s3.bucket, Key=VERSION)["Body"].read()
    assert len(version) < 120
    assert json.loads(version) == {
        "schema_version": latest["schema_version"],
        "generated_at": latest["generated_at"],
        "status": "red",
    }


def test_every_object_says_its_type_and_how_long_it_may_be_cached(
    fleet: DemoFleet, s3: Recording, monkeypatch: pytest.MonkeyPatch
) -> None:
    invoke(runtime(fleet, s3), monkeypatch)
    expected = {
        s3.puts[0]: ("application/json", CACHE_HISTORY),
        LATEST: ("application/json", CACHE_BOARD),
        INDEX: ("text/html; charset=utf-8", CACHE_BOARD),
        VERSION: ("application/json", CACHE_BOARD),
        HISTORY_PAGE: ("text/html; charset=utf-8", CACHE_BOARD),
        FEED: ("application/atom+xml; charset=utf-8", CACHE_BOARD),
        "board.css": ("text/css; charset=utf-8", CACHE_ASSET),
        "board.js": ("text/javascript; charset=utf-8", CACHE_ASSET),
    }
    for key, (ctype, cache) in expected.items():
        head = s3.head_object(Bucket=s3.bucket, Key=key)
        assert (head["ContentType"], head["CacheControl"]) == (ctype, cache), key


def test_a_warm_pass_with_no_change_writes_six_objects(
    fleet: DemoFleet, s3: Recording, monkeypatch: pytest.MonkeyPatch
) -> None:
    rt = runtime(fleet, s3)
    invoke(rt, monkeypatch)
    s3.puts.clear()
    invoke(rt, monkeypatch, "req-0002")
    # A change would have written an events object: say which, should it ever happen (a
    # full CI run once saw this second pass with 54 issues where the first had 18).
    latest = json.loads(s3.get_object(Bucket=s3.bucket, Key=LATEST)["Body"].read())
    said = [i["text"] for i in latest["summary"]["issues"]]
    assert s3.puts[1:] == [LATEST, FEED, HISTORY_PAGE, INDEX, VERSION], said
    assert len(s3.puts) == 6


def test_a_broken_pass_leaves_the_last_good_board_in_the_bucket(
    fleet: DemoFleet, s3: Recording, monkeypatch: pytest.MonkeyPatch
) -> None:
    rt = runtime(fleet, s3)
    invoke(rt, monkeypatch)
    before = s3.get_object(Bucket=s3.bucket, Key=LATEST)["Body"].read()

    def broken(doc: dict) -> str:
        raise ValueError("template broke")

    monkeypatch.setattr(render, "render_page", broken)
    s3.puts.clear()
    outcome = invoke(rt, monkeypatch, "req-0003")
    assert outcome["published"] == [] and "template broke" in outcome["error"]
    assert s3.puts == []
    assert s3.get_object(Bucket=s3.bucket, Key=LATEST)["Body"].read() == before


def test_a_publish_that_stops_part_way_says_which_objects_are_new_and_is_no_success(
    fleet: DemoFleet,
    s3: Recording,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    rt = runtime(fleet, s3)
    invoke(rt, monkeypatch)
    capfd.readouterr()
    s3.puts.clear()
    s3.refuse.add(INDEX)
    outcome = invoke(rt, monkeypatch, "req-0004")
    assert outcome["published"] == s3.puts and s3.puts[1:] == [LATEST, FEED, HISTORY_PAGE]
    # nor the version after it: the page does not reload to a pass it cannot show
    assert outcome["unpublished"] == [INDEX, VERSION]
    assert outcome["error"] == (
        f"PutObject index.html: SlowDown; published only {s3.puts[0]}, latest.json, feed.xml, "
        "history.html; not published: index.html, version.json"
    )
    docs = [d for d in emitted(capfd.readouterr().out) if "PassPublished" in d]
    assert docs[0]["PassPublished"] == [0.0]  # the alarm counts only whole boards


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    """What the handler's Powertools logger writes (it holds the stdout of its import)."""
    stream = io.StringIO()
    registered = handler.logger.registered_handler
    old = registered.setStream(stream)  # type: ignore[attr-defined]
    yield stream
    registered.setStream(old)  # type: ignore[attr-defined]


def test_logs_are_json_with_the_request_as_correlation_id(
    fleet: DemoFleet, s3: Recording, monkeypatch: pytest.MonkeyPatch, log_stream: io.StringIO
) -> None:
    invoke(runtime(fleet, s3), monkeypatch, "req-corr-42")
    lines = emitted(log_stream.getvalue())
    done = [line for line in lines if line.get("message") == "pass done"]
    assert len(done) == 1
    assert done[0]["correlation_id"] == "req-corr-42"
    assert done[0]["status"] == "red"


def test_metrics_go_out_as_emf_for_the_alarms(
    fleet: DemoFleet,
    s3: Recording,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    invoke(runtime(fleet, s3), monkeypatch)
    docs = [d for d in emitted(capfd.readouterr().out) if "_aws" in d]
    pass_doc = next(d for d in docs if "PassPublished" in d)
    assert pass_doc["PassPublished"] == [1.0]
    assert pass_doc["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "Fleetboard"
    assert pass_doc["service"] == "fleetboard"
    levels = {d["Environment"]: d["EnvironmentStatus"] for d in docs if "EnvironmentStatus" in d}
    # prod's services answer, but its paymaster deposit is below the floor: red, as its card;
    # slot 1's SSM agent is lost (CI cannot deploy to it): red. test-3 is parked: no metric.
    # test-4 is healthy: green (no GitHub token here, so CI is not read: idle is not judged).
    assert levels == {"prod": [3.0], "test": [3.0], "test-2": [3.0], "test-4": [0.0]}


def test_secrets_are_read_once_per_five_minutes_and_a_placeholder_is_not_configured(
    fleet: DemoFleet, s3: Recording, secrets: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    rt = runtime(fleet, s3, secrets)
    calls: list[str] = []
    rt.secrets_client.meta.events.register(
        "before-send.secrets-manager.GetSecretValue", lambda **kw: calls.append("get")
    )
    first = handler._secrets(rt)
    second = handler._secrets(rt)
    assert set(first) == {"github_token"}  # the RPC URL still holds its placeholder
    assert first["github_token"].reveal() == TOKEN
    assert first == second
    assert len(calls) == 2  # one per secret, then served from the 300 s cache


def test_the_token_never_reaches_a_log_a_metric_or_an_object(
    fleet: DemoFleet,
    s3: Recording,
    secrets: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
    log_stream: io.StringIO,
) -> None:
    rt = runtime(fleet, s3, secrets)
    invoke(rt, monkeypatch)
    out = capfd.readouterr()
    assert TOKEN not in out.out and TOKEN not in out.err and TOKEN not in log_stream.getvalue()
    # The GitHub source kept its ETags, the metrics and prices sources what they read; the
    # board its memory and its wallets' balances.
    assert sorted(s3.state_puts) == [
        "state/github.json",
        "state/metrics.json",
        "state/prices.json",
        "state/timeline.json",
        "state/wallets.json",
    ]
    for key in s3.puts + s3.state_puts:
        assert TOKEN.encode() not in s3.get_object(Bucket=s3.bucket, Key=key)["Body"].read()
    assert TOKEN not in repr(handler._secrets(rt))


def test_the_pass_deadline_follows_the_invocations_remaining_time(
    fleet: DemoFleet, s3: Recording, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[float] = []
    real = handler.collect.run_pass

    def spy(loaded: Any, ctx: Any, publisher: Any, **kw: Any) -> Any:
        seen.append(ctx.remaining_s())
        return real(loaded, ctx, publisher, **kw)

    monkeypatch.setattr(handler.collect, "run_pass", spy)
    rt = runtime(fleet, s3)
    monkeypatch.setattr(handler, "runtime", lambda: rt)
    handler.handler({}, FakeLambdaContext(remaining_ms=12_000))
    # 12 s left, 5 s kept back for judging and publishing: at most 7 s for the sources.
    assert 0 < seen[0] <= 7.0


def test_a_secret_created_empty_is_not_configured_and_not_asked_again_each_pass(
    fleet: DemoFleet,
) -> None:
    from fleetboard.secrets import read_secret

    sm = moto_client("secretsmanager", fleet.world.endpoint_url)
    arn = sm.create_secret(Name=f"fleetboard/empty-{id(sm)}")["ARN"]  # as CDK creates it
    calls: list[str] = []
    sm.meta.events.register(
        "before-send.secrets-manager.GetSecretValue", lambda **kw: calls.append("get")
    )
    assert read_secret(arn, client=sm) is None
    assert read_secret(arn, client=sm) is None
    assert len(calls) == 1


def test_a_keyed_rpc_url_from_secrets_manager_is_used_and_never_shown(
    fleet: DemoFleet,
    s3: Recording,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
    log_stream: io.StringIO,
) -> None:
    from tests.integration.chain.proxy import RpcProxy

    if fleet.chain is None:  # no anvil: scripts/test.sh installs it, and CI must have it
        why = f"the demo ran without its chain: {fleet.chain_note}"
        pytest.fail(why) if os.environ.get("CI") == "true" else pytest.skip(why)
    key = "k3yInTheUrlPath0123456789abcdef"
    with RpcProxy(fleet.chain.node.url) as proxy:
        sm = moto_client("secretsmanager", fleet.world.endpoint_url)
        url = proxy.url(f"/v2/{key}?apikey={key}")
        rpc = sm.create_secret(Name=f"fleetboard/rpc-url-{id(sm)}", SecretString=url)
        rt = runtime(fleet, s3, {"rpc_url": rpc["ARN"]})
        invoke(rt, monkeypatch)
    assert proxy.paths == [f"/v2/{key}?apikey={key}"]  # the pass asked the keyed URL, once
    out = capfd.readouterr()
    assert key not in out.out + out.err + log_stream.getvalue()
    for name in s3.puts + s3.state_puts:
        assert key.encode() not in s3.get_object(Bucket=s3.bucket, Key=name)["Body"].read()
    doc = json.loads(s3.get_object(Bucket=s3.bucket, Key="latest.json")["Body"].read())
    assert doc["chain"]["status"] == "green" and doc["chain"]["requests"] == 1


# --------------------------------------------------------------------------- alerts

#: The secret part of the webhook URL the webhook secret holds: it must show nowhere.
HOOK_TOKEN = "T0LAMBDA/B0HOOK/wEbHoOkSeCrEt42"
HOOK_PATH = f"/services/{HOOK_TOKEN}?sig={HOOK_TOKEN[-12:]}"
#: The channel's laptop variable: left unset, so a URL that arrives came from the secret.
HOOK_ENV = "FLEETBOARD_TEST_LAMBDA_HOOK_URL"


@dataclass
class AlertWiring:
    """A Lambda pass's alerting on real parts: the webhook secret and the topic in the demo's
    moto server, an SQS queue subscribed to the topic, the loopback receiver."""

    rt: handler.Runtime
    receiver: Any  # fleetboard.demo.receiver.Receiver
    sqs: Any
    queue_url: str

    def published(self) -> list[str]:
        """Every message the topic delivered to the queue, its text as SNS sent it."""
        texts: list[str] = []
        while True:
            got = self.sqs.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
            )
            if not got.get("Messages"):
                return texts
            for m in got["Messages"]:
                texts.append(json.loads(m["Body"])["Message"])  # SNS's envelope
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=m["ReceiptHandle"])


@pytest.fixture
def alerting(
    fleet: DemoFleet,
    s3: Recording,
    tmp_path: Any,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> Iterator[AlertWiring]:
    """fleet.toml with [alerts] (a webhook channel and an sns channel hearing every red),
    deployed as the stack deploys it: the webhook secret's ARN and the topic's in the
    function's environment. `request.param`, if any, is the secret's value (default: the
    receiver's URL under the channel's name)."""
    from fleetboard.collect import ALERT_TOPIC_ENV
    from fleetboard.config import load
    from fleetboard.demo.receiver import Receiver

    endpoint, region = fleet.world.endpoint_url, fleet.loaded.inventory.aws.region
    with Receiver(tick_s=0.05) as receiver:
        # One bundle the probes and the sends trust: the demo hosts' CA and the receiver's.
        bundle = tmp_path / "cas.pem"
        bundle.write_bytes(fleet.hosts.ca_pem + receiver.ca_bundle.read_bytes())
        text = re.sub(
            r"^ca_bundle = .*$",
            f"ca_bundle = {json.dumps(str(bundle))}",
            fleet.config_path.read_text(),
            flags=re.MULTILINE,
        )
        config = tmp_path / "fleet.toml"
        config.write_text(
            text
            + "\n[alerts]\nfail_passes = 1\n"
            + f'\n[[alerts.channels]]\nname = "ops-hook"\nkind = "webhook"\nurl_env = "{HOOK_ENV}"\n'
            + '\n[[alerts.channels]]\nname = "oncall-mail"\nkind = "sns"\n'
        )
        monkeypatch.delenv(HOOK_ENV, raising=False)
        sm = moto_client("secretsmanager", endpoint, region)
        value = getattr(request, "param", None) or json.dumps({"ops-hook": receiver.url(HOOK_PATH)})
        hooks = sm.create_secret(Name=f"fleetboard/alert-webhooks-{id(sm)}", SecretString=value)
        sns = moto_client("sns", endpoint, region)
        sqs = moto_client("sqs", endpoint, region)
        topic = sns.create_topic(Name=f"fleetboard-alarms-{id(sns)}")["TopicArn"]
        queue_url = sqs.create_queue(QueueName=f"alert-mail-{id(sqs)}")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn["Attributes"]["QueueArn"])
        monkeypatch.setenv(ALERT_TOPIC_ENV, topic)
        rt = replace(
            runtime(fleet, s3, {handler.ALERT_WEBHOOKS: hooks["ARN"]}), loaded=load(config)
        )
        yield AlertWiring(rt, receiver, sqs, queue_url)


def _leaks(texts: list[str]) -> list[str]:
    return [t for t in texts if HOOK_TOKEN in t or HOOK_PATH in t]


def test_a_lambda_pass_sends_to_the_webhook_from_the_secret_and_to_the_topic(
    alerting: AlertWiring,
    s3: Recording,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    log_stream: io.StringIO,
) -> None:
    from fleetboard.alerts import message

    caplog.set_level(logging.DEBUG)  # urllib3's request lines too, had they got out
    outcome = invoke(alerting.rt, monkeypatch, "req-alerts-1")
    assert outcome["error"] is None and outcome["status"] == "red"
    posts = alerting.receiver.received
    assert posts, "the webhook channel got nothing"
    # Each POST went to the URL the secret holds, the channel's laptop variable unset.
    assert {p.path for p in posts} == {HOOK_PATH}
    bodies = [json.loads(p.body) for p in posts]
    assert [message.SCHEMA.problems(b) for b in bodies] == [[] for _ in bodies]
    # The same alerts reached the topic's subscribers: each e-mail ends with its id.
    mails = alerting.published()
    ids = {m.group(1) for text in mails if (m := re.search(r", id (\S+)\)\.\s*$", text))}
    assert len(mails) == len(bodies) and ids == {b["id"] for b in bodies}
    out = capfd.readouterr()
    sent = next(d for d in emitted(out.out) if "AlertsSent" in d)
    assert (sent["AlertsSent"], sent["AlertsUndelivered"]) == ([2.0 * len(bodies)], [0.0])
    # The URL is in no log record, no line out, no object written, the alert state included.
    records = [f"{r.getMessage()} {r.exc_text or ''} {r.args}" for r in caplog.records]
    assert _leaks([out.out, out.err, log_stream.getvalue(), *records]) == []
    assert "state/alerts.json" in s3.state_puts
    for key in s3.puts + s3.state_puts:
        assert HOOK_TOKEN.encode() not in s3.get_object(Bucket=s3.bucket, Key=key)["Body"].read()


@pytest.mark.parametrize(
    "alerting",
    [
        # Plain http: the URL is the credential, and anyone on the path would read it.
        json.dumps({"ops-hook": f"http://127.0.0.1:9{HOOK_PATH}"}),
        # A list, not an object of name -> URL.
        json.dumps([f"https://127.0.0.1:9{HOOK_PATH}"]),
        # Not JSON at all: the bare URL pasted in.
        f"https://127.0.0.1:9{HOOK_PATH}",
    ],
    ids=["http-url", "json-list", "bare-url"],
    indirect=True,
)
def test_a_webhook_secret_that_is_not_name_to_https_url_configures_no_webhook(
    alerting: AlertWiring,
    s3: Recording,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
    log_stream: io.StringIO,
) -> None:
    outcome = invoke(alerting.rt, monkeypatch, "req-alerts-2")
    assert outcome["error"] is None and outcome["published"]  # never the pass's failure
    assert not alerting.receiver.received
    assert alerting.published()  # the sns channel does not depend on the secret
    logged = emitted(log_stream.getvalue())
    said = [
        line["message"] for line in logged if str(line["message"]).startswith("alerts: the webhook")
    ]
    assert len(said) == 1 and "every slack and webhook channel is not configured" in said[0]
    failed = [line["message"] for line in logged if "alert not sent to ops-hook" in line["message"]]
    assert failed and all("not configured" in line for line in failed)
    out = capfd.readouterr()
    assert _leaks([out.out, out.err, log_stream.getvalue()]) == []


def step(rt: handler.Runtime, monkeypatch: pytest.MonkeyPatch, event: dict[str, Any]) -> Any:
    """One state machine step (infra/shards.py) invoking the function with its event."""
    monkeypatch.setattr(handler, "runtime", lambda: rt)
    return handler.handler(event, FakeLambdaContext(aws_request_id="req-shard"))


def test_a_sharded_pass_through_the_handler_publishes_the_board_a_single_pass_does(
    fleet: DemoFleet, s3: Recording, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The state machine's events: two shard steps into the bucket's state, a merge that
    publishes; a shard the Map caught failing is said on its environments."""
    rt = runtime(fleet, s3)
    single = invoke(rt, monkeypatch)
    pass_id = "2026-12-05T03:00:00.000Z"
    reports = [
        step(rt, monkeypatch, {"fleetboard": "shard", "shard": i, "shards": 2, "pass": pass_id})
        for i in range(2)
    ]
    assert [(r["shard"], r["error"]) for r in reports] == [(0, None), (1, None)]
    assert {"state/shard-0.json", "state/shard-1.json"} <= set(s3.state_puts)
    merged = step(
        rt, monkeypatch, {"fleetboard": "merge", "shards": 2, "pass": pass_id, "results": reports}
    )
    assert (merged["status"], merged["error"]) == (single["status"], None)
    assert merged["published"][-2:] == [INDEX, VERSION]
    # a shard the Map's Catch reports failed: its environments unknown, the board published
    caught = {"shard": 1, "error": "States.Timeout", "cause": "Task timed out"}
    merged = step(
        rt,
        monkeypatch,
        {"fleetboard": "merge", "shards": 2, "pass": pass_id, "results": [reports[0], caught]},
    )
    assert merged["error"] is None
    latest = json.loads(s3.get_object(Bucket=s3.bucket, Key=LATEST)["Body"].read())
    said = [
        c["summary"]
        for e in latest["environments"]
        for c in e["checks"]
        if "shard 2 of 2 failed: States.Timeout: Task timed out" in c["summary"]
    ]
    assert said


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({"fleetboard": "shard", "shard": 2, "shards": 2, "pass": "p"}, "shard must be 0 to 1"),
        ({"fleetboard": "shard", "shard": 0, "shards": 99, "pass": "p"}, "shards must be 1 to"),
        ({"fleetboard": "merge", "shards": 2}, "pass must be"),
        ({"fleetboard": "rebuild"}, "is neither shard nor merge"),
    ],
)
def test_a_bad_step_event_fails_the_step_with_what_is_wrong(
    fleet: DemoFleet,
    s3: Recording,
    monkeypatch: pytest.MonkeyPatch,
    event: dict[str, Any],
    message: str,
) -> None:
    with pytest.raises(ValueError, match=message):
        step(runtime(fleet, s3), monkeypatch, event)
    assert s3.puts == []
