"""What every AWS-backed source shares: one boto3 client per service, the pass's deadline
and request count hooked into every request, answers checked to be AWS's own, and a failure
turned into one line that names the call, AWS's error code and, where known, the fix.

A source reads through `read` and gets its result and the requests it cost, or a
SourceFailure, never an exception:

    clients = make_aws_client_factory(inventory.aws)  # once, at module scope
    got = read("host", "ec2:DescribeInstanceStatus", inventory, ctx, lambda c: ...)

Every answer must be AWS's own before botocore parses it (content type, and the XML root
`<OperationResponse>` or a JSON object; then the key read is there): botocore reads an HTML
page answered 200 as `{}`, which would be "no resources". Reasons pass through `text.scrub`,
so no header, signature, key, URL path or query reaches an output; failures whose cause is
the collector's own (no credentials, no DNS for the endpoint, no route) are marked `blind`.
"""

from __future__ import annotations

import functools
import logging
import re
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Literal, TypeVar, cast, overload

import boto3
import botocore.session
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    CredentialRetrievalError,
    EndpointConnectionError,
    NoCredentialsError,
    PartialCredentialsError,
    ProfileNotFound,
    ReadTimeoutError,
    SSOError,
    TokenRetrievalError,
)
from botocore.loaders import Loader, create_loader
from botocore.parsers import ResponseParserError
from botocore.retries.standard import RetryEventAdapter, StandardRetryConditions

from fleetboard import jsonsafe
from fleetboard.inventory import AwsSettings, Inventory
from fleetboard.model import AwsFacts, InstanceFacts, SourceFailure
from fleetboard.sources import PassContext
from fleetboard.sources.wire import collector_cause, evidence
from fleetboard.text import scrub

if TYPE_CHECKING:
    from botocore.client import BaseClient
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_route53 import Route53Client
    from mypy_boto3_ssm import SSMClient

logger = logging.getLogger(__name__)

T = TypeVar("T")
F = TypeVar("F")

#: request that fails three times is better reported now than retried into the deadline.
MAX_ATTEMPTS = 3


#: Standard-mode backoff before retry i (1-based) is at most min(1 s * 2**(i-1), 20 s) for
#: throttling errors (far less for others). The deadline gate assumes the worst.
_THROTTLING_BASE_S = 1.0
_MAX_BACKOFF_S = 20.0

_MAX_REASON_CHARS = 400


# --------------------------------------------------------------------------- credentials


@dataclass(frozen=True, slots=True)
class StaticCredentials:
    """Explicit AWS keys (the demo's dummy ones); `repr` and `str` never show the secret parts."""

    access_key_id: str
    secret_access_key: str = field(repr=False)
    session_token: str | None = field(default=None, repr=False)

    def __str__(self) -> str:
        return f"StaticCredentials(access_key_id={self.access_key_id[:4]}…)"


# --------------------------------------------------------------------------- request accounting
# Every HTTP attempt (first tries, retries, pagination pages) passes botocore's `before-send`
# event, so a handler there counts what a pass really sent. The per-pass count and deadline
# live in a context variable: the factory's clients are shared by every pass (module scope on
# Lambda), while a pass runs in one thread, and botocore emits its events in the caller's thread.


@dataclass(slots=True)
class PassScope:
    deadline: float  # time.monotonic() value
    requests: int = 0
    attempts: int = 0  # attempts made by the latest request, for failure messages
    retry_withheld: bool = False  # a retry was skipped because it could not finish in time
    #: When a retry was withheld: the pass's time left, and the most the retry could take.
    withheld_left_s: float = 0.0
    withheld_need_s: float = 0.0
    cut_short: bool = False  # the latest attempt's read timeout was cut to the deadline


_SCOPE: ContextVar[PassScope | None] = ContextVar("fleetboard_aws_pass", default=None)


class _DeadlineReached(Exception):
    """Raised from `before-send` so botocore does not start a request past the pass deadline."""


@contextmanager
def pass_scope(deadline: float) -> Iterator[PassScope]:
    scope = PassScope(deadline=deadline)
    token = _SCOPE.set(scope)
    try:
        yield scope
    finally:
        _SCOPE.reset(token)


