"""An HTTP server on 127.0.0.1 that answers the way a hostile or broken network does: an HTML
page with 200 (a captive portal, a proxy's login page), a body trickling in a byte at a
time, a body far larger than any API's, any status with any headers. The github and chain
sources' tests point their API or RPC URL at it.

    with HostileHttp() as server:
        server.answer = Answer(200, "text/html", b"<html>portal</html>")
        url = server.url("/v3/key")

Every connection is dropped and its thread ends when the `with` block does; a trickle stops
as soon as the client hangs up.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Self


@dataclass
class Answer:
    status: int = 200
    content_type: str = "application/json"
    body: bytes = b"{}"
    headers: dict[str, str] = field(default_factory=dict)
    #: > 0: send the head (with the real Content-Length), then one body byte per tick.
    trickle_s: float = 0.0
    #: > 0: send this many bytes of `body` repeated, with no Content-Length, as fast as read.
    flood_bytes: int = 0
    #: Declare this Content-Length instead of the body's (a lie, to test early refusal).
    declared_length: int | None = None


class HostileHttp:
    def __init__(self) -> None:
        self.answer = Answer()
        #: Per path prefix: the answer for requests whose path starts with it.
        self.by_path: dict[str, Answer] = {}
        #: Called with (method, path, body) for each request, before answering.
        self.seen: list[tuple[str, str]] = []
        self.on_request: Callable[[str, str, bytes], None] | None = None
        self.stopping = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="hostile-http", daemon=True
        )

    def url(self, path: str = "") -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}{path}"

    def answer_for(self, path: str) -> Answer:
        for prefix, answer in self.by_path.items():
            if path.startswith(prefix):
                return answer
        return self.answer

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


def _handler(server: HostileHttp) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            server.seen.append((self.command, self.path))
            if server.on_request is not None:
                server.on_request(self.command, self.path, body)
            answer = server.answer_for(self.path)
            try:
                self.send_response(answer.status)
                self.send_header("Content-Type", answer.content_type)
                for key, value in answer.headers.items():
                    self.send_header(key, value)
                if answer.flood_bytes:
                    self.send_header("Connection", "close")
                    self.end_headers()
                    self._flood(answer)
                    return
                length = answer.declared_length
                self.send_header(
                    "Content-Length", str(len(answer.body) if length is None else length)
                )
                self.send_header("Connection", "close")
                self.end_headers()
                if answer.trickle_s > 0:
                    self._trickle(answer)
                else:
                    self.wfile.write(answer.body)
            except OSError:
                pass  # the client gave up: nobody is left to answer
            finally:
                self.close_connection = True

        def _trickle(self, answer: Answer) -> None:
            for i in range(len(answer.body)):
                if server.stopping.wait(answer.trickle_s):
                    return
                self.wfile.write(answer.body[i : i + 1])
                self.wfile.flush()

        def _flood(self, answer: Answer) -> None:
            chunk = (answer.body or b"x") * max(1, 65536 // max(1, len(answer.body)))
            sent = 0
            while sent < answer.flood_bytes and not server.stopping.is_set():
                self.wfile.write(chunk)
                sent += len(chunk)

        do_GET = do_POST = _serve

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler
