"""The fault matrix's servers, on 127.0.0.1: a small misbehaving server, plain or TLS, and a
relay that breaks one AWS call of many.

A `FaultServer` answers every request the way its current `Behaviour` says: a whole answer
(any status, headers and body), an answer quoting the request back (`echo`), silence, a
trickle (the head, then one body byte a second), a flood (a huge body, as fast as the client
reads), bytes sent before the client says anything (`raw`: not TLS on a TLS port), or a slow
relay (every byte an upstream server sends, forwarded one a second: a TLS handshake that
trickles). `behave()` changes the behaviour and hangs up on every open connection, so a
client a previous cell left waiting gets its EOF and its thread ends.

The TLS flavour serves a certificate from its own trustme CA for the names it is given; a
behaviour can ask for a certificate issued to another name, or for one buried in a chain
too long for any client to accept.

A `SplitRelay` stands in front of the moto server and sends the requests of ONE AWS call to
a FaultServer, relaying every other request to moto: one source's call breaks while every
other AWS call of the pass is answered by the healthy world.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
import socket
import socketserver
import ssl
import tempfile
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Self
from urllib.parse import urlsplit
from xml.sax.saxutils import escape as xml_escape

import trustme
from tests.integration.fixtures.aws import call_name as aws_call_name

from fleetboard.demo.serving import Served

LOOPBACK = "127.0.0.1"
_CHUNK = 64 * 1024


@dataclass(frozen=True, slots=True)
class Behaviour:
    """How the server answers each request."""

    mode: str = "answer"  # answer | echo | silent | trickle | flood | relay-slow | raw | hang-up
    status: int = 200
    reason: str = ""  # the status line's phrase; "" picks a plain one
    headers: tuple[tuple[str, str], ...] = (("Content-Type", "text/plain"),)
    body: bytes = b"ok"
    #: trickle: bytes announced in Content-Length (the body never ends in time);
    #: flood: bytes announced and sent.
    size: int = 0
    #: relay-slow: where the bytes come from (host, port).
    upstream: tuple[str, int] | None = None
    #: TLS only: "good" (issued to the served names), "other-name", "huge-chain".
    cert: str = "good"


def answer(
    status: int, body: bytes | str, content_type: str, *extra: tuple[str, str], reason: str = ""
) -> Behaviour:
    data = body.encode() if isinstance(body, str) else body
    return Behaviour("answer", status, reason, (("Content-Type", content_type), *extra), data)


def echo(status: int, template: str, content_type: str) -> Behaviour:
    """An answer whose body quotes the request it answers: `{request}` (all of it), `{path}`,
    or `{Header-Name}` in the template. A hostile or careless endpoint that echoes."""
    return Behaviour("echo", status, "", (("Content-Type", content_type),), template.encode())


SILENT = Behaviour("silent")


def trickle(first_bytes: bytes | str, content_type: str) -> Behaviour:
    """A 200 whose head arrives at once and whose body then comes one byte a second."""
    data = first_bytes.encode() if isinstance(first_bytes, str) else first_bytes
    return Behaviour("trickle", 200, "", (("Content-Type", content_type),), data, size=1 << 20)


def flood(content_type: str, size: int = 64 << 20, prefix: bytes = b"") -> Behaviour:
    """A 200 with a body of `size` bytes (announced), sent as fast as it is read."""
    return Behaviour("flood", 200, "", (("Content-Type", content_type),), prefix, size=size)


def raw(data: bytes | str) -> Behaviour:
    """Bytes sent as soon as a client connects (before it says anything), then a hang-up."""
    return Behaviour("raw", body=data.encode() if isinstance(data, str) else data)


def relay_slow(upstream: tuple[str, int]) -> Behaviour:
    return Behaviour("relay-slow", upstream=upstream)


@dataclass
class _Tls:
    """The certificates a TLS fault server can present."""

    names: Sequence[str]
    ca: trustme.CA = field(default_factory=lambda: trustme.CA(organization_name="Fault CA"))
    contexts: dict[str, ssl.SSLContext] = field(default_factory=dict)

    def __post_init__(self) -> None:
        good = self.ca.issue_cert(*self.names, LOOPBACK)
        other = self.ca.issue_cert("someone-else.example")
        self.contexts["good"] = self._context(good.private_key_and_cert_chain_pem.bytes())
        self.contexts["other-name"] = self._context(other.private_key_and_cert_chain_pem.bytes())
        # A chain of the one leaf plus 300 copies of an intermediate: ~300 KB of handshake,
        # three times what OpenSSL's client accepts (100 KB).
        child = self.ca.create_child_ca()
        padding = child.cert_pem.bytes() * 300
        huge = good.private_key_pem.bytes() + good.cert_chain_pems[0].bytes() + padding
        self.contexts["huge-chain"] = self._context(huge)

    @staticmethod
    def _context(pem: bytes) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        with tempfile.TemporaryDirectory(prefix="fleetboard-faults-") as tmp:
            path = Path(tmp) / "chain.pem"
            path.write_bytes(pem)
            context.load_cert_chain(str(path))
        return context

    def ca_pem(self) -> bytes:
        return self.ca.cert_pem.bytes()


class FaultServer(Served):
    """A TCP (optionally TLS) server on 127.0.0.1 that misbehaves as told. Thread-safe."""

    def __init__(self, *, tls_names: Sequence[str] = ()) -> None:
        self._tls = _Tls(tls_names) if tls_names else None
        self._behaviour = Behaviour()
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._thread = threading.Thread(target=self._loop.run_forever, name="fault-server")
        self.port = 0
        self.requests = 0
        self.seen: list[bytes] = []  # every request head received, for the secret grep

    # -------------------------------------------------------------------- control

    @property
    def url(self) -> str:
        return f"{'https' if self._tls else 'http'}://{LOOPBACK}:{self.port}"

    @property
    def address(self) -> str:
        return f"{LOOPBACK}:{self.port}"

    def ca_pem(self) -> bytes:
        if self._tls is None:
            raise RuntimeError("a plain fault server has no CA")
        return self._tls.ca_pem()

    def behave(self, behaviour: Behaviour) -> None:
        """Answer from now on as `behaviour` says; hang up on everything open."""
        with self._lock:
            self._behaviour = behaviour
        self.hang_up()

    def hang_up(self) -> None:
        """Close every open connection (its client sees EOF, or a reset)."""
        if self._thread.is_alive():
            asyncio.run_coroutine_threadsafe(self._cancel_all(), self._loop).result(timeout=10)

    def start(self) -> Self:
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(self._start(), self._loop)
        self.port = future.result(timeout=10)
        return self

    def stop(self) -> None:
        if not self._thread.is_alive():
            if not self._loop.is_closed():
                self._loop.close()
            return
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    # -------------------------------------------------------------------- the loop

    async def _start(self) -> int:
        context = None
        if self._tls is not None:
            context = self._tls.contexts["good"]  # SNI may swap it for another, per behaviour
            context.sni_callback = self._pick_certificate
        handshake_s = 5.0 if context is not None else None
        self._server = await asyncio.start_server(
            self._track, LOOPBACK, 0, ssl=context, ssl_handshake_timeout=handshake_s
        )
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    def _pick_certificate(self, sock: ssl.SSLObject, name: str | None, ctx: Any) -> None:
        assert self._tls is not None
        with self._lock:
            kind = self._behaviour.cert
        if kind != "good":
            sock.context = self._tls.contexts[kind]

    async def _stop(self) -> None:
        if self._server is not None:
            self._server.close()
        await self._cancel_all()
        if self._server is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._server.wait_closed(), 5)

    async def _cancel_all(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _track(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await self._serve(reader, writer)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ssl.SSLError):
            pass  # the client went away, or sent nonsense: nothing left to answer
        except asyncio.CancelledError:
            # Hung up on by behave()/stop(). Ending normally keeps asyncio's stream callback
            # from logging the cancellation as an error; nothing awaits this task's result.
            pass
        finally:
            self._tasks.discard(task)
            writer.transport.abort()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with self._lock:
            behaviour = self._behaviour
        if behaviour.mode == "relay-slow":
            await self._relay_slow(reader, writer, behaviour)
            return
        if behaviour.mode == "raw":  # said at once, whatever the client sent, then hang up
            writer.write(behaviour.body)
            await writer.drain()
            return
        if behaviour.mode == "silent" and self._tls is None:
            await asyncio.Event().wait()  # never read, never answer: until hung up on
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n")[1:]:
                key, _, value = line.partition(b":")
                if key.strip().lower() == b"content-length":
                    length = int(value.strip() or b"0")
            body = await reader.readexactly(length) if length else b""
            with self._lock:
                self.requests += 1
                self.seen.append(head + body)
                behaviour = self._behaviour
            if behaviour.mode == "silent":
                await asyncio.Event().wait()
            if behaviour.mode == "hang-up":
                return
            if behaviour.mode == "echo":
                behaviour = replace(behaviour, body=_quoted(behaviour, head + body))
            await self._answer(writer, behaviour)

    async def _answer(self, writer: asyncio.StreamWriter, b: Behaviour) -> None:
        length = b.size if b.mode in {"trickle", "flood"} else len(b.body)
        phrase = b.reason or ("OK" if b.status < 400 else "Error")
        lines = [f"HTTP/1.1 {b.status} {phrase}"]
        lines += [f"{k}: {v}" for k, v in b.headers]
        lines += [f"Content-Length: {length}", "", ""]
        writer.write("\r\n".join(lines).encode("latin-1"))
        if b.mode == "trickle":
            await writer.drain()
            for byte in itertools.islice(itertools.cycle(b.body or b" "), length):
                writer.write(bytes([byte]))
                await writer.drain()
                await asyncio.sleep(1.0)  # the server's pace, not the test's: one byte a second
        elif b.mode == "flood":
            writer.write(b.body)
            left = length - len(b.body)
            block = b" " * _CHUNK
            while left > 0:
                writer.write(block[: min(left, _CHUNK)])
                left -= _CHUNK
                await writer.drain()
        else:
            writer.write(b.body)
        await writer.drain()

    async def _relay_slow(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, b: Behaviour
    ) -> None:
        assert b.upstream is not None
        up_reader, up_writer = await asyncio.open_connection(*b.upstream)

        async def forward() -> None:  # client -> upstream: at full speed
            while data := await reader.read(_CHUNK):
                up_writer.write(data)
                await up_writer.drain()

        pump = asyncio.ensure_future(forward())
        try:
            while data := await up_reader.read(_CHUNK):  # upstream -> client: a byte a second
                for byte in data:
                    writer.write(bytes([byte]))
                    await writer.drain()
                    await asyncio.sleep(1.0)
        finally:
            pump.cancel()
            with contextlib.suppress(asyncio.CancelledError, OSError):
                await pump
            up_writer.transport.abort()


def _quoted(template: Behaviour, request: bytes) -> bytes:
    """The template's body with `{request}` replaced by the whole request, `{path}` by its
    path and query, and `{Header-Name}` by that header's value, escaped for its type."""
    text = request.decode("latin-1")
    head, _, _ = text.partition("\r\n\r\n")
    first, *lines = head.split("\r\n")
    values = {"request": text, "path": first.split(" ")[1] if " " in first else ""}
    for line in lines:
        key, _, value = line.partition(":")
        values[key.strip().lower()] = value.strip()
    kind = dict(template.headers).get("Content-Type", "")

    def escaped(match: re.Match[bytes]) -> bytes:
        value = values.get(match.group(1).decode().lower(), "")
        if "json" in kind:
            value = json.dumps(value)[1:-1]
        elif "xml" in kind or "html" in kind:
            value = xml_escape(value)
        return value.encode("latin-1", "replace")

    return re.sub(rb"\{([A-Za-z-]+)\}", escaped, template.body)


