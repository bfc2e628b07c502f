"""The chain on the page: explorer links, nonces, the operator master line, and a large
fleet's wallets in one table."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from fleetboard.render.formats import JsonDoc
from fleetboard.render.words import rank

#: The other kind of external URL the page carries: an address on the chain explorer, as
#: the rules build it (`<explorer_url>/address/<address>`), a plain link the operator clicks.
EXPLORER_URL = re.compile(
    r"https://[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*(?::[0-9]{1,5})?(?:/[A-Za-z0-9._~-]+)*"
    r"/address/(0x[0-9a-fA-F]{40})"
)


def explorer_url(wallet: JsonDoc) -> str | None:
    """The wallet's page on the explorer when its URL is exactly one (and of this address),
    else None: the page shows the address as plain text rather than link anything else."""
    url: str | None = wallet["url"]
    found = EXPLORER_URL.fullmatch(url) if url else None
    return url if found and found.group(1).lower() == str(wallet["address"]).lower() else None


def nonce_moved(wallet: JsonDoc) -> str:
    """Whether the nonce moved since the previous snapshot: `moved`, `unchanged`, or `—`
    (no previous snapshot, or no nonce, to compare)."""
    moved: bool | None = wallet["nonce_moved"]
    return "—" if moved is None else "moved" if moved else "unchanged"


def master_word(chain: JsonDoc) -> str:
    """The pill of the operator master line: green (registered), amber (not registered),
    unknown (not read), or `` when there is nothing to read (no registry or deployer)."""
    if chain["registry"] is None or chain["omni"] is None:
        return ""
    registered: bool | None = chain["master_registered"]
    return "unknown" if registered is None else "green" if registered else "amber"


@dataclass(frozen=True, slots=True)
class WalletFold:
    """The green wallets of one role, folded: how many, on which environments, their
    lowest balance (and whose) and their shortest runway (and whose)."""

    role: str
    count: int
    envs: tuple[str, ...]
    lowest: tuple[str, str]  # (balance, environment)
    shortest: tuple[str, str] | None  # (runway, environment), None when none is known


@dataclass(frozen=True, slots=True)
class Wallets:
    listed: list[tuple[JsonDoc, JsonDoc]]  # (environment, wallet) that need a look, worst first
    folds: list[WalletFold]
    total: int


def wallets(envs: Sequence[JsonDoc]) -> Wallets:
    """Every wallet of the fleet for a large fleet's page, whose green environments have no
    card: the ones that are not green each on a row, worst first; the green ones folded into
    one row per role (a thousand funded deployers are one line)."""
    listed: list[tuple[JsonDoc, JsonDoc]] = []
    green: dict[str, list[tuple[JsonDoc, JsonDoc]]] = {}
    for env in envs:
        for wallet in (env["chain"] or {}).get("wallets", ()):
            if wallet["status"] == "green":
                green.setdefault(wallet["role"], []).append((env, wallet))
            else:
                listed.append((env, wallet))
    listed.sort(key=lambda pair: rank(pair[1]["status"]))
    folds = [_fold(role, pairs) for role, pairs in green.items()]
    return Wallets(listed, folds, len(listed) + sum(f.count for f in folds))


def _fold(role: str, pairs: list[tuple[JsonDoc, JsonDoc]]) -> WalletFold:
    names = tuple(dict.fromkeys(env["name"] for env, _ in pairs))
    env, low = min(pairs, key=lambda pair: int(pair[1]["balance_wei"] or 0))
    timed = [
        (w["days_left"], w["runway"], e["name"])
        for e, w in pairs
        if w.get("days_left") is not None  # absent in snapshots from before the runway
    ]
    shortest = min(timed, key=lambda t: t[0]) if timed else None
    return WalletFold(
        role,
        len(pairs),
        names,
        (str(low["balance"]), str(env["name"])),
        (str(shortest[1]), str(shortest[2])) if shortest else None,
    )