def _sender(read_timeout_s: float) -> Callable[..., None]:
    """The `before-send` handler of a client whose reads time out after `read_timeout_s`."""

    def before_send(request: Any = None, **_: Any) -> None:
        scope = _SCOPE.get()
        if scope is None:  # a call outside any pass (the demo seeding moto): no deadline, no count
            return
        left_s = scope.deadline - time.monotonic()
        if left_s <= 0:
            raise _DeadlineReached
        scope.requests += 1
        # botocore bounds each read, never a whole answer; the least it can do is not wait on
        # one read past the deadline (botocore >= 1.40 reads a per-request `read_timeout`).
        context = getattr(request, "context", None)
        if isinstance(context, dict):
            scope.cut_short = left_s < read_timeout_s
            context["read_timeout"] = max(0.1, min(read_timeout_s, left_s))

    return before_send


# --------------------------------------------------------------------------- foreign answers
# botocore parses whatever comes back: an HTML page answered 200 becomes `{}`, which reads as
# "no addresses, no instances", and every environment would show "missing". Every answer is
# checked, before botocore parses it, to be in the service's own protocol (content type and
# root), and the calls then check the key they read is there.


class _ForeignAnswer(Exception):
    """An answer that is not AWS's own; the message (no call name) is safe to show."""


#: What an AWS call can fail with that is AWS's (or the network's) doing, not a bug here.
AWS_FAILURES = (ClientError, BotoCoreError, ResponseParserError, _DeadlineReached, _ForeignAnswer)


#: The largest answer parsed. A DescribeInstances page of 1000 instances is a few MB; far
#: beyond is not AWS's. botocore has read it into memory by then (it bounds reads, not
#: answers), but it is neither parsed nor quoted.
BODY_CAP_BYTES = 16 * 1024 * 1024

_XML_ROOT = re.compile(rb"^\s*(?:<\?xml[^>]*\?>\s*)?(?:<!--.*?-->\s*)*<([A-Za-z_][\w.:-]*)", re.S)


def _check_answer(operation_model: Any = None, response_dict: Any = None, **_: Any) -> None:
    """A `before-parse` handler: raise _ForeignAnswer unless the answer is in the service's
    own protocol (XML rooted at `<OperationResponse>`, or a JSON object)."""
    if operation_model is None or not isinstance(response_dict, dict):
        return
    status = int(response_dict.get("status_code") or 0)
    headers = response_dict.get("headers") or {}
    content_type = str(headers.get("content-type") or "").split(";")[0].strip().lower()
    body = response_dict.get("body")
    if not isinstance(body, bytes | bytearray):
        return  # a streamed body: none of this source's calls has one
    body = bytes(body)
    if len(body) > BODY_CAP_BYTES:
        raise _ForeignAnswer(
            f"answered {status} with {len(body)} bytes, over the {BODY_CAP_BYTES} byte cap"
        )
    service = operation_model.service_model
    # The protocol the client speaks: botocore picks the first it supports of the service's
    # `protocols` (CloudWatch lists CBOR first, then JSON, then query).
    protocol = str(getattr(service, "resolved_protocol", None) or service.protocol)
    json_protocol = protocol == "json"
    kind = "JSON" if json_protocol else "XML"
    shown_type = content_type or "no content type"
    if status >= 300:
        # Errors are AWS's when they are XML or JSON (or empty, as some 403s are): botocore
        # reads their codes, whatever the content type says (moto labels its XML text/html).
        # An HTML page is a proxy's or a portal's.
        start = body.lstrip()[:16].lower()
        element = _XML_ROOT.match(body)
        page = start.startswith(b"<!doctype") or (
            element is not None and element.group(1).lower() == b"html"
        )
        if page or ("html" in content_type and element is None and not start.startswith(b"{")):
            raise _ForeignAnswer(
                f"answered {status} with {shown_type}, not AWS's {kind}: {evidence(body)}"
            )
        return
    if json_protocol:
        if "json" not in content_type:
            raise _ForeignAnswer(
                f"answered {status} with {shown_type}, not AWS's JSON: {evidence(body)}"
            )
        try:
            doc = jsonsafe.loads(body or b"{}")
        except ValueError:
            raise _ForeignAnswer(
                f"answered {status} with a body that is not JSON: {evidence(body)}"
            ) from None
        if not isinstance(doc, dict):
            raise _ForeignAnswer(
                f"answered {status} with JSON that is not an object: {evidence(body)}"
            )
        return
    if "xml" not in content_type:
        raise _ForeignAnswer(
            f"answered {status} with {shown_type}, not AWS's XML: {evidence(body)}"
        )
    match = _XML_ROOT.match(body)
    expected = f"{operation_model.name}Response"
    root = match.group(1).decode("ascii", "replace").split(":")[-1] if match else None
    if root != expected:
        got = f"<{root}>" if root else "no XML element"
        raise _ForeignAnswer(
            f"answered {status} with XML rooted at {got}, not AWS's <{expected}>: {evidence(body)}"
        )


