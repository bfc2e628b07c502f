"""The chain source against answers no node gives (an HTML page with 200, one object for a
batch, ids that do not match, a trickle, a flood, 429) and a collector that cannot reach the
RPC: each fails the chain source by its own budget with a reason naming the RPC by scheme
and host, never its key."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from typing import Any

import pytest
from tests.integration.chain.conftest import Contracts
from tests.integration.chain.proxy import RpcProxy
from tests.integration.chain.test_chain_source import address, fleet_toml
from tests.integration.fixtures.results import failure_of
from tests.integration.github.hostile import Answer, HostileHttp

from fleetboard import config
from fleetboard.demo.chain import LocalChain
from fleetboard.demo.hosts import refused_port
from fleetboard.model import ChainFacts, SourceFailure
from fleetboard.secrets import Secret
from fleetboard.sources import PassContext
from fleetboard.sources.chain import ANSWER_CAP_BYTES, ChainSource

KEY = "k3y" + os.urandom(8).hex()
NOWHERE = Contracts(address(), address())  # no node behind the hostile server: any address


@pytest.fixture
def server() -> Iterator[HostileHttp]:
    with HostileHttp() as s:
        yield s


def collect(
    url: str, *, contracts: Contracts = NOWHERE, extra: str = "", secret: bool = True
) -> ChainFacts | SourceFailure:
    inventory = config.loads(fleet_toml([address()], contracts, extra=extra)).inventory
    secrets = {"rpc_url": Secret(url)} if secret else {}
    ctx = PassContext(deadline=time.monotonic() + 30, secrets=secrets)
    return ChainSource(environ={}).collect(inventory, ctx)


def failure(result: ChainFacts | SourceFailure) -> SourceFailure:
    return failure_of(result, "chain", never_shown=[KEY])


# --------------------------------------------------------------------------- not the node's answer


@pytest.mark.parametrize(
    ("answer", "said"),
    [
        (
            Answer(200, "text/html", b"<html><body>Please sign in</body></html>"),
            'answered 200 with text/html, not a JSON-RPC answer: "<html><body>Please sign in'
            '</body></html>"',
        ),
        (
            Answer(200, "application/json", b'{"jsonrpc":"2.0","id":1,"result":"0x1"}'),
            "malformed answer: one JSON object, not a batch answer",
        ),
        (
            Answer(200, "application/json", b'"0x1"'),
            "malformed answer: JSON str, not a batch answer",
        ),
        (
            Answer(200, "application/json", b"<html>gateway</html>"),
            'malformed answer (not JSON): "<html>gateway</html>"',
        ),
    ],
    ids=["html-200", "one-object", "a-string", "not-json"],
)
def test_an_answer_that_is_not_a_batch_answer_fails_the_chain_source(
    server: HostileHttp, answer: Answer, said: str
) -> None:
    server.answer = answer

    got = failure(collect(server.url(f"/v3/{KEY}")))

    assert got.reason == f"the RPC at {server.url()}: {said}"
    assert not got.blind


def test_answers_whose_ids_do_not_match_the_requests_fail_the_source(
    node: LocalChain, contracts: Contracts
) -> None:
    def shifted(batch: list[dict[str, Any]], answers: list[dict[str, Any]]) -> Any:
        return [{**a, "id": a["id"] + 100} for a in answers]

    with RpcProxy(node.url) as proxy:
        proxy.rewrite = shifted
        got = failure(collect(proxy.url(f"/v3/{KEY}"), contracts=contracts))

    assert got.reason == (
        f"the RPC at {proxy.url('')}: malformed answer: the result ids do not match the request ids"
    )


def test_a_429_is_rate_limited(server: HostileHttp) -> None:
    server.answer = Answer(
        429, "application/json", b'{"error":"too many"}', headers={"Retry-After": "5"}
    )

    got = failure(collect(server.url(f"/v3/{KEY}")))

    assert got.reason == (
        f"the RPC at {server.url()}: HTTP 429: rate limited (too many requests): retry after 5 s"
    )


def test_a_node_limiting_requests_is_rate_limited(server: HostileHttp) -> None:
    server.answer = Answer(
        200,
        "application/json",
        b'{"jsonrpc":"2.0","id":null,"error":{"code":-32005,"message":"limit exceeded"}}',
    )

    got = failure(collect(server.url(f"/v3/{KEY}")))

    assert got.reason == (
        f"the RPC at {server.url()}: rate limited (JSON-RPC error -32005: limit exceeded)"
    )


# --------------------------------------------------------------------------- bounded answers


def test_a_trickling_answer_fails_by_the_source_s_own_timeout(server: HostileHttp) -> None:
    server.answer = Answer(200, "application/json", b"[" + b" " * 1000 + b"]", trickle_s=0.05)

    started = time.monotonic()
    got = failure(collect(server.url(f"/v3/{KEY}"), extra="timeout_s = 0.5"))
    elapsed = time.monotonic() - started

    assert got.reason.startswith(
        f"the RPC at {server.url()}: answered 200, then no complete answer in time ("
    )
    assert got.reason.endswith("bytes read) within 0.5 s")
    assert elapsed < 2.5  # the whole body would take 50 s


def test_a_flood_fails_at_the_size_cap(server: HostileHttp) -> None:
    server.answer = Answer(200, "application/json", b" ", flood_bytes=ANSWER_CAP_BYTES + 2**20)

    got = failure(collect(server.url(f"/v3/{KEY}"), extra="timeout_s = 10"))

    assert got.reason == (
        f"the RPC at {server.url()}: answered 200, then an answer over the {ANSWER_CAP_BYTES} "
        "byte cap within 10.0 s"
    )


# --------------------------------------------------------------------------- what a reason names


def test_a_public_keyless_rpc_url_keeps_its_host_in_the_reason(server: HostileHttp) -> None:
    server.answer = Answer(500, "text/plain", b"upstream unavailable")
    url = server.url()  # no path, no query: nothing to hide

    got = failure(collect(url, extra=f'rpc_url = "{url}"', secret=False))

    assert got.reason == f"the RPC at {url}: HTTP 500"


def test_a_keyed_rpc_url_shows_its_host_and_never_its_path_query_or_userinfo(
    server: HostileHttp,
) -> None:
    server.answer = Answer(200, "text/html", f"<p>no route for /v3/{KEY}?apikey={KEY}</p>".encode())
    base = server.url()
    url = base.replace("http://", f"http://user:{KEY}@") + f"/v3/{KEY}?apikey={KEY}"

    got = failure(collect(url))

    assert got.reason.startswith(f"the RPC at {base}: answered 200 with text/html")
    assert "user" not in got.reason and "apikey" not in got.reason


def test_an_rpc_name_that_does_not_resolve_is_blind(unresolvable: str) -> None:
    got = failure(collect(f"https://{unresolvable}/v3/{KEY}"))

    assert got.blind
    assert got.reason == (
        f"the RPC at https://{unresolvable}: not answered: the collector cannot resolve the "
        f"RPC's host (https://{unresolvable}) (no DNS on this machine?): check its network and "
        "resolver"
    )


def test_a_refused_connection_is_not_blind() -> None:
    got = failure(collect(f"http://127.0.0.1:{refused_port()}/v3/{KEY}"))
    assert not got.blind
    assert got.reason.endswith(": connection refused")


def test_the_batch_is_sent_by_web3_as_one_json_rpc_2_batch(
    server: HostileHttp, monkeypatch: pytest.MonkeyPatch
) -> None:
    from web3 import HTTPProvider

    batches: list[int] = []
    real = HTTPProvider.make_batch_request

    def spy(self: HTTPProvider, requests: list[Any]) -> Any:
        batches.append(len(requests))
        return real(self, requests)

    monkeypatch.setattr(HTTPProvider, "make_batch_request", spy)
    bodies: list[bytes] = []
    server.on_request = lambda method, path, body: bodies.append(body)
    server.answer = Answer(200, "application/json", b"[]")

    failure(collect(server.url()))

    (sent,) = bodies
    batch = json.loads(sent)
    assert batches == [len(batch)]  # through web3's HTTPProvider, once
    ids = [r["id"] for r in batch]
    assert all(type(i) is int for i in ids) and len(set(ids)) == len(ids)
    assert {r["jsonrpc"] for r in batch} == {"2.0"}
    assert batch[0]["method"] == "eth_chainId"


def test_answers_in_another_order_are_put_back_in_request_order(
    node: LocalChain, contracts: Contracts
) -> None:
    def reversed_(batch: list[dict[str, Any]], answers: list[dict[str, Any]]) -> Any:
        return answers[::-1]

    with RpcProxy(node.url) as proxy:
        proxy.rewrite = reversed_
        got = collect(proxy.url(f"/v3/{KEY}"), contracts=contracts)

    assert isinstance(got, ChainFacts), got
    assert got.chain_id == 212013


def test_a_redirect_is_not_followed(server: HostileHttp) -> None:
    server.answer = Answer(
        307, "text/html", b"moved", headers={"Location": "http://127.0.0.1:9/elsewhere"}
    )

    got = failure(collect(server.url(f"/v3/{KEY}")))

    assert got.reason == f"the RPC at {server.url()}: HTTP 307"
    assert len(server.seen) == 1


def test_a_declared_length_over_the_cap_is_refused_before_reading(server: HostileHttp) -> None:
    server.answer = Answer(200, "application/json", b"[]", declared_length=ANSWER_CAP_BYTES + 1)

    got = failure(collect(server.url(f"/v3/{KEY}"), extra="timeout_s = 10"))

    assert got.reason == (
        f"the RPC at {server.url()}: answered 200, then an answer of {ANSWER_CAP_BYTES + 1} "
        f"bytes, over the {ANSWER_CAP_BYTES} byte cap within 10.0 s"
    )


def test_a_gzipped_answer_is_read_decoded(server: HostileHttp) -> None:
    import gzip

    server.answer = Answer(
        200,
        "application/json",
        gzip.compress(b'{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"no"}}'),
        headers={"Content-Encoding": "gzip"},
    )

    got = failure(collect(server.url(f"/v3/{KEY}")))

    assert got.reason == f"the RPC at {server.url()}: JSON-RPC error -32600: no"


def test_tls_that_fails_is_said_to_fail(server: HostileHttp) -> None:
    url = server.url(f"/v3/{KEY}").replace("http://", "https://")  # a plain HTTP server

    got = failure(collect(url))

    # OpenSSL's words for a plain-HTTP answer to a TLS hello, and no key from the URL.
    endpoint = server.url().replace("http://", "https://")
    assert got.reason == f"the RPC at {endpoint}: TLS failed: wrong version number"
    assert not got.blind
