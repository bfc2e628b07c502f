"""A real local EVM chain for the demo and the tests: anvil (from the npm package
@foundry-rs/anvil) with the registry and EntryPoint contracts compiled by solc-js from the
Solidity kept in tests/contracts/ and deployed for real.

Both tools come from the project's node_modules (`npm ci`, which scripts/*.sh run). When they
are absent the demo runs without a chain and says so; `available()` tells which.

    with LocalChain.start(chain_id=212013) as node:
        registry = node.deploy("SidecarRegistry")
        node.set_balance(address, 5 * 10**18)
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import urllib3

from fleetboard.demo import procs

#: The repository root, when fleetboard runs from a checkout (scripts/*.sh install it
#: editable): where node_modules/ and tests/contracts/ are.
ROOT = Path(__file__).resolve().parents[3]
CONTRACTS = ROOT / "tests" / "contracts"
#: Anvil's first dev account: unlocked, 10 000 units; it deploys and funds.
FUNDER = "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266"
START_TIMEOUT_S = 20.0


def anvil_path() -> str | None:
    """The native anvil binary (the npm wrapper would leave it running when killed)."""
    for found in sorted((ROOT / "node_modules" / "@foundry-rs").glob("anvil-*/bin/anvil")):
        if os.access(found, os.X_OK):
            return str(found)
    return shutil.which("anvil")


def solcjs_path() -> str | None:
    local = ROOT / "node_modules" / ".bin" / "solcjs"
    return str(local) if local.exists() else shutil.which("solcjs")


def available() -> str | None:
    """None when the demo can run its chain, else why not (for the board and the log)."""
    if anvil_path() is None:
        return "anvil not installed (npm ci installs @foundry-rs/anvil)"
    if solcjs_path() is None or shutil.which("node") is None:
        return "solc-js not installed (npm ci installs solc)"
    if not CONTRACTS.is_dir():
        return f"no contracts at {CONTRACTS}"
    return None


@dataclass(frozen=True, slots=True)
class Compiled:
    abi: list[dict[str, Any]]
    bytecode: str  # 0x-hex creation code


@cache
def compile_contracts() -> dict[str, Compiled]:
    """Every tests/contracts/*.sol, compiled by solc-js (standard JSON in, JSON out)."""
    solcjs = solcjs_path()
    if solcjs is None:
        raise RuntimeError("solc-js not installed (npm ci installs solc)")
    sources = {p.name: {"content": p.read_text()} for p in sorted(CONTRACTS.glob("*.sol"))}
    request = {
        "language": "Solidity",
        "sources": sources,
        "settings": {"outputSelection": {"*": {"*": ["abi", "evm.bytecode.object"]}}},
    }
    # Through procs: node and its workers are stopped however this ends (Ctrl-C included).
    done = procs.run([solcjs, "--standard-json"], input=json.dumps(request), timeout=120)
    # solc-js prints a note about SMT solvers before the JSON on stdout.
    out = done.stdout[done.stdout.find("{") :]
    try:
        result = json.loads(out)
    except ValueError:
        raise RuntimeError(f"solc-js failed: {done.stderr.strip()[:400]}") from None
    errors = [e for e in result.get("errors", []) if e.get("severity") == "error"]
    if errors:
        raise RuntimeError("solc-js: " + "; ".join(e["formattedMessage"] for e in errors))
    return {
        name: Compiled(c["abi"], "0x" + c["evm"]["bytecode"]["object"])
        for file in result["contracts"].values()
        for name, c in file.items()
    }


@dataclass
class LocalChain:
    """A running anvil and the few JSON-RPC calls the demo and tests set the fleet up with."""

    url: str
    process: subprocess.Popen[str]
    chain_id: int
    _http: urllib3.PoolManager = field(default_factory=urllib3.PoolManager)
    _ids: int = 0

    @classmethod
    @contextmanager
    def start(cls, *, chain_id: int = 212013) -> Iterator[LocalChain]:
        anvil = anvil_path()
        if anvil is None:
            raise RuntimeError("anvil not installed (npm ci installs @foundry-rs/anvil)")
        with contextlib.ExitStack() as stack:
            # Its own process group, dying with this process even if it is SIGKILLed; a
            # Ctrl-C cannot land between starting it and arranging its stop (procs).
            with procs.deferred_signals():
                process = procs.spawn(
                    [anvil, "--host", "127.0.0.1", "--port", "0", "--chain-id", str(chain_id)],
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    text=True,
                )
                stack.callback(procs.stop, process)
            procs.phase("anvil", f"pid={process.pid}")
            url = _listening(process)
            node = cls(url, process, chain_id)
            # Keep reading its output, or anvil blocks once the pipe is full.
            threading.Thread(target=_drain, args=(process,), daemon=True).start()
            yield node

    def rpc(self, method: str, *params: Any) -> Any:
        self._ids += 1
        body = {"jsonrpc": "2.0", "id": self._ids, "method": method, "params": list(params)}
        response = self._http.request(
            "POST", self.url, json=body, timeout=urllib3.Timeout(10.0), retries=False
        )
        answer = json.loads(response.data)
        if "error" in answer:
            raise RuntimeError(f"{method}: {answer['error']}")
        return answer["result"]

    def send(self, sender: str, to: str | None, data: str = "0x", value: int = 0) -> str:
        """A real transaction, mined at once (anvil automines); returns its receipt's
        contract address for a deployment, else the transaction hash."""
        tx: dict[str, Any] = {"from": sender, "data": data, "value": hex(value)}
        if to is not None:
            tx["to"] = to
        tx_hash = self.rpc("eth_sendTransaction", tx)
        # Anvil mines at once, but the receipt can show up a moment after the hash.
        deadline = time.monotonic() + 10
        while (receipt := self.rpc("eth_getTransactionReceipt", tx_hash)) is None:
            if time.monotonic() > deadline:
                break
            time.sleep(0.01)
        if receipt is None or receipt.get("status") != "0x1":
            raise RuntimeError(f"transaction failed: {receipt}")
        return str(receipt.get("contractAddress") or tx_hash)

    def deploy(self, contract: str) -> str:
        return self.send(FUNDER, None, compile_contracts()[contract].bytecode)

    def set_balance(self, address: str, wei: int) -> None:
        self.rpc("anvil_setBalance", address, hex(wei))

    def move_nonce(self, address: str) -> None:
        """Send one real transaction from `address` (impersonated): its nonce moves by one."""
        self.rpc("anvil_impersonateAccount", address)
        try:
            self.send(address, FUNDER, value=1)
        finally:
            self.rpc("anvil_stopImpersonatingAccount", address)

    def register_master(self, registry: str, omni: str, master: str) -> None:
        data = _selector("setOperatorMasterWallet(bytes32,address)") + omni + _word(master)
        self.send(FUNDER, registry, data)

    def deposit(self, entrypoint: str, paymaster: str, wei: int) -> None:
        self.send(FUNDER, entrypoint, _selector("depositTo(address)") + _word(paymaster), wei)

    def nonce(self, address: str) -> int:
        return int(self.rpc("eth_getTransactionCount", address, "latest"), 16)


def _selector(signature: str) -> str:
    from eth_utils.crypto import keccak  # web3's own dependency

    digest: bytes = keccak(text=signature)
    return "0x" + digest[:4].hex()


def _word(address: str) -> str:
    return address[2:].lower().rjust(64, "0")


def _listening(process: subprocess.Popen[str]) -> str:
    """Anvil prints "Listening on 127.0.0.1:PORT" once it accepts connections."""
    assert process.stdout is not None
    # The whole group: a wrapper killed alone would leave its anvil holding the pipe open.
    timer = threading.Timer(START_TIMEOUT_S, procs.kill_group, (process,))
    timer.daemon = True  # never what holds the interpreter's exit
    timer.start()
    try:
        for line in process.stdout:
            if line.startswith("Listening on "):
                return "http://" + line.split()[-1]
    finally:
        timer.cancel()
    raise RuntimeError(f"anvil did not start (exit code {process.poll()})")


def _drain(process: subprocess.Popen[str]) -> None:
    assert process.stdout is not None
    with contextlib.suppress(ValueError, OSError):  # closed by procs.stop: anvil is gone
        for _ in process.stdout:
            pass
