"""How each environment spent its time: up, degraded, down, unknown, parked or in
maintenance, by the hour for the last day and by the UTC day for the last 90, and its
uptime over 24 h, 7, 30 and 90 days.

The time between two passes belongs to what the environment showed at the first of them,
for at most `GAP_PERIODS` schedule periods: past that the collector was not running, and
the rest is a gap, counted as nothing (never as up). Unknown, parked and maintenance time
are shown apart and never counted as up or down; `available` is (up + degraded) / (up + degraded +
down), None when none of the window was rated. Buckets are kept for a bounded time, so the
state and the work of a pass do not grow with how long the board has run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from fleetboard.model import Uptime

#: The classes of time, in the order a tally holds them (a new class goes last: the saved
#: timeline's buckets are read by position, and an older one is padded with zeros).
CLASSES = ("up", "degraded", "down", "unknown", "parked", "maintenance")
#: What each word an environment shows counts as. A missing environment is meant to be up
#: and is not: down.
WORD_CLASS = {
    "green": "up",
    "amber": "degraded",
    "red": "down",
    "unknown": "unknown",
    "stopped": "parked",
    "retired": "parked",
    "missing": "down",
    # Inside a maintenance window (rules/maintenance.py): worked on, so neither up nor down,
    # whatever its checks showed.
    "maintenance": "maintenance",
}
#: A pass later than this many periods after the one before it means the collector was not
#: running: the time past it is a gap.
GAP_PERIODS = 3
HOUR = 3600
DAY = 86_400
KEEP_HOURS = 24
KEEP_DAYS = 90
WINDOWS: tuple[tuple[str, timedelta], ...] = (
    ("24h", timedelta(hours=24)),
    ("7d", timedelta(days=7)),
    ("30d", timedelta(days=30)),
    ("90d", timedelta(days=90)),
)


@dataclass(frozen=True, slots=True)
class Bucket:
    """Seconds by class (CLASSES' order) in one hour or one UTC day from `start` (epoch
    seconds: whole hours and days are exact, and cheap to compare and keep)."""

    start: int
    seconds: tuple[float, ...]

    def plus(self, klass: str, seconds: float) -> Bucket:
        i = CLASSES.index(klass)
        added = tuple(s + (seconds if j == i else 0.0) for j, s in enumerate(self.seconds))
        return Bucket(self.start, added)


@dataclass(frozen=True, slots=True)
class Tally:
    """One environment's hours (the last day) and days (the last 90), oldest first."""

    hours: tuple[Bucket, ...] = ()
    days: tuple[Bucket, ...] = ()
    #: When the environment was first seen, if that was after the memory began (epoch
    #: seconds): the time before it is not a gap of its own, it was not there. None: it is
    #: as old as the memory.
    began: int | None = None

    def start(self, memory_began: float) -> float:
        """Where its own time begins: the memory's beginning, or its first pass after it."""
        return max(memory_began, self.began or 0)


def counted(start: datetime, now: datetime, period_s: float) -> tuple[datetime, datetime]:
    """The part of [start, now) that belongs to what was shown at `start`: the rest, past
    GAP_PERIODS periods, is a gap."""
    return start, min(now, start + timedelta(seconds=GAP_PERIODS * period_s))


def add(tally: Tally, klass: str, start: datetime, end: datetime, now: datetime) -> Tally:
    """`tally` with [start, end) counted as `klass`, split at hour and day boundaries, and
    buckets older than they are kept for dropped."""
    hours = {b.start: b for b in tally.hours}
    days = {b.start: b for b in tally.days}
    at, stop = start.timestamp(), end.timestamp()
    while at < stop:
        hour = int(at // HOUR * HOUR)
        until = min(stop, hour + HOUR)
        hours[hour] = hours.get(hour, _empty(hour)).plus(klass, until - at)
        day = int(at // DAY * DAY)
        days[day] = days.get(day, _empty(day)).plus(klass, until - at)
        at = until
    t = int(now.timestamp())
    keep_hours = t // HOUR * HOUR - KEEP_HOURS * HOUR
    keep_days = t // DAY * DAY - (KEEP_DAYS - 1) * DAY
    return Tally(
        hours=tuple(hours[h] for h in sorted(hours) if h >= keep_hours),
        days=tuple(days[d] for d in sorted(days) if d >= keep_days),
        began=tally.began,
    )


def figures(tally: Tally, now: datetime, began: datetime) -> tuple[Uptime, ...]:
    """Uptime over each window, with its breakdown and its gap (time inside the window and
    after the memory began that no pass accounted for)."""
    t, first = now.timestamp(), tally.start(began.timestamp())
    out = []
    for name, length in WINDOWS:
        if length <= timedelta(hours=24):
            since = t - length.total_seconds()
            part = _hours_in(tally.hours, since)
        else:
            since = t // DAY * DAY - (length.total_seconds() - DAY)
            part = [b.seconds for b in tally.days if b.start >= since]
        totals = [sum(s[i] for s in part) for i in range(len(CLASSES))]
        covered = max(0.0, t - max(since, first))
        up, degraded, down = totals[0], totals[1], totals[2]
        rated = up + degraded + down
        out.append(
            Uptime(
                window=name,
                up_s=up,
                degraded_s=degraded,
                down_s=down,
                unknown_s=totals[3],
                parked_s=totals[4],
                maintenance_s=totals[5],
                gap_s=max(0.0, covered - sum(totals)),
                available=(up + degraded) / rated if rated > 0 else None,
            )
        )
    return tuple(out)


def closed_days(before: datetime | None, now: datetime) -> list[datetime]:
    """The UTC days that were still open at the last pass and are over now."""
    if before is None:
        return []
    first, today = int(before.timestamp()) // DAY, int(now.timestamp()) // DAY
    return [datetime.fromtimestamp(d * DAY, UTC) for d in range(first, today)]


def rollup(day: datetime, tallies: Mapping[str, Tally], began: datetime) -> dict[str, object]:
    """One closed day's figures for every environment: the `history/days/` object. Its gap
    is the day's time after the memory `began` (and after the environment was first seen)
    that no pass counted, as in the snapshot's days and uptime."""
    start = int(day.timestamp())
    envs = {}
    for name, tally in sorted(tallies.items()):
        bucket = next((b for b in tally.days if b.start == start), None)
        if bucket is None:
            continue
        seconds = dict(zip(CLASSES, (round(s, 1) for s in bucket.seconds), strict=True))
        # Before the memory began, or the environment was first seen, is not its gap.
        absent = min(DAY, max(0.0, tally.start(began.timestamp()) - start))
        gap = round(max(0.0, DAY - absent - sum(bucket.seconds)), 1)
        envs[name] = {**seconds, "gap": gap}
    return {"day": day.date().isoformat(), "environments": envs}


def _hours_in(hours: Sequence[Bucket], since: float) -> list[tuple[float, ...]]:
    out = []
    for bucket in hours:
        end = bucket.start + HOUR
        if end <= since:
            continue
        if bucket.start >= since:
            out.append(bucket.seconds)
        else:  # spread evenly over its hour: the part inside the window, pro rata
            share = (end - since) / HOUR
            out.append(tuple(s * share for s in bucket.seconds))
    return out


def _empty(start: int) -> Bucket:
    return Bucket(start, (0.0,) * len(CLASSES))
