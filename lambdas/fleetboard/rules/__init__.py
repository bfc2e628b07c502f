"""The status rules, one pure package: observations in; checks, rollups and issues out.

No I/O and no clock: `now` is passed in, so every rule is a table-driven test. The order of
decisions follows docs/design.md#status-rules: per-check status, lifecycle apart from
health, drift flags, the environment rollup, the fleet summary with its issues (red first)
and one next action.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Generic, TypeVar

from fleetboard.inventory import Environment, Inventory
from fleetboard.lifecycle import env_lifecycle
from fleetboard.model import (
    AwsFacts,
    Board,
    ChainFacts,
    CollectorInfo,
    Drift,
    EnvironmentView,
    GithubFacts,
    HttpFacts,
    Machine,
    Metrics,
    MetricsFacts,
    RunView,
    SourceFailure,
    Status,
    Summary,
    TlsFacts,
)
from fleetboard.rules.billing import month_cost
from fleetboard.rules.blind import (
    CONNECT,
    DNS,
    Blindness,
    ordered,
    probe_blindness,
    short_text,
    source_blindness,
    summary_text,
)
from fleetboard.rules.chain import chain_line_issues, chain_summary, chain_view, env_chain_issues
from fleetboard.rules.checks import (
    Judging,
    SourceRule,
    http_checks,
    machine_check,
    machine_view,
    source_checks,
    tls_checks,
)
from fleetboard.rules.ci import (
    ci_summary,
    deploy_view,
    env_ci_issues,
    fleet_ci_issues,
    red_slot_issue,
    run_view,
    slot_ci,
)
from fleetboard.rules.cost import idle_issue, machine_cost
from fleetboard.rules.drift import aws_drift, fleet_drift, http_drift
from fleetboard.rules.logs import logs_view
from fleetboard.rules.maintenance import (
    OpenWindow,
    checks_in_windows,
    environment_window,
    open_at,
)
from fleetboard.rules.runway import Trail
from fleetboard.rules.summary import (
    by_severity,
    collector_issue,
    env_counts,
    env_status,
    environment_issues,
    fleet_issues,
    rank_issues,
    suggested_next_action,
    summary_message,
    watched,
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

F = TypeVar("F")


def _typed(value: object, kind: type[F]) -> F | SourceFailure | None:
    return value if isinstance(value, kind | SourceFailure) else None


class _Answer(Generic[F]):
    """`obs.aws`: the answer of the source named like the attribute, if it is its facts
    type or a failure; None when it did not run."""

    def __init__(self, kind: type[F]) -> None:
        self.kind = kind

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, obs: Observations, owner: type) -> F | SourceFailure | None:
        return _typed(obs.facts.get(self.name), self.kind)


@dataclass(frozen=True, slots=True)
class Observations:
    """What the sources returned this pass, by source name ("aws", "chain:base"): each its
    kind's facts or a SourceFailure; a name that is absent did not run (not configured)."""

    facts: Mapping[str, object] = field(default_factory=dict)
    #: Nonces the previous snapshot showed, by lower-case address: did they move?
    previous_nonces: Mapping[str, int] = field(default_factory=dict)
    #: The wallets' balance trails the board kept (memory/wallets.py), by
    #: runway.trail_key: each wallet's runway.
    wallet_trails: Mapping[str, Trail] = field(default_factory=dict)
    #: The checks rules of the sources registered without rules of their own, by name.
    rules: Mapping[str, SourceRule] = field(default_factory=dict)

    #: The built-in kinds' answers, typed: facts, a failure, or None when it did not run
    #: (github and chain: not configured).
    aws = _Answer(AwsFacts)
    http = _Answer(HttpFacts)
    tls = _Answer(TlsFacts)
    github = _Answer(GithubFacts)
    chain = _Answer(ChainFacts)

    @property
    def chain_networks(self) -> dict[str, ChainFacts | SourceFailure]:
        """[chain.networks.<name>]'s facts, by name."""
        return {
            key.removeprefix("chain:"): value
            for key in self.facts
            if key.startswith("chain:") and (value := _typed(self.facts.get(key), ChainFacts))
        }

    def all_failures(self) -> list[SourceFailure]:
        """The failures that are the fleet's issues: an information source's (billing's)
        shows on its own part only."""
        found = [
            o for o in self.facts.values() if isinstance(o, SourceFailure) and not o.information
        ]
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
    blind: Blindness | None = None,
    open_now: Sequence[OpenWindow] | None = None,
    runs_read: bool = False,
) -> EnvironmentView:
    """One environment: its checks, drift, CI, deploy and chain identity; then its own
    issues, computed once; then its status, the worst of them (summary.env_status).

    `blind`: the collector's probes could not see (rules/blind.py), so a probe with no
    answer is unknown with the collector's cause, never red. `open_now`: the maintenance
    windows open at `now` (rules/maintenance.py), when the caller worked them out."""
    lifecycle = env_lifecycle(env, obs.aws)
    machine = machine_view(env, obs.aws)
    checks = [machine_check(env, lifecycle, machine, obs.aws, now)]
    drift: list[Drift] = []
    if isinstance(obs.aws, AwsFacts) and not env.retired:
        drift += aws_drift(env, obs.aws, inventory)
    if not lifecycle.parked:
        t = inventory.thresholds
        why = blind.check_reason if blind else None
        checks += http_checks(env, obs.http, t.slow_ms, why)
        checks += tls_checks(env, obs.tls, now, t.tls_amber_days, t.tls_red_days, why)
        judging = Judging(now, t, why, machine)
        for name, rule in sorted(obs.rules.items()):
            checks += source_checks(env, name, obs.facts.get(name), rule, judging)
        if isinstance(obs.http, HttpFacts):
            drift += http_drift(env, obs.http, inventory)
    if open_now is None:
        open_now = open_at(inventory.maintenance, now)
    # A retired environment is not watched: a window over it changes nothing.
    windows = () if env.retired else open_now
    maintenance = environment_window(env.name, windows)
    if maintenance is None:  # the environment's own window stands for its checks'
        checks = checks_in_windows(env.name, checks, windows)
    network = env.chain.network if env.chain else None
    chain = obs.chain_networks.get(network) if network else obs.chain
    view = EnvironmentView(
        name=env.name,
        kind=env.kind,
        slot=env.slot,
        lifecycle=lifecycle,
        status=Status.UNKNOWN,  # below: from its issues
        broker_host=env.broker_host,
        machine=machine,
        checks=tuple(checks),
        drift=tuple(drift),
        ci=slot_ci(env.slot, runs) if env.slot is not None and inventory.github else None,
        deploy=deploy_view(env, obs.aws, obs.github, _main(inventory)),
        chain=chain_view(
            env,
            chain,
            inventory.chain_settings(network),
            obs.previous_nonces,
            trails=obs.wallet_trails,
            now=now,
        ),
        maintenance=maintenance,
        metrics=None if lifecycle.parked else _metrics_of(machine, obs.facts.get("metrics")),
        cost=machine_cost(lifecycle, machine, obs.facts.get("prices"), now),
        logs=logs_view(env.name, inventory.logs, obs.facts.get("logs")),
        month_cost=month_cost(
            obs.facts.get("billing"),
            env.name,
            env.eip_tag,
            _instance_name(machine, obs.aws),
            retired=env.retired,
        ),
    )
    issues = (
        environment_issues(view)
        + env_chain_issues(view, read=isinstance(chain, ChainFacts))
        + env_ci_issues(view, inventory, now)
        + idle_issue(view, runs_read, inventory.thresholds.idle_hours, inventory.aws.region, now)
    )
    status = env_status(view, issues)
    issues += red_slot_issue(view, status)  # amber on a red slot: the status stays red
    return replace(view, status=status, issues=tuple(by_severity(issues)))


