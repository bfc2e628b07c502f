"""The edge that sends an alert's body to one channel, and never fails the pass.

- slack, webhook: one HTTPS POST with urllib3: the body's Content-Type, connect and read
  timeouts, no retry (the next pass retries what is still in the outbox), no redirect
  followed, the answer read whole within the time left and at most `ANSWER_CAP_BYTES`.
  Delivered only on a 2xx answered whole.
- sns: one `Publish` to the stack's topic with the boto3 client given (its timeouts and
  retries are the caller's); delivered on a MessageId.

Every outcome is a `Delivery` with a short detail ("200", "http 500: no_service", "timeout:
no answer within 2.0 s", "connect: refused", "dns: cannot resolve hooks.example.com",
"tls: certificate verify failed: ...", "NotFound: Topic does not exist"); `send` never
raises. A webhook URL is a secret (its path and query hold the token): it is in no detail,
log line or exception text, only on the wire.

    delivery = send(channel, body, url=secret, sns=None, topic_arn=None, deadline=deadline)
"""

from __future__ import annotations

import errno
import functools
import logging
import socket
import ssl
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import urllib3
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    NameResolutionError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
)

from fleetboard import __version__
from fleetboard.alerts.model import Body
from fleetboard.inventory import AlertChannel
from fleetboard.secrets import Secret, url_secrets
from fleetboard.sources import wire
from fleetboard.text import scrub

log = logging.getLogger(__name__)

USER_AGENT = f"fleetboard/{__version__}"
#: A send needs at least this much of the pass left to be worth starting.
MIN_SEND_S = 0.05
#: What is read of an answer: Slack says "ok" or a short error word; nothing needs more.
ANSWER_CAP_BYTES = 4 * 1024
#: How much of a refusal's answer the detail quotes (Slack's "invalid_payload", "no_service").
_QUOTED_CHARS = 60
_DETAIL_CHARS = 200
#: urllib3 prints the request line, the URL's path and query with it, at DEBUG.
_URL_LOGGERS = ("urllib3.connectionpool",)
#: What the system says when a name does not resolve, or there is no route (searched in the
#: exception's text too, where only the words survive).
_NO_NAME_WORDS = ("Name or service not known", "Temporary failure in name resolution")
_NO_ROUTE = (errno.ENETUNREACH, errno.EHOSTUNREACH)


@dataclass(frozen=True, slots=True)
class Delivery:
    """What became of one body sent to one channel."""

    channel: str  # the channel's name
    ok: bool  # delivered: a 2xx answered whole, or a MessageId
    detail: str  # one short line, safe to log and show: never the URL or the request


def send(
    channel: AlertChannel,
    body: Body,
    *,
    url: Secret | None,
    sns: Any | None,
    topic_arn: str | None,
    deadline: float,
    timeout_s: float = 5.0,
    ca_bundle: Path | None = None,
) -> Delivery:
    """Send `body` to `channel` by `deadline` (a time.monotonic() instant, the pass's): the
    time given the call is min(`timeout_s`, what is left). `url` is the webhook's (slack,
    webhook), `sns` and `topic_arn` the topic's (sns). `ca_bundle`: CAs trusted besides the
    system's (the demo's receiver). Never raises."""
    secrets = url_secrets(url.reveal()) if url is not None else ()

    def failed(detail: str) -> Delivery:
        return Delivery(channel.name, False, detail)

    def attempt() -> Delivery:
        if channel.kind == "sns":
            if sns is None or not topic_arn:
                return failed("not configured: no SNS topic")
        elif url is None:
            # Where the URL would have come from, both ways: this code does not know
            # whether it runs on Lambda (the webhook secret) or a laptop (url_env).
            laptop = f"{channel.url_env} is not set" if channel.url_env else "no url_env"
            lambda_ = f'the webhook secret has no "{channel.name}"'
            return failed(f"not configured: {laptop} (on Lambda: {lambda_})")
        budget_s = min(timeout_s, deadline - time.monotonic())
        if budget_s < MIN_SEND_S:
            return failed("not attempted: no time left in the pass")
        if channel.kind == "sns":
            return Delivery(channel.name, *_publish(sns, topic_arn or "", body))
        if channel.kind in ("slack", "webhook") and url is not None:
            return Delivery(channel.name, *_post(url.reveal(), body, budget_s, ca_bundle))
        return failed(f"not sent: unknown channel kind {channel.kind!r}")

    try:
        delivery = attempt()
    except Exception as exc:  # anything unforeseen is one channel's failure, never the pass's
        delivery = Delivery(channel.name, False, f"internal error ({type(exc).__name__})")
    # Every detail once more through the scrubber: nothing above may have let the URL by.
    delivery = Delivery(
        delivery.channel, delivery.ok, scrub(delivery.detail, secrets, limit=_DETAIL_CHARS)
    )
    if delivery.ok:
        log.info("alert sent to %s (%s): %s", channel.name, channel.kind, delivery.detail)
    else:
        log.warning("alert not sent to %s (%s): %s", channel.name, channel.kind, delivery.detail)
    return delivery


# --------------------------------------------------------------------------- webhook


