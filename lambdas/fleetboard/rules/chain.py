"""Chain identity on the board: wallets against their floors and their runway, the master
registration, the chain line. Pure: the chain source's facts, the previous snapshot's nonces
and the wallets' balance trails (rules/runway.py) in."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime

import fleetboard.chain as evm
from fleetboard.inventory import ChainSettings, Environment
from fleetboard.model import (
    ChainFacts,
    ChainSummary,
    ChainView,
    EnvironmentView,
    Issue,
    SourceFailure,
    Status,
    WalletView,
)
from fleetboard.rules.runway import Trail, extend, runway, trail_key
from fleetboard.rules.summary import worst

ZERO_ADDRESS = "0x" + "0" * 40


def _explorer(settings: ChainSettings, address: str) -> str | None:
    return f"{settings.explorer_url}/address/{address}" if settings.explorer_url else None


def nonce_key(network: str | None, address: str) -> str:
    """How a wallet's previous nonce is found: the same address on two chains is two
    wallets."""
    return f"{network or ''}:{address.lower()}"


def _unknown(role: str, address: str, floor: int, text: str, url: str | None) -> WalletView:
    """Not read: never green, never a made-up zero balance."""
    return WalletView(role, address, None, "unknown", floor, None, None, Status.UNKNOWN, text, url)


def wallet_view(
    role: str,
    address: str,
    facts: ChainFacts | None,
    settings: ChainSettings,
    previous: Mapping[str, int],
    reason: str | None = None,
    network: str | None = None,
) -> WalletView:
    """A wallet's balance against deploy_min, its nonce and whether it moved."""
    floor = settings.deploy_min_wei
    floor_text = evm.format_amount(floor, settings.decimals, settings.token)
    account = facts.accounts.get(address.lower()) if facts else None
    url = _explorer(settings, address)
    if account is None or account.error or account.balance_wei is None:
        why = (account.error if account else None) or reason or "not read"
        return _unknown(role, address, floor, f"balance unknown: {why}", url)
    balance = evm.format_amount(account.balance_wei, settings.decimals, settings.token)
    before = previous.get(nonce_key(network, address))
    moved = None if before is None or account.nonce is None else account.nonce != before
    if account.balance_wei < floor:
        status, text = Status.RED, f"{balance}, below the {floor_text} floor: fund it"
    else:
        status, text = Status.GREEN, f"{balance} (floor {floor_text})"
    return WalletView(
        role, address, account.balance_wei, balance, floor, account.nonce, moved, status, text, url
    )


def deposit_view(
    entrypoint: str,
    paymaster: str,
    facts: ChainFacts | None,
    settings: ChainSettings,
    reason: str | None = None,
) -> WalletView:
    """EntryPoint.balanceOf(paymaster): the deposit that pays for sponsored operations."""
    floor = settings.paymaster_min_deposit_wei
    floor_text = evm.format_amount(floor, settings.decimals, settings.token)
    call = facts.deposits.get((entrypoint.lower(), paymaster.lower())) if facts else None
    url = _explorer(settings, paymaster)
    value = None
    if call is not None and call.error is None and call.result is not None:
        try:
            value = evm.decode_uint(call.result)
        except ValueError as exc:
            call = type(call)(call.contract, None, f"malformed: {exc}")
    if value is None:
        why = (call.error if call else None) or reason or "not read"
        return _unknown("paymaster deposit", paymaster, floor, f"deposit unknown: {why}", url)
    amount = evm.format_amount(value, settings.decimals, settings.token)
    if value < floor:
        status, text = Status.RED, f"deposit {amount}, below the {floor_text} floor: top it up"
    else:
        status, text = Status.GREEN, f"deposit {amount} (floor {floor_text})"
    return WalletView(
        "paymaster deposit", paymaster, value, amount, floor, None, None, status, text, url
    )


def with_runway(
    view: WalletView,
    trail: Trail | None,
    now: datetime,
    settings: ChainSettings,
) -> WalletView:
    """The wallet with its runway: its trail extended by this pass's balance (as the memory
    will save it), the burn per day and the days to its floor. Amber when it reaches its
    floor sooner than `runway_days` and nothing worse is said of it; a balance not read
    has no runway."""
    if view.balance_wei is None:
        return view
    seen = runway(
        extend(trail, now, view.balance_wei), view.floor_wei, settings.decimals, settings.token
    )
    status, text = view.status, view.text
    days = seen.days_left
    if status is Status.GREEN and days is not None and days < settings.runway_days:
        status, text = Status.AMBER, f"{text}, {seen.text}"
    burn = seen.burn_per_day_wei
    burn_text = None if burn is None else evm.format_amount(burn, settings.decimals, settings.token)
    return replace(
        view,
        status=status,
        text=text,
        burn_per_day_wei=burn,
        burn_per_day=burn_text,
        days_left=days,
        runway=seen.text,
    )


