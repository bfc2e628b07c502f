"""Real parts for the aws source's tests: the shared moto server (tests/integration/conftest.py)
reset for each test, and a counting proxy in front of it.

The proxy is the independent witness for request counts: it sees every HTTP request that
reaches it and names the API call, so the source's own botocore-hook counter is checked
against something it does not control. It can also answer with injected AWS errors (in the
call's own protocol: EC2's XML, SSM's JSON), hold a request back, and it pages
`ssm:ListCommands` the way AWS does, which moto does not (see `_page_commands`).
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import botocore.retries.standard
import pytest
from tests.integration.aws.fleet import BuildFleet, Fleet, built_fleet
from tests.integration.aws.helpers import RoleAllowing, read_aws
from tests.integration.aws.keepers import Keeper, Reader, Readers
from tests.integration.fixtures.aws import call_name, moto_client

from fleetboard.demo.aws_world import (
    DEMO_CREDENTIALS,
    EnvSpec,
    reset_moto,
    set_moto_auth,
)
from fleetboard.inventory import Inventory
from fleetboard.sources.awsapi import AwsClientFactory, StaticCredentials, make_aws_client_factory


@pytest.fixture
def moto_url(moto_server: str) -> Iterator[str]:
    """The moto server, emptied for this test."""
    reset_moto(moto_server)
    yield moto_server


@pytest.fixture
def moto_auth(moto_url: str) -> Iterator[None]:
    """Turns moto's IAM enforcement on for the rest of the test; always off again after it."""
    set_moto_auth(moto_url, enforced=True)
    try:
        yield
    finally:
        set_moto_auth(moto_url, enforced=False)


# --------------------------------------------------------------------------- counting proxy

_HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "content-length", "server", "date"}
)


@dataclass
class CannedAnswer:
    """An answer the proxy gives instead of forwarding: HTTP status and an AWS error code."""

    status: int
    code: str
    message: str
    xml: bool = False  # EC2's XML even for a JSON-protocol call, as moto's IAM denials are
    raw: tuple[str, bytes] | None = None  # (content type, body) sent as they are

    def answer(self, json_protocol: bool) -> tuple[str, bytes]:
        """(content type, body) as the call's protocol spells an error."""
        if self.raw is not None:
            return self.raw
        if json_protocol and not self.xml:
            body = json.dumps({"__type": self.code, "message": self.message}).encode()
            return "application/x-amz-json-1.1", body
        return "text/xml", self.body()

    def body(self) -> bytes:
        return (
            '<?xml version="1.0" encoding="UTF-8"?>'
            f"<Response><Errors><Error><Code>{self.code}</Code>"
            f"<Message>{self.message}</Message></Error></Errors>"
            "<RequestID>fleetboard-test</RequestID></Response>"
        ).encode()


@dataclass
class CountingProxy:
    upstream: str
    url: str = ""
    calls: list[str] = field(default_factory=list)
    #: (call, request body as JSON) of every JSON-protocol request, in order.
    json_bodies: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    faults: list[CannedAnswer] = field(default_factory=list)  # used in order, one per request
    always: CannedAnswer | None = None  # answer every request with this
    call_faults: dict[str, CannedAnswer] = field(default_factory=dict)  # call -> answer every time
    holds: dict[str, float] = field(default_factory=dict)  # call -> seconds held before relay
    #: ListCommands lists newest first, as AWS does; "oldest" lists as moto does, paged.
    commands_order: str = "newest"
    released: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def fail_next(self, status: int, code: str, message: str) -> None:
        """Answer the next request with this AWS error instead of forwarding it."""
        with self.lock:
            self.faults.append(CannedAnswer(status, code, message))

    def fail_always(self, status: int, code: str, message: str) -> None:
        with self.lock:
            self.always = CannedAnswer(status, code, message)

    def fail_call(
        self, call: str, status: int, code: str, message: str, *, xml: bool = False
    ) -> None:
        """Answer every request for `call` (e.g. 'ssm:ListCommands') with this AWS error."""
        with self.lock:
            self.call_faults[call] = CannedAnswer(status, code, message, xml)

    def answer_call(self, call: str, status: int, content_type: str, body: bytes) -> None:
        """Answer every request for `call` with this status and body, whatever they are (a
        proxy's or a captive portal's page); an empty `call` answers every request so."""
        fault = CannedAnswer(status, "", "", raw=(content_type, body))
        with self.lock:
            if call:
                self.call_faults[call] = fault
            else:
                self.always = fault

    def hold(self, call: str, seconds: float) -> None:
        """Keep every request for `call` waiting this long before relaying it (a slow or
        black-holed endpoint); `clear` lets held requests go at once."""
        with self.lock:
            self.holds[call] = seconds

    def clear(self) -> None:
        with self.lock:
            self.calls.clear()
            self.json_bodies.clear()
            self.faults.clear()
            self.always = None
            self.call_faults.clear()
            self.holds.clear()
            self.commands_order = "newest"
        self.released.set()  # wake requests a previous test left held
        self.released = threading.Event()

    def take(self, call: str) -> tuple[CannedAnswer | None, float]:
        """Record the request; return the fault to answer it with and how long to hold it."""
        with self.lock:
            self.calls.append(call)
            if self.faults:
                return self.faults.pop(0), 0.0
            return self.call_faults.get(call) or self.always, self.holds.get(call, 0.0)


