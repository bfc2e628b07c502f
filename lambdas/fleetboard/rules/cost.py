"""What a machine costs, and a test slot left running with nothing to do.

Pure: the machine (instance type, state, launch time, Elastic IP), the prices and the clock
in; a `Cost` and, for an idle slot, one amber issue out. List prices only: EBS volumes,
data transfer and any discount are not counted (the README says so), so the figure is what
stopping the instance saves, not the bill.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from fleetboard.model import (
    IDLE_ISSUE,
    Cost,
    EnvironmentView,
    EnvKind,
    Issue,
    Lifecycle,
    Machine,
    PriceFacts,
    Status,
)
from fleetboard.text import duration


def machine_cost(
    lifecycle: Lifecycle, machine: Machine, prices: object, now: datetime
) -> Cost | None:
    """The machine's cost a day as it stands; None without prices or without a machine."""
    if not isinstance(prices, PriceFacts) or lifecycle in (Lifecycle.UNKNOWN, Lifecycle.RETIRED):
        return None
    if machine.instance_id is None and machine.eip is None:
        return None
    running = lifecycle is Lifecycle.RUNNING and machine.state == "running"
    ipv4 = prices.ipv4_hourly if machine.eip else 0.0
    instance = prices.items.get(machine.instance_type or "") if running else None
    known = instance is not None or not running
    per_day = round(((instance or 0.0) + ipv4) * 24, 2) if known else None
    return Cost(
        per_day=per_day,
        instance_hourly=instance,
        ipv4_hourly=ipv4,
        running_today_h=_running_today_h(machine, now) if running else 0.0,
        basis=prices.basis,
    )


def _running_today_h(machine: Machine, now: datetime) -> float:
    # EC2's LaunchTime is the last start, so it is when this run began.
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    since = max(machine.launched_at or midnight, midnight)
    return round(max(0.0, (now - since).total_seconds()) / 3600, 1)


def idle_issue(
    view: EnvironmentView, runs_read: bool, idle_hours: float, region: str, now: datetime
) -> list[Issue]:
    """A test slot running with no CI run holding or waiting for it, and none deployed to
    it for `idle_hours`: amber, with what it costs a day and the command that stops it.
    Said only when CI was read this pass (no runs seen is not no runs) and its cost is
    known; never for prod or any environment that is not a test slot."""
    cost, ci, machine = view.cost, view.ci, view.machine
    if (
        idle_hours <= 0
        or view.kind is not EnvKind.TEST_SLOT
        or view.lifecycle is not Lifecycle.RUNNING
        or view.maintenance is not None
        or not runs_read
        or ci is None
        or ci.holders
        or ci.queued
        or cost is None
        or cost.per_day is None
        or machine.instance_id is None
    ):
        return []
    deployed = view.deploy.at if view.deploy is not None else None
    busy = max((t for t in (deployed, machine.launched_at) if t is not None), default=None)
    if busy is None or now - busy < timedelta(hours=idle_hours):
        return []
    since = "deploy" if deployed is not None and busy == deployed else "start"
    detail = (
        f"idle for {duration(now - busy)} (no CI run holds or waits for it; its last "
        f"{since} was then), about ${cost.per_day:.2f}/day: stop it with `aws ec2 "
        f"stop-instances --region {region} --instance-ids {machine.instance_id}`"
    )
    return [Issue.of(Status.AMBER, view.name, IDLE_ISSUE, detail)]
