"""One environment's checks: its machine, every probed path, every certificate, and those
of the sources registered without rules of their own (registry.SourceKind.checks)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from fleetboard.inventory import (
    HEALTH_PATH,
    ISSUER_PATH,
    MACHINE_CHECK,
    READY_PATH,
    Environment,
    Host,
    Thresholds,
    http_check_name,
    tls_check_name,
)
from fleetboard.lifecycle import find_address, find_instance
from fleetboard.model import (
    AwsFacts,
    CertFacts,
    CertSummary,
    Check,
    CheckKind,
    HttpFacts,
    Lifecycle,
    Machine,
    SourceFailure,
    Status,
    TlsFacts,
)
from fleetboard.rules.verdicts import (
    Verdict,
    classify_cert,
    classify_health,
    classify_issuer,
    classify_readyz,
    days_left,
    optional_verdict,
)

_CLASSIFIERS = {
    HEALTH_PATH: classify_health,
    READY_PATH: classify_readyz,
    ISSUER_PATH: classify_issuer,
}


def http_checks(
    env: Environment,
    http: HttpFacts | SourceFailure | None,
    slow_ms: float,
    blind: str | None = None,
) -> list[Check]:
    """`blind`: the collector's cause when its probes could not see (rules/blind.py): a
    probe that got no answer is then unknown with that reason, never red."""
    checks = []
    for host in env.hosts:
        if host.skip:
            continue
        for path in host.paths:
            subject = _Subject(
                f"http:{host.hostname}{path}", http_check_name(host, path), CheckKind.HTTP, host
            )
            if not isinstance(http, HttpFacts):
                why = http.reason if isinstance(http, SourceFailure) else "not collected"
                checks.append(subject.unknown(f"source: http failed: {why}"))
                continue
            exchange = http.exchanges.get((host.hostname, path))
            if exchange is None:
                why = http.skipped.get(host.hostname, "not probed this pass")
                checks.append(subject.unknown(f"internal: {why}"))
                continue
            if blind is not None and exchange.error is not None:
                checks.append(subject.unknown(blind))
                continue
            verdict = _CLASSIFIERS.get(path, classify_health)(exchange, slow_ms)
            checks.append(
                subject.judged(verdict, exchange.observed_at, latency_ms=exchange.latency_ms)
            )
    return checks


def tls_checks(
    env: Environment,
    tls: TlsFacts | SourceFailure | None,
    now: datetime,
    amber: int,
    red: int,
    blind: str | None = None,
) -> list[Check]:
    checks = []
    for host in env.hosts:
        if host.skip:
            continue
        subject = _Subject(f"tls:{host.hostname}", tls_check_name(host), CheckKind.TLS, host)
        if not isinstance(tls, TlsFacts):
            why = tls.reason if isinstance(tls, SourceFailure) else "not collected"
            checks.append(subject.unknown(f"source: tls failed: {why}"))
            continue
        seen = tls.certs.get(host.hostname)
        if isinstance(seen, CertFacts):
            verdict = classify_cert(seen, now, amber, red)
            left = days_left(seen.not_after, now) if seen.not_after else None
            cert = CertSummary(not_after=seen.not_after, days_left=left, issuer=seen.issuer)
            checks.append(subject.judged(verdict, seen.observed_at, cert=cert))
        else:
            # No certificate seen: the http check already carries the failure in red, so
            # this one only says the certificate could not be observed.
            detail = f"{seen.reason.value}: {seen.detail}" if seen else "internal: not checked"
            if blind is not None and seen is not None:
                detail = blind
            checks.append(subject.unknown(detail))
    return checks


@dataclass(frozen=True, slots=True)
class _Subject:
    """What a check is about, whatever its verdict: its id, name and kind, the source that
    observes it (by default the one its kind names), and the host it probes, if any."""

    id: str
    name: str
    kind: CheckKind
    host: Host | None = None
    source: str | None = None

    def judged(
        self,
        verdict: Verdict,
        observed_at: datetime | None,
        *,
        latency_ms: float | None = None,
        cert: CertSummary | None = None,
    ) -> Check:
        """The check with this verdict; an optional host's is softened (optional_verdict)."""
        optional = self.host is not None and self.host.optional
        status, reason, summary = optional_verdict(verdict) if optional else verdict
        return Check(
            id=self.id,
            name=self.name,
            kind=self.kind,
            status=status,
            reason=reason,
            summary=summary,
            source=self.source or self.kind.value,
            observed_at=observed_at,
            host=self.host.hostname if self.host else None,
            latency_ms=latency_ms,
            optional=optional,
            cert=cert,
        )

    def unknown(self, reason: str) -> Check:
        """Not observed: the summary says why, without the reason's leading word."""
        why = reason.split(": ", 1)[-1]
        return self.judged((Status.UNKNOWN, reason, f"not observed: {why}"), None)