def _metrics_of(machine: Machine, facts: object) -> Metrics | None:
    """The figures of the environment's instance, when the metrics source read them."""
    if not isinstance(facts, MetricsFacts) or machine.instance_id is None:
        return None
    return facts.items.get(machine.instance_id)


def _instance_name(machine: Machine, aws: object) -> str | None:
    """The Name tag of the environment's instance, as the aws source found it."""
    if not isinstance(aws, AwsFacts) or machine.instance_id is None:
        return None
    instance = aws.instances.get(machine.instance_id)
    return instance.name if instance else None


def _main(inventory: Inventory) -> str:
    return inventory.github.main_branch if inventory.github else "main"


def collector_blindness(inventory: Inventory, obs: Observations) -> list[Blindness]:
    """What the collector could not see because of itself: the sources that say so, and
    the http probes when they all failed alike on the collector's side."""
    found = [source_blindness(f) for f in obs.all_failures() if f.blind]
    probes = probe_blindness(obs.http, inventory, obs.aws)
    if probes is not None:
        found.append(probes)
    return ordered(found)


def evaluate(
    inventory: Inventory, obs: Observations, now: datetime, collector: CollectorInfo
) -> Board:
    """The whole verdict of one pass: a pure function of inventory, observations and clock."""
    slots = inventory.test_slots()
    github = obs.github if isinstance(obs.github, GithubFacts) else None
    runs = [run_view(r, slots) for r in github.runs] if github else []
    blind = collector_blindness(inventory, obs)
    probes_blind = next((b for b in blind if b.source == "http" and b.kind in (DNS, CONNECT)), None)
    open_now = open_at(inventory.maintenance, now)
    views = [
        environment_view(e, inventory, obs, now, runs, probes_blind, open_now, github is not None)
        for e in inventory.environments
    ]
    drift = fleet_drift(inventory, obs.aws)
    failures = obs.all_failures()
    chain = chain_summary(obs.chain, inventory.chain, now)
    networks = tuple(
        s
        for name in sorted(obs.chain_networks)
        if (s := chain_summary(obs.chain_networks[name], inventory.chain_settings(name), now, name))
    )
    issues = rank_issues(
        fleet_issues(views, drift, failures)
        + fleet_ci_issues(views, runs)
        + chain_line_issues((chain, *networks)),
        views,
    )
    cause = summary_text(blind) if blind else None
    if cause is not None:
        issues.insert(0, collector_issue(cause))  # first: it frames every other line
    running = [v for v in views if watched(v)]
    status = worst([v.status for v in running] + [i.status for i in issues])
    if not running and not issues:
        status = Status.UNKNOWN
    summary = Summary(
        status=status,
        message=summary_message(views, status, short_text(blind) if blind else None, now),
        suggested_next_action=suggested_next_action(views, drift, failures, issues, blind),
        issues=tuple(issues),
        counts=env_counts(views),
        blind=cause,
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
    "Blindness",
    "Board",
    "EnvironmentView",
    "Judging",
    "Observations",
    "SourceRule",
    "Verdict",
    "aws_drift",
    "classify_cert",
    "classify_health",
    "classify_issuer",
    "classify_probe_error",
    "classify_readyz",
    "collector_blindness",
    "days_left",
    "deployed_issuer",
    "environment_view",
    "evaluate",
    "fleet_drift",
    "fleet_issues",
    "http_drift",
    "optional_verdict",
    "suggested_next_action",
    "worst",
]
