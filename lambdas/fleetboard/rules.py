"""The status rules, all in one pure module: observations in; checks, rollups and issues out.

No I/O and no clock: `now` is passed in, so every rule is a table-driven test. The order of
decisions follows DESIGN §5: per-check status, lifecycle apart from health, drift flags,
the environment rollup, the fleet summary with its issues (red first) and one next action.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from fleetboard import text
from fleetboard.inventory import HEALTH_PATH, ISSUER_PATH, READY_PATH, Environment, Host, Inventory
from fleetboard.model import (
    SEVERITY,
    AddressFacts,
    AwsFacts,
    Board,
    CertFacts,
    CertSummary,
    Check,
    CollectorInfo,
    Drift,
    EnvironmentView,
    EnvKind,
    HttpExchange,
    HttpFacts,
    InstanceFacts,
    Issue,
    Lifecycle,
    Machine,
    ProbeError,
    Reason,
    SourceFailure,
    Status,
    Summary,
    TlsFacts,
)

_STOPPED_STATES = frozenset({"stopping", "stopped", "shutting-down", "terminated"})
_KIB = 1024


@dataclass(frozen=True, slots=True)
class Observations:
    """What the sources returned this pass; None when a source did not run."""

    aws: AwsFacts | SourceFailure | None = None
    http: HttpFacts | SourceFailure | None = None
    tls: TlsFacts | SourceFailure | None = None
    failures: tuple[SourceFailure, ...] = field(default=())

    def all_failures(self) -> list[SourceFailure]:
        found = [o for o in (self.aws, self.http, self.tls) if isinstance(o, SourceFailure)]
        return found + [f for f in self.failures if f not in found]


# --------------------------------------------------------------------------- lifecycle


def find_address(env: Environment, aws: AwsFacts) -> AddressFacts | None:
    """The EIP whose Name tag is exactly the environment's tag (never a first match, #201)."""
    for address in aws.addresses:
        if address.tag == env.eip_tag:
            return address
    return None


def find_instance(env: Environment, aws: AwsFacts) -> InstanceFacts | None:
    """The instance behind the environment's EIP, else the one fleet.toml declares."""
    address = find_address(env, aws)
    if address is not None and address.instance_id in aws.instances:
        return aws.instances[address.instance_id]
    if env.instance_id is not None:
        return aws.instances.get(env.instance_id)
    return None


def env_lifecycle(env: Environment, aws: AwsFacts | SourceFailure | None) -> Lifecycle:
    """Running, stopped, missing, retired, or unknown when AWS could not be read."""
    if env.retired:
        return Lifecycle.RETIRED
    if not isinstance(aws, AwsFacts):
        return Lifecycle.UNKNOWN
    instance = find_instance(env, aws)
    if instance is None:  # no EIP by tag, or an EIP with no instance behind it
        return Lifecycle.MISSING
    if instance.state in _STOPPED_STATES:
        return Lifecycle.STOPPED
    return Lifecycle.RUNNING


# --------------------------------------------------------------------------- verdicts
# Each classify_* returns (status, reason, summary). reason is "" when green, otherwise it
# starts with a Reason value so tools can group by failure class.

Verdict = tuple[Status, str, str]


def _ms(latency_ms: float | None) -> str:
    return "" if latency_ms is None else f" in {text.latency(latency_ms)}"


def classify_probe_error(error: ProbeError) -> Verdict:
    """A probe with no HTTP answer. The layer tells the operator where to look."""
    detail = error.detail
    match error.reason:
        case Reason.DNS | Reason.CONNECT | Reason.TIMEOUT:
            # The transport's detail is already a sentence: "connection refused",
            # "NXDOMAIN: x does not resolve", "TLS handshake timed out after 4 s".
            return Status.RED, f"{error.reason.value}: {detail}", detail
        case Reason.TLS:
            return Status.RED, f"tls: {detail}", f"TLS: {detail}"
        case Reason.HTTP | Reason.BODY:  # it answered, but not in HTTP we could read
            return Status.RED, f"{error.reason.value}: {detail}", detail
        case Reason.DEADLINE:
            return Status.UNKNOWN, f"deadline: {detail}", "not probed: the pass ran out of time"
        case _:
            return Status.UNKNOWN, f"{error.reason.value}: {detail}", detail


