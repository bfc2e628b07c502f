"""The chain source against a real node (anvil) with real contracts: what an operator funding
the fleet's wallets sees, one JSON-RPC batch per pass, and every way an RPC fails."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.integration.chain.conftest import Contracts
from tests.integration.chain.proxy import RpcProxy

from fleetboard import chain as evm
from fleetboard import collect, config, snapshot
from fleetboard.demo.chain import LocalChain
from fleetboard.model import Board, ChainFacts, SourceFailure, Status
from fleetboard.publish import LocalPublisher
from fleetboard.secrets import Secret
from fleetboard.sources import PassContext
from fleetboard.sources.chain import ChainSource

HEI = 10**18


def address() -> str:
    return "0x" + os.urandom(20).hex()


def fleet_toml(
    deployers: list[str],
    contracts: Contracts,
    *,
    chain_id: int = 212013,
    paymaster: str | None = None,
    extra: str = "",
) -> str:
    lines = [
        "[fleet]",
        'zone = "litentry.org"',
        'zone_id = "Z09723983CFJOHAE3VC65"',
        'region = "us-east-1"',
        "",
        "[chain]",
        f"chain_id = {chain_id}",
        'explorer_url = "https://explorer.heima.network"',
        f'registry = "{contracts.registry}"',
        f'entrypoint = "{contracts.entrypoint}"',
        extra,
    ]
    for i, deployer in enumerate(deployers):
        name = "prod" if i == 0 else f"test-{i + 1}"
        host = "broker.litentry.org" if i == 0 else f"broker-test-{i + 1}.litentry.org"
        lines += ["", f"[environments.{name}]", f'broker_host = "{host}"']
        lines += [f"[environments.{name}.chain]", f'deployer = "{deployer}"']
        if i == 0 and paymaster:
            lines.append(f'paymaster = "{paymaster}"')
    return "\n".join(lines) + "\n"


def context(url: str) -> PassContext:
    return PassContext(deadline=time.monotonic() + 30, secrets={"rpc_url": Secret(url)})


def collect_chain(text: str, url: str) -> ChainFacts | SourceFailure:
    inventory = config.loads(text).inventory
    result = ChainSource(environ={}).collect(inventory, context(url))
    assert isinstance(result, ChainFacts | SourceFailure)
    return result


def board(text: str, url: str, publisher: LocalPublisher | None = None) -> Board:
    loaded = config.loads(text)
    if publisher is None:
        return collect.build_board(loaded, context(url), sources=[ChainSource(environ={})])
    collect.run_pass(loaded, context(url), publisher, sources=[ChainSource(environ={})])
    return collect.build_board(
        loaded,
        context(url),
        sources=[ChainSource(environ={})],
        previous=publisher.read("latest.json"),
    )


@pytest.fixture
def proxy(node: LocalChain) -> Iterator[RpcProxy]:
    with RpcProxy(node.url) as p:
        yield p


# --------------------------------------------------------------------------- what it shows


def test_funded_and_unfunded_deployers_registration_and_a_low_deposit(
    node: LocalChain, contracts: Contracts
) -> None:
    funded, unfunded, paymaster = address(), address(), address()
    node.set_balance(funded, 3 * HEI + 5)
    node.set_balance(unfunded, HEI // 2)
    master = address()
    node.register_master(contracts.registry, evm.operator_omni(funded), master)
    node.deposit(contracts.entrypoint, paymaster, HEI // 10)

    result = board(fleet_toml([funded, unfunded], contracts, paymaster=paymaster), node.url)

    prod, slot = (e.chain for e in result.environments)
    assert prod is not None and slot is not None
    deployer, deposit = prod.wallets
    assert (deployer.role, deployer.status, deployer.balance_wei) == (
        "deployer",
        Status.GREEN,
        3 * HEI + 5,
    )
    assert deployer.balance == "3.000000000000000005 HEI"
    assert deployer.url == f"https://explorer.heima.network/address/{funded}"
    assert prod.master_registered is True and prod.master == master.lower()
    assert (deposit.role, deposit.status, deposit.balance) == (
        "paymaster deposit",
        Status.RED,
        "0.1 HEI",
    )
    assert "below the 0.2 HEI floor" in deposit.text
    (low,) = slot.wallets
    assert low.status is Status.RED and "below the 1 HEI floor: fund it" in low.text
    assert slot.master_registered is False and slot.status is Status.RED
    issues = {(i.env, i.check) for i in result.summary.issues}
    assert {
        ("prod", "wallet:paymaster-deposit"),
        ("test-2", "wallet:deployer"),
        ("test-2", "chain:master"),
    } <= issues
    assert result.chain is not None and result.chain.status is Status.GREEN
    assert result.chain.chain_id == 212013 and result.chain.block_number is not None


def test_a_nonce_that_moves_between_two_passes_is_seen_moving(
    node: LocalChain, contracts: Contracts, tmp_path: Path
) -> None:
    running, idle = address(), address()
    for wallet in (running, idle):
        node.set_balance(wallet, 2 * HEI)
    text = fleet_toml([running, idle], contracts)
    publisher = LocalPublisher(tmp_path)

    first = board(text, node.url)
    assert [e.chain.wallets[0].nonce_moved for e in first.environments if e.chain] == [None, None]
    collect.run_pass(config.loads(text), context(node.url), publisher, sources=[ChainSource()])
    node.move_nonce(running)
    second = collect.build_board(
        config.loads(text),
        context(node.url),
        sources=[ChainSource(environ={})],
        previous=publisher.read("latest.json"),
    )

    moved = {e.name: e.chain.wallets[0] for e in second.environments if e.chain}
    assert (moved["prod"].nonce, moved["prod"].nonce_moved) == (1, True)
    assert (moved["test-2"].nonce, moved["test-2"].nonce_moved) == (0, False)


@pytest.mark.parametrize("envs", [10, 100])
def test_one_http_request_per_pass_whatever_the_fleet_size(
    proxy: RpcProxy, contracts: Contracts, envs: int
) -> None:
    deployers = [address() for _ in range(envs)]
    facts = collect_chain(fleet_toml(deployers, contracts, paymaster=address()), proxy.url())
    assert isinstance(facts, ChainFacts)
    assert proxy.requests == 1
    assert len(facts.accounts) == envs and len(facts.masters) == envs
    assert len(facts.deposits) == 1


# --------------------------------------------------------------------------- failures


def test_a_refused_connection_makes_the_chain_unknown_and_leaves_the_rest(
    contracts: Contracts,
) -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    text = fleet_toml([address()], contracts)
    result = board(text, f"http://127.0.0.1:{port}/")
    assert result.chain is not None and result.chain.status is Status.UNKNOWN
    assert "connection refused" in result.chain.text
    (env,) = result.environments
    assert env.chain is not None
    assert [w.status for w in env.chain.wallets] == [Status.UNKNOWN]
    assert "connection refused" in env.chain.wallets[0].text
    assert env.chain.master_registered is None


def test_no_answer_within_the_timeout(proxy: RpcProxy, contracts: Contracts) -> None:
    proxy.hang.set()
    text = fleet_toml([address()], contracts, extra="timeout_s = 0.5")
    failure = collect_chain(text, proxy.url())
    assert isinstance(failure, SourceFailure)
    assert "no answer within 0.5 s" in failure.reason


def test_http_500(proxy: RpcProxy, contracts: Contracts) -> None:
    proxy.status = 500
    failure = collect_chain(fleet_toml([address()], contracts), proxy.url())
    assert isinstance(failure, SourceFailure) and failure.reason.endswith(": HTTP 500")


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"<html>gateway</html>", "malformed answer"),
        (
            b'{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"batch not allowed"}}',
            "JSON-RPC error -32600: batch not allowed",
        ),
        (b'[{"jsonrpc":"2.0","id":1,"result":"0x1"}]', "malformed answer: 1 results for"),
    ],
)
def test_answers_that_are_not_a_batch_answer(
    proxy: RpcProxy, contracts: Contracts, raw: bytes, reason: str
) -> None:
    proxy.raw = raw
    failure = collect_chain(fleet_toml([address()], contracts), proxy.url())
    assert isinstance(failure, SourceFailure) and reason in failure.reason


def test_json_rpc_error_objects_mark_only_their_part_unknown(
    proxy: RpcProxy, node: LocalChain, contracts: Contracts
) -> None:
    broken, fine = address(), address()
    node.set_balance(fine, 2 * HEI)

    def rewrite(batch: list[dict[str, Any]], answers: list[dict[str, Any]]) -> Any:
        by_id = {r["id"]: r for r in batch}
        for answer in answers:
            params = by_id[answer["id"]]["params"]
            if by_id[answer["id"]]["method"] == "eth_getBalance" and params[0] == broken:
                answer.pop("result")
                answer["error"] = {"code": -32000, "message": "header not found"}
        return answers

    proxy.rewrite = rewrite
    result = board(fleet_toml([broken, fine], contracts), proxy.url())
    wallets = {e.name: e.chain.wallets[0] for e in result.environments if e.chain}
    assert wallets["prod"].status is Status.UNKNOWN
    assert "JSON-RPC error -32000: header not found" in wallets["prod"].text
    assert wallets["test-2"].status is Status.GREEN
    assert result.chain is not None and result.chain.status is Status.GREEN


def test_a_reverted_call_and_a_call_to_no_contract(node: LocalChain, contracts: Contracts) -> None:
    # The EntryPoint has no operatorMasterWallet: a call to it reverts. An address with no
    # code answers "0x": neither may read as "not registered".
    deployer = address()
    reverting = fleet_toml([deployer], Contracts(contracts.entrypoint, contracts.entrypoint))
    nothing = fleet_toml([deployer], Contracts(address(), contracts.entrypoint))
    for text, words in ((reverting, "reverted"), (nothing, "no contract at that address")):
        (env,) = board(text, node.url).environments
        assert env.chain is not None and env.chain.master_registered is None
        assert words in env.chain.master_text


def test_a_wrong_chain_id_makes_every_chain_part_unknown(
    node: LocalChain, contracts: Contracts
) -> None:
    node.set_balance(funded := address(), 5 * HEI)
    result = board(fleet_toml([funded], contracts, chain_id=8453), node.url)
    assert result.chain is not None and result.chain.status is Status.UNKNOWN
    assert "wrong chain: the node answers chain id 212013, fleet.toml expects 8453" in (
        result.chain.text
    )
    (env,) = result.environments
    assert env.chain is not None and env.chain.wallets[0].status is Status.UNKNOWN


# --------------------------------------------------------------------------- the secret URL


@pytest.mark.parametrize("status", [200, 500])
def test_the_rpc_url_appears_in_no_file_and_no_log(
    proxy: RpcProxy,
    contracts: Contracts,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    status: int,
) -> None:
    key = "k3y" + os.urandom(12).hex()
    url = proxy.url(f"/v3/{key}?apikey=q{key}")
    proxy.status = status
    caplog.set_level(logging.DEBUG)
    text = fleet_toml([address()], contracts)
    result = collect.run_pass(
        config.loads(text), context(url), LocalPublisher(tmp_path), sources=[ChainSource()]
    )
    assert proxy.paths == [f"/v3/{key}?apikey=q{key}"]  # the key did reach the node
    assert result is not None
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.name == "latest.json" for p in written)
    for path in written:
        assert key not in path.read_text(errors="replace"), path
    assert key not in caplog.text
    if status == 500:  # the reason names the endpoint by scheme and host only
        assert f"the RPC at {proxy.url('')}: HTTP 500" in caplog.text


# --------------------------------------------------------------------------- two chains


def two_chain_toml(heima: str, base: str, contracts: Contracts, base_url: str) -> str:
    text = fleet_toml([heima, base], contracts)
    text = text.replace(
        "[environments.test-2.chain]\n", '[environments.test-2.chain]\nnetwork = "base"\n'
    )
    return text + (
        "\n[chain.networks.base]\n"
        "chain_id = 8453\n"
        'token = "ETH"\n'
        f'rpc_url = "{base_url}"\n'
        'explorer_url = "https://basescan.org"\n'
        'deploy_min = "0.003"\n'
    )


def two_chain_board(text: str, heima_url: str) -> Board:
    sources = [ChainSource(environ={}), ChainSource(network="base", environ={})]
    return collect.build_board(config.loads(text), context(heima_url), sources=sources)


def test_an_environment_on_another_chain_is_read_there_in_its_own_token(
    node: LocalChain, base_node: LocalChain, contracts: Contracts
) -> None:
    heima, base = address(), address()
    node.set_balance(heima, 2 * HEI)
    base_node.set_balance(base, 2 * 10**15)  # 0.002 ETH: below Base's 0.003 floor
    with RpcProxy(node.url) as heima_rpc, RpcProxy(base_node.url) as base_rpc:
        result = two_chain_board(
            two_chain_toml(heima, base, contracts, base_rpc.url()), heima_rpc.url()
        )
        assert (heima_rpc.requests, base_rpc.requests) == (1, 1)  # one batch per chain
    wallets = {e.name: e.chain.wallets[0] for e in result.environments if e.chain}
    assert (wallets["prod"].status, wallets["prod"].balance) == (Status.GREEN, "2 HEI")
    assert (wallets["test-2"].status, wallets["test-2"].balance) == (Status.RED, "0.002 ETH")
    assert "below the 0.003 ETH floor" in wallets["test-2"].text
    assert wallets["test-2"].url == f"https://basescan.org/address/{base}"
    (line,) = result.chain_networks
    assert (line.name, line.chain_id, line.status) == ("base", 8453, Status.GREEN)
    assert result.chain is not None and result.chain.chain_id == 212013


def test_one_chain_down_leaves_the_other_chains_wallets_known(
    node: LocalChain, base_node: LocalChain, contracts: Contracts
) -> None:
    heima, base = address(), address()
    node.set_balance(heima, 2 * HEI)
    with RpcProxy(base_node.url) as base_rpc:
        base_rpc.status = 500
        result = two_chain_board(two_chain_toml(heima, base, contracts, base_rpc.url()), node.url)
    wallets = {e.name: e.chain.wallets[0] for e in result.environments if e.chain}
    assert wallets["prod"].status is Status.GREEN
    assert wallets["test-2"].status is Status.UNKNOWN and "HTTP 500" in wallets["test-2"].text
    (line,) = result.chain_networks
    assert line.status is Status.UNKNOWN
    assert not result.collector.sources["chain:base"].ok
    doc = snapshot.to_document(result)
    assert snapshot.problems(doc) == []
    assert [c["name"] for c in doc["chain_networks"]] == ["base"]
