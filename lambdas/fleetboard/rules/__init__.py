"""The status rules, one pure package: observations in; checks, rollups and issues out.

No I/O and no clock: `now` is passed in, so every rule is a table-driven test. The order of
decisions follows DESIGN §5: per-check status, lifecycle apart from health, drift flags,
the environment rollup, the fleet summary with its issues (red first) and one next action.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from fleetboard.inventory import Environment, Inventory
from fleetboard.model import (
    SEVERITY,
    AwsFacts,
    Board,
    ChainFacts,
    CollectorInfo,
    Drift,
    EnvironmentView,
    GithubFacts,
    HttpFacts,
    Lifecycle,
    RunView,
    SourceFailure,
    Status,
    Summary,
    TlsFacts,
)
from fleetboard.rules.chain import chain_issues, chain_summary, chain_view
from fleetboard.rules.checks import http_checks, machine_check, machine_view, tls_checks
from fleetboard.rules.ci import ci_issues, ci_summary, deploy_view, run_view, slot_ci
from fleetboard.rules.drift import aws_drift, fleet_drift, http_drift
from fleetboard.rules.lifecycle import env_lifecycle, find_address, find_instance
from fleetboard.rules.summary import (
    counts_toward_health,
    env_counts,
    fleet_issues,
    suggested_next_action,
    summary_message,
    worst,
)
from fleetboard.rules.verdicts import (
    Verdict,
    classify_cert,
    classify_health,
    classify_issuer,
    classify_probe_error,
    classify_readyz,
    days_left,
    deployed_issuer,
    optional_verdict,
)


@dataclass(frozen=True, slots=True)
class Observations:
    """What the sources returned this pass; None when a source did not run."""

    aws: AwsFacts | SourceFailure | None = None
    http: HttpFacts | SourceFailure | None = None
    tls: TlsFacts | SourceFailure | None = None
    github: GithubFacts | SourceFailure | None = None  # None: [github] not configured
    chain: ChainFacts | SourceFailure | None = None  # None: [chain] not configured
    #: [chain.networks.<name>]'s facts, by name.
    chain_networks: Mapping[str, ChainFacts | SourceFailure] = field(default_factory=dict)
    failures: tuple[SourceFailure, ...] = field(default=())
    #: Nonces the previous snapshot showed, by lower-case address: did they move?
    previous_nonces: Mapping[str, int] = field(default_factory=dict)

    def all_failures(self) -> list[SourceFailure]:
        sources: list[object] = [self.aws, self.http, self.tls, self.github, self.chain]
        sources += self.chain_networks.values()
        found = [o for o in sources if isinstance(o, SourceFailure)]
        found += [f for f in self.failures if f not in found]
        if isinstance(self.aws, AwsFacts) and self.aws.deploy_error:
            # The deploy trail is one call of the aws source; its failure blinds only it.
            found.append(SourceFailure("aws:deploy-trail", self.aws.deploy_error))
        return found


def environment_view(
    env: Environment,
    inventory: Inventory,
    obs: Observations,
    now: datetime,
    runs: Sequence[RunView] = (),
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
        ci=slot_ci(env.slot, runs) if env.slot is not None and inventory.github else None,
        deploy=deploy_view(env, obs.aws, obs.github, _main(inventory)),
        chain=chain_view(
            env,
            obs.chain_networks.get(env.chain.network)
            if env.chain and env.chain.network
            else obs.chain,
            inventory.chain_settings(env.chain.network if env.chain else None),
            obs.previous_nonces,
        ),
    )


def _main(inventory: Inventory) -> str:
    return inventory.github.main_branch if inventory.github else "main"


def evaluate(
    inventory: Inventory, obs: Observations, now: datetime, collector: CollectorInfo
) -> Board:
    """The whole verdict of one pass: a pure function of inventory, observations and clock."""
    slots = inventory.test_slots()
    github = obs.github if isinstance(obs.github, GithubFacts) else None
    runs = [run_view(r, slots) for r in github.runs] if github else []
    views = [environment_view(e, inventory, obs, now, runs) for e in inventory.environments]
    drift = fleet_drift(inventory, obs.aws)
    failures = obs.all_failures()
    chain = chain_summary(obs.chain, inventory.chain, now)
    networks = tuple(
        s
        for name in sorted(obs.chain_networks)
        if (s := chain_summary(obs.chain_networks[name], inventory.chain_settings(name), now, name))
    )
    issues = sorted(
        fleet_issues(views, drift, failures)
        + ci_issues(views, runs, inventory)
        + chain_issues(views, (chain, *networks)),
        key=lambda i: SEVERITY.index(i.status),
    )
    running = [v for v in views if v.lifecycle not in (Lifecycle.STOPPED, Lifecycle.RETIRED)]
    status = worst([v.status for v in running] + [i.status for i in issues])
    if not running and not issues:
        status = Status.UNKNOWN
    summary = Summary(
        status=status,
        message=summary_message(views, status),
        suggested_next_action=suggested_next_action(views, drift, failures, issues),
        issues=tuple(issues),
        counts=env_counts(views),
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
        ci=ci_summary(obs.github, runs, inventory.github.rate_floor if inventory.github else 0),
        chain=chain,
        chain_networks=networks,
    )


__all__ = [
    "Board",
    "EnvironmentView",
    "Observations",
    "Verdict",
    "aws_drift",
    "classify_cert",
    "classify_health",
    "classify_issuer",
    "classify_probe_error",
    "classify_readyz",
    "days_left",
    "deployed_issuer",
    "env_lifecycle",
    "environment_view",
    "evaluate",
    "find_address",
    "find_instance",
    "fleet_drift",
    "fleet_issues",
    "http_drift",
    "optional_verdict",
    "suggested_next_action",
    "worst",
]
