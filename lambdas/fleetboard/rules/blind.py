"""The collector's own blindness: when what failed is the collector's view, not the fleet.

A collector with no AWS credentials, no DNS or no route out sees nothing of the fleet, and
that says nothing about the fleet. The board then says so at the top, as
unknown, with the collector's cause and a next action about the collector; the checks it
could not make are unknown, never red, and lifecycles it could not read are unknown, never
"running" (docs/design.md#status-rules).

Two signals, both pure:

- a source that failed on the collector's side says so itself (`SourceFailure.blind`);
- the http probes are judged here: every probe failed before any answer, all the same way
  on the collector's side (every one a DNS failure, or every one the same kind of connect
  failure), on at least two machines. One machine failing alone is that machine's outage,
  however many host names it serves; a genuine outage where some hosts answer is never
  blindness; and names Route 53 says do not exist are missing records, not a missing
  resolver.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from fleetboard.inventory import Inventory
from fleetboard.model import (
    AwsFacts,
    HttpExchange,
    HttpFacts,
    Reason,
    SourceFailure,
)


class BlindKind(StrEnum):
    """What the collector lacks, in the order the next action names them: without a
    network nothing else can be fixed, so it comes before credentials and the rest."""

    DNS = "dns"
    CONNECT = "connect"
    CREDENTIALS = "credentials"
    OTHER = "other"


DNS, CONNECT, CREDENTIALS, OTHER = BlindKind
_ORDER = tuple(BlindKind)

#: Fewest distinct machines that must fail alike before the collector, not the fleet, is
#: the likelier cause: one machine failing alone is that machine's outage.
MIN_MACHINES = 2


@dataclass(frozen=True, slots=True)
class Blindness:
    """One thing the collector could not see, because of the collector."""

    source: str  # "http", "aws", "github", "chain", ...
    kind: BlindKind
    cause: str  # a sentence: what the collector lacks, with the evidence
    short: str = ""  # the same in a few words after "the collector": "has no DNS"

    @property
    def check_reason(self) -> str:
        """The reason of a check it could not make: starts with "collector"."""
        return f"{Reason.COLLECTOR.value}: the collector {self.short or 'cannot see'}"


def _dns_failure(exchange: HttpExchange) -> bool:
    error = exchange.error
    if error is None:
        return False
    # A lookup that hangs is reported by the timer that stopped it ("DNS lookup of x timed
    # out after 3 s"), not by the resolver: still a DNS failure.
    return error.reason is Reason.DNS or (
        error.reason is Reason.TIMEOUT and error.detail.startswith("DNS lookup of ")
    )


_ADDRESSY = re.compile(r"\[[^\]]*\]|\([^)]*\)|\b\d+(?:\.\d+){3}(?::\d+)?\b|:\d+\b")


def _connect_kind(exchange: HttpExchange) -> str | None:
    """The kind of a connect failure with its addresses left out ("connection refused",
    "Network is unreachable", "connect timed out"), or None when it is not one."""
    error = exchange.error
    if error is None:
        return None
    if error.reason is Reason.CONNECT:
        detail = error.detail.replace(exchange.host, "")
        return " ".join(_ADDRESSY.sub("", detail).split()).lower() or "connect failed"
    if error.reason is Reason.TIMEOUT and error.detail.startswith("connect to "):
        return "connect timed out"
    return None


def probe_blindness(
    http: HttpFacts | SourceFailure | None,
    inventory: Inventory,
    aws: AwsFacts | SourceFailure | None = None,
) -> Blindness | None:
    """The http probes' verdict on the collector: blind when every probe failed the same
    way on the collector's side on at least MIN_MACHINES machines, else None."""
    if not isinstance(http, HttpFacts) or not http.exchanges:
        return None
    where: dict[str, str] = {}  # host name -> the machine it is served from
    for env, host in inventory.hosts():
        where[host.hostname] = f"address {host.address.host}" if host.address else env.name
    tried = [
        e
        for e in http.exchanges.values()
        # The pass running out of time says nothing either way.
        if not (e.error is not None and e.error.reason is Reason.DEADLINE)
    ]
    if not tried or any(e.error is None for e in tried):
        return None  # something answered: the collector can see
    machines = {where.get(e.host, e.host) for e in tried}
    if len(machines) < MIN_MACHINES:
        return None
    hosts = sorted({e.host for e in tried})
    scope = f"{len(hosts)} host{'s' * (len(hosts) != 1)} on {len(machines)} machines"
    if all(_dns_failure(e) for e in tried):
        if isinstance(aws, AwsFacts) and aws.a_records:
            known = {name.lower() for name in aws.a_records}
            if not any(h.lower() in known for h in hosts):
                return None  # Route 53 agrees the names are gone: the records are missing
        example = next(e.error.detail for e in tried if e.error is not None)
        return Blindness(
            "http",
            DNS,
            f"the collector has no DNS: every name lookup failed ({scope}; e.g. {example})",
            "has no DNS",
        )
    kinds = {_connect_kind(e) for e in tried}
    if len(kinds) == 1 and None not in kinds:
        (kind,) = kinds
        return Blindness(
            "http",
            CONNECT,
            f"the collector cannot connect out: every probe failed to connect the same way "
            f"({kind}; {scope})",
            f"cannot connect out ({kind} everywhere)",
        )
    return None


