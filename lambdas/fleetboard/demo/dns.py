"""The simulated Route 53 zone as a Resolver: names answer from a dict, never from the wire.

Anything not in the zone raises the same `socket.gaierror(EAI_NONAME)` getaddrinfo raises
for an NXDOMAIN, so the demo and the tests see a real DNS failure without leaving loopback.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable, Mapping


class ZoneResolver:
    """A `fleetboard.sources.Resolver` over a name -> IPs dict.

    >>> resolve = ZoneResolver({"broker-test-2.example.org": ["127.0.0.1"]})
    >>> resolve("BROKER-test-2.example.org.", 443)
    ['127.0.0.1']
    """

    def __init__(self, records: Mapping[str, Iterable[str]]) -> None:
        self._records = {_key(name): list(ips) for name, ips in records.items()}

    def __call__(self, host: str, port: int) -> list[str]:
        try:
            return [str(ipaddress.ip_address(host))]  # literals resolve to themselves
        except ValueError:
            pass
        ips = self._records.get(_key(host))
        if not ips:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return list(ips)

    @property
    def names(self) -> frozenset[str]:
        return frozenset(self._records)


def _key(name: str) -> str:
    return name.lower().rstrip(".")
