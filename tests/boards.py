"""Realistic boards for tests: a small demo-like fleet, a hostile one, and a big one.

Every board is built from the real `model` dataclasses; `document(board)` turns it into a
snapshot dict through `snapshot.to_document` and checks it with `snapshot.validate`, so a
test renders exactly what the collector would publish.

    from tests.boards import NOW, demo_board, document
    doc = document(demo_board())
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from fleetboard import snapshot
from fleetboard.model import (
    Board,
    CertSummary,
    Check,
    CollectorInfo,
    Drift,
    EnvironmentView,
    EnvKind,
    Issue,
    Lifecycle,
    Machine,
    SourceRun,
    Status,
    Summary,
)

NOW = datetime(2026, 11, 23, 8, 0, 3, tzinfo=UTC)
ZONE = "litentry.org"
XSS = "<script>alert(1)</script>"
WORKERS = ("audit", "email", "cred", "memory", "config", "classify", "channel", "weixin")
SEVERITY = {Status.RED: 0, Status.AMBER: 1, Status.UNKNOWN: 2, Status.GREEN: 3}


def document(board: Board) -> dict[str, Any]:
    """The snapshot dict the collector would publish for `board` (validated)."""
    doc = snapshot.to_document(board)
    snapshot.validate(doc)
    return doc


# --------------------------------------------------------------------------- checks


def _host(label: str, suffix: str) -> str:
    """Host names by the fleet's suffix rule (FLEET_FACTS §2), slot 1's exceptions included."""
    if label == "broker":
        return {"": "broker", "-test": "test-broker"}.get(suffix, f"broker{suffix}") + f".{ZONE}"
    if label == "mcp" and suffix == "-test":
        return f"test-mcp.{ZONE}"
    return f"{label}{suffix}.{ZONE}"


def http_check(
    label: str,
    host: str,
    path: str = "/healthz",
    *,
    status: Status = Status.GREEN,
    reason: str = "",
    summary: str | None = None,
    latency_ms: float | None = 38.0,
    optional: bool = False,
    at: datetime = NOW,
) -> Check:
    name = label if path == "/healthz" else {"/readyz": "readyz"}.get(path, "openid")
    if summary is None:
        summary = f"HTTP 200 in {latency_ms:.0f} ms" if latency_ms is not None else "no answer"
    return Check(
        id=f"http:{host}{path}",
        name=name,
        kind="http",
        status=status,
        reason=reason,
        summary=summary,
        source="http",
        observed_at=at - timedelta(seconds=2),
        host=host,
        latency_ms=latency_ms,
        optional=optional,
    )


def tls_check(
    label: str, host: str, days_left: int = 71, *, optional: bool = False, at: datetime = NOW
) -> Check:
    status = Status.GREEN if days_left > 14 else Status.AMBER if days_left > 3 else Status.RED
    return Check(
        id=f"tls:{host}",
        name=f"tls:{label.removeprefix('worker:')}",
        kind="tls",
        status=status,
        reason="" if status == Status.GREEN else f"cert expires in {days_left} days",
        summary=f"certificate expires in {days_left} days",
        source="tls",
        observed_at=at - timedelta(seconds=2),
        host=host,
        optional=optional,
        cert=CertSummary(
            not_after=(at + timedelta(days=days_left)).replace(hour=23, minute=59, second=59),
            days_left=days_left,
            issuer="Let's Encrypt",
        ),
    )


def machine_check(env: str, state: str, at: datetime = NOW) -> Check:
    running = state == "running"
    return Check(
        id=f"machine:{env}",
        name="machine",
        kind="machine",
        status=Status.GREEN if running else Status.UNKNOWN,
        reason="" if running else f"stopped: instance is {state}",
        summary=f"instance {state}",
        source="aws",
        observed_at=at - timedelta(seconds=3),
    )


def stack_checks(
    suffix: str, *, days_left: int = 71, latency_ms: float = 38.0, at: datetime = NOW
) -> list[Check]:
    """A healthy stack: broker (healthz, readyz, openid), signer, workers, optional mcp."""
    labels = ["broker", "signer", *(f"worker:{w}" for w in WORKERS), "mcp"]
    checks: list[Check] = []
    for i, label in enumerate(labels):
        host = _host(label.removeprefix("worker:"), suffix)
        optional = label == "mcp"
        lat = latency_ms + 7 * i
        checks.append(http_check(label, host, latency_ms=lat, optional=optional, at=at))
        if label == "broker":
            checks.append(http_check(label, host, "/readyz", latency_ms=lat + 3, at=at))
            summary = f"issuer https://{host} as expected"
            checks.append(
                http_check(
                    label,
                    host,
                    "/.well-known/openid-configuration",
                    latency_ms=lat + 5,
                    summary=summary,
                    at=at,
                )
            )
    for label in labels:
        host = _host(label.removeprefix("worker:"), suffix)
        checks.append(tls_check(label, host, days_left, optional=label == "mcp", at=at))
    checks.extend(drift_check(kind, DRIFT_OK[kind], at=at) for kind in DRIFT_OK)
    return checks


#: The drift checks every running environment gets, with their green summaries.
DRIFT_OK = {
    "worker_a_record": "every worker A record = broker A",
    "eip_tag": "EIP by tag = EIP in fleet.toml",
    "issuer": "deployed issuer = expected issuer",
    "bucket": "worker bucket names match the slot",
    "deployed_ref": "deployed ref = origin/main",
}


def drift_check(
    kind: str, summary: str, status: Status = Status.GREEN, *, at: datetime = NOW
) -> Check:
    return Check(
        id=f"drift:{kind}",
        name=f"drift:{kind}",
        kind="drift",
        status=status,
        reason="" if status == Status.GREEN else f"drift {kind}",
        summary=summary,
        source="rules",
        observed_at=at - timedelta(seconds=1),
    )


def _replace_check(checks: list[Check], check_id: str, **changes: Any) -> None:
    for i, c in enumerate(checks):
        if c.id == check_id:
            checks[i] = replace(c, **changes)
            return
    raise KeyError(check_id)


# --------------------------------------------------------------------------- environments


def env_view(
    name: str,
    kind: EnvKind,
    slot: int | None,
    suffix: str,
    *,
    instance_id: str,
    eip: str,
    checks: list[Check],
    lifecycle: Lifecycle = Lifecycle.RUNNING,
    drift: tuple[Drift, ...] = (),
    eip_declared: str | None = None,
    launched_days_ago: float = 12.3,
    at: datetime = NOW,
) -> EnvironmentView:
    state = "running" if lifecycle == Lifecycle.RUNNING else "stopped"
    checks = [machine_check(name, state, at), *checks]
    for d in drift:  # the drift check of that kind says the same as the drift item
        _replace_check(
            checks, f"drift:{d.kind}", status=d.status, reason=f"drift {d.kind}", summary=d.text
        )
    counted = [c.status for c in checks if not c.optional] + [d.status for d in drift]
    status = min(counted, key=SEVERITY.__getitem__, default=Status.GREEN)
    eip_tag = "agentkeys-broker-eip" + suffix
    return EnvironmentView(
        name=name,
        kind=kind,
        slot=slot,
        lifecycle=lifecycle,
        status=Status.UNKNOWN if lifecycle != Lifecycle.RUNNING else status,
        broker_host=_host("broker", suffix),
        machine=Machine(
            instance_id=instance_id,
            state=state,
            instance_type="t3.medium",
            launched_at=(at - timedelta(days=launched_days_ago)).replace(microsecond=0),
            eip=eip,
            eip_tag=eip_tag,
            eip_declared=eip if eip_declared is None else eip_declared,
        ),
        checks=tuple(checks),
        drift=drift,
    )


def _issues(envs: list[EnvironmentView], fleet_drift: tuple[Drift, ...]) -> tuple[Issue, ...]:
    """Issues as rules.py words them: "<env> <check> <status>: <detail>", red first."""
    found: list[Issue] = []
    for env in envs:
        if env.lifecycle != Lifecycle.RUNNING:
            continue
        for c in env.checks:
            if c.status != Status.GREEN and not c.optional and c.kind != "drift":
                text = f"{env.name} {c.name} {c.status}: {c.summary}"
                found.append(Issue(status=c.status, env=env.name, check=c.name, text=text))
        for d in env.drift:
            text = f"{env.name} drift:{d.kind} {d.status}: {d.text}"
            found.append(Issue(status=d.status, env=env.name, check=f"drift:{d.kind}", text=text))
    for d in fleet_drift:
        text = f"fleet drift:{d.kind} {d.status}: {d.text}"
        found.append(Issue(status=d.status, env="fleet", check=f"drift:{d.kind}", text=text))
    return tuple(sorted(found, key=lambda i: SEVERITY[i.status]))


def _summary(envs: list[EnvironmentView], issues: tuple[Issue, ...], next_action: str) -> Summary:
    counts = {"red": 0, "amber": 0, "unknown": 0, "green": 0}
    for env in envs:
        key = str(env.status) if env.lifecycle == Lifecycle.RUNNING else str(env.lifecycle)
        counts[key] = counts.get(key, 0) + 1
    status = min((i.status for i in issues), key=SEVERITY.__getitem__, default=Status.GREEN)
    parts = [f"{n} {k}" for k, n in counts.items() if n]
    noun = "environment" if len(envs) == 1 else "environments"
    message = (
        f"All {len(envs)} {noun} healthy"
        if status == Status.GREEN
        else f"{len(envs)} {noun}: " + ", ".join(parts)
    )
    return Summary(
        status=status,
        message=message,
        suggested_next_action=next_action,
        issues=issues,
        counts=counts,
    )


def _collector(n_envs: int, probes: int) -> CollectorInfo:
    return CollectorInfo(
        version="0.1.0",
        duration_s=1.412,
        aws_requests=4,
        probes=probes,
        sources={
            "aws": SourceRun(ok=True, duration_s=0.318),
            "http": SourceRun(ok=True, duration_s=1.204),
            "tls": SourceRun(ok=True, duration_s=0.012),
            "github": SourceRun(
                ok=False, duration_s=3.0, error="timeout: api.github.com did not answer in 3 s"
            ),
        },
    )


def _board(
    envs: list[EnvironmentView],
    fleet_drift: tuple[Drift, ...],
    next_action: str,
    at: datetime,
    issues: tuple[Issue, ...] | None = None,
) -> Board:
    if issues is None:
        issues = _issues(envs, fleet_drift)
    probes = sum(1 for e in envs for c in e.checks if c.kind == "http")
    return Board(
        generated_at=at,
        fleet="agentkeys",
        zone=ZONE,
        region="us-east-1",
        summary=_summary(envs, issues, next_action),
        environments=tuple(envs),
        fleet_drift=fleet_drift,
        collector=_collector(len(envs), probes),
    )


# --------------------------------------------------------------------------- boards

DEMO_NEXT_ACTION = (
    "test-2: the audit worker answers 502 behind nginx. Check "
    "`systemctl status agentkeys-worker-audit` on i-0a5c74cdbb3e5be84 over SSM, "
    "then redeploy the slot if it does not restart."
)


def demo_board(at: datetime = NOW, *, hostile: bool = False) -> Board:
    """The demo fleet: prod green, base green, test amber (degraded readyz, a cert 5 days
    from expiry, optional mcp NXDOMAIN), test-2 red (audit worker 502, A-record drift),
    test-3 stopped, and a fleet-level undeclared slot.

    With `hostile=True`, an issue text, a check summary and a host name carry XSS.
    """
    prod = env_view(
        "prod",
        EnvKind.PROD,
        None,
        "",
        instance_id="i-0c0b739bd35643fd3",
        eip="54.164.117.252",
        checks=stack_checks("", days_left=62, at=at),
        launched_days_ago=41.2,
        at=at,
    )
    base = env_view(
        "base",
        EnvKind.BASE,
        None,
        "-base",
        instance_id="i-07e1c2b0d9a4f3e21",
        eip="100.56.43.4",
        checks=stack_checks("-base", days_left=80, latency_ms=44, at=at),
        launched_days_ago=20.7,
        at=at,
    )

    test_checks = stack_checks("-test", days_left=55, latency_ms=51, at=at)
    _replace_check(
        test_checks,
        f"http:test-broker.{ZONE}/readyz",
        status=Status.AMBER,
        reason="body degraded",
        summary="degraded: tier2/paymaster not configured (expected on unsponsored slots)",
    )
    _replace_check(
        test_checks,
        f"tls:signer-test.{ZONE}",
        status=Status.AMBER,
        reason="cert expires in 5 days",
        summary="certificate expires in 5 days",
        cert=CertSummary(
            not_after=(at + timedelta(days=5)).replace(hour=11, minute=20, second=0),
            days_left=5,
            issuer="Let's Encrypt",
        ),
    )
    _replace_check(
        test_checks,
        f"http:test-mcp.{ZONE}/healthz",
        status=Status.RED,
        reason="dns NXDOMAIN",
        summary=f"test-mcp.{ZONE}: NXDOMAIN (optional endpoint, not deployed)",
        latency_ms=None,
    )
    _replace_check(
        test_checks,
        f"tls:test-mcp.{ZONE}",
        status=Status.UNKNOWN,
        reason="dns NXDOMAIN",
        summary="no certificate: host does not resolve",
        cert=None,
    )
    test1 = env_view(
        "test",
        EnvKind.TEST_SLOT,
        1,
        "-test",
        instance_id="i-0135a8b2c53d14941",
        eip="3.214.219.209",
        checks=test_checks,
        launched_days_ago=3.1,
        at=at,
    )

    t2_checks = stack_checks("-test-2", days_left=47, latency_ms=40, at=at)
    audit_host = f"audit-test-2.{ZONE}"
    _replace_check(
        t2_checks,
        f"http:{audit_host}/healthz",
        status=Status.RED,
        reason="http 502",
        summary="HTTP 502 in 41 ms (nginx: upstream agentkeys-worker-audit not answering)",
        latency_ms=41.0,
    )
    t2_drift = (
        Drift(
            kind="worker_a_record",
            status=Status.AMBER,
            text=f"{audit_host} A 3.214.219.209 ≠ broker A 54.145.185.156",
        ),
    )
    test2 = env_view(
        "test-2",
        EnvKind.TEST_SLOT,
        2,
        "-test-2",
        instance_id="i-0a5c74cdbb3e5be84",
        eip="54.145.185.156",
        checks=t2_checks,
        drift=t2_drift,
        launched_days_ago=0.4,
        at=at,
    )

    t3_checks = [
        replace(
            c,
            status=Status.UNKNOWN,
            reason="stopped",
            summary="not probed: instance stopped",
            latency_ms=None,
        )
        for c in stack_checks("-test-3", at=at)
    ]
    test3 = env_view(
        "test-3",
        EnvKind.TEST_SLOT,
        3,
        "-test-3",
        instance_id="i-0f3e9d1c2b4a59687",
        eip="44.211.90.17",
        checks=t3_checks,
        lifecycle=Lifecycle.STOPPED,
        launched_days_ago=9.8,
        at=at,
    )

    fleet_drift = (
        Drift(
            kind="undeclared_slot",
            status=Status.AMBER,
            text="EIP tagged agentkeys-broker-eip-test-4 (98.84.12.201) is not in fleet.toml",
        ),
    )
    envs = [prod, base, test1, test2, test3]
    issues = None
    if hostile:
        hostile_host = f"{XSS}.{ZONE}"
        t2_checks_h = list(test2.checks)
        _replace_check(
            t2_checks_h,
            f"http:{audit_host}/healthz",
            summary=f"HTTP 502 body: {XSS}",
            host=hostile_host,
        )
        envs[3] = replace(test2, checks=tuple(t2_checks_h))
        issues = tuple(
            replace(i, text=f"{i.text} {XSS}") if i.status == Status.RED else i
            for i in _issues(envs, fleet_drift)
        )
    return _board(envs, fleet_drift, DEMO_NEXT_ACTION, at, issues)


def big_board(n_envs: int, at: datetime = NOW) -> Board:
    """prod plus `n_envs - 1` test slots of ~30 checks each; some amber, red or stopped."""
    envs: list[EnvironmentView] = []
    for i in range(n_envs):
        slot = i if i else None
        suffix = "" if i == 0 else "-test" if i == 1 else f"-test-{i}"
        name = "prod" if i == 0 else "test" if i == 1 else f"test-{i}"
        checks = stack_checks(suffix, days_left=30 + i % 50, latency_ms=30 + i % 40, at=at)
        drift: tuple[Drift, ...] = ()
        lifecycle = Lifecycle.RUNNING
        if i and i % 17 == 0:
            host = _host(WORKERS[i % len(WORKERS)], suffix)
            _replace_check(
                checks,
                f"http:{host}/healthz",
                status=Status.RED,
                reason="http 502",
                summary="HTTP 502 in 12 ms",
                latency_ms=12.0,
            )
        elif i and i % 10 == 0:
            _replace_check(
                checks,
                f"http:{_host('broker', suffix)}/readyz",
                status=Status.AMBER,
                reason="body degraded",
                summary="degraded: tier2/paymaster not configured",
            )
            drift = (
                Drift(kind="deployed_ref", status=Status.AMBER, text="deployed ref 3 behind main"),
            )
        elif i and i % 7 == 0:
            lifecycle = Lifecycle.STOPPED
            checks = [
                replace(c, status=Status.UNKNOWN, reason="stopped", summary="not probed")
                for c in checks
            ]
        envs.append(
            env_view(
                name,
                EnvKind.PROD if i == 0 else EnvKind.TEST_SLOT,
                slot,
                suffix,
                instance_id=f"i-0{i:016x}",
                eip=f"10.0.{i // 250}.{i % 250 + 1}",
                checks=checks,
                drift=drift,
                lifecycle=lifecycle,
                launched_days_ago=1 + i % 30,
                at=at,
            )
        )
    return _board(envs, (), "Check the red slots first: their workers answer 502.", at)
