"""Real parts for the github source's tests: the shared fake GitHub API (`github_server`,
tests/integration/conftest.py), its every answer checked against GitHub's published OpenAPI
description (npm @octokit/openapi, fixture `openapi`), reset to an empty world for each test.

The check runs inside the server (its `observer`), so no body reaches the source unchecked; a
test during which any body broke the schema fails, naming the call and the schema error (the
hook is tests/integration/conftest.py's, for every test that uses the fake).
"""

from __future__ import annotations

import pytest
from tests.integration.github.openapi import OpenApiCheck

from fleetboard.demo.github import GithubServer, GithubWorld


@pytest.fixture
def gh(github_server: GithubServer, openapi: OpenApiCheck) -> GithubServer:
    """The fake GitHub, reset to an empty world, its answers checked for this test."""
    github_server.load(GithubWorld())
    openapi.take_errors()  # what an earlier test left is not this test's
    return github_server
