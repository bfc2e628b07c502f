"""What the sources that speak HTTP themselves share on the wire (github over urllib3, chain
over web3's requests session): an answer read whole within a deadline and a size cap, its
content type, the start of a body quoted as evidence, and whether a failure to connect is
the collector's own (no DNS, no route) rather than the far end's.

    data = read_whole(response, deadline=deadline, cap_bytes=cap, read_s=budget_s)
    if not is_json(content_type(response.headers)): ...
"""

from __future__ import annotations

import errno
import socket
import ssl
import time
from collections.abc import Mapping

import urllib3
from urllib3.exceptions import (
    ConnectTimeoutError,
    NameResolutionError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
    SSLError,
)

from fleetboard.text import scrub

_READ_CHUNK = 64 * 1024


class AnswerOverrun(Exception):
    """An answer that did not arrive whole within its time or size budget; the message says
    which, with no URL in it."""


def read_whole(
    response: urllib3.BaseHTTPResponse, *, deadline: float, cap_bytes: int, read_s: float
) -> bytes:
    """The body of a response made with `preload_content=False`, read whole by `deadline`
    (a time.monotonic() value), decoded, and at most `cap_bytes` long, else AnswerOverrun.

    urllib3's timeouts bound each read: a body trickling in a byte a second would never trip
    them. Here every read waits at most until the deadline, and the answer as a whole must
    be in by then. A declared Content-Length over the cap is refused before anything is
    read. The connection is dropped, not reused, when the answer overruns.
    """
    chunks: list[bytes] = []
    size = 0
    declared = response.headers.get("Content-Length")
    if declared is not None and declared.strip().isdigit() and int(declared) > cap_bytes:
        _drop(response)
        raise AnswerOverrun(f"an answer of {int(declared)} bytes, over the {cap_bytes} byte cap")
    try:
        while True:
            left_s = deadline - time.monotonic()
            if left_s <= 0:
                raise AnswerOverrun(f"no complete answer in time ({size} bytes read)")
            _read_timeout(response, min(left_s, read_s))
            try:
                # Decoded whatever the response was made with (requests asks urllib3 for the
                # raw bytes): the cap bounds what is kept, not what crossed the wire.
                chunk = response.read1(_READ_CHUNK, decode_content=True)
            except ReadTimeoutError:
                if deadline - time.monotonic() <= 0.01:
                    raise AnswerOverrun(f"no complete answer in time ({size} bytes read)") from None
                raise
            if not chunk:
                return b"".join(chunks)
            size += len(chunk)
            if size > cap_bytes:
                raise AnswerOverrun(f"an answer over the {cap_bytes} byte cap")
            chunks.append(chunk)
    except BaseException:
        _drop(response)
        raise


def _read_timeout(response: urllib3.BaseHTTPResponse, seconds: float) -> None:
    """Make the next read on the response's socket wait at most `seconds`."""
    connection = getattr(response, "connection", None)
    sock = getattr(connection, "sock", None)
    if sock is not None:
        sock.settimeout(max(seconds, 0.001))


def _drop(response: urllib3.BaseHTTPResponse) -> None:
    """Close the connection under a response that will not be read to its end."""
    connection = getattr(response, "connection", None)
    try:
        if connection is not None:
            connection.close()
        response.close()
    except Exception:  # noqa: S110 - closing is best effort; the answer is already failed
        pass


def content_type(headers: Mapping[str, str]) -> str:
    """The media type of an answer, lower case, without its parameters; "" when absent."""
    return (headers.get("Content-Type") or "").split(";")[0].strip().lower()


def is_json(media_type: str, *, loose: bool = False) -> bool:
    """Whether a media type (`content_type`) says JSON: `application/json` or a `+json` type;
    `loose` also takes any type naming json (`application/json-rpc`, `text/json`), as
    JSON-RPC nodes and the gateways before them answer."""
    if loose:
        return "json" in media_type
    return media_type == "application/json" or media_type.endswith("+json")


