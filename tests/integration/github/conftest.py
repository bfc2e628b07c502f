"""Real parts for the github source's tests: the fake GitHub API, with every answer it sends
checked against GitHub's published OpenAPI description (npm @octokit/openapi).

The check runs inside the server (its `observer`), so no body reaches the source unchecked; a
test during which any body broke the schema fails, naming the call and the schema error.
scripts/lib/setup.sh (`ensure_octokit_openapi`) caches the description; without it the tests
here are skipped, except in CI (`CI=true`), where they fail.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

import pytest
from tests.integration.github.helpers import OCTOKIT_OPENAPI_VERSION, spec_file
from tests.integration.github.openapi import OpenApiCheck

from fleetboard.demo.github import GithubServer, GithubWorld

_CHECK = pytest.StashKey[OpenApiCheck]()


@pytest.fixture(scope="session")
def openapi() -> OpenApiCheck:
    path = spec_file()
    if not path.is_file():
        why = (
            f"GitHub's OpenAPI description (@octokit/openapi {OCTOKIT_OPENAPI_VERSION}) is not "
            f"at {path}: run scripts/test.sh once, or source scripts/lib/setup.sh and run "
            "ensure_octokit_openapi"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(why)
        pytest.skip(why)
    return OpenApiCheck(json.loads(path.read_bytes()))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """Fail the test if the fake sent any answer GitHub's schema rejects while it ran."""
    try:
        return (yield)
    finally:
        check = item.stash.get(_CHECK, None)
        errors = check.take_errors() if check is not None else []
        if errors:
            listed = "\n  ".join(errors[:20])
            raise AssertionError(
                f"the fake GitHub sent {len(errors)} answer(s) that break GitHub's OpenAPI "
                f"description:\n  {listed}"
            )


# --------------------------------------------------------------------------- the server


@pytest.fixture(scope="session")
def github_server(openapi: OpenApiCheck) -> Iterator[GithubServer]:
    server = GithubServer()
    server.observer = openapi
    with server:
        yield server


@pytest.fixture
def gh(
    github_server: GithubServer, openapi: OpenApiCheck, request: pytest.FixtureRequest
) -> GithubServer:
    """The fake GitHub, reset to an empty world, its answers checked for this test."""
    github_server.load(GithubWorld())
    openapi.take_errors()
    request.node.stash[_CHECK] = openapi
    return github_server
