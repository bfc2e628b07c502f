"""Real parts for the chain source's tests: anvil (npm @foundry-rs/anvil) with the registry
and EntryPoint contracts of tests/contracts/, compiled by solc-js and deployed for real.

scripts/lib/setup.sh (`ensure_node_tools`) installs both; without them the tests here are
skipped, except in CI (`CI=true`), where they fail.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from fleetboard.demo import chain as local


@dataclass(frozen=True, slots=True)
class Contracts:
    registry: str
    entrypoint: str


@pytest.fixture(scope="session")
def node() -> Iterator[local.LocalChain]:
    why = local.available()
    if why is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(why)
        pytest.skip(why)
    with local.LocalChain.start(chain_id=212013) as chain:
        yield chain


@pytest.fixture(scope="session")
def contracts(node: local.LocalChain) -> Contracts:
    return Contracts(node.deploy("SidecarRegistry"), node.deploy("EntryPoint"))


@pytest.fixture(scope="session")
def base_node(node: local.LocalChain) -> Iterator[local.LocalChain]:
    """A second chain (Base's id, 8453) for environments whose wallets live elsewhere."""
    with local.LocalChain.start(chain_id=8453) as chain:
        yield chain