def _json_object(body: str) -> dict[str, Any] | None:
    try:
        value = json.loads(body)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _first_failure(exchange: HttpExchange, slow_ms: float) -> Verdict | None:
    """The verdict shared by every path: no answer, a non-200, or a body too big to read."""
    if exchange.error is not None:
        return classify_probe_error(exchange.error)
    code = exchange.status_code
    took = _ms(exchange.latency_ms)
    if exchange.body_truncated:
        return (
            Status.RED,
            "body: too large",
            f"HTTP {code}{took}, but the body is over the cap; not a health answer",
        )
    if code != 200:
        return Status.RED, f"http {code}", f"HTTP {code}{took}"
    return None


def _slow(verdict: Verdict, exchange: HttpExchange, slow_ms: float) -> Verdict:
    if verdict[0] is Status.GREEN and (exchange.latency_ms or 0) > slow_ms:
        return Status.AMBER, "slow: over the slow_ms threshold", verdict[2]
    return verdict


def classify_health(exchange: HttpExchange, slow_ms: float) -> Verdict:
    """/healthz: `ok` text, or JSON with "ok": true; a bundler not ready is amber, not red."""
    failure = _first_failure(exchange, slow_ms)
    if failure is not None:
        return failure
    took = _ms(exchange.latency_ms)
    doc = _json_object(exchange.body)
    if doc is None:
        if re.search(r"\bok\b", exchange.body, re.IGNORECASE):
            return _slow((Status.GREEN, "", f"HTTP 200 ok{took}"), exchange, slow_ms)
        shown = exchange.body.strip()[:60] or "(empty)"
        return Status.RED, "body: not ok", f"HTTP 200{took} but the body is {shown!r}, not ok"
    if doc.get("ok") is not True:
        return (
            Status.RED,
            "body: ok is not true",
            f"HTTP 200{took} but ok={json.dumps(doc.get('ok'))}",
        )
    if doc.get("ready") is False:
        why = doc.get("reason") or ", ".join(map(str, doc.get("missing") or [])) or "no reason"
        return Status.AMBER, "body: not ready", f"ok but not ready: {str(why)[:120]}"
    return _slow((Status.GREEN, "", f"HTTP 200 ok{took}"), exchange, slow_ms)


def classify_readyz(exchange: HttpExchange, slow_ms: float) -> Verdict:
    """Broker /readyz: ready green, degraded amber (test slots boot degraded), unready red."""
    if exchange.error is None and exchange.status_code in (200, 503):
        doc = _json_object(exchange.body) if not exchange.body_truncated else None
        if doc is not None and isinstance(doc.get("status"), str):
            took = _ms(exchange.latency_ms)
            failing = [
                str(c.get("name"))
                for c in doc.get("checks") or []
                if isinstance(c, dict) and c.get("status") not in ("ok", "ready", "pass")
            ]
            detail = ", ".join(failing[:4]) or "no failing check named"
            match doc["status"]:
                case "ready":
                    return _slow((Status.GREEN, "", f"ready{took}"), exchange, slow_ms)
                case "degraded":
                    return Status.AMBER, "body: degraded", f"degraded: {detail}"
                case "unready":
                    return Status.RED, f"http {exchange.status_code}", f"unready: {detail}"
    if exchange.error is None and exchange.status_code == 404:
        return Status.AMBER, "http 404", "no /readyz on this build (HTTP 404)"
    failure = _first_failure(exchange, slow_ms)
    if failure is not None:
        return failure
    return Status.RED, "body: no status", "HTTP 200 but no readiness status in the body"


def deployed_issuer(exchange: HttpExchange | None) -> str | None:
    """The `issuer` of /.well-known/openid-configuration, if the broker answered one."""
    if exchange is None or exchange.error is not None or exchange.status_code != 200:
        return None
    doc = _json_object(exchange.body)
    issuer = doc.get("issuer") if doc else None
    return issuer if isinstance(issuer, str) else None


