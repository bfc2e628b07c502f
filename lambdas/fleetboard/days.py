"""Each environment's last 90 UTC days for the snapshot: the timeline's day tallies
(memory/uptime.py) as whole seconds by class of time, for the history page's bars and for
tools that draw their own.

The snapshot carries them because the page is drawn from the snapshot alone
(docs/design.md#page). They are columns, one list per class with one number per day, and a
class no day has any of is left out: a quiet environment's 90 days are one list of about
540 bytes, where an object per day would be several times that in every latest.json.

    board = days.with_days(board, timeline)
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from fleetboard.memory import Timeline
from fleetboard.memory.uptime import CLASSES, DAY, KEEP_DAYS, Tally
from fleetboard.model import Board, Days

#: The time of a day after the memory began that no pass accounted for (the collector
#: was not running): the key beside the classes.
GAP = "gap"


def with_days(board: Board, timeline: Timeline) -> Board:
    """`board` with each environment's days from the pass's timeline."""
    now = board.generated_at
    envs = tuple(
        replace(view, days=days_of(timeline.tallies.get(view.name), timeline.began, now))
        for view in board.environments
    )
    return replace(board, environments=envs)


def days_of(tally: Tally | None, began: datetime, now: datetime) -> Days:
    """The days from the environment's oldest one remembered (at most KEEP_DAYS back) to
    `now`'s: each class's seconds, and the gap of each (its time after `began` and up to
    `now`, less what the tally counted). An environment new since the memory began starts
    at its first counted day, and its time before its first pass is no gap: it was not
    there. Seconds are
    rounded to whole ones: the bars need no more."""
    today = int(now.timestamp()) // DAY * DAY
    oldest = today - (KEEP_DAYS - 1) * DAY
    buckets = {b.start: b.seconds for b in (tally.days if tally else ()) if b.start >= oldest}
    first = min(buckets, default=today)
    starts = range(first, today + DAY, DAY)
    counted = [buckets.get(start, (0.0,) * len(CLASSES)) for start in starts]
    columns = {klass: tuple(round(day[i]) for day in counted) for i, klass in enumerate(CLASSES)}
    own = tally.start(began.timestamp()) if tally else began.timestamp()
    columns[GAP] = tuple(
        _gap(start, sum(day), own, now) for start, day in zip(starts, counted, strict=True)
    )
    kept = {klass: column for klass, column in columns.items() if any(column)}
    return Days(first=datetime.fromtimestamp(first, UTC), seconds=kept)


def _gap(start: int, counted: float, began: float, now: datetime) -> int:
    """The part of the day [start, start + DAY) inside [began, now) that was not counted."""
    covered = min(start + DAY, now.timestamp()) - max(start, began)
    return max(0, round(covered - counted))