#: ListCommands' filter keys this proxy applies; any other makes it answer 400, so a source
#: relying on one is caught rather than silently unfiltered.
_EMULATED_COMMAND_FILTERS = {"DocumentName": "DocumentName"}


def _page_commands(
    request: dict[str, Any], upstream: dict[str, Any], order: str
) -> tuple[int, dict[str, Any]]:
    """ListCommands as AWS answers it, from moto's whole unpaged, unfiltered list: filters
    applied, newest first (what AWS does, though its reference does not promise it), at most
    MaxResults (1..50, default 50) a page, with an opaque NextToken."""
    commands: list[dict[str, Any]] = list(upstream.get("Commands", []))
    for spec in request.get("Filters", []):
        key = _EMULATED_COMMAND_FILTERS.get(spec["key"])
        if key is None:
            return 400, {"__type": "ValidationException", "message": f"not emulated: {spec}"}
        commands = [c for c in commands if c.get(key) == spec["value"]]
    commands.sort(key=lambda c: float(c["RequestedDateTime"]), reverse=order == "newest")
    size = request.get("MaxResults", 50)
    if not isinstance(size, int) or not 1 <= size <= 50:
        return 400, {"__type": "ValidationException", "message": f"MaxResults {size!r}"}
    start = int(str(request.get("NextToken") or "page:0").removeprefix("page:"))
    page: dict[str, Any] = {"Commands": commands[start : start + size]}
    if start + size < len(commands):
        page["NextToken"] = f"page:{start + size}"
    return 200, page


def _lower(headers: Message) -> dict[str, str]:
    return {key.lower(): value for key, value in headers.items()}


def _handler(proxy: CountingProxy) -> type[BaseHTTPRequestHandler]:
    upstream = urlsplit(proxy.upstream)

    class Relay(BaseHTTPRequestHandler):
        def _relay(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            call = call_name(self.command, self.path, _lower(self.headers), body)
            json_protocol = "X-Amz-Target" in self.headers
            if json_protocol:
                with proxy.lock:
                    proxy.json_bodies.append((call, json.loads(body or b"{}")))
            released = proxy.released
            fault, held_s = proxy.take(call)
            if held_s and released.wait(held_s):
                return  # released by clear(): the client gave up long ago
            if fault is not None:
                content_type, data = fault.answer(json_protocol)
                self._answer(fault.status, [("Content-Type", content_type)], data)
                return
            conn = http.client.HTTPConnection(upstream.hostname or "", upstream.port, timeout=30)
            try:
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
                conn.request(self.command, self.path, body=body, headers=headers)
                response = conn.getresponse()
                data = response.read()
                kept = [(k, v) for k, v in response.getheaders() if k.lower() not in _HOP_BY_HOP]
                status = response.status
                if call == "ssm:ListCommands" and status == 200:
                    status, page = _page_commands(
                        json.loads(body or b"{}"), json.loads(data), proxy.commands_order
                    )
                    data = json.dumps(page).encode()
                self._answer(status, kept, data)
            finally:
                conn.close()

        def _answer(self, status: int, headers: list[tuple[str, str]], data: bytes) -> None:
            try:
                self.send_response(status)
                for key, value in headers:
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(data)
            except OSError:
                pass  # the client timed out and hung up: nobody is left to answer

        do_GET = do_POST = do_PUT = do_DELETE = _relay

        def log_message(self, format: str, *args: object) -> None:
            pass  # quiet: the calls list is the log

    return Relay


@pytest.fixture(scope="session")
def _proxy_server(moto_server: str) -> Iterator[CountingProxy]:
    proxy = CountingProxy(upstream=moto_server)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(proxy))
    server.daemon_threads = True
    host, port = server.server_address[:2]
    proxy.url = f"http://{host!s}:{port}"
    thread = threading.Thread(target=server.serve_forever, name="counting-proxy", daemon=True)
    thread.start()
    try:
        yield proxy
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def proxy(_proxy_server: CountingProxy, moto_url: str) -> CountingProxy:
    """The counting proxy in front of a freshly reset moto, with no calls and no faults."""
    _proxy_server.clear()
    return _proxy_server