def classify_issuer(exchange: HttpExchange, slow_ms: float) -> Verdict:
    """Whether the broker tells its issuer; whether it is the right one is a drift rule."""
    issuer = deployed_issuer(exchange)
    if issuer is not None:
        return Status.GREEN, "", f"issuer {issuer}"
    failure = _first_failure(exchange, slow_ms)
    if failure is not None:
        status, reason, summary = failure
        # The broker's own health has its check; an unreadable issuer only hides drift.
        return (
            (Status.AMBER if status is Status.RED else status),
            reason,
            f"issuer unknown: {summary}",
        )
    return Status.AMBER, "body: no issuer", "issuer unknown: no issuer in the answer"


def days_left(not_after: datetime, now: datetime) -> int:
    """Whole days until expiry, rounded down; negative once expired."""
    return math.floor((not_after - now).total_seconds() / 86400)


def classify_cert(cert: CertFacts, now: datetime, amber_days: int, red_days: int) -> Verdict:
    """Days left against the thresholds; a certificate that does not verify is red."""
    left = days_left(cert.not_after, now) if cert.not_after else None
    if not cert.verified:
        when = f" (expires in {left} days)" if left is not None and left >= 0 else ""
        return (
            Status.RED,
            f"tls: {cert.error or 'not verified'}",
            f"{cert.error or 'not verified'}{when}",
        )
    if left is None:
        return Status.UNKNOWN, "cert: no expiry date", "certificate has no expiry date"
    if left < 0:
        return Status.RED, "cert: expired", f"certificate expired {-left} days ago"
    if left <= red_days:
        return Status.RED, "cert: expiring", f"certificate expires in {left} days"
    if left <= amber_days:
        return (
            Status.AMBER,
            "cert: expiring",
            f"certificate expires in {left} days; renewal is late",
        )
    return Status.GREEN, "", f"valid {left} more days ({cert.issuer})"


def optional_verdict(verdict: Verdict) -> Verdict:
    """An optional endpoint never makes its environment red: absent is grey, broken amber."""
    status, reason, summary = verdict
    if status is not Status.RED:
        return verdict
    if reason.startswith("dns"):
        return Status.UNKNOWN, f"optional: {reason}", f"{summary} (optional)"
    return Status.AMBER, reason, f"{summary} (optional)"


# --------------------------------------------------------------------------- checks


def _path_name(host: Host, path: str) -> str:
    if path == HEALTH_PATH:
        return host.label
    return f"{host.label}:{'readyz' if path == READY_PATH else 'issuer'}"


_CLASSIFIERS = {
    HEALTH_PATH: classify_health,
    READY_PATH: classify_readyz,
    ISSUER_PATH: classify_issuer,
}


def http_checks(
    env: Environment, http: HttpFacts | SourceFailure | None, slow_ms: float
) -> list[Check]:
    checks = []
    for host in env.hosts:
        if host.skip:
            continue
        for path in host.paths:
            check_id = f"http:{host.hostname}{path}"
            name = _path_name(host, path)
            if not isinstance(http, HttpFacts):
                why = http.reason if isinstance(http, SourceFailure) else "not collected"
                checks.append(_unknown(check_id, name, "http", host, f"source: http failed: {why}"))
                continue
            exchange = http.exchanges.get((host.hostname, path))
            if exchange is None:
                why = http.skipped.get(host.hostname, "not probed this pass")
                checks.append(_unknown(check_id, name, "http", host, f"internal: {why}"))
                continue
            verdict = _CLASSIFIERS.get(path, classify_health)(exchange, slow_ms)
            if host.optional:
                verdict = optional_verdict(verdict)
            status, reason, summary = verdict
            checks.append(
                Check(
                    id=check_id,
                    name=name,
                    kind="http",
                    status=status,
                    reason=reason,
                    summary=summary,
                    source="http",
                    observed_at=exchange.observed_at,
                    host=host.hostname,
                    latency_ms=exchange.latency_ms,
                    optional=host.optional,
                )
            )
    return checks