def source_blindness(failure: SourceFailure) -> Blindness:
    """A source that says its failure is the collector's own, by the kind its reason names
    (a name it could not resolve, a network it could not reach, credentials it lacks)."""
    said = failure.reason.lower()
    cause = f"{failure.source}: {failure.reason}"
    if "credential" in said:
        return Blindness(
            failure.source, CREDENTIALS, cause, f"has no {failure.source.upper()} credentials"
        )
    if "resolve" in said or "dns" in said:
        # One endpoint name not resolving is not "no DNS" (it may be a typo in fleet.toml):
        # the http probes' verdict says that, when every lookup fails.
        return Blindness(failure.source, DNS, cause, f"cannot resolve {failure.source}'s endpoint")
    if "unreachable" in said or "no route" in said:
        return Blindness(failure.source, CONNECT, cause, "cannot connect out")
    return Blindness(failure.source, OTHER, cause, f"cannot reach {failure.source}")


def ordered(found: list[Blindness]) -> list[Blindness]:
    """Network first (nothing else works without it), then credentials, then the rest."""
    return sorted(found, key=lambda b: (_ORDER.index(b.kind), b.source != "http"))


def _folded(found: list[Blindness]) -> list[Blindness]:
    """The causes as the summary and next action name them: when every probe's lookup
    failed, or two or more endpoints do not resolve, the collector has no DNS, and one
    "no DNS" says it for all of them (each endpoint stays named in the issue's text)."""
    dns = [b for b in found if b.kind is DNS]
    if not any(b.source == "http" for b in dns) and len(dns) < 2:
        return ordered(found)
    no_dns = Blindness("dns", DNS, "; ".join(b.cause for b in ordered(dns)), "has no DNS")
    return [no_dns, *(b for b in ordered(found) if b.kind is not DNS)]


def short_text(found: list[Blindness]) -> str:
    """The collector's cause(s) in a few words: "the collector has no DNS and has no AWS
    credentials"."""
    parts = dict.fromkeys(b.short or f"cannot see {b.source}" for b in _folded(found))
    return "the collector " + " and ".join(parts)


def summary_text(found: list[Blindness]) -> str:
    """The collector's cause(s), one sentence: what Summary.blind carries."""
    return "; ".join(b.cause for b in ordered(found))


def next_action(found: list[Blindness]) -> str:
    """One thing to do about the collector, with the others after "also"."""
    actions = []
    for b in _folded(found):
        if b.kind is DNS and b.source != "dns":
            text = (
                f"the collector cannot resolve {b.source}'s endpoint: check its network and "
                f"resolver, and the {b.source} endpoint in fleet.toml, then collect again"
            )
        elif b.kind is DNS:
            text = (
                "the collector has no DNS: check its network (resolver, VPN, "
                "`/etc/resolv.conf`) and collect again"
            )
        elif b.kind is CONNECT:
            text = (
                "the collector cannot connect out: check its network, proxy or firewall "
                "and collect again"
            )
        elif b.kind is CREDENTIALS and b.source == "aws":
            text = (
                "give the collector AWS credentials (a profile, a role or `AWS_*` environment "
                "variables) and collect again"
            )
        else:
            text = f"fix the collector's access to {b.source} ({b.cause})"
        if text not in actions:
            actions.append(text)
    first, *rest = actions
    also = "".join(f" Also {a}." for a in rest)
    return (
        f"{first[0].upper()}{first[1:]}.{also} Until then the board is blind: what the "
        "collector could not see is unknown, not down."
    )