def chain_view(
    env: Environment,
    chain: ChainFacts | SourceFailure | None,
    settings: ChainSettings | None,
    previous: Mapping[str, int],
    *,
    trails: Mapping[str, Trail] | None = None,
    now: datetime | None = None,
) -> ChainView | None:
    """An environment's wallets, deposit and master registration; with `now`, each wallet
    read has its runway from `trails` (by runway.trail_key)."""
    identity = env.chain
    if settings is None or identity is None or env.retired:
        return None
    facts = chain if isinstance(chain, ChainFacts) else None
    reason = chain.reason if isinstance(chain, SourceFailure) else None
    wallets = [
        wallet_view(role, address, facts, settings, previous, reason, identity.network)
        for role, address in (
            ("deployer", identity.deployer),
            ("sponsor", identity.sponsor),
            ("bundler", identity.bundler),
        )
        if address
    ]
    if identity.entrypoint and identity.paymaster:
        wallets.append(
            deposit_view(identity.entrypoint, identity.paymaster, facts, settings, reason)
        )
    if now is not None:
        known = trails or {}
        wallets = [
            with_runway(w, known.get(trail_key(w.role, identity.network, w.address)), now, settings)
            for w in wallets
        ]
    omni = evm.operator_omni(identity.deployer) if identity.deployer else None
    registered, master, text, status = _master(identity.registry, omni, facts, reason)
    statuses = [w.status for w in wallets] + ([status] if omni and identity.registry else [])
    return ChainView(
        status=worst(statuses),
        omni=omni,
        registry=identity.registry,
        master=master,
        master_registered=registered,
        master_text=text,
        wallets=tuple(wallets),
        network=identity.network,
    )


def _master(
    registry: str | None, omni: str | None, facts: ChainFacts | None, reason: str | None
) -> tuple[bool | None, str | None, str, Status]:
    if registry is None or omni is None:
        return None, None, "no registry or deployer configured", Status.UNKNOWN
    call = facts.masters.get((registry.lower(), omni)) if facts else None
    if call is None or call.error is not None or call.result is None:
        why = (call.error if call else None) or reason or "not read"
        return None, None, f"master unknown: {why}", Status.UNKNOWN
    try:
        master = evm.decode_address(call.result)
    except ValueError as exc:
        return None, None, f"master unknown: malformed: {exc}", Status.UNKNOWN
    if master == ZERO_ADDRESS:
        return (
            False,
            None,
            "operator master not registered (the registry answers the zero address)",
            Status.AMBER,
        )
    return True, master, f"operator master registered: {master}", Status.GREEN


def chain_summary(
    chain: ChainFacts | SourceFailure | None,
    settings: ChainSettings | None,
    now: datetime,
    network: str | None = None,
) -> ChainSummary | None:
    if settings is None:
        return None
    if not isinstance(chain, ChainFacts):
        why = chain.reason if isinstance(chain, SourceFailure) else "not read"
        return ChainSummary(
            Status.UNKNOWN,
            f"chain unknown: {why}",
            None,
            settings.chain_id,
            None,
            None,
            0,
            why,
            network,
            settings.name,
        )
    age = (now - chain.block_time).total_seconds() if chain.block_time else None
    block = f"block {chain.block_number:,}" if chain.block_number is not None else "no block"
    aged = f" {max(age, 0):.0f} s old" if age is not None else ""
    status = Status.GREEN
    text = f"RPC reachable, chain {chain.chain_id} as expected, {block}{aged}"
    if age is not None and age > settings.max_block_age_s:
        status = Status.AMBER
        text += f": the node lags (more than {settings.max_block_age_s} s)"
    return ChainSummary(
        status,
        text,
        chain.chain_id,
        settings.chain_id,
        chain.block_number,
        age,
        chain.requests,
        None,
        network,
        settings.name,
    )


def env_chain_issues(view: EnvironmentView, read: bool) -> list[Issue]:
    """One environment's wallets below their floor (red) or running dry within the runway
    horizon (amber), its master not registered (amber), and, when the chain answered
    (`read`), what it could still not tell (unknown). A chain that did not answer at all is
    one fleet issue (its source), not one per wallet.
    """
    found: list[Issue] = []
    chain = view.chain
    if chain is None:
        return found
    for wallet in chain.wallets:
        check = f"wallet:{wallet.role.replace(' ', '-')}"
        if wallet.status in (Status.RED, Status.AMBER) or (
            wallet.status is Status.UNKNOWN and read
        ):
            found.append(
                Issue.of(wallet.status, view.name, check, f"{wallet.address} {wallet.text}")
            )
    if chain.master_registered is False:
        found.append(
            Issue.of(
                Status.AMBER,
                view.name,
                "chain:master",
                f"{chain.master_text} (omni {chain.omni})",
            )
        )
    elif read and chain.registry and chain.omni and chain.master_registered is None:
        found.append(Issue.of(Status.UNKNOWN, view.name, "chain:master", chain.master_text))
    return found


def chain_line_issues(summaries: Sequence[ChainSummary | None]) -> list[Issue]:
    """A lagging node: the fleet's, not one environment's."""
    found: list[Issue] = []
    for summary in summaries:
        if summary is not None and summary.status is Status.AMBER:
            check = "chain" if summary.network is None else f"chain:{summary.network}"
            found.append(Issue.of(Status.AMBER, "fleet", check, summary.text))
    return found
