"""What the github source's tests share: the pinned spec, a token, settings, a pass context."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from tests.integration.fixtures.inventory import inventory_of

from fleetboard.demo.github import GithubServer
from fleetboard.inventory import GithubSettings, Inventory
from fleetboard.secrets import Secret
from fleetboard.sources import PassContext

#: Keep in step with ensure_octokit_openapi in scripts/lib/setup.sh (a test checks it is).
OCTOKIT_OPENAPI_VERSION = "23.0.2"

#: A token-shaped string the tests look for everywhere it must not be.
TOKEN = "ghp_FleetboardFakeToken0123456789abcdefXY"


def spec_file() -> Path:
    """Where ensure_octokit_openapi leaves GitHub's OpenAPI description."""
    cache = os.environ.get("FLEETBOARD_CACHE") or str(Path.home() / ".cache" / "fleetboard")
    return Path(cache) / "octokit-openapi" / OCTOKIT_OPENAPI_VERSION / "api.github.com.json"


class MemoryState:
    """A StateStore in memory, recording what was saved."""

    def __init__(self) -> None:
        self.saved: dict[str, bytes] = {}
        self.saves = 0

    def load_state(self, name: str) -> bytes | None:
        return self.saved.get(name)

    def save_state(self, name: str, data: bytes) -> None:
        self.saved[name] = data
        self.saves += 1


def github_settings(server: GithubServer, **overrides: Any) -> GithubSettings:
    world = server.world
    fields: dict[str, Any] = {
        "repo": world.repo,
        "workflows": world.workflows,
        "api_url": server.url,
        "timeout_s": 3.0,
        "slot_count": 3,
        **overrides,
    }
    return GithubSettings(**fields)


def inventory_with(settings: GithubSettings | None) -> Inventory:
    """A fleet of no environments whose [github] is `settings`."""
    return inventory_of(github=settings)


def pass_context(
    state: MemoryState | None = None, *, token: str | None = TOKEN, deadline_s: float = 30.0
) -> PassContext:
    secrets = {"github_token": Secret(token)} if token is not None else {}
    return PassContext(deadline=time.monotonic() + deadline_s, secrets=secrets, state=state)
