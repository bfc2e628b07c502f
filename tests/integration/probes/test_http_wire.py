"""The probe's HTTP/1.1 reader against answers real servers give, odd ones included."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from fleetboard.demo.hosts import HostServer, Reply, SimHost, text_reply
from fleetboard.model import HttpExchange, Reason

WIRE = "wire.fleet.test"
ODD_ANSWERS = {
    "/chunked-extras": Reply(
        raw=b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b'3;name=value\r\n{"o\r\n9\r\nk": true}\r\n0\r\nX-Trailer: yes\r\n\r\n'
    ),
    "/http10-until-close": Reply(raw=b"HTTP/1.0 200 OK\r\nServer: old\r\n\r\nok from 1.0"),
    "/no-content": Reply(raw=b"HTTP/1.1 204 No Content\r\n\r\n"),
    "/continue": Reply(
        raw=b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
    ),
    "/huge-headers": Reply(raw=b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * 70_000 + b"\r\n\r\nok"),
    "/garbage": Reply(raw=b"SSH-2.0-OpenSSH_9.6\r\n\r\n"),
    "/cut-short": Reply(raw=b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten.."),
    "/hangs-up-silently": Reply(raw=b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
    "/slow": text_reply("ok", delay_s=30),
    "/fast": text_reply("ok"),
}


@dataclass(frozen=True)
class Wire:
    server: HostServer
    bundle: Path


@pytest.fixture(scope="module")
def wire(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Wire]:
    with HostServer([SimHost(WIRE, ODD_ANSWERS)]) as server:
        yield Wire(server, server.write_ca(tmp_path_factory.mktemp("wire") / "ca.pem"))


def get(fleet, wire: Wire, *paths: str, **settings: object) -> list[HttpExchange]:
    host = fleet.host("wire", paths, address=wire.server.address)
    facts = fleet.http(host, settings=fleet.settings(ca_bundle=wire.bundle, **settings))
    return [facts.exchanges[(WIRE, path)] for path in paths]


@pytest.mark.parametrize(
    ("path", "status", "body"),
    [
        ("/chunked-extras", 200, '{"ok": true}'),
        ("/http10-until-close", 200, "ok from 1.0"),
        ("/no-content", 204, ""),
        ("/continue", 200, "ok"),
    ],
    ids=["chunk-extensions-and-trailers", "http-1.0-body-until-close", "204", "100-continue"],
)
def test_well_formed_answers_of_every_framing_are_read_whole(
    fleet, wire, path: str, status: int, body: str
) -> None:
    (exchange,) = get(fleet, wire, path)
    assert (exchange.status_code, exchange.body, exchange.error) == (status, body, None)


def test_headers_past_64_kib_are_refused_as_a_bad_http_answer(fleet, wire) -> None:
    (exchange,) = get(fleet, wire, "/huge-headers")
    assert exchange.error is not None and exchange.error.reason is Reason.HTTP
    assert "64 KiB" in exchange.error.detail
    assert exchange.attempts == 1


def test_a_non_http_answer_is_a_bad_http_answer_not_a_crash(fleet, wire) -> None:
    (exchange,) = get(fleet, wire, "/garbage")
    assert exchange.error is not None and exchange.error.reason is Reason.HTTP
    assert "SSH-2.0" in exchange.error.detail


def test_a_body_cut_short_by_the_server_is_a_connect_failure_retried_once(fleet, wire) -> None:
    (exchange,) = get(fleet, wire, "/cut-short")
    assert exchange.error is not None and exchange.error.reason is Reason.CONNECT
    assert exchange.error.detail == "connection closed in the middle of the body"
    assert exchange.attempts == 2


def test_a_read_timeout_ends_the_hosts_probe_without_asking_its_other_paths(fleet, wire) -> None:
    before = wire.server.stats().requests.get((WIRE, "/fast"), 0)
    slow, fast = get(fleet, wire, "/slow", "/fast", read_timeout_s=0.2)
    assert slow.error is not None and slow.error.reason is Reason.TIMEOUT
    assert slow.error.detail == f"{WIRE}: no complete answer within 0.2 s"
    assert slow.attempts == 1
    assert fast.error is not None and fast.error.reason is Reason.TIMEOUT
    assert fast.attempts == 0
    assert wire.server.stats().requests.get((WIRE, "/fast"), 0) == before


def test_a_keep_alive_connection_the_server_dropped_is_reopened_without_a_retry(
    fleet, wire
) -> None:
    before = wire.server.stats().connections.get(WIRE, 0)
    first, second = get(fleet, wire, "/hangs-up-silently", "/fast")
    assert (first.status_code, second.status_code) == (200, 200)
    assert (first.attempts, second.attempts) == (1, 1)
    assert wire.server.stats().connections[WIRE] - before == 2
