"""The card's machine lines: CPU over the last 3 hours as a small line and the load figures
(credits, memory, disk) in words, from the snapshot's `metrics`; and what the machine
costs, from its `cost`, with the idle slot's issue beside it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from fleetboard.model import IDLE_ISSUE
from fleetboard.render.formats import JsonDoc

#: The line's box: one step of 3 units, 0-100 % over 20 units (1 unit of margin each way).
_STEP_W = 3
_HEIGHT = 20


@dataclass(frozen=True, slots=True)
class Spark:
    """A CPU line as the template draws it: one polyline per run of steps with figures (a
    step with none breaks the line rather than joining across it)."""

    width: int
    height: int
    lines: tuple[str, ...]  # each polyline's points, "x,y x,y ..."
    label: str  # what a screen reader says: now, and the 3 hours' peak


def cpu_spark(metrics: JsonDoc) -> Spark | None:
    """The line of `metrics.cpu`; None when CloudWatch had no figure at all."""
    cpu: list[float | None] = list(metrics["cpu"])
    seen = [v for v in cpu if v is not None]
    if not seen:
        return None
    lines: list[str] = []
    run: list[str] = []
    for step, value in enumerate([*cpu, None]):
        if value is None:
            if run:
                lines.append(" ".join(run))
            run = []
            continue
        y = (_HEIGHT - 1) - min(max(value, 0.0), 100.0) / 100 * (_HEIGHT - 2)
        run.append(f"{step * _STEP_W},{y:.1f}")
    label = f"CPU over the last 3 hours: {seen[-1]:g}% now, at most {max(seen):g}%"
    return Spark(max(1, len(cpu) - 1) * _STEP_W, _HEIGHT, tuple(lines), label)


def load_text(metrics: JsonDoc) -> str:
    """`31% now · 412 credits · memory 63% · disk not published`."""
    seen = [v for v in metrics["cpu"] if v is not None]
    parts = [f"{seen[-1]:g}% now" if seen else "no CPU figures"]
    if metrics["credits"] is not None:
        parts.append(f"{metrics['credits']:g} credits")
    for what in ("memory", "disk"):
        value = metrics[what]
        parts.append(f"{what} {value:g}%" if value is not None else f"{what} not published")
    return " · ".join(parts)


def cost_text(cost: JsonDoc) -> str:
    """`about $1.12/day · running 9.5 h today`, or a stopped machine's Elastic IP alone."""
    per_day = cost["per_day"]
    if per_day is None:
        return "price of its instance type not known"
    if cost["instance_hourly"] is None:  # stopped: only its public IPv4 is billed
        if not cost["ipv4_hourly"]:
            return "nothing while stopped"
        return f"about ${per_day:.2f}/day while stopped: its Elastic IP's public IPv4"
    return f"about ${per_day:.2f}/day · running {cost['running_today_h']:g} h today"


def idle_text(issues: Iterable[JsonDoc]) -> str | None:
    """An environment's idle issue as its card says it beside the cost line ("idle for
    9 h …: stop it with …"), without the summary's "<env> idle amber: "; None when idle
    it is not."""
    for issue in issues:
        if issue["check"] == IDLE_ISSUE:
            head = f"{issue['env']} {issue['check']} {issue['status']}: "
            return str(issue["text"]).removeprefix(head)
    return None


def month_text(month: JsonDoc) -> str:
    """`$23.40 this month (Cost Explorer, to 2026-12-03)`, or why it is not known."""
    amount = month["amount"]
    if amount is None:
        return f"this month unknown: {month['reason']}"
    unit = month["unit"]
    money = f"${amount:,.2f}" if unit == "USD" else f"{amount:,.2f} {unit}"
    least = "" if month["complete"] else "at least "
    to = f", to {month['read_at'][:10]}" if month["read_at"] else ""
    return f"{least}{money} this month (Cost Explorer{to})"


def month_title(month: JsonDoc) -> str:
    """What the month figure is, on hover: the tag values counted, since when, as of when."""
    parts = ["source billing"]
    if month["since"]:
        parts.append(f"Cost Explorer's unblended cost since {month['since']}")
    if month["values"]:
        parts.append("tagged " + ", ".join(f"{month['tag']}={v}" for v in month["values"]))
    if month["read_at"]:
        parts.append(f"read {month['read_at'][:16].replace('T', ' ')} UTC")
    parts.append("Cost Explorer lags up to a day")
    return " · ".join(parts)