def refused_address() -> str:
    """host:port of a loopback port nothing listens on."""
    from fleetboard.demo.hosts import refused_port

    return f"{LOOPBACK}:{refused_port()}"


# --------------------------------------------------------------------------- the split relay

#: The relay's own patience with either end: far beyond any cell, short of forever.
_RELAY_TIMEOUT_S = 60.0


def call_name(head: bytes, body: bytes) -> str:
    """The call a raw request makes (fixtures/aws.py `call_name`, which the aws tests'
    counting proxy uses too): 'cloudwatch:GetMetricData', 'METHOD /path'."""
    first, *lines = head.decode("latin-1").split("\r\n")
    method, _, rest = first.partition(" ")
    headers: dict[str, str] = {}
    for line in lines:
        key, _, value = line.partition(":")
        headers[key.strip().lower()] = value.strip()
    return aws_call_name(method, rest.partition(" ")[0], headers, body)


def _with_close(head: bytes) -> bytes:
    """`head` with its Connection header replaced by "Connection: close": one request per
    connection, so a client never sends a second call on a connection routed for the first
    (and an upstream that answers with a length ends its connection after it)."""
    first, *lines = head.split(b"\r\n")
    kept = [line for line in lines if line.partition(b":")[0].strip().lower() != b"connection"]
    return b"\r\n".join([first, *kept, b"Connection: close"])


