"""Delivery against real parts on loopback: the webhook receiver over HTTPS, moto's SNS read
back through an SQS subscription. Every failure is a not-ok Delivery with a detail a person
can act on, in time, never an exception, and the webhook's secret URL is in none of it.

Nothing sleeps to measure: a send that must give up is run under `within` (its thread
joined by a deadline), and a hanging receiver is let go by its own `with` block.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from tests.integration.alerts.planted import SECRET_PATH
from tests.integration.fixtures.deadline import within

from fleetboard.alerts.deliver import Delivery, send
from fleetboard.alerts.model import Body
from fleetboard.demo.hosts import refused_port
from fleetboard.demo.receiver import Answer, Receiver
from fleetboard.inventory import AlertChannel
from fleetboard.secrets import Secret

SLACK = AlertChannel("oncall-slack", "slack", url_env="FLEETBOARD_SLACK_URL")
HOOK = AlertChannel("ops-hook", "webhook", url_env="FLEETBOARD_HOOK_URL")
TOPIC = AlertChannel("oncall-mail", "sns")
SLACK_BODY = Body("application/json", b'{"text": "test-2 is red: audit HTTP 502"}')
HOOK_BODY = Body(
    "application/json; charset=utf-8", json.dumps({"kind": "firing", "env": "test-2"}).encode()
)
MAIL_BODY = Body(
    "text/plain; charset=utf-8",
    "test-2 is red since 09:41 UTC — audit HTTP 502\nNext: restart audit".encode(),
    subject="[fleetboard] test-2 is red",
)
TIMEOUT_S = 0.5  # the send's own timeout, in the cases that run into it
MARGIN_S = 1.0  # what a send may take beyond its bound: handshakes, teardown
FAR = 600.0  # a bound that must never be the one that ends a test


def far_deadline() -> float:
    return time.monotonic() + FAR


def post(
    channel: AlertChannel, body: Body, url: str, receiver: Receiver | None = None, **kw: Any
) -> Delivery:
    """`send` to a webhook with a far deadline unless told, trusting the receiver's CA."""
    kw.setdefault("deadline", far_deadline())
    kw.setdefault("ca_bundle", receiver.ca_bundle if receiver is not None else None)
    return send(channel, body, url=Secret(url), sns=None, topic_arn=None, **kw)


# --------------------------------------------------------------------------- webhooks


@pytest.mark.parametrize(("channel", "body"), [(SLACK, SLACK_BODY), (HOOK, HOOK_BODY)])
def test_a_webhook_gets_the_body_whole_with_its_content_type(
    receiver: Receiver, no_leak: Callable[[Delivery, str], None], channel: AlertChannel, body: Body
) -> None:
    url = receiver.url(SECRET_PATH)
    delivery = post(channel, body, url, receiver)
    assert delivery == Delivery(channel.name, True, "200")
    (got,) = receiver.received
    assert got.path == SECRET_PATH
    assert got.body == body.data
    assert got.header("Content-Type") == body.content_type
    no_leak(delivery, url)


def answer_with(receiver: Receiver, status: int, body: bytes) -> None:
    """Make the receiver answer every POST with `status` and `body`."""
    receiver.answer = Answer.ERROR
    receiver.error_status = status
    receiver.error_body = body


@pytest.mark.parametrize(
    ("status", "body", "detail"),
    [
        (500, b"internal error", "http 500: internal error"),  # the receiver's own words
        # A redirect would repeat the POST, body and all, somewhere else: not followed.
        (307, b"internal error", "http 307: redirects are not followed"),
        # Slack answers 429 with Retry-After when a workspace sends too fast: the message
        # stays for the next pass, which is later than any Retry-After it gives.
        (429, b"rate_limited", "http 429: rate_limited"),
    ],
    ids=["500", "redirect-307", "throttled-429"],
)
def test_a_webhook_answering_an_error_is_not_delivered_and_says_so(
    receiver: Receiver,
    no_leak: Callable[[Delivery, str], None],
    status: int,
    body: bytes,
    detail: str,
) -> None:
    answer_with(receiver, status, body)
    url = receiver.url(SECRET_PATH)
    delivery = post(SLACK, SLACK_BODY, url, receiver)
    assert delivery == Delivery(SLACK.name, False, detail)
    # Sent once, where it was sent: no retry within the pass, no redirect followed.
    assert [got.path for got in receiver.received] == [SECRET_PATH]
    no_leak(delivery, url)


