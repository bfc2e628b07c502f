"""What every simulated server shares: `with` starts it and stops it.

The fake GitHub API (github.py), the fleet's hosts (hosts.py) and the fault matrix's
servers (tests/integration/faults/servers.py) are all used the same way, so the context
manager lives once, here; each server only says how it starts and stops.

    with GithubServer(world) as github:  # start() on entry, stop() on exit, even on error
        ...
"""

from __future__ import annotations

from types import TracebackType
from typing import Self


class Served:
    """A server that `with` runs: start() on entry (its value is what `as` binds), stop()
    on exit. Subclasses implement both."""

    def start(self) -> Self:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