def _content_length(head: bytes) -> int | None:
    for line in head.split(b"\r\n")[1:]:
        key, _, value = line.partition(b":")
        if key.strip().lower() == b"content-length":
            return int(value.strip() or b"0")
    return None


class _RelayServer(socketserver.ThreadingTCPServer):
    daemon_threads = False  # joined by server_close(): no exchange outlives the relay
    request_queue_size = 64  # every source of a pass connects at once


class SplitRelay(Served):
    """An HTTP relay on 127.0.0.1 in front of `upstream` (the moto server) that sends every
    request of one AWS call to another address (a FaultServer) and relays the rest. Each
    request is read whole and named by `call_name`; the answer comes back as the upstream
    sends it, byte for byte and at its pace (a trickle stays a trickle, a flood a flood),
    but for its Connection header: one request per client connection. Thread-safe.

    Not split: a refused connection and a name that does not resolve. Both happen before a
    client says which call it makes (its connect, its lookup of the endpoint's name), so a
    relay that has accepted the connection cannot show them to one call: what it could show
    instead (a reset connection, a proxy's 502) is another fault under a borrowed name.
    """

    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        self._upstream = (parts.hostname or LOOPBACK, parts.port or 80)
        self._split: tuple[str, tuple[str, int]] | None = None
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._server: socketserver.ThreadingTCPServer | None = None
        self._thread: threading.Thread | None = None
        self.port = 0
        #: (call, "split" or "relayed") of every request since the last `split()`.
        self.routed: list[tuple[str, str]] = []

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def split(self, call: str | None, to: str | None = None) -> None:
        """From now on send the requests of `call` to `to` ("host:port"); None: relay all.
        Forgets what was routed so far."""
        target = None
        if call is not None:
            if to is None:
                raise ValueError("a split call needs an address to go to")
            host, _, port = to.rpartition(":")
            target = (call, (host, int(port)))
        with self._lock:
            self._split = target
            self.routed = []

    def calls(self, where: str) -> list[str]:
        """The calls routed `where` ("split" or "relayed") since the last `split()`."""
        with self._lock:
            return [call for call, went in self.routed if went == where]

    def hang_up(self) -> None:
        """End every relayed exchange (both ends see EOF): a client a cell left waiting on a
        silent or trickling call gets its answer's end, and its thread ends."""
        with self._lock:
            sockets = list(self._open)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def start(self) -> Self:
        relay = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                relay._serve(self.request)

        server = _RelayServer((LOOPBACK, 0), Handler)
        self._server = server
        self.port = server.server_address[1]
        self._thread = threading.Thread(target=server.serve_forever, name="split-relay")
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self.hang_up()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)

    # -------------------------------------------------------------------- one exchange

    def _serve(self, client: socket.socket) -> None:
        client.settimeout(_RELAY_TIMEOUT_S)
        with self._tracked(client, close=False):  # socketserver closes it after the answer
            try:
                request = self._read_request(client)
                if request is None:
                    return
                head, body = request
                call = call_name(head, body)
                with self._lock:
                    split = self._split
                    went = "split" if split is not None and split[0] == call else "relayed"
                    self.routed.append((call, went))
                address = split[1] if split is not None and went == "split" else self._upstream
                upstream = socket.create_connection(address, timeout=_RELAY_TIMEOUT_S)
                with self._tracked(upstream):
                    upstream.sendall(_with_close(head) + b"\r\n\r\n" + body)
                    self._pass_answer(upstream, client)
            except OSError:
                pass  # either end went away, or was hung up on: nothing left to pass on

    @staticmethod
    def _read_request(client: socket.socket) -> tuple[bytes, bytes] | None:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = client.recv(_CHUNK)
            if not chunk:
                return None
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = _content_length(head) or 0
        while len(body) < length:
            chunk = client.recv(_CHUNK)
            if not chunk:
                return None
            body += chunk
        return head, body[:length]

    @staticmethod
    def _pass_answer(upstream: socket.socket, client: socket.socket) -> None:
        """The upstream's answer to the client as it comes: its head (Connection: close),
        then its body, each byte sent on as soon as it arrives, up to its length (or to
        the upstream's EOF when it gives none)."""
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = upstream.recv(_CHUNK)
            if not chunk:
                client.sendall(data)  # whatever came, then EOF: as the upstream left it
                return
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = _content_length(head)
        left = None if length is None else length - len(body)
        client.sendall(_with_close(head) + b"\r\n\r\n" + body)
        while left is None or left > 0:
            chunk = upstream.recv(_CHUNK if left is None else min(_CHUNK, left))
            if not chunk:
                return
            client.sendall(chunk)
            if left is not None:
                left -= len(chunk)

    @contextlib.contextmanager
    def _tracked(self, sock: socket.socket, *, close: bool = True) -> Iterator[None]:
        """`sock` is one `hang_up` shuts down while the block runs; closed after it."""
        with self._lock:
            self._open.add(sock)
        try:
            yield
        finally:
            with self._lock:
                self._open.discard(sock)
            if close:
                sock.close()
