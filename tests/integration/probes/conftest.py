"""Real parts for the probe tests: the simulated HTTPS hosts, a black hole, a refused port.

One HostServer, the shared `hosts` (tests/integration/conftest.py), serves every host name of
these tests (tests/integration/fixtures/hosts.py) on 127.0.0.1; the `fleet` fixture builds
inventories straight from the inventory dataclasses and runs the real sources against it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pytest
from tests.integration.fixtures.hosts import EXPIRY, ZONE, name
from tests.integration.fixtures.inventory import aws_settings, inventory_of

from fleetboard.demo.dns import ZoneResolver
from fleetboard.demo.hosts import BlackHole, HostServer
from fleetboard.inventory import (
    BROKER_PATHS,
    Address,
    Environment,
    Host,
    Inventory,
    ProbeSettings,
)
from fleetboard.model import EnvKind, HttpFacts, TlsFacts
from fleetboard.sources import PassContext
from fleetboard.sources.http import HttpSource
from fleetboard.sources.tls import TlsSource


@pytest.fixture(scope="session")
def ca_bundle(hosts: HostServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return hosts.write_ca(tmp_path_factory.mktemp("tls") / "demo-ca.pem")


@pytest.fixture(scope="session")
def black_hole() -> Iterator[BlackHole]:
    with BlackHole() as hole:
        yield hole


@dataclass
class Fleet:
    """Builds an inventory of the given hosts and runs the real sources over it."""

    address: Address
    ca_bundle: Path
    server: HostServer
    expiry: datetime = EXPIRY  # the not_after of name("expiring")'s certificate
    #: The simulated Route 53 zone: "lb" stands in for a load balancer name.
    zone: Mapping[str, list[str]] = field(default_factory=lambda: {name("lb"): ["127.0.0.1"]})

    def host(
        self,
        label: str,
        paths: Sequence[str] = ("/healthz",),
        *,
        address: Address | str | None = "server",
        optional: bool = False,
        skip: bool = False,
    ) -> Host:
        """A host reached at `address`: the simulated server unless told otherwise; None
        resolves its name through the zone."""
        return Host(
            role="worker",
            label=f"worker:{label}",
            hostname=name(label),
            paths=tuple(paths),
            address=self.address if address == "server" else address,  # type: ignore[arg-type]
            optional=optional,
            skip=skip,
        )

    def broker(self) -> Host:
        return Host("broker", "broker", name("broker"), BROKER_PATHS, self.address)

    def settings(self, **changes: object) -> ProbeSettings:
        defaults: dict[str, object] = {
            "connect_timeout_s": 5.0,
            "read_timeout_s": 5.0,
            "retry_delay_s": 0.01,
            "ca_bundle": self.ca_bundle,
        }
        return ProbeSettings(**{**defaults, **changes})  # type: ignore[arg-type]

    def inventory(
        self, *envs: tuple[str, Sequence[Host]], settings: ProbeSettings | None = None
    ) -> Inventory:
        environments = tuple(
            Environment(
                name=env_name,
                kind=EnvKind.TEST_SLOT,
                slot=index,
                suffix=f"-{env_name}",
                broker_host=name("broker"),
                eip_tag=f"agentkeys-broker-eip-{env_name}",
                expected_issuer=f"https://{name('broker')}",
                hosts=tuple(env_hosts),
            )
            for index, (env_name, env_hosts) in enumerate(envs, start=1)
        )
        aws = aws_settings(zone=ZONE, zone_id="Z0TEST")
        return inventory_of(environments, aws=aws, probe=settings or self.settings())

    def context(
        self,
        *,
        deadline_s: float = 30.0,
        results: Mapping[str, object] | None = None,
        pending: Mapping[str, Future[object]] | None = None,
    ) -> PassContext:
        return PassContext(
            deadline=time.monotonic() + deadline_s,
            resolver=ZoneResolver(self.zone),
            results=dict(results or {}),
            pending=dict(pending or {}),
        )

    def http(
        self,
        *hosts: Host,
        settings: ProbeSettings | None = None,
        deadline_s: float = 30.0,
        aws: object = None,
    ) -> HttpFacts:
        """Run the http source over one environment ("test-1") holding `hosts`."""
        inventory = self.inventory(("test-1", hosts), settings=settings)
        pending: dict[str, Future[object]] = {}
        if aws is not None:  # the aws source already finished, as it usually has
            pending["aws"] = Future()
            pending["aws"].set_result(aws)
        return HttpSource().collect(inventory, self.context(deadline_s=deadline_s, pending=pending))

    def tls(self, *hosts: Host, http: HttpFacts | None = None) -> TlsFacts:
        inventory = self.inventory(("test-1", hosts))
        results = {} if http is None else {"http": http}
        return TlsSource().collect(inventory, self.context(results=results))


@pytest.fixture
def fleet(hosts: HostServer, ca_bundle: Path) -> Fleet:
    return Fleet(hosts.address, ca_bundle, hosts)
