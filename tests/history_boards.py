"""Boards that remember 90 days, for the history page and the cards' uptime.

A day script says, per environment, what each UTC day was; the time goes through the real
memory (memory/uptime.py's `add` and `figures`, `memory.remember`, `days.with_days`), so the
snapshot is the one a pass that had watched those 90 days would publish. Scripts are
(days before today, class, start hour, hours): `(10, "down", 9, 50 / 60)` is 50 minutes down
from 09:00 UTC ten days ago; the rest of every remembered day is up unless the script says
the collector did not run (`GAP_DAYS`) or the day is only partly remembered.

    board, doc = ninety_days(demo_board(), DEMO_SCRIPT, flapping={"base/worker:classify": 5})
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.boards import NOW, document

from fleetboard import days, memory
from fleetboard.memory import Timeline
from fleetboard.memory.timeline import Held
from fleetboard.memory.uptime import DAY, Tally, add
from fleetboard.model import Board

#: One scripted span: (days before today, class, start hour UTC, hours).
Span = tuple[int, str, float, float]

TODAY = datetime.fromtimestamp(int(NOW.timestamp()) // DAY * DAY, UTC)
#: The memory began at 06:00 UTC 89 days before today: the first day is remembered from then.
BEGAN = TODAY - timedelta(days=89) + timedelta(hours=6)
#: Days (before today) the collector did not run at all, for every environment.
GAP_DAYS = (30,)
#: Days the collector ran only from 18:00 UTC (a gap of 18 hours before it).
PART_DAYS = (31,)

#: The demo fleet's 90 days: an incident on test-2 last week, a down blip and a degraded
#: afternoon on prod, an hour base was not seen, slot 1 parked for two months until three
#: weeks ago, slot 3 stopped for the last two weeks (as it is now).
DEMO_SCRIPT: dict[str, list[Span]] = {
    "prod": [(10, "down", 9, 50 / 60), (20, "degraded", 13, 2)],
    "base": [(3, "unknown", 1, 1)],
    "test": [(d, "parked", 0, 24) for d in range(21, 81)],
    "test-2": [(5, "down", 14, 3)],
    "test-3": [(d, "parked", 0, 24) for d in range(14)],
}


def day_start(before: int) -> datetime:
    return TODAY - timedelta(days=before)


def tally_of(spans: Sequence[Span], now: datetime = NOW, *, gap_hours: float = 0) -> Tally:
    """The tally of an environment that was up whenever it was remembered (from BEGAN, but
    not on GAP_DAYS or before 18:00 on PART_DAYS), except for `spans`; `gap_hours`: the
    last hours of every day not counted either."""
    tally = Tally()
    special: dict[int, list[Span]] = {}
    for span in spans:
        special.setdefault(span[0], []).append(span)
    for before in range(89, -1, -1):
        if before in GAP_DAYS:
            continue
        start = max(day_start(before), BEGAN)
        if before in PART_DAYS:
            start = day_start(before) + timedelta(hours=18)
        end = min(day_start(before) + timedelta(days=1, hours=-gap_hours), now)
        at = start
        for _, klass, hour, hours in sorted(special.get(before, ()), key=lambda s: s[2]):
            begins = max(min(day_start(before) + timedelta(hours=hour), end), at)
            if begins > at:
                tally = add(tally, "up", at, begins, now)
            at = min(begins + timedelta(hours=hours), end)
            tally = add(tally, klass, begins, at, now)
        if at < end:
            tally = add(tally, "up", at, end, now)
    return tally


def ninety_days(
    board: Board,
    script: Mapping[str, Sequence[Span]],
    *,
    flapping: Mapping[str, int] | None = None,
) -> tuple[Board, dict[str, Any]]:
    """`board` as the board shows it after the 90 days of `script` (an environment the
    script does not name was up throughout), and its snapshot with the days. `flapping`:
    check name -> how many changes it made in its window, the last one this pass (it is
    shown flapping when that is more than the default thresholds' 3), by `env/check`."""
    tallies = {v.name: tally_of(script.get(v.name, ())) for v in board.environments}
    held = {}
    for view in board.environments:
        for check in view.checks:
            changes = (flapping or {}).get(f"{view.name}/{check.name}")
            if changes:  # it showed the other word at the last pass, and changed before
                other = "red" if check.status.value == "green" else "green"
                held[f"check:{check.id}"] = Held(other, NOW, tuple(range(100 - changes, 99)))
    start = Timeline(began=BEGAN, passes=99, held=held, tallies=tallies)
    shown, timeline = memory.remember(start, board)
    shown = days.with_days(shown, timeline)
    return shown, document(shown)


def busy_tally(now: datetime = NOW) -> Tally:
    """90 days each with some time in every class and a gap: the longest figures a day has.
    (One tally, shared by every environment of a big board: built once, it takes a second.)"""
    busy = [(k, i, 6 + i, 0.25 + 0.1 * i) for i, k in enumerate(memory.uptime.CLASSES)]
    spans = [(before, klass, hour, hours) for before in range(90) for klass, _, hour, hours in busy]
    return tally_of(spans, now, gap_hours=0.5)


def busy_days(board: Board) -> tuple[Board, dict[str, Any]]:
    """`board` with 90 busy days (`busy_tally`) for every environment: the history page's
    worst case for size."""
    tally = busy_tally()
    tallies = {v.name: tally for v in board.environments}
    start = Timeline(began=BEGAN, passes=1, tallies=tallies)
    shown, timeline = memory.remember(start, board)
    shown = days.with_days(shown, timeline)
    return shown, document(shown)


def with_collector(board: Board, **changes: Any) -> Board:
    """`board` with its collector's fields replaced (flap_passes, ...)."""
    return replace(board, collector=replace(board.collector, **changes))
