"""The small interface every data source implements; registry.py lists the sources.

A source gathers raw facts for the whole inventory in one go (one AWS call per kind, one
bounded pool of probes) and returns them as plain data, or a SourceFailure with a reason.
It never raises into the pass: collect.py catches anything that escapes and shows the
source's part of the board as unknown with "internal error". It should return by
ctx.deadline; one that does not is abandoned on its thread and shown as "no complete answer
within N s", and nothing it does afterwards reaches this pass or a later one.

Adding a source: write `sources/<kind>.py` with a class that has `name`, `needs`, `wants`
and `collect` and the facts type it returns; declare its kind once in registry.py (facts
type, how it is built, where it shows, its checks rule). docs/design.md#adding-a-source has
the whole recipe.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar, Protocol

from fleetboard.inventory import Inventory
from fleetboard.secrets import Secret
from fleetboard.state import StateStore

#: Resolves a host name to IP addresses, raising socket.gaierror when it cannot.
#: The system resolver in production; the demo answers from its simulated Route 53 zone.
Resolver = Callable[[str, int], list[str]]


def system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True)
class PassContext:
    """What a source may use besides the inventory: the clock, the network, the deadline.

    Passed in, so tests and the demo can give loopback clients and a fixed time.
    """

    deadline: float  # time.monotonic() value by which every source must have returned
    now: Callable[[], datetime] = utc_now
    resolver: Resolver = system_resolver
    #: Builds boto3 clients: (service name) -> client. Set by collect.py from the config.
    aws_client: Callable[[str], Any] | None = None
    #: Facts of the sources this one `needs`, by source name, once they have finished.
    results: Mapping[str, object] = field(default_factory=dict)
    #: Facts of the sources this one `wants`, as futures: used if they come in time.
    pending: Mapping[str, Future[object]] = field(default_factory=dict)
    #: Filled-in secrets by name ("github_token", "rpc_url"); absent means not configured.
    secrets: Mapping[str, Secret] = field(default_factory=dict)
    #: Where a source keeps state between passes (the publisher's store); None: nowhere.
    state: StateStore | None = None
    sleep: Callable[[float], None] = time.sleep
    #: time.monotonic() when the pass began: with `deadline`, the pass's whole time budget.
    started: float = field(default_factory=time.monotonic)

    def remaining_s(self) -> float:
        return max(0.0, self.deadline - time.monotonic())

    def budget_s(self) -> float:
        """The time the pass gave its sources: what "no complete answer within N s" says."""
        return max(0.0, self.deadline - self.started)


def secret_value(
    ctx: PassContext, name: str, variable: str, environ: Mapping[str, str] | None = None
) -> str | None:
    """A secret's value: `ctx.secrets[name]` on Lambda, else the environment `variable` on a
    laptop (`environ` replaces os.environ, for tests); None when neither is filled in."""
    import os

    secret = ctx.secrets.get(name)
    if secret is not None and secret.reveal().strip():
        return secret.reveal().strip()
    return (os.environ if environ is None else environ).get(variable, "").strip() or None


class Source(Protocol):
    """One kind of observation: AWS, HTTP probes, TLS certificates, GitHub, chain."""

    @property
    def name(self) -> str:
        """The source's name in results and the footer ("chain:<network>" for instances)."""
        ...

    #: Sources whose facts this one reads from ctx.results (e.g. tls reuses http handshakes):
    #: it starts when they have finished.
    needs: ClassVar[tuple[str, ...]]
    #: Sources whose facts help but must not delay it (http skips stopped slots once aws
    #: says which): it starts at once and finds them in ctx.pending.
    wants: ClassVar[tuple[str, ...]]

    def collect(self, inventory: Inventory, ctx: PassContext) -> object:
        """Return this source's facts, or a model.SourceFailure. Must honour ctx.deadline."""
        ...
