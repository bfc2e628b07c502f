"""The probe transport: HTTPS GETs and TLS handshakes against many hosts on one event loop.

Each host gets one keep-alive connection (resolve, TCP, TLS with SNI, HTTP/1.1) and a slot of
a bounded semaphore. Every step is bounded as a whole, never per read, and capped by the pass
deadline: the connection (lookup, TCP and handshake together) by `connect_timeout_s`, each
answer (head and body together) by `read_timeout_s`. A host that trickles one byte a second,
or a resolver that never returns, costs one probe's budget and fails alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from fleetboard import __version__
from fleetboard.inventory import Host, ProbeSettings
from fleetboard.model import CertFacts, HttpExchange, ProbeError, Reason
from fleetboard.sources import PassContext
from fleetboard.text import visible

USER_AGENT = f"fleetboard/{__version__}"
HEADER_CAP_BYTES = 64 * 1024
HTTPS_PORT = 443

_READ_CHUNK = 64 * 1024
#: Polite TLS closes (close_notify sent) run in the background while other hosts are probed;
#: when the prober is done, the ones whose peer has not answered yet get this long, all
#: together, and are then dropped. A host mute after its handshake costs no slot time.
_CLOSE_WAIT_S = 0.25
_DETAIL_CAP = 160  # characters of an exception's text a reason may carry
_NOT_STARTED = "pass deadline reached before this probe started"
#: How often the stall watch wakes, and the pause of the event loop it calls a stall: far
#: longer than any iteration of a busy loop (a thousand handshakes in flight take tens of
#: milliseconds a turn), far shorter than a timeout.
_TICK_S = 0.05
STALL_S = 0.5

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class HostProbe:
    """What probing one host produced: one exchange per path, and the certificate it showed."""

    host: str
    exchanges: tuple[HttpExchange, ...]
    cert: CertFacts | None
    connections: int  # TLS connections opened for the GETs (the cert re-read not counted)


def not_probed(host: Host, error: ProbeError, now: datetime) -> HostProbe:
    """A host no GET was tried on (the deadline, a worker or a shard that was lost): each
    of its paths an exchange of no attempt, saying why."""
    missed = (HttpExchange(host.hostname, path, now, 0, error=error) for path in host.paths)
    return HostProbe(host.hostname, tuple(missed), None, 0)


# --------------------------------------------------------------------------- failures


class _Failure(Exception):
    """A probe step that failed, already classified; `retry` says if once more may help."""

    def __init__(self, error: ProbeError, *, retry: bool, cert_rejected: bool = False) -> None:
        super().__init__(error.detail)
        self.error = error
        self.retry = retry
        self.cert_rejected = cert_rejected
        self.connecting = False  # set when it happened before the connection was up


class _Stale(Exception):
    """A reused keep-alive connection the server had already closed: reconnect, resend."""


@dataclass(slots=True)
class _Phase:
    """The step a timed block is in, so that a timeout names it."""

    what: str  # "TLS handshake with x": "<what> timed out after N s"
    #: Said instead of "<what> timed out ..." when the step's own timer runs out.
    overrun: str = ""
    reason: Reason = Reason.TIMEOUT

    def enter(self, what: str, overrun: str = "", reason: Reason = Reason.TIMEOUT) -> None:
        self.what, self.overrun, self.reason = what, overrun, reason


def clean_detail(text: str, cap: int = _DETAIL_CAP) -> str:
    """An exception's text fit for a reason: one line, control characters shown as escapes,
    at most `cap` characters. Reasons are built from the host name, the path without its
    query, and this; never from the request (headers, query strings)."""
    return visible(text.strip(), cap)


def path_only(path: str) -> str:
    """A request path as a reason may show it: no query string, no fragment."""
    return path.split("?", 1)[0].split("#", 1)[0]


def _os_failure(exc: OSError) -> _Failure:
    if isinstance(exc, ssl.SSLCertVerificationError):
        message = clean_detail(exc.verify_message or str(exc))
        return _Failure(ProbeError(Reason.TLS, message), retry=True, cert_rejected=True)
    if isinstance(exc, ssl.SSLError):
        return _Failure(ProbeError(Reason.TLS, clean_detail(exc.reason or str(exc))), retry=True)
    if isinstance(exc, ConnectionRefusedError):
        return _Failure(ProbeError(Reason.CONNECT, "connection refused"), retry=True)
    if isinstance(exc, ConnectionResetError | BrokenPipeError):
        return _Failure(ProbeError(Reason.CONNECT, "connection reset"), retry=True)
    detail = clean_detail(exc.strerror or str(exc) or type(exc).__name__)
    return _Failure(ProbeError(Reason.CONNECT, detail), retry=True)


def _dns_failure(name: str, exc: Exception) -> _Failure:
    if isinstance(exc, socket.gaierror) and exc.errno == socket.EAI_NONAME:
        # An authoritative "no such name" is an answer, not a blip: no retry.
        return _Failure(ProbeError(Reason.DNS, f"NXDOMAIN: {name} does not resolve"), retry=False)
    why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    detail = f"lookup of {name} failed: {clean_detail(why or type(exc).__name__)}"
    return _Failure(ProbeError(Reason.DNS, detail), retry=True)


def _protocol_failure(detail: str) -> _Failure:
    return _Failure(ProbeError(Reason.HTTP, f"bad HTTP response: {detail}"), retry=False)


def _closed_early(what: str) -> _Failure:
    return _Failure(ProbeError(Reason.CONNECT, f"connection closed {what}"), retry=True)


def _worth_retrying(outcome: object) -> bool:
    """One retry after ~150 ms hides a blip: a restarting upstream (5xx), a reset, a refused
    connect, a TLS hiccup. Timeouts are never retried: the attempt already spent its whole
    budget, and a second one would double the pass when hosts black-hole (the target is a
    pass <= one probe timeout + 1 s with 10% of endpoints black-holed). NXDOMAIN is an
    answer, not a blip, and a deadline cannot be retried by definition.
    """
    if isinstance(outcome, _Failure):
        return outcome.retry
    return isinstance(outcome, _Answer) and outcome.status >= 500


# --------------------------------------------------------------------------- HTTP/1.1


@dataclass(slots=True)
class _Conn:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    requests: int = 0


@dataclass(frozen=True, slots=True)
class _Head:
    version: str
    status: int
    headers: dict[str, str]  # lower-case names; repeated headers joined with ", "


@dataclass(frozen=True, slots=True)
class _Response:
    status: int
    body: bytes
    truncated: bool
    reusable: bool  # the body was framed and fully read, and the server keeps it alive


@dataclass(frozen=True, slots=True)
class _Answer:
    status: int
    body: bytes
    truncated: bool
    latency_ms: float


def request_bytes(hostname: str, path: str) -> bytes:
    """The GET a probe sends: Host is the real name, whatever address was dialled."""
    return (
        f"GET {path} HTTP/1.1\r\nHost: {hostname}\r\nUser-Agent: {USER_AGENT}\r\n"
        "Accept: */*\r\n\r\n"
    ).encode("ascii")


def parse_head(raw: bytes) -> _Head:
    """Status line and headers of a response; raises ValueError when it is not HTTP/1.x."""
    lines = raw.decode("latin-1").split("\r\n")
    version, _, rest = lines[0].partition(" ")
    code = rest.partition(" ")[0]
    if not version.startswith("HTTP/1.") or len(code) != 3 or not code.isdigit():
        # Quoted as evidence ("SSH-2.0-OpenSSH_9.6"), but never past a "?": a server that
        # echoes the request back must not carry a query string into a reason.
        raise ValueError(f"status line {lines[0].split('?', 1)[0][:60]!r}")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep:  # not quoted: a header line is no evidence worth carrying into a reason
            raise ValueError("a header line without a colon")
        key = name.strip().lower()
        headers[key] = f"{headers[key]}, {value.strip()}" if key in headers else value.strip()
    return _Head(version, int(code), headers)


def _framing(head: _Head) -> tuple[str, int]:
    """How the body ends: ("none", 0), ("length", n), ("chunked", 0) or ("close", 0)."""
    if head.status in (204, 304) or 100 <= head.status < 200:
        return "none", 0
    encoding = head.headers.get("transfer-encoding", "").lower()
    if encoding.rsplit(",", 1)[-1].strip() == "chunked":
        return "chunked", 0
    if "content-length" in head.headers:
        length = int(head.headers["content-length"].split(",")[0])
        if length < 0:
            raise ValueError("negative Content-Length")
        return "length", length
    return "close", 0


def _keeps_alive(head: _Head) -> bool:
    tokens = {t.strip() for t in head.headers.get("connection", "").lower().split(",")}
    if head.version == "HTTP/1.0":
        return "keep-alive" in tokens
    return "close" not in tokens


class _Wire:
    """Reads one HTTP/1.1 response from a stream. No read has a timeout of its own: the
    caller bounds the whole answer, so a trickle of one byte a second cannot stretch it."""

    def __init__(self, reader: asyncio.StreamReader) -> None:
        self._reader = reader

    async def _read(self, read: Callable[[], Awaitable[bytes]]) -> bytes:
        try:
            return await read()
        except asyncio.LimitOverrunError as exc:
            raise _protocol_failure("headers exceed 64 KiB") from exc
        except ValueError as exc:  # StreamReader.readline past the limit
            raise _protocol_failure("line exceeds 64 KiB") from exc
        except OSError as exc:
            raise _os_failure(exc) from exc

    async def head(self, *, reused: bool) -> _Head:
        try:
            raw = await self._read(partial(self._reader.readuntil, b"\r\n\r\n"))
        except asyncio.IncompleteReadError as exc:
            if reused and not exc.partial:
                raise _Stale from exc
            raise _closed_early("before the response headers") from exc
        except _Failure as failure:
            if reused and failure.error.reason is Reason.CONNECT:
                raise _Stale from failure
            raise
        try:
            return parse_head(raw)
        except ValueError as exc:
            raise _protocol_failure(str(exc)) from exc

    async def body(self, kind: str, length: int, cap: int) -> tuple[bytes, bool]:
        """The body, at most `cap` bytes, and whether there was more (never read)."""
        try:
            if kind == "length":
                return await self._until(min(length, cap)), length > cap
            if kind == "chunked":
                return await self._chunked(cap)
            if kind == "close":
                data = await self._until(cap + 1, eof_ok=True)
                return data[:cap], len(data) > cap
            return b"", False
        except asyncio.IncompleteReadError as exc:
            raise _closed_early("in the middle of the body") from exc

    async def _until(self, size: int, *, eof_ok: bool = False) -> bytes:
        parts: list[bytes] = []
        got = 0
        while got < size:
            part = await self._read(partial(self._reader.read, min(_READ_CHUNK, size - got)))
            if not part:
                if eof_ok:
                    break
                raise asyncio.IncompleteReadError(b"".join(parts), size)
            parts.append(part)
            got += len(part)
        return b"".join(parts)

    async def _chunked(self, cap: int) -> tuple[bytes, bool]:
        parts: list[bytes] = []
        got = 0
        while True:
            line = await self._read(self._reader.readline)
            if not line.endswith(b"\n"):
                raise asyncio.IncompleteReadError(line, None)
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError as exc:
                raise _protocol_failure(f"chunk size {line[:40]!r}") from exc
            if size == 0:
                await self._trailers()
                return b"".join(parts), False
            if got + size > cap:  # more than we keep: take what fits, never read the rest
                parts.append(await self._until(cap - got))
                return b"".join(parts), True
            parts.append(await self._until(size))
            got += size
            await self._until(2)  # the CRLF after each chunk

    async def _trailers(self) -> None:
        while (await self._read(self._reader.readline)).strip():
            pass


# --------------------------------------------------------------------------- certificates


def client_context(ca_bundle: Path | None) -> ssl.SSLContext:
    """System CAs plus the extra bundle, hostname checked: what a probe trusts."""
    context = ssl.create_default_context()
    if ca_bundle is not None:
        context.load_verify_locations(cafile=ca_bundle)
    context.set_alpn_protocols(["http/1.1"])
    return context


def _unverified_context() -> ssl.SSLContext:
    # Only ever used to read the dates of a certificate that already failed verification.
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def _rdn_value(rdns: Any, keys: Sequence[str]) -> str:
    """First value of the first key present in a getpeercert() name (tuple of RDNs)."""
    values = {key: value for rdn in rdns or () for key, value in rdn}
    return next((str(values[k]) for k in keys if k in values), "")


def cert_from_peer(host: str, peer: Mapping[str, Any], observed_at: datetime) -> CertFacts:
    """CertFacts from ssl's getpeercert() dict of a verified handshake."""
    not_after = None
    if "notAfter" in peer:
        not_after = datetime.fromtimestamp(ssl.cert_time_to_seconds(peer["notAfter"]), UTC)
    dns_names = [value for kind, value in peer.get("subjectAltName", ()) if kind == "DNS"]
    subject = _rdn_value(peer.get("subject"), ("commonName",)) or next(iter(dns_names), "")
    return CertFacts(
        host=host,
        not_after=not_after,
        issuer=_rdn_value(peer.get("issuer"), ("organizationName", "commonName")),
        subject=subject,
        verified=True,
        observed_at=observed_at,
    )


