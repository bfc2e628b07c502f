"""Rollups, issues (red first) and the one next action, from the environments' views."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from fleetboard.model import (
    SEVERITY,
    Check,
    Drift,
    EnvironmentView,
    EnvKind,
    Issue,
    Lifecycle,
    SourceFailure,
    Status,
)


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
    views: Sequence[EnvironmentView],
    drift: Sequence[Drift],
    failures: Sequence[SourceFailure],
    issues: Sequence[Issue] = (),
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
    for issue in issues:
        if issue.check == "ci" and issue.status is Status.RED:
            detail = issue.text.split(": ", 1)[1]
            return f"{issue.env}: {detail}. Cancel the extra run, or start the slot's instance."
    for env, check in red_checks(("http",), running):
        return f"{env}: {check.host} {check.summary}; {_hint(check)}."
    for issue in issues:
        if issue.check.startswith("wallet:") and issue.status is Status.RED:
            detail = issue.text.split(": ", 1)[1]
            return f"Fund {issue.env}'s {issue.check.removeprefix('wallet:')}: {detail}."
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


def summary_message(views: Sequence[EnvironmentView], status: Status) -> str:
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


def env_counts(views: Sequence[EnvironmentView]) -> dict[str, int]:
    counts = {s.value: 0 for s in (Status.RED, Status.AMBER, Status.UNKNOWN, Status.GREEN)}
    for v in views:
        key = (
            v.lifecycle.value
            if v.lifecycle in (Lifecycle.STOPPED, Lifecycle.RETIRED)
            else v.status.value
        )
        counts[key] = counts.get(key, 0) + 1
    return counts