def tls_checks(
    env: Environment, tls: TlsFacts | SourceFailure | None, now: datetime, amber: int, red: int
) -> list[Check]:
    checks = []
    for host in env.hosts:
        if host.skip:
            continue
        check_id = f"tls:{host.hostname}"
        name = f"tls:{host.label.removeprefix('worker:')}"
        if not isinstance(tls, TlsFacts):
            why = tls.reason if isinstance(tls, SourceFailure) else "not collected"
            checks.append(_unknown(check_id, name, "tls", host, f"source: tls failed: {why}"))
            continue
        seen = tls.certs.get(host.hostname)
        if isinstance(seen, CertFacts):
            verdict = classify_cert(seen, now, amber, red)
            if host.optional:
                verdict = optional_verdict(verdict)
            left = days_left(seen.not_after, now) if seen.not_after else None
            cert = CertSummary(not_after=seen.not_after, days_left=left, issuer=seen.issuer)
            checks.append(
                Check(
                    id=check_id,
                    name=name,
                    kind="tls",
                    status=verdict[0],
                    reason=verdict[1],
                    summary=verdict[2],
                    source="tls",
                    observed_at=seen.observed_at,
                    host=host.hostname,
                    optional=host.optional,
                    cert=cert,
                )
            )
        else:
            # No certificate seen: the http check already carries the failure in red, so
            # this one only says the certificate could not be observed.
            detail = f"{seen.reason.value}: {seen.detail}" if seen else "internal: not checked"
            checks.append(_unknown(check_id, name, "tls", host, detail))
    return checks


def _unknown(check_id: str, name: str, kind: str, host: Host, reason: str) -> Check:
    summary = reason.split(": ", 1)[-1]
    return Check(
        id=check_id,
        name=name,
        kind=kind,
        status=Status.UNKNOWN,
        reason=reason,
        summary=f"not observed: {summary}",
        source=kind,
        observed_at=None,
        host=host.hostname,
        optional=host.optional,
    )


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

    def verdict(status: Status, reason: str, summary: str, seen: datetime | None) -> Check:
        return Check(
            id=f"machine:{env.name}",
            name="machine",
            kind="machine",
            status=status,
            reason=reason,
            summary=summary,
            source="aws",
            observed_at=seen,
        )

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
    if machine.launched_at is not None:
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


# --------------------------------------------------------------------------- drift


def _env_where(
    inventory: Inventory, key: Callable[[Environment], object], value: object
) -> str | None:
    """The first declared environment whose `key` is `value`: for drift sentences that
    say whose EIP, issuer or bucket a stack is using."""
    return next((env.name for env in inventory.environments if key(env) == value), None)


def aws_drift(env: Environment, aws: AwsFacts, inventory: Inventory) -> list[Drift]:
    """EIP by tag vs declared, and every host's A record vs the broker's (the #201 trap)."""
    found: list[Drift] = []
    address = find_address(env, aws)
    if address is None:
        found.append(
            Drift(
                "eip_missing",
                Status.AMBER,
                f"no EIP is tagged {env.eip_tag}, but fleet.toml declares {env.name}",
            )
        )
    elif env.eip is not None and env.eip != address.public_ip:
        found.append(
            Drift(
                "eip_tag",
                Status.AMBER,
                f"EIP by tag {env.eip_tag} is {address.public_ip}, but the env file says {env.eip}",
            )
        )
    broker_ips = aws.a_records.get(env.broker_host.lower())
    if address is not None and broker_ips and address.public_ip not in broker_ips:
        found.append(
            Drift(
                "broker_a_record",
                Status.RED,
                f"{env.broker_host} A {', '.join(broker_ips)} is not the EIP "
                f"{address.public_ip} tagged {env.eip_tag}",
            )
        )
    if not broker_ips:
        return found
    for host in env.hosts[1:]:
        ips = aws.a_records.get(host.hostname.lower())
        if not ips or set(ips) == set(broker_ips):
            continue
        tag = next((a.tag for a in aws.addresses if a.public_ip == ips[0]), None)
        owner = _env_where(inventory, lambda e: e.eip_tag, tag)
        whose = f" ({owner}'s EIP)" if owner and owner != env.name else ""
        found.append(
            Drift(
                "worker_a_record",
                Status.RED,
                f"{host.hostname} A {', '.join(ips)}{whose} is not the broker's "
                f"{', '.join(broker_ips)}: requests go to another stack",
            )
        )
    return found


