"""The real servers more than one integration folder uses, each started once per session.

This conftest is their one owner: the moto server (`moto_server`), the simulated HTTPS hosts
(`hosts`), the fake GitHub (`github_server`) with GitHub's OpenAPI description (`openapi`),
and anvil (`node`) with the registry and EntryPoint deployed (`contracts`); and, for the
tests that start `fleetboard` itself, `marked_run` (fixtures/child.py). aws/, chain/,
faults/, github/ and probes/ take them from here; each folder's conftest keeps only what that
folder alone uses (per-test resets, proxies, a second chain, ...). A conftest that imported
another folder's fixture would get its own instance of it, and so start a second server.

Every answer the fake GitHub sends is checked against the OpenAPI description as it is sent
(the server's `observer`); a test that uses the fake fails if any answer broke the schema
while it ran (`pytest_runtest_call` below), whether or not it also looks by hand.

The tools: scripts/lib/setup.sh installs anvil and solc-js (`ensure_node_tools`) and caches
the OpenAPI description (`ensure_octokit_openapi`); without them the tests that need them
are skipped, except in CI (`CI=true`), where they fail.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.integration.fixtures.chain import CHAIN_ID, Contracts
from tests.integration.fixtures.child import MarkedRun
from tests.integration.fixtures.hosts import SIM_HOSTS
from tests.integration.github.helpers import OCTOKIT_OPENAPI_VERSION, spec_file
from tests.integration.github.openapi import OpenApiCheck
from tests.tools import missing as _missing

from fleetboard.demo import chain as local
from fleetboard.demo.aws_world import start_moto_server
from fleetboard.demo.github import GithubServer
from fleetboard.demo.hosts import HostServer

# --------------------------------------------------------------------------- AWS


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    """moto in a thread on 127.0.0.1; its URL. Reset it (`reset_moto`) before building a world."""
    url, stop = start_moto_server()
    try:
        yield url
    finally:
        stop()


# --------------------------------------------------------------------------- hosts


@pytest.fixture(scope="session")
def hosts() -> Iterator[HostServer]:
    """One HTTPS server on 127.0.0.1 for every name of fixtures.hosts.SIM_HOSTS."""
    with HostServer(SIM_HOSTS) as server:
        yield server


# --------------------------------------------------------------------------- GitHub


@pytest.fixture(scope="session")
def openapi() -> OpenApiCheck:
    path = spec_file()
    if not path.is_file():
        _missing(
            f"GitHub's OpenAPI description (@octokit/openapi {OCTOKIT_OPENAPI_VERSION}) is not "
            f"at {path}: run scripts/test.sh once, or source scripts/lib/setup.sh and run "
            "ensure_octokit_openapi"
        )
    return OpenApiCheck(json.loads(path.read_bytes()))


@pytest.fixture(scope="session")
def github_server(openapi: OpenApiCheck) -> Iterator[GithubServer]:
    """The fake GitHub API; every answer it sends is checked by `openapi`."""
    server = GithubServer()
    server.observer = openapi
    with server:
        yield server


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """Fail a test that uses the fake GitHub if it sent any answer GitHub's schema rejects
    while the test ran (answers a test already took with `openapi.take_errors()` are its own)."""
    try:
        return (yield)
    finally:
        funcargs = getattr(item, "funcargs", {})
        check = funcargs.get("openapi") if "github_server" in funcargs else None
        errors = check.take_errors() if check is not None else []
        if errors:
            listed = "\n  ".join(errors[:20])
            raise AssertionError(
                f"the fake GitHub sent {len(errors)} answer(s) that break GitHub's OpenAPI "
                f"description:\n  {listed}"
            )


# --------------------------------------------------------------------------- chain


@pytest.fixture(scope="session")
def node() -> Iterator[local.LocalChain]:
    """anvil on 127.0.0.1, chain id fixtures.chain.CHAIN_ID."""
    why = local.available()
    if why is not None:
        _missing(why)
    with local.LocalChain.start(chain_id=CHAIN_ID) as chain:
        yield chain


@pytest.fixture(scope="session")
def contracts(node: local.LocalChain) -> Contracts:
    """The registry and EntryPoint of tests/contracts/, compiled and deployed on `node`."""
    return Contracts(node.deploy("SidecarRegistry"), node.deploy("EntryPoint"))


# --------------------------------------------------------------------------- DNS


@pytest.fixture
def unresolvable(monkeypatch: pytest.MonkeyPatch) -> str:
    """A host name that fails to resolve, as on a machine with no DNS, without a query ever
    leaving the machine (tests send nothing off loopback)."""
    name = "nowhere.fleet.invalid"
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host == name:
            raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return name


# --------------------------------------------------------------------------- child processes


@pytest.fixture
def marked_run(tmp_path: Path) -> Iterator[Callable[..., MarkedRun]]:
    """`marked_run(*args, hold=None)`: `python -m fleetboard ARGS` started as a MarkedRun, in a
    folder of its own under tmp_path; killed at the end with everything it started, even when
    the test failed."""
    runs: list[MarkedRun] = []

    def start(*args: str, hold: str | None = None) -> MarkedRun:
        runs.append(MarkedRun(tmp_path / f"run-{len(runs)}", *args, hold=hold))
        return runs[-1]

    yield start
    for run in runs:
        run.close()
