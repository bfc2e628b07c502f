"""EVM facts the fleet's chain identity rests on, as pure functions: the operator omni of a
slot, the two read-only calls' calldata, their raw answers decoded, and amounts shown exactly.

No web3 here: these are a few lines of hashing and hex, and the rules import this module on
every pass, chain configured or not (web3 costs ~1 s to import; sources/chain.py pays it
only when a [chain] section exists).
"""

from __future__ import annotations

import hashlib
import re
from decimal import Decimal

#: SidecarRegistry.operatorMasterWallet(bytes32): the public mapping's getter (docs/fleet.md#chain).
OPERATOR_MASTER_WALLET = "0x664cc611"
#: EntryPoint.balanceOf(address): the paymaster's deposit.
BALANCE_OF = "0x70a08231"

_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_HEX = re.compile(r"^0x[0-9a-fA-F]*$")


def operator_omni(deployer: str) -> str:
    """The slot's operator omni, 64 hex digits without 0x: sha256("agentkeys" || "evm" ||
    lower(deployer)), the harness's derive_operator_omni() (actor_omni.rs)."""
    if not _ADDRESS.match(deployer):
        raise ValueError(f"not an EVM address: {deployer!r}")
    return hashlib.sha256(b"agentkeys" + b"evm" + deployer.lower().encode()).hexdigest()


def master_calldata(omni: str) -> str:
    """operatorMasterWallet(omni): the selector and the 32-byte omni."""
    if not re.fullmatch(r"[0-9a-f]{64}", omni):
        raise ValueError(f"not a 32-byte omni: {omni!r}")
    return OPERATOR_MASTER_WALLET + omni


def balance_of_calldata(address: str) -> str:
    """balanceOf(address): the selector and the address left-padded to 32 bytes."""
    if not _ADDRESS.match(address):
        raise ValueError(f"not an EVM address: {address!r}")
    return BALANCE_OF + address[2:].lower().rjust(64, "0")


def decode_quantity(value: object) -> int:
    """A JSON-RPC quantity ("0x1a") as an int; anything else is a malformed answer."""
    if not isinstance(value, str) or not _HEX.match(value) or len(value) < 3 or len(value) > 66:
        raise ValueError(f"not a quantity: {_short(value)}")
    return int(value, 16)


def decode_uint(data: object) -> int:
    """An eth_call's return data as one uint256 (exactly one 32-byte word)."""
    word = _word(data)
    return int(word, 16)


def decode_address(data: object) -> str:
    """An eth_call's return data as one address: a 32-byte word whose top 12 bytes are zero.
    Returned lower case with 0x; the zero address means "none"."""
    word = _word(data)
    if word[:24] != "0" * 24:
        raise ValueError(f"not an address: 0x{word[:16]}…")
    return "0x" + word[24:]


def _word(data: object) -> str:
    if not isinstance(data, str) or not _HEX.match(data):
        raise ValueError(f"not hex data: {_short(data)}")
    digits = data[2:]
    if len(digits) != 64:
        # "0x" is what a call to an address with no code answers: no contract there.
        what = "empty (no contract at that address?)" if not digits else f"{len(digits) // 2} bytes"
        raise ValueError(f"expected one 32-byte word, got {what}")
    return digits.lower()


def format_amount(wei: int, decimals: int, symbol: str) -> str:
    """1_250_000_000_000_000_000 wei -> "1.25 HEI": exact (Decimal), trailing zeros trimmed,
    never a float, never rounded up to look funded."""
    if decimals < 0:
        raise ValueError(f"decimals must be ≥ 0, got {decimals}")
    whole, frac = divmod(abs(wei), 10**decimals)
    sign = "-" if wei < 0 else ""
    text = f"{whole:,}"
    if frac and decimals:
        text += "." + str(frac).rjust(decimals, "0").rstrip("0")
    return f"{sign}{text} {symbol}"


def parse_amount(text: str, decimals: int) -> int:
    """ "0.2" (of a token with 18 decimals) -> 200000000000000000, exactly. Raises ValueError
    for anything that is not a plain non-negative decimal or has more digits than decimals."""
    if not re.fullmatch(r"\d+(\.\d+)?", text):
        raise ValueError('is not a plain decimal amount such as "0.2"')
    value = Decimal(text).scaleb(decimals)
    if value != value.to_integral_value():
        raise ValueError(f"has more than {decimals} decimal places")
    return int(value)


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
