"""A webhook receiver on 127.0.0.1: where the demo's (and the tests') alerts are sent.

One HTTPS listener on an ephemeral port, a thread per connection, a certificate from its own
trustme CA (or one given, like the demo's) for 127.0.0.1 and localhost. It records every
POST (path, headers, body) and answers the way it is set to:

- `Answer.OK`: 200 "ok", as Slack answers;
- `Answer.ERROR`: `error_status` (500), with `error_body` (a test makes it quote the URL
  back); a 3xx carries `Location: /redirected`, where a client that follows it would post;
- `Answer.HANG`: nothing, until `release()` or the end of the `with` block: the client gives
  up on its own timeout, and no one sleeps to make that happen;
- `Answer.TRICKLE`: the head of a 200 at once, then its body one byte a tick, never whole
  in time.

The recorded path holds the webhook's secret part: print it with care.

    with Receiver() as hooks:
        send(channel, body, url=Secret(hooks.url("/T0/B0/x")), ..., ca_bundle=hooks.ca_bundle)
        (got,) = hooks.received
"""

from __future__ import annotations

import contextlib
import ssl
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

from fleetboard.demo import procs
from fleetboard.demo.serving import Served

if TYPE_CHECKING:
    import trustme

LOOPBACK = "127.0.0.1"
#: The longest request body recorded; a longer one is refused with 413.
BODY_CAP_BYTES = 1024 * 1024
#: A connection that says nothing for this long is dropped (a stuck client never holds
#: close() for longer).
_IDLE_S = 10.0
#: How often the serving loop looks whether it is asked to stop.
_POLL_S = 0.05
#: What a trickled answer announces: short, like Slack's, but at a byte a tick far longer
#: than any client waits for.
_TRICKLE_BYTES = 2048


class Answer(StrEnum):
    OK = "ok"
    ERROR = "error"
    HANG = "hang"
    TRICKLE = "trickle"


@dataclass(frozen=True, slots=True)
class Received:
    """One POST as it arrived."""

    path: str  # with its query, as sent: the webhook's secret part
    headers: tuple[tuple[str, str], ...]
    body: bytes

    def header(self, name: str) -> str | None:
        """The first header of that name (any case), or None."""
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)


class Receiver(Served):
    """The loopback webhook receiver; `with` starts it and stops it and all its threads."""

    def __init__(
        self,
        *,
        answer: Answer = Answer.OK,
        tick_s: float = 0.2,
        ca: trustme.CA | None = None,
        names: Sequence[str] = (LOOPBACK, "localhost"),
        on_post: Callable[[Received], None] | None = None,
    ) -> None:
        self.answer = answer  # may be changed while serving: the next request reads it
        self.error_status = 500
        self.error_body = b"internal error"
        self.tick_s = tick_s
        self._ca = ca
        self._names = tuple(names)
        #: Called (on the connection's thread) with each POST once recorded: the demo prints.
        self.on_post = on_post
        self._received: list[Received] = []
        self._lock = threading.Lock()
        #: Set by release() or stop(): a hanging or trickling answer ends.
        self._released = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._dir: Path | None = None

    # ----------------------------------------------------------------------- lifecycle

    def start(self) -> Self:
        try:
            import trustme  # the demo extra; the collector itself never needs it

            ca = self._ca or trustme.CA(organization_name="Fleetboard Receiver CA")
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ca.issue_cert(*self._names).configure_cert(context)
            self._dir = procs.make_temp_dir("fleetboard-receiver-")
            ca.cert_pem.write_to_path(str(self._dir / "ca.pem"))
            self._server = _Server((LOOPBACK, 0), _Handler, context=context, owner=self)
            thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": _POLL_S},
                name="fleetboard-receiver",
                daemon=True,
            )
            thread.start()
            self._thread = thread  # only once serving: shutdown() waits for a loop that runs
        except BaseException:  # a failure, or Ctrl-C while starting: leave nothing behind
            self.stop()
            raise
        return self

    def stop(self) -> None:
        self._released.set()  # hanging and trickling answers end now
        if self._server is not None:
            if self._thread is not None:
                self._server.shutdown()  # the serving loop ends within _POLL_S
                self._thread.join()
                self._thread = None
            self._server.server_close()  # and joins every connection's thread
            self._server = None
        if self._dir is not None:
            procs.remove_temp_dir(self._dir)
            self._dir = None

    # ----------------------------------------------------------------------- use

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("start() the receiver first")
        return int(self._server.server_address[1])

    def url(self, path: str = "/") -> str:
        """The receiver's address with `path` (and query): what a channel's URL is set to."""
        return f"https://{LOOPBACK}:{self.port}{path}"

    @property
    def ca_bundle(self) -> Path:
        """The CA certificate (PEM file) a client must trust to reach the receiver."""
        if self._dir is None:
            raise RuntimeError("start() the receiver first")
        return self._dir / "ca.pem"

    @property
    def received(self) -> tuple[Received, ...]:
        with self._lock:
            return tuple(self._received)

    def release(self) -> None:
        """End the hanging and trickling answers now, and any later one at once (stop()
        does it too)."""
        self._released.set()

    def _record(self, got: Received) -> None:
        with self._lock:
            self._received.append(got)
        if self.on_post is not None:
            self.on_post(got)


class _Server(ThreadingHTTPServer):
    """TLS per connection on the connection's own thread, so a client that stalls in its
    handshake (or distrusts the certificate) holds no one else up. Connection threads are
    not daemons: server_close() joins them."""

    daemon_threads = False

    def __init__(
        self, address: tuple[str, int], handler: Any, *, context: ssl.SSLContext, owner: Receiver
    ) -> None:
        super().__init__(address, handler)
        self.context = context
        self.owner = owner

    def finish_request(self, request: Any, client_address: Any) -> None:
        request.settimeout(_IDLE_S)
        try:
            tls = self.context.wrap_socket(request, server_side=True)
        except OSError:  # the client hung up, or refused the certificate: normal here
            return
        try:
            super().finish_request(tls, client_address)
        finally:
            with contextlib.suppress(OSError):
                tls.close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away mid-answer is not news (and a traceback to stderr
        could quote the request line, with the secret path in it)."""


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: the request line holds the webhook's secret path."""

    def do_POST(self) -> None:
        owner = self.server.owner
        self.close_connection = True
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= BODY_CAP_BYTES:
            self._answer(413, b"too large")
            return
        body = self.rfile.read(length)
        owner._record(Received(self.path, tuple(self.headers.items()), body))
        try:
            answer = owner.answer
            if answer is Answer.OK:
                self._answer(200, b"ok")
            elif answer is Answer.ERROR:
                self._answer(owner.error_status, owner.error_body)
            elif answer is Answer.HANG:
                owner._released.wait()  # until the test, or stop(), lets go
            else:
                self._trickle(owner)
        except OSError:  # a timeout too
            pass  # the client gave up first: what HANG and TRICKLE are for

    def _answer(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        if 300 <= status < 400:
            self.send_header("Location", "/redirected")
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def _trickle(self, owner: Receiver) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(_TRICKLE_BYTES))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.flush()
        for _ in range(_TRICKLE_BYTES):
            if owner._released.wait(owner.tick_s):
                return
            self.wfile.write(b".")
            self.wfile.flush()
