"""The wallets' balance trails, kept beside the board for the runway (rules/runway.py).

One small JSON object (`state/wallets.json`), read once before the rules and written once
after the whole board is published: for each wallet and deposit on the board, its few
recent samples (at most WINDOW / SPACING + 2), so the bytes and the work are proportional to
the wallets, never to how long the board has been remembering. It is checked whole on the
way in; anything unreadable (a truncated write, another version, a hand edit) or a store
that fails is a reset, never a failed pass: each wallet starts again from the balance the
last published latest.json showed, and its runway says the history was reset until it spans
enough time again. A trail that was never saved starts from that balance too, unsaid.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from itertools import pairwise

from fleetboard import jsonsafe
from fleetboard.model import Board, WalletView
from fleetboard.rules.runway import SPACING, WINDOW, Began, Sample, Trail, extend, trail_key
from fleetboard.state import StateConflict, StateStore
from fleetboard.stored import save_or_log, versioned
from fleetboard.text import scrub

log = logging.getLogger("fleetboard")

STATE_NAME = "wallets"
VERSION = 1
#: A saved file larger than this is not ours (1,000 wallets of full trails is ~1.2 MB).
MAX_BYTES = 4 * 1024 * 1024
#: The most samples a trail can hold (extend keeps one per SPACING within WINDOW, plus
#: the newest and the one it replaces).
MAX_SAMPLES = int(WINDOW / SPACING) + 2
#: Longer is not a wallet's key ("deposit:<network>:0x<40 hex>").
MAX_KEY = 120
#: More digits is no balance (2**256 has 78).
MAX_DIGITS = 80

Trails = dict[str, Trail]


def encode(trails: Mapping[str, Trail]) -> bytes:
    doc = {
        "version": VERSION,
        "trails": {
            key: {
                "began": t.began.value,
                "samples": [[int(s.at.timestamp()), str(s.wei)] for s in t.samples],
            }
            for key, t in sorted(trails.items())
        },
    }
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode()


def decode(data: bytes) -> Trails:
    """The saved trails; ValueError saying what is wrong with them."""
    doc = versioned(data, VERSION, "wallet history", MAX_BYTES)
    try:
        saved = doc["trails"]
        if not isinstance(saved, dict):
            raise TypeError("not an object")
        return {_key(key): _trail(value) for key, value in saved.items()}
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"malformed ({type(exc).__name__})") from None


def load(store: StateStore, latest: Callable[[], bytes | None]) -> Trails:
    """The trails the last pass saved; else one sample per wallet from the last
    latest.json (a reset when the saved ones were there but unreadable); empty on the very
    first pass. Never raises."""
    try:
        data = store.load_state(STATE_NAME)
    except Exception as exc:  # the store itself failed: a reset, never a failed pass
        data, why = None, f"could not be read ({type(exc).__name__})"
    else:
        if data is None:
            return from_snapshot(latest, Began.FIRST)
        try:
            return decode(data)
        except ValueError as exc:
            why = f"was unreadable ({scrub(str(exc), limit=120)})"
    log.warning("memory: the wallets' balance history %s; starting again from the last board", why)
    return from_snapshot(latest, Began.RESET)


def save(store: StateStore, trails: Mapping[str, Trail]) -> StateConflict | None:
    """Write the trails (see stored.save_or_log; the next pass starts them again after a
    failure)."""
    return save_or_log(store, STATE_NAME, encode(trails), "the wallets' balance history")


def advance(trails: Mapping[str, Trail], board: Board) -> Trails:
    """The trails after this pass: every wallet and deposit the board shows with a balance
    extended by it (as the rules extended it for the runway); one not read this pass keeps
    its trail; one no longer on the board is forgotten."""
    after: Trails = {}
    unread: list[str] = []
    for network, wallet in _wallets(board):
        key = trail_key(wallet.role, network, wallet.address)
        if wallet.balance_wei is None:
            unread.append(key)
        elif key not in after:
            after[key] = extend(trails.get(key), board.generated_at, wallet.balance_wei)
    for key in unread:
        if key not in after and key in trails:
            after[key] = trails[key]
    return after


def from_snapshot(latest: Callable[[], bytes | None], began: Began) -> Trails:
    """One sample per wallet the last published latest.json showed with a balance; empty
    when there is none or it cannot be read."""
    try:
        data = latest()
        if not data:
            return {}
        doc = jsonsafe.loads(data)
        at = datetime.fromisoformat(doc["generated_at"].replace("Z", "+00:00"))
        if at.tzinfo is None:
            raise ValueError("a time without its zone")
        found: Trails = {}
        for env in doc["environments"]:
            chain = env.get("chain")
            for wallet in chain["wallets"] if chain else ():
                if wallet["balance_wei"] is not None:
                    key = trail_key(wallet["role"], chain.get("network"), wallet["address"])
                    found[key] = Trail((Sample(at, _wei(wallet["balance_wei"])),), began)
        return found
    except Exception:  # a board we cannot read: nothing to start from, never a failed pass
        log.warning("memory: the last latest.json gave no balances to start the trails from")
        return {}


def _wallets(board: Board) -> list[tuple[str | None, WalletView]]:
    return [
        (env.chain.network, wallet)
        for env in board.environments
        if env.chain is not None
        for wallet in env.chain.wallets
    ]


def _key(value: object) -> str:
    if not isinstance(value, str) or not 0 < len(value) <= MAX_KEY:
        raise ValueError("not a wallet's key")
    return value


def _trail(value: object) -> Trail:
    if not isinstance(value, dict):
        raise TypeError("not an object")
    samples = value["samples"]
    if not isinstance(samples, list) or not 0 < len(samples) <= MAX_SAMPLES:
        raise ValueError("no samples, or more than a trail keeps")
    out = tuple(Sample(_epoch(at), _wei(wei)) for at, wei in samples)
    if any(a.at >= b.at for a, b in pairwise(out)):
        raise ValueError("samples out of order")
    return Trail(out, Began(value["began"]))


def _epoch(value: object) -> datetime:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 < value < 2**40:
        raise ValueError("not a time")
    return datetime.fromtimestamp(value, UTC)


def _wei(value: object) -> int:
    if not isinstance(value, str) or not value.isascii() or not value.isdigit():
        raise ValueError("not an amount of wei")
    if len(value) > MAX_DIGITS:
        raise ValueError("not an amount of wei")
    return int(value)