def expect(page: Any, key: str) -> None:
    """Raise _ForeignAnswer unless the parsed answer carries `key` (AWS always sends it)."""
    if not isinstance(page, dict) or key not in page:
        raise _ForeignAnswer(f"answered without {key}, which AWS always sends")


def unlike_aws(what: str) -> Exception:
    """What a source's reads raise for an answer that parsed but is not shaped as AWS
    shapes it (`what`: "answered a group keyed 'x', not by the tag Name"): `read` makes it
    the failure "<call> <what> — <where to look>", as for any answer not AWS's own."""
    return _ForeignAnswer(what)


def _retry_gate(attempt_budget_s: float, max_attempts: int) -> Callable[..., bool | None]:
    """A `needs-retry` handler that vetoes a retry which could not finish before the deadline.

    Registered ahead of botocore's own retry handler; botocore takes the first answer that is
    not None, and False means "do not retry". Only a failure botocore would retry is vetoed
    (and said to be, in the reason): one it would not retry anyway (a denial, a bad request)
    owes nothing to the deadline.
    """
    conditions = StandardRetryConditions(max_attempts)

    def gate(
        attempts: int,
        response: tuple[Any, dict[str, Any]] | None = None,
        caught_exception: BaseException | None = None,
        **rest: Any,
    ) -> bool | None:
        scope = _SCOPE.get()
        if scope is None:
            return None
        if isinstance(caught_exception, _DeadlineReached):
            return False  # nothing was sent, and nothing more will be
        scope.attempts = attempts
        failed = caught_exception is not None or (response is not None and "Error" in response[1])
        if not failed or attempts >= max_attempts:  # botocore would not retry anyway
            return None
        if not _retryable(conditions, attempts, response, caught_exception, rest):
            return None
        need_s = min(_THROTTLING_BASE_S * 2 ** (attempts - 1), _MAX_BACKOFF_S) + attempt_budget_s
        left_s = scope.deadline - time.monotonic()
        if need_s > left_s:
            scope.retry_withheld = True
            scope.withheld_left_s, scope.withheld_need_s = max(left_s, 0.0), need_s
            return False
        return None

    return gate


def _retryable(
    conditions: StandardRetryConditions,
    attempts: int,
    response: tuple[Any, dict[str, Any]] | None,
    caught_exception: BaseException | None,
    rest: dict[str, Any],
) -> bool:
    """Whether botocore's standard retry mode would retry this failure (transient, throttled,
    a connection error); True when that cannot be told, as the gate assumed before."""
    try:
        context = RetryEventAdapter().create_retry_context(
            attempts=attempts,
            response=response,
            caught_exception=caught_exception,
            operation=rest["operation"],
            request_dict=rest["request_dict"],
        )
        return bool(conditions.is_retryable(context))
    except Exception:  # an event botocore did not emit as it does today
        return True


def instrument_client(client: BaseClient) -> None:
    """Hook the per-pass request counter and deadline gate into a client (idempotent)."""
    meta = client.meta
    service_id = meta.service_model.service_id.hyphenize()
    # botocore-stubs do not declare Config's option attributes; botocore sets them all.
    config: Any = meta.config
    attempt_budget_s = float(config.connect_timeout or 60) + float(config.read_timeout or 60)
    max_attempts = int((config.retries or {}).get("total_max_attempts", MAX_ATTEMPTS))
    meta.events.register_first(
        f"before-send.{service_id}",
        _sender(float(config.read_timeout or 60)),
        unique_id="fleetboard-aws-pass-count",
    )
    meta.events.register_first(
        f"before-parse.{service_id}", _check_answer, unique_id="fleetboard-aws-own-answer"
    )
    # botocore-stubs types handlers as returning None; needs-retry handlers return a delay/False.
    gate = cast("Callable[..., None]", _retry_gate(attempt_budget_s, max_attempts))
    meta.events.register_first(
        f"needs-retry.{service_id}", gate, unique_id="fleetboard-aws-retry-gate"
    )


