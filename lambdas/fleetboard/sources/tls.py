"""The tls source: one certificate per probed host name, for expiry, issuer and name checks.

It reuses the handshakes the http probes already made, and handshakes by itself only for
hosts those did not reach the TLS layer of (or all hosts, when the http source failed).
"""

from __future__ import annotations

from typing import ClassVar

from fleetboard.inventory import Host, Inventory
from fleetboard.model import CertFacts, HttpFacts, ProbeError, Reason, TlsFacts
from fleetboard.sources import PassContext
from fleetboard.sources.http import probe_targets
from fleetboard.sources.net import read_certificates, run_sync

#: Failures that say the host was never reached at the TLS layer: the tls source cannot do
#: better by trying again in the same pass, so it reports the same reason.
_UNREACHED = frozenset({Reason.DNS, Reason.CONNECT, Reason.TIMEOUT, Reason.DEADLINE})


def _unreached(errors: list[ProbeError | None]) -> ProbeError | None:
    """The http probe's failure when every GET to a host (its `errors`, in the order the
    probes made them) failed before TLS completed."""
    if not errors or any(error is None for error in errors):
        return None
    first = errors[0]
    return first if first is not None and first.reason in _UNREACHED else None


def _errors_by_host(http: HttpFacts) -> dict[str, list[ProbeError | None]]:
    """Each host's GET outcomes, gathered in one walk over the exchanges: looking each host
    up in the whole list instead made the source quadratic (4 s at 1,000 environments)."""
    errors: dict[str, list[ProbeError | None]] = {}
    for (host, _), exchange in http.exchanges.items():
        errors.setdefault(host, []).append(exchange.error)
    return errors


class TlsSource:
    name: ClassVar[str] = "tls"
    needs: ClassVar[tuple[str, ...]] = ("http",)
    wants: ClassVar[tuple[str, ...]] = ()

    def collect(self, inventory: Inventory, ctx: PassContext) -> TlsFacts:
        hosts, _ = probe_targets(inventory, ctx.results.get("aws"))
        http = ctx.results.get("http")
        if isinstance(http, HttpFacts):
            hosts = [h for h in hosts if h.hostname not in http.skipped]
            known = _from_http(hosts, http)
        else:
            known = {}
        reused = sum(isinstance(found, CertFacts) for found in known.values())
        missing: list[Host] = [h for h in hosts if h.hostname not in known]
        own = run_sync(read_certificates(missing, inventory.probe, ctx)) if missing else {}
        certs = {**own, **known}
        return TlsFacts(certs={h.hostname: certs[h.hostname] for h in hosts}, reused=reused)


def _from_http(hosts: list[Host], http: HttpFacts) -> dict[str, CertFacts | ProbeError]:
    """What the http pass already knows: a handshake's certificate, or why none happened."""
    known: dict[str, CertFacts | ProbeError] = {}
    by_host = _errors_by_host(http)
    for host in hosts:
        cert = http.certs.get(host.hostname)
        error = _unreached(by_host.get(host.hostname, []))
        if cert is not None:
            known[host.hostname] = cert
        elif error is not None:
            known[host.hostname] = error
    return known
