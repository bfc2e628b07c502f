"""The demo fleet's chain: prod and the test slots' wallets and contract sets on a local
anvil, set up so the board shows each thing an operator funding them looks for.

- prod: its own contract set (registry, EntryPoint, paymaster), a funded deployer whose
  operator master is registered, a funded sponsor, and a paymaster deposit BELOW its floor;
- test slots share the TEST contract set (docs/fleet.md#chain): slot 1 funded and registered,
  its nonce moving every pass (a CI run is using it); slot 2's deployer below the 1 HEI
  floor; the stopped slot 3 funded but its operator master never registered.

Addresses are derived from names, so the demo's fleet.toml is the same on every run.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import fleetboard.chain as evm
from fleetboard.demo.chain import LocalChain

HEI = 10**18
CHAIN_ID = 212013  # Heima's, so the demo config reads like the real one


def demo_address(name: str) -> str:
    return "0x" + hashlib.sha256(f"fleetboard demo {name}".encode()).hexdigest()[:40]


@dataclass(frozen=True, slots=True)
class Wallets:
    deployer: str
    registered: bool
    balance_wei: int
    moving: bool = False  # a CI run sends from it: its nonce moves every pass


#: env name -> its deployer's story.
WALLETS = {
    "prod": Wallets(demo_address("prod deployer"), True, 12 * HEI + 5 * 10**17),
    "test": Wallets(demo_address("test deployer"), True, 2 * HEI + 4 * 10**17, moving=True),
    "test-2": Wallets(demo_address("test-2 deployer"), True, 4 * 10**17),
    "test-3": Wallets(demo_address("test-3 deployer"), False, HEI + 10**17),
    "test-4": Wallets(demo_address("test-4 deployer"), True, 3 * HEI),
}
SPONSOR = demo_address("prod sponsor")
PAYMASTER = demo_address("prod paymaster")
#: prod's paymaster deposit: below its 0.2 HEI floor at the start (red), until the live
#: demo tops it up by TOP_UP_WEI before its incident (incident.py says why).
DEPOSIT_WEI = 15 * 10**16
TOP_UP_WEI = HEI


@dataclass(frozen=True, slots=True)
class ChainWorld:
    node: LocalChain
    registry: str  # prod's contract set
    entrypoint: str
    test_registry: str  # the test slots' shared set
    test_entrypoint: str

    def tick(self) -> None:
        """Between passes: the slots in use send a transaction, so their nonces move."""
        for wallets in WALLETS.values():
            if wallets.moving:
                self.node.move_nonce(wallets.deployer)

    def top_up_deposit(self) -> str:
        """prod's paymaster deposit over its floor (the live demo, incident.py); what
        changed, for the terminal."""
        self.node.deposit(self.entrypoint, PAYMASTER, TOP_UP_WEI)
        return f"{(DEPOSIT_WEI + TOP_UP_WEI) / HEI:g} HEI"

    def toml(self, envs: tuple[str, ...]) -> list[str]:
        """The [chain] section and each environment's chain identity, as fleet.toml lines."""
        q = '"{}"'.format
        lines = [
            "",
            "[chain]",
            'name = "heima"',
            f"chain_id = {CHAIN_ID}",
            'token = "HEI"',
            f"rpc_url = {q(self.node.url)}  # the demo's own anvil: keyless, so not a secret",
            'explorer_url = "https://explorer.heima.network"',
            'deploy_min = "1"',
            'paymaster_min_deposit = "0.2"',
            "# The test slots share the TEST contract set; prod overrides it below.",
            f"registry = {q(self.test_registry)}",
            f"entrypoint = {q(self.test_entrypoint)}",
        ]
        for name in envs:
            wallets = WALLETS.get(name)
            if wallets is None:
                continue
            lines += ["", f"[environments.{name}.chain]", f"deployer = {q(wallets.deployer)}"]
            if name == "prod":
                lines += [
                    f"registry = {q(self.registry)}",
                    f"entrypoint = {q(self.entrypoint)}",
                    f"paymaster = {q(PAYMASTER)}",
                    f"sponsor = {q(SPONSOR)}",
                ]
        return lines


def build_chain_world(node: LocalChain) -> ChainWorld:
    """Deploy both contract sets and fund, register and deposit as WALLETS says."""
    world = ChainWorld(
        node,
        registry=node.deploy("SidecarRegistry"),
        entrypoint=node.deploy("EntryPoint"),
        test_registry=node.deploy("SidecarRegistry"),
        test_entrypoint=node.deploy("EntryPoint"),
    )
    for name, wallets in WALLETS.items():
        node.set_balance(wallets.deployer, wallets.balance_wei)
        if wallets.registered:
            registry = world.registry if name == "prod" else world.test_registry
            master = demo_address(f"{name} operator master")
            node.register_master(registry, evm.operator_omni(wallets.deployer), master)
    node.set_balance(SPONSOR, 3 * HEI + 7 * 10**17)
    node.deposit(world.entrypoint, PAYMASTER, DEPOSIT_WEI)  # 0.15 HEI: below 0.2
    return world
