"""Rollups, issues (red first) and the one next action, from the environments' views."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import datetime

from fleetboard.model import (
    SEVERITY,
    Check,
    CheckKind,
    Drift,
    DriftKind,
    EnvironmentView,
    EnvKind,
    Issue,
    Lifecycle,
    Reason,
    SourceFailure,
    Status,
)
from fleetboard.rules.blind import Blindness
from fleetboard.rules.blind import next_action as blind_next_action
from fleetboard.rules.maintenance import excused, until
from fleetboard.text import counted


def worst(statuses: Iterable[Status]) -> Status:
    """Red > amber > unknown > green; nothing observed at all is unknown, never green."""
    present = set(statuses)
    for status in SEVERITY:
        if status in present:
            return status
    return Status.UNKNOWN


def counts_toward_health(check: Check) -> bool:
    """An optional endpoint that is simply absent (grey) does not make its environment
    worse; nor does a red or amber check in a maintenance window of its own."""
    return not (check.optional and check.status is Status.UNKNOWN) and not excused(check)


def resting(view: EnvironmentView) -> bool:
    """Parked (stopped, retired) or in a maintenance window: its checks say what they saw,
    but make no issues and do not rate it (env_status)."""
    return view.lifecycle.parked or view.maintenance is not None


def watched(view: EnvironmentView) -> bool:
    """Rated by its health, so part of the fleet's status: neither parked nor in
    maintenance (those are counted by their word, and only what still matters while they
    rest counts, as issues)."""
    return not resting(view)


# --------------------------------------------------------------------------- issues


#: Rank of a status in the model's SEVERITY: red first.
_ORDER = {status: rank for rank, status in enumerate(SEVERITY)}


def environment_issues(view: EnvironmentView) -> list[Issue]:
    """Red and amber checks and drift of one environment, plus unknowns grouped by reason.

    Its wallets, deploy and CI issues come from rules/chain.py and rules/ci.py; rules'
    `environment_view` puts them all in `EnvironmentView.issues`."""
    issues: list[Issue] = []
    parked = resting(view)
    unknown: dict[str, list[str]] = {}
    for check in view.checks:
        if check.status in (Status.RED, Status.AMBER) and not parked and not excused(check):
            detail = f"{check.host} {check.summary}" if check.host else check.summary
            issues.append(Issue.of(check.status, view.name, check.name, detail))
        elif (
            check.status is Status.UNKNOWN
            and counts_toward_health(check)
            and not parked
            # A whole source failing is one fleet issue, not one per check; so is the
            # collector's own blindness (the "collector" issue).
            and Reason.of(check.reason) not in (Reason.SOURCE, Reason.COLLECTOR)
        ):
            unknown.setdefault(check.reason, []).append(check.name)
    for reason, names in unknown.items():
        label = names[0] if len(names) == 1 else f"{len(names)} checks"
        issues.append(Issue.of(Status.UNKNOWN, view.name, label, reason))
    for d in view.drift:
        name = f"drift:{d.kind}"
        issues.append(Issue.of(d.status, view.name, name, d.text))
    return issues


def env_status(view: EnvironmentView, issues: Sequence[Issue]) -> Status:
    """An environment's status: the worst of everything that is its own.

    Every red or amber part of it (check, certificate, drift, wallet, deposit, master
    registration, stale binary, CI) is one of its `issues`, so the status is their worst,
    with the unknowns no issue repeats (a source that failed, the collector's blindness)
    and the green it was seen to be.

    A parked environment (stopped, retired) is grey, shown by its lifecycle; only what
    still means something while it is parked counts, and with nothing of that it is
    unknown. One in a maintenance window (shown as "maintenance") is rated the same way:
    its checks are being worked on, so they do not count, and a window never makes it
    green. That is its drift (a tag or record pointing wrong stays wrong), a run holding
    it (its deploy will fail), and its wallets, deposit and master registration: they live
    on chain, not on the instance, and CI starts a stopped slot on demand and deploys with
    them at once, so an empty deployer on a stopped slot is tomorrow's failed run (a retired
    environment has no chain view: its wallets may be inherited elsewhere). Its checks, its
    health and a stale binary (CI redeploys it when it starts it) do not count.
    """
    if resting(view):
        return worst(i.status for i in issues) if issues else Status.UNKNOWN
    seen = [c.status for c in view.checks if counts_toward_health(c)]
    seen += [d.status for d in view.drift]
    if view.chain is not None:
        seen.append(view.chain.status)
    return worst([*seen, *(i.status for i in issues)])


def by_severity(issues: Iterable[Issue]) -> list[Issue]:
    """Red first; within a status the order given stays."""
    return sorted(issues, key=lambda i: _ORDER[i.status])


#: Rank of an environment's kind at equal severity: prod first, then base, then the test
#: slots by number (README: prod comes first), then the rest; the fleet's own issues last.
_KIND_RANK = {EnvKind.PROD: 0, EnvKind.BASE: 1, EnvKind.TEST_SLOT: 2, EnvKind.OTHER: 3}


def env_rank(view: EnvironmentView) -> tuple[int, int]:
    return _KIND_RANK[view.kind], view.slot if view.slot is not None else 0


def rank_issues(issues: Iterable[Issue], views: Sequence[EnvironmentView]) -> list[Issue]:
    """Red first; at equal severity prod, base, then test slots by number, then other
    environments, then the fleet's own; otherwise in the order given."""
    ranks = {v.name: env_rank(v) for v in views}
    fleet = (len(_KIND_RANK), 0)
    return sorted(issues, key=lambda i: (_ORDER[i.status], ranks.get(i.env, fleet)))