def http_drift(env: Environment, http: HttpFacts, inventory: Inventory) -> list[Drift]:
    """Deployed issuer vs the slot's, and bucket names in worker bodies vs the slot."""
    found: list[Drift] = []
    issuer = deployed_issuer(http.exchanges.get((env.broker_host, ISSUER_PATH)))
    if issuer is not None and issuer.rstrip("/") != env.expected_issuer.rstrip("/"):
        other = _env_where(inventory, lambda e: e.expected_issuer.rstrip("/"), issuer.rstrip("/"))
        names = f" (the issuer of {other})" if other else ""
        found.append(
            Drift(
                "issuer",
                Status.RED,
                f"the broker's issuer is {issuer}{names}, not {env.expected_issuer}: "
                "this stack was set up for another slot",
            )
        )
    pattern = re.compile(inventory.bucket_pattern)
    for host in env.hosts:
        exchange = http.exchanges.get((host.hostname, HEALTH_PATH))
        doc = _json_object(exchange.body) if exchange and exchange.status_code == 200 else None
        for key, value in sorted((doc or {}).items()):
            if not (key.endswith("_bucket") and isinstance(value, str)):
                continue
            m = pattern.match(value)
            if m is None:
                continue
            suffix = m.group("suffix") or ""
            if suffix != env.suffix:
                other = _env_where(inventory, lambda e: e.suffix, suffix)
                names = f" ({other}'s)" if other else ""
                found.append(
                    Drift(
                        "bucket",
                        Status.RED,
                        f"{host.hostname} reports {key} {value}{names}; "
                        f"{env.name} should use its own buckets",
                    )
                )
    return found


def fleet_drift(inventory: Inventory, aws: AwsFacts | SourceFailure | None) -> list[Drift]:
    """EIPs tagged like a slot that fleet.toml does not declare."""
    if not isinstance(aws, AwsFacts):
        return []
    declared = {env.eip_tag for env in inventory.environments}
    return [
        Drift(
            "undeclared_slot",
            Status.AMBER,
            f"EIP {a.public_ip} tagged {a.tag} belongs to no environment in fleet.toml",
        )
        for a in aws.addresses
        if a.tag not in declared
    ]


# --------------------------------------------------------------------------- rollup


def worst(statuses: Iterable[Status]) -> Status:
    """Red > amber > unknown > green; nothing observed at all is unknown, never green."""
    present = set(statuses)
    for status in SEVERITY:
        if status in present:
            return status
    return Status.UNKNOWN


def counts_toward_health(check: Check) -> bool:
    """An optional endpoint that is simply absent (grey) does not make its environment worse."""
    return not (check.optional and check.status is Status.UNKNOWN)


def environment_view(
    env: Environment, inventory: Inventory, obs: Observations, now: datetime
) -> EnvironmentView:
    lifecycle = env_lifecycle(env, obs.aws)
    machine = machine_view(env, obs.aws)
    checks = [machine_check(env, lifecycle, machine, obs.aws, now)]
    drift: list[Drift] = []
    if isinstance(obs.aws, AwsFacts) and not env.retired:
        drift += aws_drift(env, obs.aws, inventory)
    if lifecycle in (Lifecycle.RUNNING, Lifecycle.MISSING, Lifecycle.UNKNOWN):
        t = inventory.thresholds
        checks += http_checks(env, obs.http, t.slow_ms)
        checks += tls_checks(env, obs.tls, now, t.tls_amber_days, t.tls_red_days)
        if isinstance(obs.http, HttpFacts):
            drift += http_drift(env, obs.http, inventory)
    status = worst(
        [c.status for c in checks if counts_toward_health(c)] + [d.status for d in drift]
    )
    if lifecycle in (Lifecycle.STOPPED, Lifecycle.RETIRED):
        # Parked on purpose: shown grey by its lifecycle; only drift can make it worse.
        status = worst([d.status for d in drift]) if drift else Status.UNKNOWN
    return EnvironmentView(
        name=env.name,
        kind=env.kind,
        slot=env.slot,
        lifecycle=lifecycle,
        status=status,
        broker_host=env.broker_host,
        machine=machine,
        checks=tuple(checks),
        drift=tuple(drift),
    )