def test_a_refusal_quoting_the_url_back_is_shown_without_it(
    receiver: Receiver, no_leak: Callable[[Delivery, str], None]
) -> None:
    url = receiver.url(SECRET_PATH)
    answer_with(receiver, 500, f"no such hook: {url} ({SECRET_PATH})".encode())
    delivery = post(HOOK, HOOK_BODY, url, receiver)
    assert not delivery.ok
    # What the endpoint said stays readable: the host is no secret, the path and query are.
    assert delivery.detail.startswith(f"http 500: no such hook: https://127.0.0.1:{receiver.port}")
    no_leak(delivery, url)


@pytest.mark.parametrize("answer", [Answer.HANG, Answer.TRICKLE])
def test_a_webhook_that_never_answers_whole_times_out_at_the_send_timeout(
    receiver: Receiver, no_leak: Callable[[Delivery, str], None], answer: Answer
) -> None:
    receiver.answer = answer
    url = receiver.url(SECRET_PATH)
    timed = within(
        TIMEOUT_S + MARGIN_S, lambda: post(SLACK, SLACK_BODY, url, receiver, timeout_s=TIMEOUT_S)
    )
    delivery = timed.value
    assert not delivery.ok
    assert delivery.detail.startswith("timeout: ")
    if answer is Answer.TRICKLE:  # its head came at once; its body never ends
        assert delivery.detail == f"timeout: http 200, no whole answer within {TIMEOUT_S:.1f} s"
    else:
        assert delivery.detail == f"timeout: no answer within {TIMEOUT_S:.1f} s"
    assert timed.elapsed_s >= TIMEOUT_S  # it did wait its whole timeout, no less
    assert len(receiver.received) == 1  # the POST arrived; the answer is what failed
    no_leak(delivery, url)


def test_the_pass_deadline_bounds_a_send_before_its_own_timeout(
    receiver: Receiver, no_leak: Callable[[Delivery, str], None]
) -> None:
    receiver.answer = Answer.HANG
    url = receiver.url(SECRET_PATH)
    left_s = 0.4

    def late() -> Delivery:
        return post(
            SLACK, SLACK_BODY, url, receiver, timeout_s=FAR, deadline=time.monotonic() + left_s
        )

    timed = within(left_s + MARGIN_S, late)
    assert not timed.value.ok
    assert timed.value.detail.startswith("timeout: no answer within")
    no_leak(timed.value, url)


def test_no_time_left_in_the_pass_sends_nothing(
    receiver: Receiver, no_leak: Callable[[Delivery, str], None]
) -> None:
    url = receiver.url(SECRET_PATH)
    delivery = post(SLACK, SLACK_BODY, url, receiver, deadline=time.monotonic() - 1)
    assert delivery == Delivery(SLACK.name, False, "not attempted: no time left in the pass")
    assert receiver.received == ()
    no_leak(delivery, url)


def test_a_refused_port_is_said_so(no_leak: Callable[[Delivery, str], None]) -> None:
    url = f"https://127.0.0.1:{refused_port()}{SECRET_PATH}"
    delivery = post(HOOK, HOOK_BODY, url)
    assert delivery == Delivery(HOOK.name, False, "connect: refused")
    no_leak(delivery, url)


def test_a_name_that_does_not_resolve_is_said_so(
    unresolvable: str, no_leak: Callable[[Delivery, str], None]
) -> None:
    url = f"https://{unresolvable}{SECRET_PATH}"
    delivery = post(SLACK, SLACK_BODY, url)
    assert delivery == Delivery(SLACK.name, False, f"dns: cannot resolve {unresolvable}")
    no_leak(delivery, url)


def test_a_certificate_the_client_does_not_trust_sends_nothing(
    receiver: Receiver, no_leak: Callable[[Delivery, str], None]
) -> None:
    url = receiver.url(SECRET_PATH)
    delivery = post(SLACK, SLACK_BODY, url, ca_bundle=None)  # the system's CAs only
    assert not delivery.ok
    assert delivery.detail.startswith("tls: certificate verify failed")
    assert receiver.received == ()  # not a byte of the body went out
    no_leak(delivery, url)