def fleet_issues(
    views: Sequence[EnvironmentView], drift: Sequence[Drift], failures: Sequence[SourceFailure]
) -> list[Issue]:
    """Every environment's own issues, the fleet's drift and the sources that failed (the
    ones that failed on the collector's side are the "collector" issue instead)."""
    issues = [i for view in views for i in view.issues]
    issues += [Issue.of(d.status, "fleet", f"drift:{d.kind}", d.text) for d in drift]
    issues += [
        Issue.of(
            Status.UNKNOWN,
            "fleet",
            f"source:{f.source}",
            f"{f.reason}; its part of the board is unknown",
        )
        for f in failures
        if not f.blind
    ]
    return issues  # ranked once, with the CI and chain issues, by the caller


def collector_issue(blind: str) -> Issue:
    """The first issue of a board the collector could not see: its cause, not the fleet's."""
    return Issue.of(
        Status.UNKNOWN,
        "fleet",
        "collector",
        f"{blind}; what it could not see is unknown, not down",
    )


# --------------------------------------------------------------------------- next action


#: A TLS failure about the certificate itself (renewing helps), not the protocol.
_CERT_WORDS = re.compile(r"certif|expired|hostname|mismatch|self.signed|issuer|verify", re.I)


def _hint(check: Check) -> str:
    """What to look at, by the layer the check failed at (`Reason.of` its reason)."""
    reason = check.reason
    match Reason.of(reason):
        case Reason.HTTP:
            code = reason.removeprefix(Reason.HTTP).strip()
            if code.startswith("5"):
                return (
                    "nginx answers but the service behind it does not: "
                    "check its systemd unit and journal"
                )
            if code == "429":
                return (
                    "it is rate limiting the collector: check nginx's limit_req for the collector"
                )
            if code.startswith("4"):
                return "nginx answers with a client error: check the vhost and the service's routes"
        case Reason.TIMEOUT | Reason.CONNECT:
            return "the host or nginx is down: check the instance and nginx"
        case Reason.DNS if "NXDOMAIN" in reason:
            return "its A record is missing: run dns-upsert-workers.sh for this environment"
        case Reason.DNS:
            return "its name did not resolve: check the zone's records and name servers"
        case Reason.CERT:
            return _RENEW
        case Reason.TLS if _CERT_WORDS.search(reason):
            return _RENEW
        case Reason.TLS:
            # Not the certificate: the port does not speak TLS as a browser expects.
            return "its port does not speak TLS properly: check nginx's `listen 443 ssl` vhost"
        case Reason.BODY:
            return "the service says it is not ok: read its /healthz answer"
    return "look at it"


_RENEW = "renew or reissue its certificate (certbot)"


def _check_action(view: EnvironmentView, check: Check) -> str:
    if view.kind is EnvKind.PROD:
        where = check.host or view.name
        return f"Prod first: {where} ({check.name}) {check.summary}; {_hint(check)}."
    return f"{view.name}: {check.host or check.name} {check.summary}; {_hint(check)}."


#: Drift that sends requests to another stack, and drift that says a stack was set up for
#: another slot: the first two things to fix about an environment's reds.
_MISROUTED = (DriftKind.WORKER_A_RECORD, DriftKind.BROKER_A_RECORD)
_CROSS_WIRED = (DriftKind.ISSUER, DriftKind.BUCKET)


