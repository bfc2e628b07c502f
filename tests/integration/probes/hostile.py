"""Hosts that misbehave on purpose, on 127.0.0.1: the probe's whole-answer bound is tested
against them.

One `HostileServer` serves HTTPS for every `*.fleet.test` name from its own trustme CA and
answers by path:

- `/ok`: `ok`, at once.
- `/trickle`: the head (Content-Length 100000), then one body byte every `tick_s`.
- `/trickle-head`: the status line, then one header byte every `tick_s`, never ending.
- `/silent`: reads the request and never answers.
- `/flood`: a body of `FLOOD_BYTES`, as fast as the client reads.
- `/echo...`: the request itself sent back as the answer (a status line that is not one).

A second port, `tls_trickle`, takes TCP connections and sends one byte of a never-complete
TLS record every `tick_s`: a handshake that stalls while looking alive. Everything stops,
and every connection is dropped, when the `with` block ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import tempfile
import threading
from pathlib import Path
from types import TracebackType
from typing import Self

import trustme

from fleetboard.inventory import Address

LOOPBACK = "127.0.0.1"
FLOOD_BYTES = 5 * 1024 * 1024
_TRICKLE_LENGTH = 100_000
_START_S = 10.0


class HostileServer:
    def __init__(self, *, tick_s: float = 0.05) -> None:
        self.tick_s = tick_s
        self._ca = trustme.CA(organization_name="Hostile Test CA")
        self._dir = tempfile.TemporaryDirectory(prefix="fleetboard-hostile-")
        self.ca_bundle = Path(self._dir.name) / "ca.pem"
        self._ca.cert_pem.write_to_path(str(self.ca_bundle))
        self._context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._ca.issue_cert("*.fleet.test").configure_cert(self._context)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="hostile-server", daemon=True)
        self._ready = threading.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self._servers: list[asyncio.Server] = []
        self.https = Address(LOOPBACK, 0)
        self.tls_trickle = Address(LOOPBACK, 0)
        self._last_head = b""

    # ----------------------------------------------------------------------- lifecycle

    def __enter__(self) -> Self:
        self._thread.start()
        if not self._ready.wait(_START_S):
            raise RuntimeError("the hostile server did not start")
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._loop.is_running():
            asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(_START_S)
            self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(_START_S)
        self._dir.cleanup()

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._start())
        self._ready.set()
        self._loop.run_forever()
        self._loop.close()

    async def _start(self) -> None:
        https = await asyncio.start_server(self._serve_https, LOOPBACK, 0, ssl=self._context)
        stall = await asyncio.start_server(self._serve_tls_trickle, LOOPBACK, 0)
        self._servers = [https, stall]
        self.https = Address(LOOPBACK, https.sockets[0].getsockname()[1])
        self.tls_trickle = Address(LOOPBACK, stall.sockets[0].getsockname()[1])

    async def _stop(self) -> None:
        for server in self._servers:
            server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for server in self._servers:
            await server.wait_closed()

    def _track(self) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # ----------------------------------------------------------------------- behaviours

    async def _serve_https(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self._track()
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                path = head.split(b" ", 2)[1].decode("latin-1")
                self._last_head = head
                if not await self._answer(path, writer):
                    return
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, OSError, IndexError):
            return
        except asyncio.CancelledError:  # the server is stopping: a quiet end, not an error
            return
        finally:
            writer.transport.abort()

    async def _answer(self, path: str, writer: asyncio.StreamWriter) -> bool:
        """Answer one request; False when the connection is done."""
        if path == "/ok":
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            await writer.drain()
            return True
        if path == "/trickle":
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % _TRICKLE_LENGTH)
            for _ in range(_TRICKLE_LENGTH):
                writer.write(b"o")
                await writer.drain()
                await asyncio.sleep(self.tick_s)
            return False
        if path == "/trickle-head":
            writer.write(b"HTTP/1.1 200 OK\r\n")
            while True:
                writer.write(b"X")
                await writer.drain()
                await asyncio.sleep(self.tick_s)
        if path.startswith("/echo"):
            writer.write(self._last_head + b"\r\n")
            await writer.drain()
            return False
        if path == "/flood":
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % FLOOD_BYTES)
            piece = b"f" * 16384
            for _ in range(FLOOD_BYTES // len(piece)):
                if writer.transport.is_closing():
                    break
                writer.write(piece)
                await writer.drain()
            return False
        await asyncio.Event().wait()  # /silent, and anything else: never answer
        return False

    async def _serve_tls_trickle(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self._track()
        try:
            # A handshake record header announcing 16 KiB, then its body one byte at a time.
            for byte in b"\x16\x03\x03\x40\x00" + b"\x02" * 16384:
                writer.write(bytes([byte]))
                await writer.drain()
                await asyncio.sleep(self.tick_s)
        except (OSError, asyncio.CancelledError):
            return
        finally:
            with contextlib.suppress(Exception):
                writer.transport.abort()
