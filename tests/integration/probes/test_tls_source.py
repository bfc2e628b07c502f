"""The tls source: one certificate per probed host, reusing the http probes' handshakes."""

from __future__ import annotations

from fleetboard.demo.hosts import BlackHole
from fleetboard.model import CertFacts, ProbeError, Reason


def test_the_tls_source_reuses_every_handshake_the_http_probes_made(fleet) -> None:
    hosts = [fleet.broker(), fleet.host("audit"), fleet.host("cred"), fleet.host("expiring")]
    http = fleet.http(*hosts)
    before = fleet.server.stats().tcp_connections
    tls = fleet.tls(*hosts, http=http)
    assert tls.reused == len(hosts)
    assert fleet.server.stats().tcp_connections == before  # not one new connection
    assert tls.certs["expiring.fleet.test"] == http.certs["expiring.fleet.test"]


def test_without_http_facts_the_tls_source_handshakes_by_itself(fleet) -> None:
    hosts = [fleet.host("audit"), fleet.host("expiring")]
    before = fleet.server.stats().connections.get("expiring.fleet.test", 0)
    tls = fleet.tls(*hosts)
    assert tls.reused == 0
    assert fleet.server.stats().connections["expiring.fleet.test"] - before == 1
    cert = tls.certs["expiring.fleet.test"]
    assert isinstance(cert, CertFacts)
    assert (cert.verified, cert.not_after) == (True, fleet.expiry)


def test_a_rejected_certificate_read_by_the_tls_source_keeps_its_dates_and_error(fleet) -> None:
    tls = fleet.tls(fleet.host("expired"), fleet.host("mismatch"))
    expired = tls.certs["expired.fleet.test"]
    mismatch = tls.certs["mismatch.fleet.test"]
    assert isinstance(expired, CertFacts) and isinstance(mismatch, CertFacts)
    assert (expired.verified, expired.error) == (False, "certificate has expired")
    assert expired.not_after is not None
    assert mismatch.error is not None and mismatch.error.startswith("Hostname mismatch")


def test_a_host_the_http_probe_never_reached_gets_the_same_reason(
    fleet, black_hole: BlackHole
) -> None:
    hole = fleet.host("audit", address=black_hole.address)
    missing = fleet.host("classify", address=None)
    http = fleet.http(hole, missing, settings=fleet.settings(connect_timeout_s=0.2))
    tls = fleet.tls(hole, missing, http=http)
    assert tls.certs["audit.fleet.test"] == http.exchanges[("audit.fleet.test", "/healthz")].error
    dns = tls.certs["classify.fleet.test"]
    assert isinstance(dns, ProbeError) and dns.reason is Reason.DNS
    assert tls.reused == 0


def test_hosts_the_http_source_skipped_get_no_certificate_check(fleet) -> None:
    hosts = [fleet.host("audit"), fleet.host("cred", skip=True)]
    tls = fleet.tls(*hosts, http=fleet.http(*hosts))
    assert set(tls.certs) == {"audit.fleet.test"}