@pytest.mark.parametrize(
    ("url", "detail"),
    [
        (f"http://127.0.0.1:9{SECRET_PATH}", "not sent: the webhook URL must be https://"),
        (f"https://127.0.0.1:99999{SECRET_PATH}", "not sent: the webhook URL is malformed"),
    ],
    ids=["plain-http", "port-out-of-range"],
)
def test_a_url_that_would_expose_or_cannot_carry_the_secret_is_refused(
    no_leak: Callable[[Delivery, str], None], url: str, detail: str
) -> None:
    delivery = post(HOOK, HOOK_BODY, url)
    assert delivery == Delivery(HOOK.name, False, detail)
    no_leak(delivery, url)


def test_a_webhook_without_its_url_says_which_variable_to_set() -> None:
    delivery = send(SLACK, SLACK_BODY, url=None, sns=None, topic_arn=None, deadline=far_deadline())
    assert delivery == Delivery(
        SLACK.name,
        False,
        'not configured: FLEETBOARD_SLACK_URL is not set (on Lambda: the webhook secret has no "oncall-slack")',
    )


# --------------------------------------------------------------------------- SNS


def test_sns_publishes_the_subject_and_text_to_the_topic(sns: Any, sqs: Any) -> None:
    topic = sns.create_topic(Name="fleetboard-alerts")["TopicArn"]
    queue = sqs.create_queue(QueueName="inbox")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])
    sns.subscribe(
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=queue_arn["Attributes"]["QueueArn"],
        Attributes={"RawMessageDelivery": "false"},  # SQS gets SNS's envelope, subject too
    )
    delivery = send(TOPIC, MAIL_BODY, url=None, sns=sns, topic_arn=topic, deadline=far_deadline())
    assert delivery.ok, delivery.detail
    messages = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=2)["Messages"]
    (envelope,) = (json.loads(m["Body"]) for m in messages)
    assert envelope["TopicArn"] == topic
    assert envelope["Subject"] == MAIL_BODY.subject
    assert envelope["Message"] == MAIL_BODY.data.decode()
    assert delivery.detail == f"MessageId {envelope['MessageId']}"


def test_sns_to_a_topic_that_does_not_exist_names_the_error(sns: Any) -> None:
    missing = "arn:aws:sns:us-east-1:123456789012:no-such-topic"
    delivery = send(TOPIC, MAIL_BODY, url=None, sns=sns, topic_arn=missing, deadline=far_deadline())
    assert not delivery.ok
    assert delivery.detail.split(":")[0] == "NotFound"


def test_sns_without_a_topic_is_not_configured() -> None:
    delivery = send(TOPIC, MAIL_BODY, url=None, sns=None, topic_arn=None, deadline=far_deadline())
    assert delivery == Delivery(TOPIC.name, False, "not configured: no SNS topic")


# --------------------------------------------------------------------------- nothing outlives


def test_the_receiver_leaves_no_thread_and_no_file_behind() -> None:
    before = set(threading.enumerate())
    with Receiver(answer=Answer.HANG, tick_s=0.05) as hooks:
        url = hooks.url(SECRET_PATH)
        bundle = hooks.ca_bundle
        hung = within(
            TIMEOUT_S + MARGIN_S, lambda: post(HOOK, HOOK_BODY, url, hooks, timeout_s=TIMEOUT_S)
        )
        hooks.answer = Answer.TRICKLE
        trickled = within(
            TIMEOUT_S + MARGIN_S, lambda: post(HOOK, HOOK_BODY, url, hooks, timeout_s=TIMEOUT_S)
        )
        assert len(hooks.received) == 2
        # Both connections' threads are still held by the receiver here: the hang on its
        # release, the trickle until its next byte finds the client gone.
        assert set(threading.enumerate()) - before
    assert not hung.value.ok and not trickled.value.ok
    left = [t.name for t in set(threading.enumerate()) - before if t.is_alive()]
    assert left == []
    assert not bundle.exists()


def test_an_oversized_answer_to_a_delivered_message_is_read_no_further(
    receiver: Receiver, no_leak: Callable[[Delivery, str], None]
) -> None:
    """A 2xx is the receiver's word that it has the message; what follows it is read only
    up to a few KB (a proxy's 1 MB page must not cost the pass), and the message is not
    sent again."""
    answer_with(receiver, 200, b"<html>" + b"x" * (1 << 20))
    url = receiver.url(SECRET_PATH)
    delivery = post(HOOK, HOOK_BODY, url, receiver)
    assert delivery.ok and delivery.detail.startswith("200")
    assert len(receiver.received) == 1
    no_leak(delivery, url)