# --------------------------------------------------------------------------- clients and IAM


@pytest.fixture
def factories() -> Iterator[Callable[..., AwsClientFactory]]:
    """Builds client factories for an inventory and closes them after the test."""
    made: list[AwsClientFactory] = []

    def make(inv: Inventory, credentials: StaticCredentials = DEMO_CREDENTIALS) -> AwsClientFactory:
        factory = make_aws_client_factory(inv.aws, credentials=credentials)
        made.append(factory)
        return factory

    yield make
    for factory in made:
        factory.close()


@pytest.fixture
def build_fleet(
    moto_url: str, proxy: CountingProxy, factories: Callable[..., AwsClientFactory]
) -> BuildFleet:
    """Call it with EnvSpecs (and `built_fleet`'s keywords): the world built in moto, the
    fleet declared with AWS reached through the counting proxy, and a client factory for
    it."""

    def build(*environments: EnvSpec, **kwargs: Any) -> Fleet:
        world, inv = built_fleet(moto_url, *environments, endpoint=proxy.url, **kwargs)
        return world, inv, factories(inv)

    return build


@pytest.fixture
def reader(moto_url: str, build_fleet: BuildFleet, proxy: CountingProxy) -> Readers:
    """Call it with a keeper (keepers.py): its source on its fleet, the aws source's answer
    read if the source needs it; the proxy's calls then hold what is sent after, only."""

    def make(keeper: Keeper) -> Reader:
        world, inv, factory = keeper.fleet(moto_url, build_fleet)
        aws = read_aws(inv, factory) if "aws" in keeper.source.needs else None
        proxy.calls.clear()
        return Reader(keeper, world, inv, factory, aws, proxy)

    return make


@pytest.fixture
def role_allowing(
    moto_url: str,
    factories: Callable[..., AwsClientFactory],
    enforce_iam: Callable[[], None],
) -> RoleAllowing:
    """Call it with an inventory and the actions a role allows: a client factory signed as
    an IAM user allowed exactly those, and the user's credentials (which no reason may
    repeat). moto's IAM checks are on from then until the test ends."""
    iam = moto_client("iam", moto_url)

    def make(inv: Inventory, actions: list[str]) -> tuple[AwsClientFactory, StaticCredentials]:
        iam.create_user(UserName="fleetboard-collector")
        policy = {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}],
        }
        iam.put_user_policy(
            UserName="fleetboard-collector", PolicyName="read", PolicyDocument=json.dumps(policy)
        )
        key = iam.create_access_key(UserName="fleetboard-collector")["AccessKey"]
        credentials = StaticCredentials(key["AccessKeyId"], key["SecretAccessKey"])
        enforce_iam()
        return factories(inv, credentials), credentials

    return make


@pytest.fixture
def enforce_iam(moto_url: str) -> Iterator[Callable[[], None]]:
    """Call it to switch moto's IAM checks on; they are switched off after the test."""
    try:
        yield lambda: set_moto_auth(moto_url, enforced=True)
    finally:
        set_moto_auth(moto_url, enforced=False)


@pytest.fixture
def black_hole() -> Iterator[str]:
    """An endpoint that accepts connections (the kernel's backlog does) and never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


@pytest.fixture
def far_from_utc() -> Iterator[None]:
    """The machine's local zone 9 hours east of UTC. botocore parses AWS's times into the
    local zone, so a time a source did not bring back to UTC shows +09:00 (and a step worked
    out from a wall clock rather than an instant lands 9 hours off)."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = "JST-9"  # POSIX form: no zone database needed
    time.tzset()
    try:
        yield
    finally:
        if before is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = before
        time.tzset()


@pytest.fixture
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """botocore waits up to 1 s, then 2 s, between attempts: these tests want the attempts
    botocore makes, not its waiting."""
    monkeypatch.setattr(
        botocore.retries.standard.ExponentialBackoff, "delay_amount", lambda self, context: 0.0
    )
