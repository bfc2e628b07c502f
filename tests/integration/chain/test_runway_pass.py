"""Wallet runway through whole passes: a real node's balances, the pass's clock moved on,
the trails kept in state/wallets.json beside the board, and a broken file a reset."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tests.integration.chain.conftest import Contracts
from tests.integration.chain.test_chain_source import fleet_toml

from fleetboard import collect, config
from fleetboard.demo.chain import LocalChain
from fleetboard.publish import LocalPublisher
from fleetboard.secrets import Secret
from fleetboard.sources import PassContext
from fleetboard.sources.chain import ChainSource

HEI = 10**18
T0 = datetime(2026, 11, 16, 8, 0, tzinfo=UTC)


def test_a_draining_deployer_goes_amber_across_passes_and_a_broken_file_is_a_reset(
    node: LocalChain, contracts: Contracts, tmp_path: Path
) -> None:
    deployer = "0x" + os.urandom(20).hex()
    loaded = config.loads(fleet_toml([deployer], contracts))
    publisher = LocalPublisher(tmp_path)

    def at(hours: float, wei: int) -> dict[str, Any]:
        node.set_balance(deployer, wei)
        clock = T0 + timedelta(hours=hours)
        ctx = PassContext(
            deadline=time.monotonic() + 30,
            secrets={"rpc_url": Secret(node.url)},
            now=lambda: clock,
        )
        result = collect.run_pass(loaded, ctx, publisher, sources=[ChainSource(environ={})])
        assert result.error is None
        wallet: dict[str, Any] = result.document["environments"][0]["chain"]["wallets"][0]
        return wallet

    assert at(0, 2 * HEI)["runway"] == "not enough history"
    state = tmp_path / "state" / "wallets.json"
    assert state.is_file()
    ten = at(12, 2 * HEI - HEI // 20)  # 0.05 HEI in 12 hours
    assert (ten["burn_per_day"], ten["days_left"]) == ("0.1 HEI", 9.5)
    assert ten["runway"] == "burns 0.1 HEI/day: runs dry in about 10 days"
    amber = at(96, 16 * HEI // 10)
    assert (amber["status"], amber["days_left"]) == ("amber", 6.0)
    assert amber["text"].endswith("runs dry in about 6 days")
    assert len(state.read_bytes()) < 300  # three samples of one wallet

    state.write_bytes(b'{"version": 1, "trails": {')  # a write cut short
    reset = at(97, 16 * HEI // 10 - HEI // 240)
    assert reset["status"] == "green" and reset["days_left"] is None
    assert reset["runway"] == (
        "not enough history: its balance history was reset (kept since 08:00 UTC)"
    )