def _red_action(view: EnvironmentView, issues: Sequence[Issue]) -> str | None:
    """What to do first about one environment's reds, by a fixed priority: misrouting,
    cross-wiring, a CI clash, an outage, an empty wallet, a certificate, the machine, then
    any other red of it."""
    name = view.name
    prod = "Prod first: " if view.kind is EnvKind.PROD else ""
    for d in view.drift:
        if d.kind in _MISROUTED and d.status is Status.RED:
            return (
                f"{prod}Fix DNS for {name}: {d.text}. Point it back at the broker's EIP with a "
                "Route 53 UPSERT (dns-upsert-workers.sh), as after incident #201."
            )
    for d in view.drift:
        if d.kind in _CROSS_WIRED and d.status is Status.RED:
            return (
                f"{prod}{name} is cross-wired: {d.text}. Keep CI off it and re-run its setup "
                "for the right slot."
            )
    for issue in issues:
        if issue.check == "ci" and issue.status is Status.RED:
            return (
                f"{prod}{name}: {issue.detail}. Cancel the extra run, or start the slot's instance."
            )
    parked = resting(view)
    red = [c for c in view.checks if c.status is Status.RED and not parked and not excused(c)]
    for check in red:
        if check.kind is CheckKind.HTTP:
            return _check_action(view, check)
    for wallet in view.chain.wallets if view.chain else ():
        if wallet.status is Status.RED:
            return f"{prod}Fund {name}'s {wallet.role}: {wallet.address} {wallet.text}."
    for check in red:
        return _check_action(view, check)
    for issue in issues:
        if issue.status is Status.RED:
            return f"{prod}{issue.text}."
    return None


def _amber_action(view: EnvironmentView, issues: Sequence[Issue]) -> str | None:
    parked = resting(view)
    for check in view.checks:
        if check.status is Status.AMBER and not parked and not excused(check):
            what = f"{check.host or check.name} {check.summary}"
            return f"Nothing is down. Next, {view.name}: {what}."
    for d in view.drift:
        return f"Nothing is down. Next, {view.name}: {d.text}."
    for issue in issues:
        if issue.status is Status.AMBER:
            return f"Nothing is down. Next, {issue.text}."
    return None


def environment_action(view: EnvironmentView) -> str | None:
    """What to do first about one environment, by the board's own priority: its reds, then
    its ambers; None when it has nothing to do (an alert's next action)."""
    return _red_action(view, view.issues) or _amber_action(view, view.issues)


def suggested_next_action(
    views: Sequence[EnvironmentView],
    drift: Sequence[Drift],
    failures: Sequence[SourceFailure],
    issues: Sequence[Issue] = (),
    blind: Sequence[Blindness] = (),
) -> str:
    """One thing to do next, by a fixed priority: a red of prod; the collector when it is
    blind; the reds of base, then of the test slots by number, then of the rest (each by
    misrouting, cross-wiring, CI clash, outage, wallet, certificate); a source the board
    cannot see; then anything amber, in the same order of environments."""
    ranked = sorted(views, key=env_rank)
    own = {v.name: v.issues for v in views}
    prod = [v for v in ranked if v.kind is EnvKind.PROD]
    for v in prod:
        if (action := _red_action(v, own[v.name])) is not None:
            return action
    if blind:
        return blind_next_action(list(blind))
    for v in ranked:
        if (action := _red_action(v, own[v.name])) is not None:
            return action
    for issue in issues:
        if issue.env == "fleet" and issue.status is Status.RED:
            return f"{issue.text}."
    for failure in failures:
        if failure.blind:
            continue
        # A denial or refused credentials are the collector's to fix; a 500, a throttle or a
        # timeout is the far end's, and the next pass asks again.
        fix = "Fix the collector's access" if failure.access else "The next pass asks again"
        return (
            f"The board cannot see {failure.source}: {failure.reason}. {fix}; "
            "that part of the board shows unknown, not healthy."
        )
    for v in ranked:
        if (action := _amber_action(v, own[v.name])) is not None:
            return action
    for d in drift:
        return f"Nothing is down. Next: {d.text}; declare it in fleet.toml or release the EIP."
    for issue in issues:
        if issue.status is Status.AMBER:
            return f"Nothing is down. Next, {issue.text}."
    running = [v for v in ranked if watched(v)]
    unknown = [v.name for v in running if v.status is Status.UNKNOWN]
    if unknown:
        return (
            f"Nothing is red, but {', '.join(unknown)} could not be fully observed; see the issues."
        )
    return "Nothing to do: every running environment is green."