# --------------------------------------------------------------------------- client factory


class AwsClientFactory:
    """boto3 clients for one AwsSettings: one Session, one cached client per service.

    Callable as `factory("ec2")`, which is what `PassContext.aws_client` expects. `requests`
    counts every HTTP attempt its clients made since it was built, passes or not.
    """

    def __init__(
        self,
        settings: AwsSettings,
        *,
        credentials: StaticCredentials | None = None,
        max_attempts: int = MAX_ATTEMPTS,
    ) -> None:
        self.settings = settings
        # Parsing the EC2 service model costs ~0.3 s a session; every factory in the process
        # (a bench run, a test suite) shares one read-only loader and parses it once.
        core = botocore.session.get_session()
        core.register_component("data_loader", _shared_loader())
        # No explicit keys: boto3's default chain (env, profile, SSO, the Lambda role).
        self._session = boto3.Session(
            botocore_session=core,
            region_name=settings.region,
            aws_access_key_id=credentials.access_key_id if credentials else None,
            aws_secret_access_key=credentials.secret_access_key if credentials else None,
            aws_session_token=credentials.session_token if credentials else None,
        )
        # boto3 appends its own data path to the loader on every Session: keep one copy.
        paths = _shared_loader().search_paths
        paths[:] = list(dict.fromkeys(paths))
        self._config = Config(
            region_name=settings.region,
            # botocore's 60 s defaults would eat a pass's whole deadline on one black hole.
            connect_timeout=settings.connect_timeout_s,
            read_timeout=settings.read_timeout_s,
            retries={"mode": "standard", "total_max_attempts": max_attempts},
            user_agent_extra="fleetboard",
        )
        self._clients: dict[str, BaseClient] = {}
        # boto3 Sessions are not thread-safe; clients are, once built.
        self._lock = threading.Lock()
        self._requests = 0

    @property
    def requests(self) -> int:
        """HTTP requests sent by this factory's clients so far, retries and pages included."""
        with self._lock:
            return self._requests

    def _count(self, **_: Any) -> None:
        with self._lock:
            self._requests += 1

    def close(self) -> None:
        """Close the clients' connection pools (tests and the demo; Lambda keeps them open)."""
        with self._lock:
            clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            client.close()

    @overload
    def __call__(self, service: Literal["ec2"]) -> EC2Client: ...
    @overload
    def __call__(self, service: Literal["route53"]) -> Route53Client: ...
    @overload
    def __call__(self, service: Literal["ssm"]) -> SSMClient: ...
    @overload
    def __call__(self, service: str) -> BaseClient: ...

    def __call__(self, service: str) -> Any:
        with self._lock:
            client = self._clients.get(service)
            if client is None:
                client = self._session.client(
                    service,  # type: ignore[call-overload]  # any service name, not a Literal
                    region_name=_SERVICE_REGION.get(service, self.settings.region),
                    endpoint_url=self.settings.endpoint_url,
                    config=self._config,
                )
                instrument_client(client)
                service_id = client.meta.service_model.service_id.hyphenize()
                client.meta.events.register(
                    f"before-send.{service_id}",
                    self._count,
                    unique_id=f"fleetboard-aws-total-{id(self)}",
                )
                self._clients[service] = client
            return client


#: Services answered from one region whatever the fleet's: the Price List API is served in
#: us-east-1 (and a few others), for every region's prices; Cost Explorer's one endpoint is
#: in us-east-1, for the whole account.
_SERVICE_REGION = {"pricing": "us-east-1", "ce": "us-east-1"}


@functools.cache
def _shared_loader() -> Loader:
    return create_loader()


