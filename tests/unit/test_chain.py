"""The pure chain helpers and rules: the operator omni, exact amounts, raw answers decoded,
and what the board says about wallets, deposits, registrations and the chain line."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest

from fleetboard import chain as evm
from fleetboard import config
from fleetboard.inventory import ChainSettings
from fleetboard.model import AccountFacts, CallFacts, ChainFacts, SourceFailure, Status
from fleetboard.rules.chain import (
    chain_summary,
    chain_view,
    deposit_view,
    nonce_key,
    wallet_view,
)
from fleetboard.sources.chain import describe_endpoint

SETTINGS = ChainSettings(chain_id=212013, explorer_url="https://explorer.heima.network")
HEI = 10**18
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
PROD_DEPLOYER = "0xdE644936D5B7d5d42032fd08bbA42Fbbfd6663Bc"


def test_the_published_omni_test_vector() -> None:
    # docs/fleet.md#chain: the harness hashes b"agentkeysevm0x000…000" for the zero address.
    vector = b"agentkeysevm0x0000000000000000000000000000000000000000"
    assert evm.operator_omni("0x" + "0" * 40) == hashlib.sha256(vector).hexdigest()


def test_the_omni_hashes_the_lower_case_address() -> None:
    assert evm.operator_omni(PROD_DEPLOYER) == evm.operator_omni(PROD_DEPLOYER.lower())
    assert (
        evm.operator_omni(PROD_DEPLOYER)
        == hashlib.sha256(b"agentkeysevm" + PROD_DEPLOYER.lower().encode()).hexdigest()
    )
    with pytest.raises(ValueError, match="not an EVM address"):
        evm.operator_omni("0x1234")


def test_calldata_matches_the_published_selectors() -> None:
    omni = evm.operator_omni(PROD_DEPLOYER)
    assert evm.master_calldata(omni) == "0x664cc611" + omni
    assert evm.balance_of_calldata(PROD_DEPLOYER) == (
        "0x70a08231" + "0" * 24 + PROD_DEPLOYER[2:].lower()
    )


@pytest.mark.parametrize(
    ("wei", "text"),
    [
        (0, "0 HEI"),
        (HEI, "1 HEI"),
        (HEI // 5, "0.2 HEI"),
        (1, "0.000000000000000001 HEI"),
        (1234 * HEI + 5 * 10**17, "1,234.5 HEI"),
        (2**256 - 1, None),
    ],
)
def test_amounts_are_shown_exactly(wei: int, text: str | None) -> None:
    shown = evm.format_amount(wei, 18, "HEI")
    if text is not None:
        assert shown == text
    # Never rounded: the digits shown give back the exact amount.
    whole, _, frac = shown.removesuffix(" HEI").replace(",", "").partition(".")
    assert int(whole) * HEI + int(frac.ljust(18, "0") or 0) == wei


def test_amounts_in_config_are_exact_and_checked() -> None:
    assert evm.parse_amount("0.2", 18) == 2 * 10**17
    assert evm.parse_amount("0.003", 18) == 3 * 10**15
    with pytest.raises(ValueError, match="more than 6 decimal places"):
        evm.parse_amount("0.0000001", 6)


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ("0x", "empty \\(no contract at that address\\?\\)"),
        ("0x" + "00" * 31, "31 bytes"),
        ("0xzz", "not hex data"),
        (None, "not hex data"),
        ("0x" + "ff" * 32, "not an address"),
    ],
)
def test_malformed_call_results_are_refused(data: object, error: str) -> None:
    with pytest.raises(ValueError, match=error):
        evm.decode_address(data)


def test_the_rpc_endpoint_is_named_by_scheme_and_host_only() -> None:
    assert describe_endpoint("https://rpc.heima-parachain.heima.network/") == (
        "the RPC at https://rpc.heima-parachain.heima.network"
    )
    named = describe_endpoint("https://user:pw@eth-mainnet.example.com/v2/KEY123?x=KEY456")
    assert "KEY" not in named and "pw" not in named
    # Some providers put the key in the subdomain.
    assert "a1b2c3d4e5f6a7b8c9d0e1f2" not in describe_endpoint(
        "https://a1b2c3d4e5f6a7b8c9d0e1f2.rpc.example.com"
    )


def facts(**accounts: tuple[int | None, int | None]) -> ChainFacts:
    return ChainFacts(
        chain_id=212013,
        block_number=100,
        block_time=NOW - timedelta(seconds=12),
        accounts={a: AccountFacts(a, b, n) for a, (b, n) in accounts.items()},
        masters={},
        deposits={},
        requests=1,
    )


def test_a_wallet_below_its_floor_is_red_with_what_to_do() -> None:
    a = "0x" + "aa" * 20
    view = wallet_view("deployer", a, facts(**{a: (HEI - 1, 7)}), SETTINGS, {nonce_key(None, a): 7})
    assert view.status is Status.RED
    assert view.text == "0.999999999999999999 HEI, below the 1 HEI floor: fund it"
    assert (view.nonce, view.nonce_moved) == (7, False)
    assert view.url == f"https://explorer.heima.network/address/{a}"


def test_a_wallet_exactly_at_its_floor_is_funded() -> None:
    a = "0x" + "aa" * 20
    view = wallet_view("sponsor", a, facts(**{a: (HEI, 3)}), SETTINGS, {nonce_key(None, a): 2})
    assert (view.status, view.nonce_moved) == (Status.GREEN, True)


def test_a_wallet_the_source_could_not_read_is_unknown_never_green() -> None:
    a = "0x" + "aa" * 20
    failure = SourceFailure("chain", "the RPC at https://rpc.example: HTTP 500")
    env = config.loads(
        "[fleet]\nzone='litentry.org'\nzone_id='Z1'\nregion='us-east-1'\n"
        "[chain]\nchain_id=212013\n"
        f"[environments.prod]\nbroker_host='broker.litentry.org'\n"
        f"[environments.prod.chain]\ndeployer='{a}'\n"
        f"sponsor='{'0x' + 'bb' * 20}'\nregistry='{'0x' + 'cc' * 20}'\n"
    ).inventory.environments[0]
    view = chain_view(env, failure, SETTINGS, {})
    assert view is not None and view.status is Status.UNKNOWN
    assert [w.role for w in view.wallets] == ["deployer", "sponsor"]
    assert all(w.status is Status.UNKNOWN and "HTTP 500" in w.text for w in view.wallets)
    assert view.master_registered is None and "HTTP 500" in view.master_text


def test_a_deposit_call_that_reverted_is_unknown() -> None:
    ep, pm = "0x" + "11" * 20, "0x" + "22" * 20
    reverted = facts()
    reverted.deposits[(ep, pm)] = CallFacts(ep, None, "reverted (execution reverted)")
    view = deposit_view(ep, pm, reverted, SETTINGS)
    assert view.status is Status.UNKNOWN and "reverted" in view.text


def test_the_chain_line_says_when_the_node_lags() -> None:
    fresh = chain_summary(facts(), SETTINGS, NOW)
    assert fresh is not None and fresh.status is Status.GREEN
    assert fresh.text == "RPC reachable, chain 212013 as expected, block 100 12 s old"
    lagging = chain_summary(facts(), SETTINGS, NOW + timedelta(minutes=10))
    assert lagging is not None and lagging.status is Status.AMBER
    assert "the node lags" in lagging.text
    assert chain_summary(None, None, NOW) is None  # not configured: no chain line at all