# --------------------------------------------------------------------------- issues


_ORDER = {Status.RED: 0, Status.AMBER: 1, Status.UNKNOWN: 2, Status.GREEN: 3}


def issue_text(env: str, check: str, status: Status, detail: str) -> str:
    return f"{env} {check} {status.value}: {detail}"


def environment_issues(view: EnvironmentView) -> list[Issue]:
    """Red and amber checks and drift of one environment, plus unknowns grouped by reason."""
    issues: list[Issue] = []
    parked = view.lifecycle in (Lifecycle.STOPPED, Lifecycle.RETIRED)
    unknown: dict[str, list[str]] = {}
    for check in view.checks:
        if check.status in (Status.RED, Status.AMBER) and not parked:
            detail = f"{check.host} {check.summary}" if check.host else check.summary
            issues.append(
                Issue(
                    check.status,
                    view.name,
                    check.name,
                    issue_text(view.name, check.name, check.status, detail),
                )
            )
        elif (
            check.status is Status.UNKNOWN
            and counts_toward_health(check)
            and not parked
            # A whole source failing is one fleet issue, not one per check.
            and not check.reason.startswith("source:")
        ):
            unknown.setdefault(check.reason, []).append(check.name)
    for reason, names in unknown.items():
        label = names[0] if len(names) == 1 else f"{len(names)} checks"
        issues.append(
            Issue(
                Status.UNKNOWN,
                view.name,
                label,
                issue_text(view.name, label, Status.UNKNOWN, reason),
            )
        )
    for d in view.drift:
        name = f"drift:{d.kind}"
        issues.append(
            Issue(d.status, view.name, name, issue_text(view.name, name, d.status, d.text))
        )
    return issues


def fleet_issues(
    views: Sequence[EnvironmentView], drift: Sequence[Drift], failures: Sequence[SourceFailure]
) -> list[Issue]:
    issues = [i for view in views for i in environment_issues(view)]
    issues += [
        Issue(
            d.status,
            "fleet",
            f"drift:{d.kind}",
            issue_text("fleet", f"drift:{d.kind}", d.status, d.text),
        )
        for d in drift
    ]
    issues += [
        Issue(
            Status.UNKNOWN,
            "fleet",
            f"source:{f.source}",
            issue_text(
                "fleet",
                f"source:{f.source}",
                Status.UNKNOWN,
                f"{f.reason}; its part of the board is unknown",
            ),
        )
        for f in failures
    ]
    # Stable sort: red first, and within a status the inventory order stays.
    return sorted(issues, key=lambda i: _ORDER[i.status])


# --------------------------------------------------------------------------- next action


def _hint(check: Check) -> str:
    reason = check.reason
    if reason.startswith("http 5"):
        return (
            "nginx answers but the service behind it does not: check its systemd unit and journal"
        )
    if reason.startswith("http 4"):
        return "nginx answers with a client error: check the vhost and the service's routes"
    if reason.startswith(("timeout", "connect")):
        return "the host or nginx is down: check the instance and nginx"
    if reason.startswith("dns"):
        return "its A record is missing: run dns-upsert-workers.sh for this environment"
    if reason.startswith(("tls", "cert")):
        return "renew or reissue its certificate (certbot)"
    if reason.startswith("body"):
        return "the service says it is not ok: read its /healthz answer"
    return "look at it"


