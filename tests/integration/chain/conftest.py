"""Real parts for the chain source's tests: the shared anvil with the registry and EntryPoint
deployed (`node`, `contracts`: tests/integration/conftest.py), and a second chain of its own.

scripts/lib/setup.sh (`ensure_node_tools`) installs anvil and solc-js; without them the tests
here are skipped, except in CI (`CI=true`), where they fail.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.integration.fixtures.chain import Contracts

from fleetboard.demo import chain as local

__all__ = ["Contracts"]  # the tests here import it from this module


@pytest.fixture(scope="session")
def base_node(node: local.LocalChain) -> Iterator[local.LocalChain]:
    """A second chain (Base's id, 8453) for environments whose wallets live elsewhere."""
    with local.LocalChain.start(chain_id=8453) as chain:
        yield chain
