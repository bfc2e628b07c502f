"""Maintenance windows: which environments and checks are being worked on at `now`.

Pure, like every rule: fleet.toml's windows (`Inventory.maintenance`) and the pass's clock
in, a `Maintenance` (the reason, when this occurrence opened and closes) out. What a window
changes is decided where the parked lifecycle is (rules/summary.py, rules/ci.py): an
environment in a window shows "maintenance" and its checks do not make it or the fleet
red or amber; a check in a check-level window keeps the status it was seen with, but a red
or amber one does not colour its environment. A window excuses a failure, never a blind
spot: an unknown check still counts as unknown, and no window makes anything green.

A recurring window opens at its wall-clock time in its own time zone, so it follows that
zone's clock changes, and stays open for its minutes of real time. A start the clock skips
(02:30 on the night clocks go forward) opens at the instant it would have been without the
change; a start the clock passes twice (the night they go back) opens at the first.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from fleetboard.inventory import WEEKDAYS, MaintenanceWindow, OneOff, Recurring
from fleetboard.model import Check, Maintenance, Status

DAY = timedelta(days=1)


def occurrence(when: OneOff | Recurring, now: datetime) -> tuple[datetime, datetime] | None:
    """The (start, end) of the occurrence open at `now`, start included, end not; None
    when the window is closed."""
    if isinstance(when, OneOff):
        return (when.start, when.end) if when.start <= now < when.end else None
    zone = ZoneInfo(when.timezone)
    today = now.astimezone(zone).date()
    # An occurrence open now opened at most its length ago: that many days back, and one
    # more for the clock change between.
    back = when.minutes // (24 * 60) + 1
    for day in (today - timedelta(days=n) for n in range(back + 1)):
        span = _on(when, day, zone)
        if span is not None and span[0] <= now < span[1]:
            return span
    return None


def _on(when: Recurring, day: date, zone: ZoneInfo) -> tuple[datetime, datetime] | None:
    """The occurrence that opens on `day` (a date in the window's zone), if one does."""
    if when.every != "day" and day.weekday() != WEEKDAYS.index(when.every):
        return None
    start = datetime.combine(day, when.at, tzinfo=zone).astimezone(UTC)
    return start, start + timedelta(minutes=when.minutes)


#: A window open at the pass's clock, and this occurrence of it.
OpenWindow = tuple[MaintenanceWindow, Maintenance]


def open_at(windows: Iterable[MaintenanceWindow], now: datetime) -> tuple[OpenWindow, ...]:
    """The windows open at `now`: worked out once a pass, then asked of each environment."""
    found = []
    for window in windows:
        span = occurrence(window.when, now)
        if span is not None:
            found.append((window, Maintenance(window.reason, *span)))
    return tuple(found)


def _last(found: Iterable[Maintenance]) -> Maintenance | None:
    """Of windows open at once, the one that closes last: the page says when it is over."""
    return max(found, key=lambda m: m.ends, default=None)


def environment_window(env: str, open_now: Sequence[OpenWindow]) -> Maintenance | None:
    """The window `env` is in (the one closing last, when several are open)."""
    return _last(m for w, m in open_now if env in w.environments)


def checks_in_windows(
    env: str, checks: Sequence[Check], open_now: Sequence[OpenWindow]
) -> list[Check]:
    """`checks` of `env`, each one a check-level window open now names carrying it."""
    mine = [(w, m) for w, m in open_now if any(s.env == env for s in w.checks)]
    if not mine:
        return list(checks)
    out = []
    for check in checks:
        found = _last(m for w, m in mine if any(s.matches(env, check.name) for s in w.checks))
        out.append(replace(check, maintenance=found) if found is not None else check)
    return out


def excused(check: Check) -> bool:
    """A red or amber check in a check-level window: what it saw stands, but it does not
    colour its environment. An unknown one is not excused: a window is not a way to see."""
    return check.maintenance is not None and check.status in (Status.RED, Status.AMBER)


def edges(windows: Iterable[MaintenanceWindow], start: datetime, end: datetime) -> list[datetime]:
    """Every moment in [start, end] a window opens or closes, in order: where a board
    judged once and re-dated (a replay, the demo's past) must be judged afresh."""
    found: set[datetime] = set()
    for window in windows:
        when = window.when
        if isinstance(when, OneOff):
            spans = [(when.start, when.end)]
        else:
            zone = ZoneInfo(when.timezone)
            first = (start - DAY * (when.minutes // (24 * 60) + 1)).astimezone(zone).date()
            days = (end.astimezone(zone).date() - first).days + 1
            found_spans = (_on(when, first + timedelta(days=n), zone) for n in range(days))
            spans = [s for s in found_spans if s is not None]
        found.update(t for span in spans for t in span if start <= t <= end)
    return sorted(found)


def until(m: Maintenance, now: datetime) -> str:
    """`until 04:00 UTC` when it closes on the pass's (UTC) day, else with its date."""
    ends = m.ends.astimezone(UTC)
    same_day = ends.date() == now.astimezone(UTC).date()
    return ends.strftime("until %H:%M UTC" if same_day else "until %Y-%m-%d %H:%M UTC")


def sentence(env: str, m: Maintenance, now: datetime) -> str:
    """`test in maintenance until 04:00 UTC: slot 1 rebuild`."""
    return f"{env} in maintenance {until(m, now)}: {m.reason}"