def suggested_next_action(
    views: Sequence[EnvironmentView], drift: Sequence[Drift], failures: Sequence[SourceFailure]
) -> str:
    """One thing to do next, by a fixed priority: prod, misrouting, cross-wiring, outages,
    certificates, blind spots, then anything amber."""
    running = [v for v in views if v.lifecycle not in (Lifecycle.STOPPED, Lifecycle.RETIRED)]

    def red_checks(
        kinds: tuple[str, ...], envs: Iterable[EnvironmentView]
    ) -> list[tuple[str, Check]]:
        return [
            (v.name, c)
            for v in envs
            for c in v.checks
            if c.status is Status.RED and c.kind in kinds
        ]

    prod = [v for v in running if v.kind is EnvKind.PROD]
    for env, check in red_checks(("http", "tls", "machine"), prod):
        return f"Prod first: {check.host or env} ({check.name}) {check.summary}; {_hint(check)}."
    for v in views:
        for d in v.drift:
            if d.kind in ("worker_a_record", "broker_a_record") and d.status is Status.RED:
                return (
                    f"Fix DNS for {v.name}: {d.text}. Point it back at the broker's EIP with a "
                    "Route 53 UPSERT (dns-upsert-workers.sh), as after incident #201."
                )
    for v in views:
        for d in v.drift:
            if d.kind in ("issuer", "bucket") and d.status is Status.RED:
                return (
                    f"{v.name} is cross-wired: {d.text}. Keep CI off it and re-run its setup "
                    "for the right slot."
                )
    for env, check in red_checks(("http",), running):
        return f"{env}: {check.host} {check.summary}; {_hint(check)}."
    for env, check in red_checks(("tls",), running):
        return f"{env}: {check.host} {check.summary}; {_hint(check)}."
    for failure in failures:
        return (
            f"The board cannot see {failure.source}: {failure.reason}. Fix the collector's access; "
            "that part of the board shows unknown, not healthy."
        )
    amber = [(v.name, c) for v in running for c in v.checks if c.status is Status.AMBER]
    for env, check in amber:
        return f"Nothing is down. Next, {env}: {check.host or check.name} {check.summary}."
    for v in views:
        for d in v.drift:
            return f"Nothing is down. Next, {v.name}: {d.text}."
    for d in drift:
        return f"Nothing is down. Next: {d.text}; declare it in fleet.toml or release the EIP."
    unknown = [v.name for v in running if v.status is Status.UNKNOWN]
    if unknown:
        return (
            f"Nothing is red, but {', '.join(unknown)} could not be fully observed; see the issues."
        )
    return "Nothing to do: every running environment is green."


def _summary_message(views: Sequence[EnvironmentView], status: Status) -> str:
    running = [v for v in views if v.lifecycle not in (Lifecycle.STOPPED, Lifecycle.RETIRED)]
    parked = len(views) - len(running)
    tail = f" ({parked} parked)" if parked else ""
    bad = [v for v in running if v.status is not Status.GREEN]
    if not bad:
        return f"All {len(running)} running environments are green{tail}."
    listed = ", ".join(
        f"{v.name} {v.status.value}" for v in sorted(bad, key=lambda v: _ORDER[v.status])
    )
    return f"{len(bad)} of {len(running)} running environments need attention: {listed}{tail}."


def _counts(views: Sequence[EnvironmentView]) -> dict[str, int]:
    counts = {s.value: 0 for s in (Status.RED, Status.AMBER, Status.UNKNOWN, Status.GREEN)}
    for v in views:
        key = (
            v.lifecycle.value
            if v.lifecycle in (Lifecycle.STOPPED, Lifecycle.RETIRED)
            else v.status.value
        )
        counts[key] = counts.get(key, 0) + 1
    return counts


def evaluate(
    inventory: Inventory, obs: Observations, now: datetime, collector: CollectorInfo
) -> Board:
    """The whole verdict of one pass: a pure function of inventory, observations and clock."""
    views = [environment_view(env, inventory, obs, now) for env in inventory.environments]
    drift = fleet_drift(inventory, obs.aws)
    failures = obs.all_failures()
    issues = fleet_issues(views, drift, failures)
    running = [v for v in views if v.lifecycle not in (Lifecycle.STOPPED, Lifecycle.RETIRED)]
    status = worst([v.status for v in running] + [i.status for i in issues])
    if not running and not issues:
        status = Status.UNKNOWN
    summary = Summary(
        status=status,
        message=_summary_message(views, status),
        suggested_next_action=suggested_next_action(views, drift, failures),
        issues=tuple(issues),
        counts=_counts(views),
    )
    return Board(
        generated_at=now,
        fleet=inventory.fleet,
        zone=inventory.aws.zone,
        region=inventory.aws.region,
        summary=summary,
        environments=tuple(views),
        fleet_drift=tuple(drift),
        collector=collector,
    )