@dataclass(frozen=True, slots=True)
class Judging:
    """What a source's checks rule may read besides its facts: the pass's clock, the
    thresholds, the collector's own cause when its probes could not see, and the machine
    the aws source found behind the environment (its instance id, for sources keyed by it)."""

    now: datetime
    thresholds: Thresholds
    blind: str | None = None
    machine: Machine | None = None


#: A registered source's rule: (environment, its facts, judging) -> that environment's checks.
SourceRule = Callable[[Environment, object, Judging], Sequence[Check]]


def source_checks(
    env: Environment, name: str, seen: object, rule: SourceRule, judging: Judging
) -> list[Check]:
    """A registered source's checks for one running environment. When the source failed
    (or gave no answer) there is nothing to judge: one unknown check says why, so the card
    never shows as seen what was not."""
    if seen is None or isinstance(seen, SourceFailure):
        why = seen.reason if isinstance(seen, SourceFailure) else "not collected"
        subject = _Subject(
            f"{CheckKind.SOURCE}:{name}:{env.name}", name, CheckKind.SOURCE, source=name
        )
        return [subject.unknown(f"source: {name} failed: {why}")]
    return list(rule(env, seen, judging))


def machine_view(env: Environment, aws: AwsFacts | SourceFailure | None) -> Machine:
    facts = aws if isinstance(aws, AwsFacts) else None
    address = find_address(env, facts) if facts else None
    instance = find_instance(env, facts) if facts else None
    return Machine(
        instance_id=instance.instance_id
        if instance
        else (address.instance_id if address else None),
        state=instance.state if instance else None,
        instance_type=instance.instance_type if instance else None,
        launched_at=instance.launched_at if instance else None,
        eip=address.public_ip if address else None,
        eip_tag=env.eip_tag,
        eip_declared=env.eip,
    )


def machine_check(
    env: Environment, lifecycle: Lifecycle, machine: Machine, aws: object, now: datetime
) -> Check:
    observed = now if isinstance(aws, AwsFacts) else None
    subject = _Subject(f"machine:{env.name}", MACHINE_CHECK, CheckKind.MACHINE, source="aws")

    def verdict(status: Status, reason: str, summary: str, seen: datetime | None) -> Check:
        return subject.judged((status, reason, summary), seen)

    if lifecycle is Lifecycle.UNKNOWN:
        why = aws.reason if isinstance(aws, SourceFailure) else "not collected"
        return verdict(Status.UNKNOWN, f"source: aws failed: {why}", "machine not observed", None)
    if lifecycle is Lifecycle.RETIRED:
        return verdict(
            Status.UNKNOWN, "skipped: retired", "retired in fleet.toml; not probed", None
        )
    if lifecycle is Lifecycle.MISSING:
        summary = f"no instance behind an EIP tagged {env.eip_tag}"
        return verdict(Status.UNKNOWN, "state: no instance", summary, observed)
    uptime = ""
    # launched_at is the last start: an uptime only while it runs, never for a stopped one.
    if machine.launched_at is not None and machine.state == "running":
        up = (now - machine.launched_at).total_seconds()
        uptime = f", up {_duration(up)}" if up >= 0 else ""
    what = f"{machine.instance_id} {machine.state}, {machine.instance_type}{uptime}"
    if lifecycle is Lifecycle.STOPPED:
        return verdict(Status.UNKNOWN, "stopped: probes skipped", what, observed)
    if machine.state != "running":  # pending, rebooting: up soon, worth a look if it stays
        return verdict(Status.AMBER, f"state: {machine.state}", what, observed)
    return verdict(Status.GREEN, "", what, observed)


def _duration(seconds: float) -> str:
    if seconds >= 2 * 86400:
        return f"{seconds / 86400:.0f} d"
    if seconds >= 2 * 3600:
        return f"{seconds / 3600:.0f} h"
    return f"{seconds / 60:.0f} min"