def make_aws_client_factory(
    settings: AwsSettings, *, credentials: StaticCredentials | None = None
) -> AwsClientFactory:
    """Clients for `settings` (region, endpoint, timeouts), with the default credential chain
    unless `credentials` are given.

        clients = make_aws_client_factory(inventory.aws)
        clients("ec2").describe_addresses(...)
        clients.requests  # 1
    """
    return AwsClientFactory(settings, credentials=credentials)


@functools.lru_cache(maxsize=4)
def default_factory(settings: AwsSettings) -> AwsClientFactory:
    # Only when a caller gave no ctx.aws_client: still one factory per settings, not per pass.
    return make_aws_client_factory(settings)


def tag(tags: Iterable[Any], key: str) -> str | None:
    for tag in tags:
        if tag.get("Key") == key:
            value = tag.get("Value")
            return str(value) if value is not None else None
    return None


def chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# --------------------------------------------------------------------------- failure reasons

_DENIED = frozenset(
    {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "UnauthorizedAccess"}
)
_BAD_CREDENTIALS = frozenset(
    {
        "AuthFailure",
        "ExpiredToken",
        "ExpiredTokenException",
        "IncompleteSignature",
        "InvalidAccessKeyId",
        "InvalidClientTokenId",
        "MissingAuthenticationToken",
        "RequestExpired",
        "SignatureDoesNotMatch",
        "UnrecognizedClientException",
    }
)
_THROTTLED = frozenset(
    {
        # Cost Explorer's throttling (botocore's standard retry mode counts it as one too).
        "LimitExceededException",
        "PriorRequestNotComplete",
        "RequestLimitExceeded",
        "RequestThrottled",
        "RequestThrottledException",
        "SlowDown",
        "Throttling",
        "ThrottlingException",
        "TooManyRequestsException",
    }
)

_NO_CREDENTIALS_FIX = (
    "set AWS_PROFILE (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY) or run `aws sso login`; "
    "on Lambda, check the function's role"
)


def failure_of(
    source: str, call: str, exc: BaseException, scope: PassScope, inventory: Inventory
) -> SourceFailure:
    """The source's failure: one line naming the call, what went wrong (AWS's code) and,
    where known, the fix; whether the cause is on the collector's side (no credentials, no
    DNS, no route: `blind`), and whether AWS refused the collector's access (`access`)."""
    attempts = _attempts(scope.attempts)
    blind = access = False
    if isinstance(exc, _DeadlineReached):
        text = f"{call} not sent: the pass deadline had passed ({scope.requests} requests made)"
    elif isinstance(exc, _ForeignAnswer):
        text = f"{call} {exc} — {_not_aws_hint(inventory)}"
    elif isinstance(exc, ResponseParserError):
        # Its message quotes the whole body: only the kind of failure is kept.
        text = (
            f"{call} answered with a malformed body that could not be parsed "
            f"(ResponseParserError) — {_not_aws_hint(inventory)}"
        )
    elif isinstance(exc, ClientError):
        text, access = _client_error_reason(call, exc, inventory)
    elif isinstance(exc, ReadTimeoutError) and scope.cut_short:
        text = (
            f"{call} had no complete answer by the pass deadline {attempts} "
            f"(ReadTimeoutError): {exc}"
        )
    elif isinstance(exc, ReadTimeoutError | ConnectTimeoutError):
        text = f"{call} timed out {attempts} ({type(exc).__name__}): {exc}"
    elif isinstance(exc, EndpointConnectionError):
        cause = collector_cause(exc.kwargs.get("error") or exc, "AWS's endpoint")
        if cause is not None:
            blind = True
            text = f"{call} not answered {attempts}: {cause} ({_endpoint(exc, inventory)})"
        else:
            text = f"{call} could not connect {attempts} (EndpointConnectionError): {exc}"
    elif isinstance(exc, NoCredentialsError | PartialCredentialsError):
        blind = True
        text = (
            f"{call} not sent: no AWS credentials on this machine ({type(exc).__name__}): "
            + _NO_CREDENTIALS_FIX
        )
    elif isinstance(
        exc, SSOError | TokenRetrievalError | CredentialRetrievalError | ProfileNotFound
    ):
        # The profile names a way to get credentials that does not work here (an SSO
        # session that expired, a profile that is not in ~/.aws/config).
        blind = True
        text = (
            f"{call} not sent: the AWS credentials on this machine could not be loaded "
            f"({type(exc).__name__}): {exc} — {_NO_CREDENTIALS_FIX}"
        )
    else:
        text = f"{call} failed ({type(exc).__name__}): {exc}"
    if scope.retry_withheld:
        # The numbers say why: a call that failed at once with seconds left was still not
        # retried when its retry (worst backoff plus the connect and read timeouts) could run
        # past the deadline.
        text += (
            f"; {scope.withheld_left_s:.2f} s of the pass left and a retry may take "
            f"{scope.withheld_need_s:.2f} s (backoff, connect and read timeouts), so not "
            "retried: the pass deadline was too close"
        )
    return SourceFailure(
        source, _one_line(text), blind=blind, access=access, requests=scope.requests
    )


