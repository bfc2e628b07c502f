"""CI on the board: which run holds each test slot, who waits, and what each slot runs.

Pure: the github source's runs and the aws source's deploy trail in; run views, slot
occupancy, deploy staleness and their issues out (docs/fleet.md#ci, #stale-binary).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

from fleetboard.ci import RUNNING, slot_claim
from fleetboard.inventory import Environment, Inventory
from fleetboard.lifecycle import find_instance
from fleetboard.model import (
    AwsFacts,
    CiRun,
    CiSummary,
    DeployView,
    EnvironmentView,
    GithubFacts,
    Issue,
    RunView,
    SlotBasis,
    SlotCi,
    SourceFailure,
    Status,
)
from fleetboard.rules.maintenance import until
from fleetboard.text import counted

_SHA = re.compile(r"^[0-9a-f]{7,40}$")


def run_view(run: CiRun, slot_count: int) -> RunView:
    claim = slot_claim(run, slot_count)
    jobs = run.jobs or ()
    current = next((j.name for j in jobs if j.status == RUNNING), None)
    return RunView(
        run_id=run.id,
        number=run.number,
        url=run.url,
        workflow=run.workflow,
        status=run.status,
        event=run.event,
        pr=run.pr,
        title=run.title,
        branch=run.branch,
        actor=run.actor,
        created_at=run.created_at,
        started_at=run.started_at,
        job=current,
        slot=claim.slot if claim else None,
        mapped_by=claim.basis if claim else None,
        group=claim.group if claim else None,
    )


def slot_ci(slot: int, runs: Sequence[RunView]) -> SlotCi:
    """Who holds the slot, and who waits for it.

    Only the marker step proves a run holds its slot: the slot-bound jobs run it first, once
    the slot's concurrency group let them start. The slot-claim annotation and the computed
    guess say which slot a run is for, not that it has it yet (a run in progress may still
    wait for the group), so they stand in as holder only when no marker says otherwise.
    """
    mine = [r for r in runs if r.slot == slot]
    running = [r for r in mine if r.status == RUNNING]
    confirmed = [r for r in running if r.mapped_by == SlotBasis.MARKER]
    holders = confirmed or running
    queued = [r for r in mine if r not in holders]
    return SlotCi(holders=tuple(holders), queued=tuple(queued))


def deploy_view(
    env: Environment,
    aws: AwsFacts | SourceFailure | None,
    github: GithubFacts | SourceFailure | None,
    main_branch: str,
) -> DeployView | None:
    """The last deploy to the environment's instance, and whether it is behind main.

    Honest about what can be compared: a sha against main's head sha; a deploy of main
    against main's last commit time; a branch name against nothing (unknown, said so).
    """
    if not isinstance(aws, AwsFacts):
        return None
    if aws.deploys is None:
        why = aws.deploy_error or "the deploy trail was not read"
        return DeployView(None, None, None, None, None, f"unknown: {why}")
    instance = find_instance(env, aws)
    deploy = aws.deploys.get(instance.instance_id) if instance else None
    if deploy is None:
        return DeployView(None, None, None, None, None, "no CI deploy on record")
    facts = github if isinstance(github, GithubFacts) else None
    stale, text = _staleness(deploy.ref, deploy.requested_at, facts, main_branch)
    return DeployView(deploy.requested_at, deploy.run_id, deploy.ref, deploy.status, stale, text)


def _staleness(
    ref: str, at: datetime, github: GithubFacts | None, main: str
) -> tuple[bool | None, str]:
    if _SHA.match(ref):
        if github is None or github.main_sha is None:
            return None, f"unknown: {main}'s head is not known (GitHub not read)"
        if github.main_sha.startswith(ref):
            return False, f"current: {ref[:7]} is {main}'s head"
        return True, f"behind {main}: deployed {ref[:7]}, {main} is at {github.main_sha[:7]}"
    if ref == main:
        if github is None or github.main_committed_at is None:
            return None, f"unknown: {main}'s last commit time is not known (GitHub not read)"
        if github.main_committed_at > at:
            head = f" ({github.main_sha[:7]})" if github.main_sha else ""
            return True, f"behind {main}: {main} has a newer commit{head} than this deploy"
        return False, f"current: deployed {main} after its last commit"
    return None, f"unknown: deployed branch {ref}, not comparable with {main}"


def ci_summary(
    github: GithubFacts | SourceFailure | None, runs: Sequence[RunView], floor: int
) -> CiSummary | None:
    if github is None:
        return None
    if isinstance(github, SourceFailure):
        return CiSummary(
            configured=True,
            status=Status.UNKNOWN,
            text=f"CI unknown: {github.reason}",
            in_progress=0,
            queued=0,
            rate_remaining=None,
            rate_limit=None,
            requests=0,
            not_modified=0,
            notes=(),
            error=github.reason,
            runs=(),
            main_sha=None,
        )
    running = sum(1 for r in runs if r.status == RUNNING)
    waiting = len(runs) - running
    budget = ""
    if github.rate_remaining is not None and github.rate_limit is not None:
        budget = f"; GitHub API budget {github.rate_remaining:,} of {github.rate_limit:,} left"
    text = (
        f"{running} run{'s' * (running != 1)} in progress, {waiting} queued{budget}; "
        f"{github.requests} requests this pass, {github.not_modified} answered 304"
    )
    low = github.rate_remaining is not None and github.rate_remaining < floor
    return CiSummary(
        configured=True,
        status=Status.AMBER if low or github.notes else Status.GREEN,
        text=text,
        in_progress=running,
        queued=waiting,
        rate_remaining=github.rate_remaining,
        rate_limit=github.rate_limit,
        requests=github.requests,
        not_modified=github.not_modified,
        notes=github.notes,
        error=None,
        runs=tuple(runs),
        main_sha=github.main_sha,
    )


def _label(run: RunView) -> str:
    pr = f" (PR #{run.pr})" if run.pr else ""
    return f"run #{run.number}{pr}"


def _issue(status: Status, env: str, check: str, detail: str) -> Issue:
    return Issue.of(status, env, check, detail)


def env_ci_issues(view: EnvironmentView, inventory: Inventory, now: datetime) -> list[Issue]:
    """One environment's CI issues that do not depend on its status: two runs in its slot,
    a run on it while it is parked or in maintenance, a deep queue, and a stale binary
    (running only: a parked stack serves nothing, and CI redeploys it when it starts it
    again; one in maintenance is being worked on)."""
    found: list[Issue] = []
    limit = inventory.github.queue_limit if inventory.github else 1
    parked = view.lifecycle.parked
    ci = view.ci
    if ci is not None:
        confirmed = [r for r in ci.holders if r.mapped_by == SlotBasis.MARKER]
        if len(confirmed) > 1:
            who = " and ".join(_label(r) for r in confirmed)
            found.append(
                _issue(
                    Status.RED,
                    view.name,
                    "ci",
                    f"{who} both hold slot {view.slot}: they "
                    "share one deployer's nonce and one stack",
                )
            )
        holder = ci.holder
        if holder is not None and parked:
            found.append(
                _issue(
                    Status.RED,
                    view.name,
                    "ci",
                    f"{_label(holder)} holds slot {view.slot}, "
                    f"which is {view.lifecycle.value}: its deploy and tests will fail",
                )
            )
        elif holder is not None and (window := view.maintenance) is not None:
            # Amber, not red: the slot may well work, but its failures may be the window's.
            found.append(
                _issue(
                    Status.AMBER,
                    view.name,
                    "ci",
                    f"{_label(holder)} holds slot {view.slot}, which is in maintenance "
                    f"{until(window, now)} ({window.reason}): its failures may be the "
                    "window's, not the change's",
                )
            )
        if len(ci.queued) > limit:
            found.append(
                _issue(
                    Status.AMBER,
                    view.name,
                    "ci",
                    f"{counted(len(ci.queued), 'run')} "
                    f"{'waits' if len(ci.queued) == 1 else 'wait'} for slot {view.slot} "
                    f"(more than {limit})",
                )
            )
    if view.deploy is not None and view.deploy.stale and not parked and not view.maintenance:
        found.append(_issue(Status.AMBER, view.name, "deploy", f"stale binary: {view.deploy.text}"))
    return found


def red_slot_issue(view: EnvironmentView, status: Status) -> list[Issue]:
    """A run on a slot that is red for other reasons: amber, so it never changes the
    slot's status (already red) and can be added once the status is known. When the slot
    cannot be deployed to (its SSM agent is not online), every run holding it or waiting for
    it is named: each will fail at its deploy step, whatever its change."""
    ci = view.ci
    # Parked or in maintenance: env_ci_issues already said what a run there meets.
    parked = view.lifecycle.parked or view.maintenance is not None
    if ci is None or parked or status is not Status.RED:
        return []
    blocked = next((c for c in view.checks if c.source == "agent" and c.status is Status.RED), None)
    if blocked is not None:
        why = blocked.reason.split(": ", 1)[-1]
        return [
            _issue(
                Status.AMBER,
                view.name,
                "ci",
                f"{_label(run)} {'holds' if run in ci.holders else 'waits for'} {view.name}, "
                f"which CI cannot deploy to ({why}): it will fail at its deploy step",
            )
            for run in (*ci.holders, *ci.queued)
        ]
    if ci.holder is None:
        return []
    return [
        _issue(
            Status.AMBER,
            view.name,
            "ci",
            f"{_label(ci.holder)} runs on a red slot: "
            "its failures may be the slot's, not the change's",
        )
    ]


def fleet_ci_issues(views: Sequence[EnvironmentView], runs: Sequence[RunView]) -> list[Issue]:
    """A run claiming a slot nobody declared: the fleet's, not one environment's."""
    slots = {v.slot for v in views if v.slot is not None}
    return [
        _issue(
            Status.AMBER,
            "fleet",
            "ci",
            f"{_label(run)} claims slot {run.slot}, which fleet.toml does not declare",
        )
        for run in runs
        if run.slot is not None and run.slot not in slots and run.mapped_by != SlotBasis.COMPUTED
    ]
