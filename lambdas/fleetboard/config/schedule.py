"""The schedule's rules: how often a pass runs and how long it may take.

Owned here and used by infra/collector.py (cdk synth) too, so `validate` and `collect`
refuse what `cdk synth` would: EventBridge Scheduler rates are whole minutes, the
staleness alarm's window is one day, Lambda's timeout is at most 900 s.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# fleet.period_s when fleet.toml names none: the model's, so a board built without a config
# and the page agree with the schedule.
from fleetboard.model import DEFAULT_PERIOD_S as DEFAULT_PERIOD_S

#: The staleness alarm waits this many periods, within CloudWatch's one day; the Lambda's
#: timeout is the period less a margin, at most Lambda's 900 s, and the pass ends a margin
#: before it.
STALE_PERIODS = 3
TIMEOUT_MARGIN_S = 5
MAX_LAMBDA_TIMEOUT_S = 900
#: How long a pass waits past its deadline for a late source before it shows it unknown.
DEADLINE_GRACE_S = 2.0
#: Kept back from the Lambda timeout, after the grace, for judging, rendering, publishing.
PUBLISH_RESERVE_S = 5.0
#: What the pass deadline must leave of the Lambda timeout, so Lambda never cuts it short.
AFTER_DEADLINE_S = DEADLINE_GRACE_S + PUBLISH_RESERVE_S


def lambda_timeout_s(period_s: int) -> int:
    """The collector Lambda's timeout: a margin short of the period, so passes never overlap,
    and no more than Lambda allows."""
    return min(period_s - TIMEOUT_MARGIN_S, MAX_LAMBDA_TIMEOUT_S)


def schedule_problems(period_s: int, pass_deadline_s: float) -> list[tuple[str, str]]:
    """(key, text) for a schedule the scheduled board cannot run; empty when all is well.

    infra/collector.py synthesizes from the same rules (EventBridge Scheduler rates are
    whole minutes, the staleness alarm's window is one day, Lambda's timeout is at most
    900 s), so `validate` and `collect` refuse what `cdk synth` would.
    """
    found = []
    if period_s % 60:
        found.append(
            (
                "fleet.period_s",
                f"{period_s} is not a whole number of minutes; EventBridge Scheduler rates "
                f"are whole minutes (try {max(60, period_s // 60 * 60)})",
            )
        )
    if period_s * STALE_PERIODS > 86400:
        found.append(
            (
                "fleet.period_s",
                f"{period_s} is too long for the staleness alarm: {STALE_PERIODS} periods must "
                f"fit in CloudWatch's one-day window (at most {86400 // STALE_PERIODS})",
            )
        )
    timeout = lambda_timeout_s(period_s)
    if pass_deadline_s > period_s - 2 * TIMEOUT_MARGIN_S:
        found.append(
            (
                "probe.pass_deadline_s",
                f"{pass_deadline_s:g} leaves less than {2 * TIMEOUT_MARGIN_S} s of the "
                f"{period_s} s schedule period; a pass must end before the next one starts",
            )
        )
    elif pass_deadline_s > timeout - AFTER_DEADLINE_S:
        found.append(
            (
                "probe.pass_deadline_s",
                f"{pass_deadline_s:g} leaves less than {AFTER_DEADLINE_S:g} s of the Lambda's "
                f"{timeout} s timeout to wait for late sources and publish in (Lambda allows "
                f"at most {MAX_LAMBDA_TIMEOUT_S} s)",
            )
        )
    return found


def period_s(fleet: Mapping[str, Any]) -> int:
    """fleet.period_s, the schedule period (the one place it is read from fleet.toml)."""
    return int(fleet.get("period_s", DEFAULT_PERIOD_S))