def _not_aws_hint(inventory: Inventory) -> str:
    url = inventory.aws.endpoint_url
    if url:
        return f"check that aws.endpoint_url ({scrub(url)}) in {inventory.source} is AWS's"
    return "a proxy or captive portal answers for AWS on the collector's network"


def _endpoint(exc: EndpointConnectionError, inventory: Inventory) -> str:
    url = str(exc.kwargs.get("endpoint_url") or inventory.aws.endpoint_url or "")
    return scrub(url) or "AWS's endpoint"


def _client_error_reason(call: str, exc: ClientError, inventory: Inventory) -> tuple[str, bool]:
    """The reason, and whether it is AWS refusing the collector's access."""
    error = exc.response.get("Error", {})
    meta = exc.response.get("ResponseMetadata", {})
    status = meta.get("HTTPStatusCode")
    given_code, message = error.get("Code", ""), error.get("Message", "")
    if given_code.isdigit():
        # botocore's code when it could not read the error body: the HTTP status, and the
        # body as the message. moto answers a denied JSON-protocol call (ssm) with EC2's XML.
        given_code, found = _xml_error(message)
        message = found or message
    # moto (and some proxies) answer 403 with an empty body: keep the status as the code.
    code = given_code or (f"HTTP {status}" if status else "no error code")
    message = message or "no message in the response"
    attempts = _attempts(int(meta.get("RetryAttempts", 0)) + 1)
    if code in _DENIED or (not given_code and status == 403):
        return f"{call} denied ({code}): {message} — allow {call} for the collector's role", True
    if code in _BAD_CREDENTIALS:
        return (
            f"{call} rejected the credentials ({code}): {message} — check the profile, "
            "role or AWS_* environment the collector runs with"
        ), True
    if code in _THROTTLED:
        return f"{call} throttled {attempts} ({code}): {message}", False
    if code == "NoSuchHostedZone":
        return (
            f"{call} failed ({code}): {message} — check aws.zone_id "
            f"({inventory.aws.zone_id!r}) in {inventory.source}"
        ), False
    return f"{call} failed {attempts} ({code}): {message}", False


_XML_CODE = re.compile(r"<Code>([^<]*)</Code>")
_XML_MESSAGE = re.compile(r"<Message>([^<]*)</Message>")


def _xml_error(body: str) -> tuple[str, str]:
    """(code, message) from an XML error body; ("", "") when it is not one."""
    code, message = _XML_CODE.search(body), _XML_MESSAGE.search(body)
    return (code.group(1) if code else "", message.group(1) if message else "")


def _attempts(n: int) -> str:
    return "after 1 attempt" if n <= 1 else f"after {n} attempts"


def _one_line(text: str) -> str:
    """A reason as it may be shown: no header, signature, credential, URL path or query
    (text.scrub), one line, capped."""
    return scrub(text, limit=_MAX_REASON_CHARS)


# --------------------------------------------------------------------------- the instances


class InstancesSource(ABC, Generic[F]):
    """A source about the instances the aws source found this pass (metrics, prices): it
    starts once that source has finished. When it found none because it failed, this one
    asks nothing and says why (the aws source's own failure is already on the board)."""

    name: ClassVar[str]
    needs: ClassVar[tuple[str, ...]] = ("aws",)
    wants: ClassVar[tuple[str, ...]] = ()

    def collect(self, inventory: Inventory, ctx: PassContext) -> F | SourceFailure:
        aws = ctx.results.get("aws")
        if not isinstance(aws, AwsFacts):
            return SourceFailure(self.name, "not read: the aws source found no instances")
        return self.collect_about(aws.instances, inventory, ctx)

    @abstractmethod
    def collect_about(
        self, instances: Mapping[str, InstanceFacts], inventory: Inventory, ctx: PassContext
    ) -> F | SourceFailure:
        """This source's facts about `instances` (by id), or why it has none."""


