"""The machine under an environment: EC2's status checks and scheduled events (the host
source), whether CI can deploy to it through SSM (the agent source), and its load (the
metrics source: CPU credits, memory, disk).

Pure: facts in, checks out. Each check keeps the id the registry gives the source's
unknown check (`source:<name>:<env>`), so a failed source and its recovery are one check
with one history. Green needs a positive signal: every status check passed, an agent seen
online.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypeVar

from fleetboard.inventory import Environment, Thresholds
from fleetboard.model import (
    AgentFacts,
    Check,
    CheckKind,
    EnvKind,
    HostEvent,
    HostFacts,
    HostStatus,
    Metrics,
    MetricsFacts,
    Status,
)
from fleetboard.rules.checks import Judging, SourceRule, _Subject
from fleetboard.text import duration

F = TypeVar("F")

#: EC2's status check names, as the console words them, by the facts' field.
_CHECKS = (("system", "system"), ("instance", "instance"), ("ebs", "attached EBS"))

#: What a failed check means and what to do, by check (EC2's troubleshooting guide).
_IMPAIRED = {
    "system": "AWS's hardware or network under it is failing: stop and start it to move it "
    "to healthy hardware",
    "instance": "the operating system does not answer EC2 (boot, memory or network "
    "configuration): reboot it, and read its system log if that does not help",
    "ebs": "a volume attached to it cannot be read or written: check the volume's status",
}

#: Statuses that say nothing yet: not a failure, not a pass.
_NOT_YET = {
    "initializing": "EC2 is still running its first status checks",
    "insufficient-data": "EC2 does not have enough data for its status checks yet",
}

#: What to do before a scheduled event, by EC2's event code.
_BEFORE = {
    "instance-retirement": "stop and start it before then to move it to healthy hardware "
    "(EC2 stops it for good at that time otherwise)",
    "instance-stop": "stop and start it before then to move it to healthy hardware "
    "(EC2 stops it at that time otherwise)",
    "instance-reboot": "reboot it yourself before then at a time that suits, or EC2 "
    "reboots it then",
    "system-reboot": "reboot it yourself before then at a time that suits, or EC2 reboots it then",
    "system-maintenance": "AWS works on the network or power under it then; nothing to do "
    "unless it must not blink",
}


def _per_instance(
    kind: type[F], source: str, label: str, judge: Callable[..., list[Check]]
) -> SourceRule:
    """A source's rule for facts kept by instance id: `judge(env, subject, instance_id,
    facts, judging)` for an environment the aws source found an instance behind. Its check
    keeps the id the registry gives the source's unknown check when the source fails."""

    def rule(env: Environment, facts: object, judging: Judging) -> list[Check]:
        if not isinstance(facts, kind):
            return []
        subject = _Subject(
            f"{CheckKind.SOURCE}:{source}:{env.name}", label, CheckKind.SOURCE, source=source
        )
        machine = judging.machine
        if machine is None or machine.instance_id is None:
            # Its machine check says what is missing.
            return [subject.unknown("source: no instance found behind the environment")]
        return judge(env, subject, machine.instance_id, facts, judging)

    return rule


def _host(
    env: Environment, subject: _Subject, instance_id: str, facts: HostFacts, judging: Judging
) -> list[Check]:
    """The environment's status checks and, when any is pending, its scheduled events."""
    found = facts.items.get(instance_id)
    if found is None:
        cut = "" if facts.complete else " (the listing stopped at its page cap)"
        return [subject.unknown(f"source: EC2 listed no status for {instance_id}{cut}")]
    checks = [subject.judged(status_verdict(found, judging.now), facts.observed_at)]
    events = pending_events(found)
    if events:
        events_subject = _Subject(
            f"{CheckKind.SOURCE}:host:{env.name}:events",
            "scheduled event",
            CheckKind.SOURCE,
            source="host",
        )
        checks.append(events_subject.judged(events_verdict(events, judging.now), facts.observed_at))
    return checks


def status_verdict(found: HostStatus, now: datetime) -> tuple[Status, str, str]:
    """Red when any check is impaired, unknown while one has nothing to say yet, green
    when every check EC2 ran passed."""
    for field, label in _CHECKS:
        status = getattr(found, field)
        if status == "impaired":
            since = found.impaired_since.get(field)
            when = f" for {duration(now - since)}" if since else ""
            return (
                Status.RED,
                f"host: {label} status check failed",
                f"{label} status check failed{when}: {_IMPAIRED[field]}",
            )
    for field, label in _CHECKS:
        status = getattr(found, field)
        if status in _NOT_YET:
            why = _NOT_YET[status]
            return (
                Status.UNKNOWN,
                f"host: EC2's {label} check is {status}",
                f"not observed: {why}",
            )
    ran = [label for field, label in _CHECKS if getattr(found, field) == "ok"]
    if not ran:
        why = "EC2 ran no status check"
        return (Status.UNKNOWN, "host: no status check ran", f"not observed: {why}")
    checks = "check" if len(ran) == 1 else "checks"
    return (Status.GREEN, "", f"{_listed(ran)} status {checks} passed")


def pending_events(found: HostStatus) -> list[HostEvent]:
    """The events still to come, soonest first: EC2 keeps completed and cancelled ones for a
    while, marked in their description."""
    over = ("[Completed]", "[Canceled]")
    pending = [e for e in found.events if not e.description.startswith(over)]
    return sorted(pending, key=lambda e: (e.not_before is None, e.not_before or _NEVER))


def events_verdict(events: list[HostEvent], now: datetime) -> tuple[Status, str, str]:
    """Amber with the soonest event's date and what to do before it."""
    first = events[0]
    when = _when(first.not_before, now)
    advice = _BEFORE.get(first.code, "read the event in the EC2 console")
    more = f" (and {len(events) - 1} more)" if len(events) > 1 else ""
    return (Status.AMBER, f"host: {first.code} scheduled", f"{first.code} {when}{more}: {advice}")


def _agent(
    env: Environment, subject: _Subject, instance_id: str, facts: AgentFacts, judging: Judging
) -> list[Check]:
    """Whether CI can deploy to the environment: its SSM agent online."""
    agent = facts.items.get(instance_id)
    if agent is None and not facts.complete:
        return [subject.unknown(f"source: {instance_id} not among the managed nodes read")]
    # A test slot exists to be deployed to by CI: one it cannot reach fails every run that
    # lands on it. Elsewhere the services run on; only the next deploy is blocked.
    blocked = Status.RED if env.kind is EnvKind.TEST_SLOT else Status.AMBER
    cannot = f"{env.name} cannot be deployed to (CI deploys through SSM send-command)"
    if agent is None:
        return [
            subject.judged(
                (
                    blocked,
                    "host: not registered with SSM",
                    f"{instance_id} is not registered with SSM: {cannot}; check its instance "
                    "profile and that amazon-ssm-agent runs",
                ),
                facts.observed_at,
            )
        ]
    if agent.ping != "Online":
        since = (
            f", last seen {duration(judging.now - agent.last_ping)} ago" if agent.last_ping else ""
        )
        return [
            subject.judged(
                (
                    blocked,
                    f"host: ssm agent {agent.ping}",
                    f"SSM agent {agent.ping}{since}: {cannot}; restart amazon-ssm-agent or "
                    "reboot the instance",
                ),
                facts.observed_at,
            )
        ]
    version = ""
    if agent.version:
        update = ", an update is available" if agent.latest is False else ""
        version = f" (agent {agent.version}{update})"
    return [subject.judged((Status.GREEN, "", f"SSM agent online{version}"), facts.observed_at)]


#: Sorts an event EC2 gave no date last.
_NEVER = datetime.max.replace(tzinfo=UTC)


def _when(at: datetime | None, now: datetime) -> str:
    if at is None:
        return "scheduled, date not given"
    date = f"{at:%a %d %b %H:%M} UTC"
    if at <= now:
        return f"due since {date}"
    return f"on {date} (in {duration(at - now)})"


def _listed(labels: list[str]) -> str:
    if len(labels) == 1:
        return labels[0]
    return ", ".join(labels[:-1]) + " and " + labels[-1]


host_checks = _per_instance(HostFacts, "host", "host", _host)


def _metrics(
    env: Environment, subject: _Subject, instance_id: str, facts: MetricsFacts, judging: Judging
) -> list[Check]:
    """The machine's load: CPU credits near zero, memory or disk nearly full."""
    found = facts.items.get(instance_id)
    if found is None or all(v is None for v in found.cpu):
        # EC2 publishes CPU for every running instance: none yet means it has just started.
        why = f"CloudWatch has no CPU figures for {instance_id} in the last 3 h"
        return [subject.unknown(f"source: {why}")]
    return [subject.judged(metrics_verdict(found, judging.thresholds), found.observed_at)]


def metrics_verdict(found: Metrics, t: Thresholds) -> tuple[Status, str, str]:
    """Amber for each figure past its threshold (all of them said), else green with the
    figures; a figure the instance does not publish is said to be not published."""
    problems: list[tuple[str, str]] = []
    if found.credits is not None and found.credits < t.cpu_credits_floor:
        problems.append(
            (
                "host: cpu credits low",
                f"CPU credits {found.credits:g} (floor {t.cpu_credits_floor:g}): throttled to "
                "its baseline (standard mode) or billed for surplus credits (unlimited mode)",
            )
        )
    if found.memory is not None and found.memory >= t.memory_pct:
        problems.append(("host: memory nearly full", f"memory {found.memory:g}% used"))
    if found.disk is not None and found.disk >= t.disk_pct:
        problems.append(("host: disk nearly full", f"root disk {found.disk:g}% used"))
    if problems:
        return (Status.AMBER, problems[0][0], "; ".join(text for _, text in problems))
    seen = [v for v in found.cpu if v is not None]
    parts = [f"CPU {seen[-1]:g}% now, at most {max(seen):g}% in 3 h"]
    if found.credits is not None:
        parts.append(f"{found.credits:g} CPU credits")
    parts.append(_published("memory", found.memory))
    parts.append(_published("disk", found.disk))
    return (Status.GREEN, "", "; ".join(parts))


def _published(what: str, value: float | None) -> str:
    return f"{what} {value:g}% used" if value is not None else f"{what} not published"


# Labelled by the source's name, as its unknown check is when the source fails: one name
# on the card and in recent changes, whatever the source did.
agent_checks = _per_instance(AgentFacts, "agent", "agent", _agent)
metrics_checks = _per_instance(MetricsFacts, "metrics", "metrics", _metrics)