def evidence(body: bytes, chars: int = 60) -> str:
    """The start of a body as a reason may quote it: escaped, scrubbed, capped."""
    text = scrub(body[: chars * 4].decode("utf-8", "replace"), limit=chars)
    return f'"{text}"' if text else "an empty body"


def causes(exc: BaseException) -> list[BaseException]:
    """`exc` and what it wraps, nearest first: its cause and context, urllib3's MaxRetryError
    `reason`, and requests' ConnectionError(urllib3's error) first argument."""
    found: list[BaseException] = []
    todo: list[BaseException] = [exc]
    while todo and len(found) < 16:
        error = todo.pop(0)
        if any(error is e for e in found):
            continue
        found.append(error)
        reason = getattr(error, "reason", None)
        inner = error.args[0] if error.args else None
        for nxt in (error.__cause__, error.__context__, reason, inner):
            if isinstance(nxt, BaseException):
                todo.append(nxt)
    return found


#: What a failure to look up a name says when only its text is left (botocore keeps the
#: text of the socket's error, not the error).
_NO_NAME_TEXT = ("Name or service not known", "Temporary failure in name resolution")
_NO_ROUTE = (errno.ENETUNREACH, errno.EHOSTUNREACH)


def collector_cause(exc: BaseException, what: str) -> str | None:
    """Why the collector itself could not reach `what` (a host): its name does not resolve or
    there is no route; None when the cause may be the far end's. What the exception wraps
    is followed (requests wraps urllib3's errors, which wrap the socket's)."""
    chain = causes(exc)
    text = " ".join(str(e) for e in chain)  # only searched, never shown: it may hold a URL
    if any(isinstance(e, NameResolutionError | socket.gaierror) for e in chain) or any(
        words in text for words in _NO_NAME_TEXT
    ):
        return (
            f"the collector cannot resolve {what} (no DNS on this machine?): check its "
            "network and resolver"
        )
    if any(isinstance(e, OSError) and e.errno in _NO_ROUTE for e in chain) or any(
        f"[Errno {code}]" in text for code in _NO_ROUTE
    ):
        return f"no route from the collector to {what}: check its network"
    return None


def transport_reason(exc: BaseException, budget_s: float) -> str:
    """What went wrong on the wire, in a few words with no URL in them (a keyed RPC URL is a
    secret): the far end's side of a failure the collector did not cause (collector_cause
    is asked first). Most specific first: urllib3's NewConnectionError is also a
    ConnectTimeoutError, and requests wraps urllib3's errors, which wrap the socket's."""
    chain = causes(exc)

    def found(kind: type[BaseException] | tuple[type[BaseException], ...]) -> bool:
        return any(isinstance(e, kind) for e in chain)

    text = " ".join(str(e) for e in chain)  # only searched, never shown: it may hold a URL
    if found(ConnectionRefusedError) or "Connection refused" in text:
        return "connection refused"
    if found(ReadTimeoutError) or type(exc).__name__ == "ReadTimeout":
        return f"no answer within {budget_s:.1f} s"
    if (found(ConnectTimeoutError) and not found(NewConnectionError)) or (
        type(exc).__name__ == "ConnectTimeout"
    ):
        return f"no connection within {budget_s:.1f} s"
    tls = next((e for e in chain if isinstance(e, ssl.SSLError)), None)
    if tls is not None or found(SSLError):
        # OpenSSL's own words ("self-signed certificate", WRONG_VERSION_NUMBER): no URL.
        why = getattr(tls, "verify_message", None) or getattr(tls, "reason", None) or ""
        return f"TLS failed: {why.lower().replace('_', ' ') or 'certificate or protocol'}"
    if found((ProtocolError, ConnectionError)):
        return "the connection was lost before a whole answer"
    return f"cannot connect ({type(exc).__name__})"