def cert_from_der(host: str, der: bytes, error: str, observed_at: datetime) -> CertFacts:
    """CertFacts of a certificate that failed verification, parsed from its DER bytes."""
    # Imported here: only this rare path needs it, and it would slow every cold start.
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    def first(name: x509.Name, *oids: x509.ObjectIdentifier) -> str:
        for oid in oids:
            for attribute in name.get_attributes_for_oid(oid):
                value = attribute.value
                return value if isinstance(value, str) else value.decode("utf-8", "replace")
        return ""

    try:
        cert = x509.load_der_x509_certificate(der)
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
        dns_names = sans.value.get_values_for_type(x509.DNSName)
    except x509.ExtensionNotFound:
        dns_names = []
    except ValueError:
        return CertFacts(host, None, "", "", verified=False, error=error, observed_at=observed_at)
    return CertFacts(
        host=host,
        not_after=cert.not_valid_after_utc,
        issuer=first(cert.issuer, NameOID.ORGANIZATION_NAME, NameOID.COMMON_NAME),
        subject=first(cert.subject, NameOID.COMMON_NAME) or next(iter(dns_names), ""),
        verified=False,
        error=error,
        observed_at=observed_at,
    )


# --------------------------------------------------------------------------- the prober


class StallWatch:
    """When this process's event loop could not run: a pause of the whole process (a long
    garbage collection, another thread holding the GIL, the VM descheduled).

    A timeout that fires after such a pause says nothing about the host: the answer may
    have been waiting in the socket all along, and the timer and the answer are seen in the
    same turn of the loop, the timer first. So a step that timed out across a stall is the
    collector's blindness, retried once and, if it happens again, unknown (`collector`),
    never a red timeout. A tick every _TICK_S; a gap of more than STALL_S is a stall.
    """

    def __init__(self) -> None:
        self._stalls: list[tuple[float, float]] = []
        self._last = 0.0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._last = asyncio.get_running_loop().time()
        self._task = asyncio.ensure_future(self._tick())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _tick(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(_TICK_S)
            self._note(loop.time())

    def _note(self, now: float) -> None:
        if now - self._last > _TICK_S + STALL_S:
            self._stalls.append((self._last + _TICK_S, now))
        self._last = now

    def stalled_s(self, since: float, until: float) -> float:
        """Seconds of [since, until] the loop spent stalled, the pause under way included
        (the tick that would record it may not have run yet)."""
        stalls = [*self._stalls]
        if until - self._last > _TICK_S + STALL_S:
            stalls.append((self._last + _TICK_S, until))
        return sum(max(0.0, min(end, until) - max(start, since)) for start, end in stalls)


class Prober:
    """Probes hosts on the running event loop, at most `concurrency` connections at a time.

    >>> async with Prober(inventory.probe, ctx) as prober:  # doctest: +SKIP
    ...     probes = await asyncio.gather(*(prober.probe(h) for h in hosts))
    """

    def __init__(
        self, settings: ProbeSettings, ctx: PassContext, *, concurrency: int | None = None
    ) -> None:
        limit = settings.concurrency if concurrency is None else concurrency
        if limit < 1:
            raise ValueError(f"probe concurrency must be at least 1, got {limit}")
        self.settings = settings
        self.ctx = ctx
        self._slots = asyncio.Semaphore(limit)
        self._verifying = client_context(settings.ca_bundle)
        self._closing: set[asyncio.Task[None]] = set()
        self._stalls = StallWatch()

    async def __aenter__(self) -> Prober:
        self._stalls.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        """Give the polite closes still under way one short wait, together; drop the rest."""
        await self._stalls.stop()
        closing, self._closing = self._closing, set()
        if closing:
            await asyncio.wait(closing, timeout=min(_CLOSE_WAIT_S, self.ctx.remaining_s()))
        for task in closing:
            task.cancel()
        await asyncio.gather(*closing, return_exceptions=True)

    async def probe(self, host: Host) -> HostProbe:
        """GET every path of the host over one keep-alive connection."""
        async with self._slots:
            if self.ctx.remaining_s() <= 0:
                return not_probed(host, ProbeError(Reason.DEADLINE, _NOT_STARTED), self.ctx.now())
            session = _Session(self, host)
            try:
                exchanges = await session.run()
            finally:
                await session.drop(graceful=True)
            return HostProbe(host.hostname, tuple(exchanges), session.cert, session.connections)

    async def certificate(self, host: Host) -> CertFacts | ProbeError:
        """One TLS handshake (retried like a GET), for hosts no GET has handshaken with."""
        async with self._slots:
            if self.ctx.remaining_s() <= 0:
                return ProbeError(Reason.DEADLINE, _NOT_STARTED)
            outcome, _ = await self.retrying(partial(self._handshake, host))
            if not isinstance(outcome, _Failure):
                return outcome
            if outcome.cert_rejected:
                cert = await self.rejected_cert(host, outcome.error.detail)
                if cert is not None:
                    return cert
            return outcome.error

    # ----------------------------------------------------------------------- steps

    @contextlib.asynccontextmanager
    async def step(self, phase: _Phase, limit_s: float) -> AsyncIterator[_Phase]:
        """Run a block under `limit_s`, capped by the pass deadline; name what timed out."""
        remaining = self.ctx.remaining_s()
        budget = min(limit_s, remaining)
        if budget <= 0:
            error = ProbeError(Reason.DEADLINE, f"pass deadline reached before {phase.what}")
            raise _Failure(error, retry=False)
        timer = asyncio.timeout(budget)
        loop = asyncio.get_running_loop()
        began = loop.time()
        try:
            async with timer:
                yield phase
        except TimeoutError as exc:
            stalled = self._stalls.stalled_s(began, loop.time())
            if timer.expired() and stalled >= STALL_S:  # our pause, not the host's silence
                detail = (
                    f"this collector stalled for {stalled:.1f} s during {phase.what}: "
                    "not the host's answer"
                )
                raise _Failure(ProbeError(Reason.COLLECTOR, detail), retry=True) from exc
            if not timer.expired():  # the OS said ETIMEDOUT
                error = ProbeError(Reason.TIMEOUT, f"{phase.what} timed out")
                raise _Failure(error, retry=False) from exc
            if remaining < limit_s:  # the monitor ran out of time, not the host
                error = ProbeError(Reason.DEADLINE, f"pass deadline reached during {phase.what}")
                raise _Failure(error, retry=False) from exc
            detail = phase.overrun or f"{phase.what} timed out after {budget:g} s"
            raise _Failure(ProbeError(phase.reason, detail), retry=False) from exc

    async def retrying(self, attempt: Callable[[], Awaitable[T]]) -> tuple[T | _Failure, int]:
        """Run `attempt`, and once more after the retry delay if `_worth_retrying` says so."""
        outcome = await _caught(attempt)
        if _worth_retrying(outcome) and self.ctx.remaining_s() > self.settings.retry_delay_s:
            await asyncio.sleep(self.settings.retry_delay_s)
            return await _caught(attempt), 2
        return outcome, 1

    async def open(self, host: Host, context: ssl.SSLContext | None = None) -> _Conn:
        """Resolve, connect and handshake under one connect timeout, like curl's."""
        target = host.address.host if host.address else host.hostname
        port = host.address.port if host.address else HTTPS_PORT
        limit = self.settings.connect_timeout_s
        phase = _Phase(
            f"DNS lookup of {target}",
            f"lookup of {target} got no answer within {limit:g} s",
            Reason.DNS,
        )
        try:
            async with self.step(phase, limit):
                ips = await self._resolve(target, port)
                reader, writer = await self._connect(ips, port, phase)
                phase.enter(f"TLS handshake with {host.hostname}")
                try:
                    await writer.start_tls(
                        context or self._verifying, server_hostname=host.hostname
                    )
                except BaseException:  # failed or timed out: never leave the socket open
                    writer.transport.abort()
                    raise
        except OSError as exc:
            failure = _os_failure(exc)
            failure.connecting = True
            raise failure from exc
        except _Failure as failure:
            failure.connecting = True
            raise
        return _Conn(reader, writer)

    async def _resolve(self, target: str, port: int) -> list[str]:
        with contextlib.suppress(ValueError):
            return [str(ipaddress.ip_address(target))]  # an IP literal: nothing to resolve
        try:
            found = await _lookup(self.ctx.resolver, target, port)
        except Exception as exc:  # gaierror, or anything a resolver may raise (UnicodeError)
            raise _dns_failure(target, exc) from exc
        ips = [ip for ip in found if _is_ip(ip)] if isinstance(found, list | tuple) else []
        if not found:
            raise _Failure(ProbeError(Reason.DNS, f"{target} has no addresses"), retry=True)
        if not ips:  # connecting to a name would call getaddrinfo again, unbounded
            detail = f"lookup of {target} gave no usable address"
            raise _Failure(ProbeError(Reason.DNS, detail), retry=True)
        return ips

    async def _connect(
        self, ips: list[str], port: int, phase: _Phase
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """TCP to the first address that answers; a refusal moves on to the next one."""
        for ip in ips[:-1]:
            phase.enter(f"connect to {ip}:{port}")
            with contextlib.suppress(OSError):
                return await asyncio.open_connection(ip, port, limit=HEADER_CAP_BYTES)
        phase.enter(f"connect to {ips[-1]}:{port}")
        return await asyncio.open_connection(ips[-1], port, limit=HEADER_CAP_BYTES)

    async def _handshake(self, host: Host) -> CertFacts:
        conn = await self.open(host)
        try:
            return self.peer_cert(host, conn)
        finally:
            await self.close(conn, graceful=True)

    def peer_cert(self, host: Host, conn: _Conn) -> CertFacts:
        # asyncio already called getpeercert() when the handshake completed.
        peer = conn.writer.get_extra_info("peercert") or {}
        return cert_from_peer(host.hostname, peer, self.ctx.now())

    async def rejected_cert(self, host: Host, error: str) -> CertFacts | None:
        """Handshake once more without verifying, only to read the rejected leaf's dates."""
        try:
            conn = await self.open(host, _unverified_context())
        except _Failure:
            return None
        try:
            der = conn.writer.get_extra_info("ssl_object").getpeercert(binary_form=True)
        finally:
            await self.close(conn, graceful=False)
        if not der:
            return None
        return cert_from_der(host.hostname, der, error, self.ctx.now())

    async def request(self, conn: _Conn, host: Host, path: str) -> _Response:
        """Send one GET and read its response; `_Stale` if a reused connection was closed.

        The whole answer, head and body, must come within the read timeout: a host that
        sends its head and then one byte a second fails here, alone, not at the pass deadline.
        """
        reused = conn.requests > 0
        conn.requests += 1
        limit = self.settings.read_timeout_s
        phase = _Phase(
            f"the answer from {host.hostname}",
            f"{host.hostname}: no complete answer within {limit:g} s",
        )
        async with self.step(phase, limit):
            conn.writer.write(request_bytes(host.hostname, path))
            wire = _Wire(conn.reader)
            head = await wire.head(reused=reused)
            while 100 <= head.status < 200:  # interim answers (100, 103) precede the real one
                head = await wire.head(reused=False)
            try:
                kind, length = _framing(head)
            except ValueError as exc:
                raise _protocol_failure(str(exc)) from exc
            body, truncated = await wire.body(kind, length, self.settings.body_cap_bytes)
        reusable = kind != "close" and not truncated and _keeps_alive(head)
        return _Response(head.status, body, truncated, reusable)

    async def close(self, conn: _Conn, *, graceful: bool) -> None:
        """Close politely (TLS close_notify) when the exchange ended cleanly, else drop it.

        A polite close is not waited for here: the peer's answer to close_notify is waited
        for in the background, and at most _CLOSE_WAIT_S past the last probe (`__aexit__`).
        """
        writer = conn.writer
        if not graceful:
            writer.transport.abort()
            return
        writer.close()
        task = asyncio.ensure_future(_closed(writer))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)


async def _closed(writer: asyncio.StreamWriter) -> None:
    """Wait for a closing connection to finish closing; drop it if that is cut short."""
    try:
        await writer.wait_closed()
    except OSError:
        writer.transport.abort()
    except asyncio.CancelledError:
        writer.transport.abort()
        raise


def _is_ip(value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


async def _lookup(resolve: Callable[[str, int], list[str]], target: str, port: int) -> list[str]:
    """Call the blocking resolver on a daemon thread of its own and wait for its answer.

    The caller's timeout bounds the wait. A resolver that never returns keeps only its own
    thread: not a pooled worker other lookups queue behind, and not one the interpreter
    waits for at exit. Whatever it returns after the pass moved on goes nowhere.
    """
    loop = asyncio.get_running_loop()
    answer: asyncio.Future[list[str]] = loop.create_future()

    def settle(found: list[str] | None, error: Exception | None) -> None:
        if answer.done():  # timed out, and cancelled, meanwhile
            return
        if error is not None:
            answer.set_exception(error)
        else:
            answer.set_result(found or [])

    def run() -> None:
        found: list[str] | None = None
        error: Exception | None = None
        try:
            found = resolve(target, port)
        except Exception as exc:  # handed to the probe, which classifies it
            error = exc
        with contextlib.suppress(RuntimeError):  # the loop has closed: the pass is over
            loop.call_soon_threadsafe(settle, found, error)

    threading.Thread(target=run, name=f"fleetboard-dns {target}", daemon=True).start()
    return await answer


async def _caught(attempt: Callable[[], Awaitable[T]]) -> T | _Failure:
    try:
        return await attempt()
    except _Failure as failure:
        return failure


class _Session:
    """One host's probe: its connection, the certificate it showed, and its exchanges."""

    def __init__(self, prober: Prober, host: Host) -> None:
        self.prober = prober
        self.host = host
        self.conn: _Conn | None = None
        self.cert: CertFacts | None = None
        self.connections = 0

    async def run(self) -> list[HttpExchange]:
        exchanges: list[HttpExchange] = []
        paths = self.host.paths
        for index, path in enumerate(paths):
            exchange, failure = await self._exchange(path)
            exchanges.append(exchange)
            if failure is not None and _ends_host(failure):
                exchanges.extend(_not_tried(exchange, failure, paths[index + 1 :]))
                break
        return exchanges

    async def _exchange(self, path: str) -> tuple[HttpExchange, _Failure | None]:
        outcome, attempts = await self.prober.retrying(partial(self._attempt, path))
        now = self.prober.ctx.now()
        if isinstance(outcome, _Failure):
            if outcome.cert_rejected and self.cert is None:
                self.cert = await self.prober.rejected_cert(self.host, outcome.error.detail)
            exchange = HttpExchange(self.host.hostname, path, now, attempts, error=outcome.error)
            return exchange, outcome
        exchange = HttpExchange(
            host=self.host.hostname,
            path=path,
            observed_at=now,
            attempts=attempts,
            status_code=outcome.status,
            body=outcome.body.decode("utf-8", "replace"),
            body_truncated=outcome.truncated,
            latency_ms=round(outcome.latency_ms, 1),
        )
        return exchange, None

    async def _attempt(self, path: str) -> _Answer:
        started = time.perf_counter()  # connect start, or request start on a reused connection
        try:
            response = await self._send(path)
        except _Failure:
            await self.drop(graceful=False)
            raise
        latency_ms = (time.perf_counter() - started) * 1000
        if not response.reusable:
            await self.drop(graceful=not response.truncated)
        return _Answer(response.status, response.body, response.truncated, latency_ms)

    async def _send(self, path: str) -> _Response:
        try:
            return await self.prober.request(await self._connection(), self.host, path)
        except _Stale:
            # The server closed the idle keep-alive connection first: reconnect and resend
            # once, as every HTTP client does for an idempotent GET. Not a retry.
            await self.drop(graceful=False)
            return await self.prober.request(await self._connection(), self.host, path)

    async def _connection(self) -> _Conn:
        if self.conn is None:
            self.conn = await self.prober.open(self.host)
            self.connections += 1
            if self.cert is None:
                self.cert = self.prober.peer_cert(self.host, self.conn)
        return self.conn

    async def drop(self, *, graceful: bool) -> None:
        conn, self.conn = self.conn, None
        if conn is not None:
            await self.prober.close(conn, graceful=graceful)


def _ends_host(failure: _Failure) -> bool:
    """After these, the host's other paths are not asked: each would cost the same again."""
    return failure.connecting or failure.error.reason in (Reason.TIMEOUT, Reason.DEADLINE)


def _not_tried(first: HttpExchange, failure: _Failure, paths: Sequence[str]) -> list[HttpExchange]:
    if failure.connecting:  # the one connection every path needed could not be made
        return [replace(first, path=path) for path in paths]
    if failure.error.reason is Reason.TIMEOUT:
        detail = f"not tried: {path_only(first.path)} timed out on this host"
        error = ProbeError(Reason.TIMEOUT, detail)
    else:
        error = ProbeError(Reason.DEADLINE, "pass deadline reached before this request")
    return [replace(first, path=path, attempts=0, error=error) for path in paths]


# --------------------------------------------------------------------------- entry points


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to the end from synchronous code (sources are called from threads).

    Under an event loop already running in this thread (a notebook, an async framework),
    asyncio.run would refuse, so the coroutine gets a thread and a loop of its own.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="probe-loop") as pool:
        return pool.submit(asyncio.run, coro).result()


async def probe_hosts(
    hosts: Sequence[Host],
    settings: ProbeSettings,
    ctx: PassContext,
    *,
    concurrency: int | None = None,
) -> list[HostProbe]:
    """Probe every host concurrently (bounded), results in the order of `hosts`."""
    async with Prober(settings, ctx, concurrency=concurrency) as prober:
        return list(await asyncio.gather(*(prober.probe(host) for host in hosts)))


async def read_certificates(
    hosts: Sequence[Host],
    settings: ProbeSettings,
    ctx: PassContext,
    *,
    concurrency: int | None = None,
) -> dict[str, CertFacts | ProbeError]:
    """One handshake per host, concurrently (bounded): host name -> certificate or failure."""
    async with Prober(settings, ctx, concurrency=concurrency) as prober:
        found = await asyncio.gather(*(prober.certificate(host) for host in hosts))
    return {host.hostname: cert for host, cert in zip(hosts, found, strict=True)}