# --------------------------------------------------------------------------- times


def utc(at: datetime | None) -> datetime | None:
    """A time from an AWS answer as the model keeps it, in UTC (botocore parses times into
    the local zone)."""
    return at.astimezone(UTC) if at is not None else None


# --------------------------------------------------------------------------- one source's reads

#: A client for a service name, instrumented for the pass ("ec2" -> EC2Client).
Clients = Callable[[str], Any]


def read(
    source: str,
    call: str,
    inventory: Inventory,
    ctx: PassContext,
    reads: Callable[[Clients], T],
) -> tuple[T, int] | SourceFailure:
    """`reads(clients)` within the pass's deadline: its result and the requests it cost, or
    a SourceFailure naming `call` (the IAM action it needs) and what went wrong."""
    factory: Clients = ctx.aws_client or default_factory(inventory.aws)

    def clients(service: str) -> Any:
        client = factory(service)
        instrument_client(client)
        return client

    with pass_scope(ctx.deadline) as scope:
        try:
            return reads(clients), scope.requests
        except AWS_FAILURES as exc:
            return failure_of(source, call, exc, scope, inventory)
        except Exception as exc:  # a bug here, not an AWS answer: say so, keep the pass going
            logger.exception("%s source failed inside %s", source, call)
            return SourceFailure(
                source=source,
                reason=f"internal error during {call} ({type(exc).__name__}); see the logs",
            )


@dataclass(frozen=True, slots=True)
class Listing(Generic[T, F]):
    """One paginated Describe* over the whole region, read up to `max_pages` pages: it costs
    one request per page whatever the fleet size, and needs no instance ids (which would make
    it wait for the aws source, and fail whole on one id that no longer exists)."""

    call: str  # as IAM spells it: "ec2:DescribeInstanceStatus"
    service: str  # boto3's name: "ec2"
    operation: str  # the paginator's name: "describe_instance_status"
    key: str  # the list every page carries: "InstanceStatuses"
    page_size: int
    max_pages: int
    #: (an item's instance id, the item) -> what is kept of it; items with no id are skipped.
    parse: Callable[[str, Any], T]
    facts: Callable[[dict[str, T], datetime, int, bool], F]  # (items, when, requests, complete)
    arguments: Mapping[str, Any] = field(default_factory=dict)

    def collect(self, source: str, inventory: Inventory, ctx: PassContext) -> F | SourceFailure:
        """Every item `parse` keeps, by the id it gives, or why the listing failed."""
        observed_at = ctx.now()
        got = read(source, self.call, inventory, ctx, self._pages)
        if isinstance(got, SourceFailure):
            return got
        (items, complete), requests = got
        return self.facts(items, observed_at, requests, complete)

    def _pages(self, clients: Clients) -> tuple[dict[str, T], bool]:
        paginator = clients(self.service).get_paginator(self.operation)
        pages = paginator.paginate(**self.arguments, PaginationConfig={"PageSize": self.page_size})
        items: dict[str, T] = {}
        for number, page in enumerate(pages, start=1):
            expect(page, self.key)
            for item in page.get(self.key, []):
                instance_id = item.get("InstanceId")
                if instance_id:
                    items[instance_id] = self.parse(instance_id, item)
            if number >= self.max_pages and page.get("NextToken"):
                return items, False  # the paginator is lazy: no further page is asked
        return items, True


class ListingSource(Generic[T, F]):
    """A source that is one Listing: the host and agent sources."""

    needs: ClassVar[tuple[str, ...]] = ()
    wants: ClassVar[tuple[str, ...]] = ()

    def __init__(self, name: str, listing: Listing[T, F]) -> None:
        self.name = name
        self.listing = listing

    def collect(self, inventory: Inventory, ctx: PassContext) -> F | SourceFailure:
        return self.listing.collect(self.name, inventory, ctx)