def _post(url: str, body: Body, budget_s: float, ca_bundle: Path | None) -> tuple[bool, str]:
    """(delivered, detail) of one POST of `body` to `url` within `budget_s`."""
    parts = urlsplit(url)
    try:
        parts.port  # noqa: B018 - a port out of range raises here, not in urllib3's words
    except ValueError:
        return False, "not sent: the webhook URL is malformed"
    if parts.scheme.lower() != "https":
        # The URL is the credential: over plain HTTP anyone on the path could read it.
        return False, "not sent: the webhook URL must be https://"
    if not parts.hostname:
        return False, "not sent: the webhook URL is malformed"
    host = parts.hostname
    for name in _URL_LOGGERS:
        logger = logging.getLogger(name)
        if logger.getEffectiveLevel() < logging.INFO:
            logger.setLevel(logging.INFO)
    deadline = time.monotonic() + budget_s
    pool = urllib3.PoolManager(ssl_context=_client_context(ca_bundle), retries=False)
    try:
        try:
            response = pool.request(
                "POST",
                url,
                body=body.data,
                headers={"Content-Type": body.content_type, "User-Agent": USER_AGENT},
                # total: the wait for the head gets what connecting left, not a budget anew.
                timeout=urllib3.Timeout(total=budget_s, connect=budget_s, read=budget_s),
                retries=False,
                redirect=False,
                preload_content=False,
            )
        except HTTPError as exc:
            return False, _transport(exc, budget_s, host)
        status = response.status
        try:
            answer = wire.read_whole(
                response, deadline=deadline, cap_bytes=ANSWER_CAP_BYTES, read_s=budget_s
            )
        except wire.AnswerOverrun as overrun:
            if "in time" in str(overrun):  # wire's words when the clock, not the cap, ran out
                # The exchange did not finish: a timeout, whatever the status line said.
                return False, f"timeout: http {status}, no whole answer within {budget_s:.1f} s"
            # Only the status and a short word are wanted: past the cap nothing is read.
            # The verdict stands (a 2xx sent again would repeat the message every pass).
            answer = b""
        except HTTPError as exc:
            return False, f"http {status}, then {_transport(exc, budget_s, host)}"
        finally:
            response.release_conn()
    finally:
        pool.clear()
    if 200 <= status < 300:
        return True, str(status)
    # Scrubbed whole, then cut: a cut first could leave half a token the scrubber misses.
    quoted = scrub(answer.decode("utf-8", "replace"), url_secrets(url), limit=_QUOTED_CHARS)
    if 300 <= status < 400:
        return False, f"http {status}: redirects are not followed"
    return False, f"http {status}" + (f": {quoted}" if quoted else "")


@functools.lru_cache(maxsize=4)
def _client_context(ca_bundle: Path | None) -> ssl.SSLContext:
    """The system's CAs (plus `ca_bundle`), host name checked. Kept: loading the system's
    CAs takes ~50 ms, most of a send to a near endpoint, and a context is safe to share."""
    context = ssl.create_default_context()
    if ca_bundle is not None:
        context.load_verify_locations(cafile=ca_bundle)
    return context


def _transport(exc: BaseException, budget_s: float, host: str) -> str:
    """A failure on the wire in a few words, with no URL: the exception's text is searched,
    never shown (urllib3 puts the request's path and query in some of them)."""
    chain = wire.causes(exc)
    text = " ".join(str(e) for e in chain)

    def found(kind: type[BaseException] | tuple[type[BaseException], ...]) -> bool:
        return any(isinstance(e, kind) for e in chain)

    if found((NameResolutionError, socket.gaierror)) or any(w in text for w in _NO_NAME_WORDS):
        return f"dns: cannot resolve {host}"
    if found(ConnectionRefusedError) or "Connection refused" in text:
        return "connect: refused"
    if any(isinstance(e, OSError) and e.errno in _NO_ROUTE for e in chain):
        return "connect: no route"
    if found(ReadTimeoutError):
        return f"timeout: no answer within {budget_s:.1f} s"
    if found(ConnectTimeoutError) and not found(NewConnectionError):
        return f"timeout: no connection within {budget_s:.1f} s"
    tls = next((e for e in chain if isinstance(e, ssl.SSLError)), None)
    if tls is not None:
        # OpenSSL's own words ("certificate verify failed: unable to get local issuer
        # certificate", "wrong version number"): never a URL.
        why = getattr(tls, "verify_message", None) or ""
        reason = (getattr(tls, "reason", None) or "").lower().replace("_", " ")
        return "tls: " + (f"{reason}: {why}" if why and reason else why or reason or "failed")
    if found(ProtocolError):
        return "connection lost before a whole answer"
    if found(NewConnectionError):
        os_error = next((e for e in chain if isinstance(e, OSError)), exc)
        return f"connect: {type(os_error).__name__}"
    return f"not answered ({type(exc).__name__})"


# --------------------------------------------------------------------------- sns


def _publish(sns: Any, topic_arn: str, body: Body) -> tuple[bool, str]:
    """(delivered, detail) of one Publish of `body` to the topic."""
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

    request: dict[str, str] = {"TopicArn": topic_arn, "Message": body.data.decode()}
    if body.subject:
        request["Subject"] = body.subject
    try:
        answer = sns.publish(**request)
    except ClientError as exc:
        # The code and AWS's own words; never botocore's rendering of the request.
        error = exc.response.get("Error", {})
        code = str(error.get("Code") or "ClientError")
        message = scrub(str(error.get("Message") or ""), limit=120)
        return False, f"{code}: {message}" if message else code
    except NoCredentialsError:
        return False, "no AWS credentials on this machine to publish with"
    except BotoCoreError as exc:  # no connection, a timeout, a bad parameter
        return False, type(exc).__name__
    message_id = answer.get("MessageId") if isinstance(answer, dict) else None
    if not message_id:
        return False, "no MessageId in the answer"
    return True, f"MessageId {scrub(str(message_id), limit=80)}"