def _listed(view: EnvironmentView) -> str:
    """`prod red`, or `prod unknown (lifecycle unknown)` when it is not known to run."""
    if view.maintenance is not None:
        return f"{view.name} {view.status.value} (in maintenance)"
    if view.lifecycle is Lifecycle.RUNNING:
        return f"{view.name} {view.status.value}"
    if view.lifecycle is Lifecycle.UNKNOWN:
        return f"{view.name} {view.status.value} (lifecycle unknown)"
    return f"{view.name} {view.status.value} ({view.lifecycle.value})"


#: Environments in maintenance the summary names one by one (with reason and end); more
#: than this are counted, so a fleet-wide patch night stays one readable sentence.
MAINTENANCE_NAMED = 3


def _in_maintenance(views: Sequence[EnvironmentView], now: datetime | None) -> str:
    """` In maintenance: test until 04:00 UTC (slot 1 rebuild).`, or ""."""
    away = [(v.name, v.maintenance) for v in views if v.maintenance is not None]
    if not away:
        return ""
    if len(away) > MAINTENANCE_NAMED or now is None:
        return f" {counted(len(away), 'environment')} in maintenance."
    named = ", ".join(f"{name} {until(m, now)} ({m.reason})" for name, m in away)
    return f" In maintenance: {named}."


def summary_message(
    views: Sequence[EnvironmentView],
    status: Status,
    blind: str | None = None,
    now: datetime | None = None,
) -> str:
    """One sentence: which environments need attention. "running" only for environments
    known to run; a collector that cannot see (`blind`, its cause in a few words: "the
    collector has no DNS") says so first. Environments in maintenance are named with the
    reason and when it ends (`now`: the pass's clock, for that end's date)."""
    rated = [v for v in views if watched(v)]
    at_rest = [v for v in views if v not in rated]
    parked = [v for v in at_rest if v.maintenance is None]
    tail = f" ({len(parked)} parked)" if parked else ""
    away = _in_maintenance(views, now)
    bad = [v for v in rated if v.status is not Status.GREEN]
    bad += [v for v in at_rest if v.status in (Status.RED, Status.AMBER)]
    if blind is not None and status is Status.UNKNOWN:
        unseen = [v for v in rated if v.status is Status.UNKNOWN]
        what = f"{len(unseen)} of {len(rated)} environments not fully observed"
        if not unseen:  # e.g. only GitHub or the RPC is out of the collector's reach
            n = len(rated)
            what = f"the {n} environment{'s' * (n != 1)} themselves were observed"
        if any(v.lifecycle is Lifecycle.UNKNOWN for v in unseen):
            what += ", lifecycle unknown"
        parked_tail = f"; {len(parked)} parked" if parked else ""
        return f"Fleet status unknown: {blind}; {what}{parked_tail}.{away}"
    lead = "The collector is partly blind (see the first issue). " if blind is not None else ""
    if not bad:
        noun = "running environment" if len(rated) == 1 else "running environments"
        rest = "" if status is Status.GREEN else ", but the fleet has issues of its own"
        return f"{lead}All {len(rated)} {noun} are green{rest}{tail}.{away}"
    listed = ", ".join(_listed(v) for v in sorted(bad, key=lambda v: _ORDER[v.status]))
    noun = "environment" if len(views) == 1 else "environments"
    return f"{lead}{len(bad)} of {len(views)} {noun} need attention: {listed}{tail}.{away}"


#: The word of an environment in a maintenance window: its card's pill, its count, its
#: word in the board's memory (memory/timeline.py).
MAINTENANCE = "maintenance"


def env_counts(views: Sequence[EnvironmentView]) -> dict[str, int]:
    """Environments by their word: health while watched, else "maintenance" or the parked
    lifecycle (a window over a stopped slot says more than "stopped")."""
    counts = {s.value: 0 for s in (Status.RED, Status.AMBER, Status.UNKNOWN, Status.GREEN)}
    for v in views:
        if v.maintenance is not None:
            key = MAINTENANCE
        else:
            key = v.lifecycle.value if v.lifecycle.parked else v.status.value
        counts[key] = counts.get(key, 0) + 1
    return counts
