"""Real parts for the aws source's tests: a moto server, and a counting proxy in front of it.

The proxy is the independent witness for request counts: it sees every HTTP request that
reaches it and names the API call, so the source's own botocore-hook counter is checked
against something it does not control. It can also answer with injected AWS errors.
"""

from __future__ import annotations

import http.client
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from fleetboard.demo.aws_world import reset_moto, set_moto_auth, start_moto_server


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    url, stop = start_moto_server()
    try:
        yield url
    finally:
        stop()


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
_SERVICE_IN_AUTH = re.compile(r"Credential=[^/]+/[^/]+/[^/]+/([^/]+)/aws4_request")
_RRSET_PATH = re.compile(r"^/2013-04-01/hostedzone/[^/]+/rrset/?$")


def _call_name(method: str, path_qs: str, headers: Message, body: bytes) -> str:
    """'ec2:DescribeAddresses', 'route53:ListResourceRecordSets', or 'METHOD /path'."""
    match = _SERVICE_IN_AUTH.search(headers.get("Authorization", ""))
    service = match.group(1) if match else "?"
    path = urlsplit(path_qs).path
    if method == "POST" and body:
        action = parse_qs(body.decode("utf-8", "replace")).get("Action")
        if action:
            return f"{service}:{action[0]}"
    if method == "GET" and _RRSET_PATH.match(path):
        return "route53:ListResourceRecordSets"
    return f"{method} {path}"


@dataclass
class Fault:
    """An answer the proxy gives instead of forwarding: HTTP status and an EC2 error code."""

    status: int
    code: str
    message: str

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
    faults: list[Fault] = field(default_factory=list)  # used in order, one per request
    always: Fault | None = None  # answer every request with this
    lock: threading.Lock = field(default_factory=threading.Lock)

    def fail_next(self, status: int, code: str, message: str) -> None:
        """Answer the next request with this AWS error instead of forwarding it."""
        with self.lock:
            self.faults.append(Fault(status, code, message))

    def fail_always(self, status: int, code: str, message: str) -> None:
        with self.lock:
            self.always = Fault(status, code, message)

    def clear(self) -> None:
        with self.lock:
            self.calls.clear()
            self.faults.clear()
            self.always = None

    def take(self, call: str) -> Fault | None:
        with self.lock:
            self.calls.append(call)
            if self.faults:
                return self.faults.pop(0)
            return self.always


def _handler(proxy: CountingProxy) -> type[BaseHTTPRequestHandler]:
    upstream = urlsplit(proxy.upstream)

    class Relay(BaseHTTPRequestHandler):
        def _relay(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            fault = proxy.take(_call_name(self.command, self.path, self.headers, body))
            if fault is not None:
                self._answer(fault.status, [("Content-Type", "text/xml")], fault.body())
                return
            conn = http.client.HTTPConnection(upstream.hostname or "", upstream.port, timeout=30)
            try:
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
                conn.request(self.command, self.path, body=body, headers=headers)
                response = conn.getresponse()
                data = response.read()
                kept = [(k, v) for k, v in response.getheaders() if k.lower() not in _HOP_BY_HOP]
                self._answer(response.status, kept, data)
            finally:
                conn.close()

        def _answer(self, status: int, headers: list[tuple[str, str]], data: bytes) -> None:
            self.send_response(status)
            for key, value in headers:
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(data)

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
