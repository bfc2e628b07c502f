"""The tls source reads each host's own outcome from the http facts, whatever the fleet's size.

It gathers the http exchanges by host once (looking every host up in the whole list made a
1,000-environment pass spend 4 s in this source); these tests hold what each host must get
from that lookup: its own certificate, or its own reason, never a neighbour's.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from tests.integration.fixtures.inventory import aws_settings, inventory_of

from fleetboard.demo.dns import ZoneResolver
from fleetboard.demo.hosts import BlackHole, CertKind, HostServer, SimHost, text_reply
from fleetboard.inventory import BROKER_PATHS, Environment, Host, ProbeSettings
from fleetboard.model import CertFacts, EnvKind, HttpExchange, HttpFacts, ProbeError, Reason
from fleetboard.sources import PassContext
from fleetboard.sources.http import HttpSource
from fleetboard.sources.tls import TlsSource

ZONE = "index.test"
ENVS = 4
WORKERS = ("audit", "cred", "signer")


def _name(label: str, env: int) -> str:
    return f"{label}-{env}.{ZONE}"


def _env_hosts(env: int) -> dict[str, str]:
    """label -> what the host is, in one environment: three served workers, one with an
    expired certificate, one black-holed host and one in no DNS. The broker (three paths,
    so three exchanges) is the black-holed one in odd environments, the one in no DNS in
    even ones."""
    hole, gone = ("broker", "worker") if env % 2 else ("worker", "broker")
    return {
        **dict.fromkeys(WORKERS, "served"),
        "expired": "expired",
        f"{hole}-hole" if hole == "worker" else "broker": "hole",
        f"{gone}-gone" if gone == "worker" else "broker": "gone",
    }


@pytest.fixture(scope="module")
def server() -> Iterator[HostServer]:
    """Every answering name of the fleet on one listener, each with its own certificate."""
    served = [
        SimHost(_name(w, env), {"/healthz": text_reply("ok")})
        for env in range(1, ENVS + 1)
        for w in WORKERS
    ] + [
        SimHost(_name("expired", env), {"/healthz": text_reply("ok")}, CertKind.EXPIRED)
        for env in range(1, ENVS + 1)
    ]
    with HostServer(served) as running:
        yield running


def _fleet(server: HostServer, hole: BlackHole) -> tuple[list[Environment], dict[str, str]]:
    """ENVS environments, and host name -> what that host is."""
    kinds: dict[str, str] = {}
    envs = []
    for env in range(1, ENVS + 1):
        hosts = []
        for label, kind in _env_hosts(env).items():
            hostname = _name(label, env)
            kinds[hostname] = kind
            address = {"hole": hole.address, "gone": None}.get(kind, server.address)
            paths = BROKER_PATHS if label == "broker" else ("/healthz",)
            hosts.append(Host("worker", f"worker:{label}", hostname, paths, address))
        envs.append(
            Environment(
                name=f"test-{env}",
                kind=EnvKind.TEST_SLOT,
                slot=env,
                suffix=f"-{env}",
                broker_host=_name("broker", env),
                eip_tag=f"agentkeys-broker-eip-test-{env}",
                expected_issuer=f"https://{_name('broker', env)}",
                hosts=tuple(hosts),
            )
        )
    return envs, kinds


def _context(results: dict[str, object] | None = None) -> PassContext:
    # An empty zone: a host with no address fails its lookup (NXDOMAIN), as a name gone is.
    return PassContext(
        deadline=time.monotonic() + 30, resolver=ZoneResolver({}), results=results or {}
    )


def test_every_host_of_a_fleet_gets_its_own_certificate_or_its_own_reason(
    server: HostServer, tmp_path: Path
) -> None:
    with BlackHole() as hole:
        ca = server.write_ca(tmp_path / "ca.pem")
        envs, kinds = _fleet(server, hole)
        settings = ProbeSettings(connect_timeout_s=0.3, retry_delay_s=0.01, ca_bundle=ca)
        inventory = inventory_of(envs, aws=aws_settings(zone=ZONE), probe=settings)
        http = HttpSource().collect(inventory, _context())
        before = server.stats().tcp_connections
        tls = TlsSource().collect(inventory, _context({"http": http}))

    assert set(tls.certs) == set(kinds)
    # Reached hosts: the certificate of that host's own handshake, and not one new connection.
    assert server.stats().tcp_connections == before
    reached = [h for h, kind in kinds.items() if kind in ("served", "expired")]
    assert tls.reused == len(reached) == ENVS * (len(WORKERS) + 1)
    for hostname in reached:
        cert = tls.certs[hostname]
        assert isinstance(cert, CertFacts), hostname
        assert cert == http.certs[hostname]
        assert cert.subject == hostname
        assert cert.verified is (kinds[hostname] == "served"), hostname
        if kinds[hostname] == "expired":
            assert cert.error == "certificate has expired"
    # Unreached hosts, brokers with three failed exchanges among them: the reason of their
    # own first GET, naming them.
    unreached = [h for h, kind in kinds.items() if kind in ("hole", "gone")]
    assert len(unreached) == 2 * ENVS
    for hostname in unreached:
        error = tls.certs[hostname]
        first = next(ex for (host, _), ex in http.exchanges.items() if host == hostname)
        assert isinstance(error, ProbeError), hostname
        assert error == first.error
        assert hostname in error.detail
        expected = Reason.TIMEOUT if kinds[hostname] == "hole" else Reason.DNS
        assert error.reason is expected, (hostname, error)


def test_a_hosts_first_failure_is_its_own_whatever_other_hosts_exchanges_lie_between(
    fleet,
) -> None:
    # Hand-made http facts, the hosts' exchanges interleaved: only each host's own, in its
    # own order, decide whether the tls source reuses a reason or handshakes itself.
    timed_out = fleet.host("timedout", address=None)
    gone = fleet.host("gone", address=None)
    answered_once = fleet.host("audit")  # one GET failed, one answered: it was reachable
    tls_failed = fleet.host("cred")  # its first failure was at TLS: worth a handshake
    at = datetime.now(UTC)

    def failed(host: Host, path: str, reason: Reason, detail: str) -> HttpExchange:
        return HttpExchange(host.hostname, path, at, 1, error=ProbeError(reason, detail))

    order = [
        failed(timed_out, "/healthz", Reason.TIMEOUT, "timedout first"),
        failed(answered_once, "/healthz", Reason.CONNECT, "audit refused"),
        failed(gone, "/healthz", Reason.DNS, "gone first"),
        failed(tls_failed, "/healthz", Reason.TLS, "cred handshake reset"),
        failed(timed_out, "/readyz", Reason.CONNECT, "timedout second"),
        HttpExchange(answered_once.hostname, "/readyz", at, 1, status_code=200, body="ok"),
        failed(tls_failed, "/readyz", Reason.CONNECT, "cred refused"),
        failed(gone, "/readyz", Reason.TIMEOUT, "gone second"),
    ]
    http = HttpFacts(exchanges={(ex.host, ex.path): ex for ex in order}, certs={})
    tls = fleet.tls(timed_out, gone, answered_once, tls_failed, http=http)

    assert tls.certs[timed_out.hostname] == ProbeError(Reason.TIMEOUT, "timedout first")
    assert tls.certs[gone.hostname] == ProbeError(Reason.DNS, "gone first")
    for host in (answered_once, tls_failed):  # handshaken by the tls source itself
        cert = tls.certs[host.hostname]
        assert isinstance(cert, CertFacts) and cert.verified, cert
        assert cert.subject == host.hostname
    assert tls.reused == 0
