"""Uptime and days: each environment's day bars, their figures and the uptime windows.

What colours a day is decided here (DAY_ORDER); the seconds come from the snapshot's `days`
and `uptime` (memory/uptime.py counts them). Unseen time is shown, never rated.
"""

from __future__ import annotations

import functools
import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from fleetboard.days import GAP
from fleetboard.memory.uptime import CLASSES, WINDOWS
from fleetboard.render.formats import JsonDoc, parse_time
from fleetboard.render.since import DAY
from fleetboard.text import duration

#: The classes of time, as the snapshot's uptime and days name them (memory/uptime.py owns
#: the list: a class added there shows in the figures and the table without a change here),
#: and the gap, time after the memory began that no pass accounted for.
TIME_CLASSES: tuple[str, ...] = (*CLASSES, GAP)
#: The classes that rate an environment: available = (up + degraded) / (up + degraded +
#: down), as the snapshot's `available`. Every other class and the gap are shown, never rated.
RATED = ("up", "degraded", "down")
#: What a day's bar is: the first of these it has any time of, in the board's rollup order
#: (red, amber, unknown, green), so a minute down makes the day down and an hour unknown is
#: never drawn as up. A day with none of them (only parked time, or a class added later) is
#: the class it spent most time in; a day with nothing counted is a gap.
DAY_ORDER = ("down", "degraded", "unknown", "up")
#: A day with at least this much gap is drawn half height: the collector missed part of it.
PART_GAP_S = 3600
#: The window the card shows (the history page shows every window).
CARD_WINDOW = "30d"
WINDOW_S = {name: length.total_seconds() for name, length in WINDOWS}
DAY_S = 86_400
#: A window accounted for to within this is whole: the last pass's time is counted next pass.
SHORT_SLACK_S = 600


def amount(seconds: float) -> str:
    """Time in a class, floored: `0`, `under 1 min`, `50 min`, `23 h 10 min`, `24 h`,
    `6 d 23 h 59 min` (a whole day in hours, as a day's figures read it)."""
    whole = int(seconds)
    if whole <= 0:
        return "0"
    if whole < 60:
        return "under 1 min"
    days, minutes = divmod(whole // 60, 24 * 60) if whole > DAY_S else (0, whole // 60)
    hours, minutes = divmod(minutes, 60)
    parts = [f"{days} d"] if days else []
    parts += [f"{hours} h"] if hours else []
    parts += [f"{minutes} min"] if minutes or not parts else []
    return " ".join(parts)


def percent(available: float | None) -> str:
    """`99.95 %`, floored (99.996 % is not 100 %), `100 %` only when nothing was down;
    `no rated time` when nothing was up, degraded or down: unseen time is never 100 %."""
    if available is None:
        return "no rated time"
    if available >= 1:
        return "100 %"
    return f"{math.floor(round(available * 10_000, 6)) / 100:.2f} %"


def available(seconds: Mapping[str, float]) -> float | None:
    """(up + degraded) / (up + degraded + down) of some seconds by class; None: none rated."""
    rated = sum(seconds.get(k, 0) for k in RATED)
    return (seconds.get("up", 0) + seconds.get("degraded", 0)) / rated if rated else None


def day_word(seconds: Mapping[str, float]) -> str:
    """What a day was, for its bar's colour (DAY_ORDER's rule)."""
    for klass in DAY_ORDER:
        if seconds.get(klass, 0) > 0:
            return klass
    counted = {k: v for k, v in seconds.items() if k != GAP and v > 0}
    return max(counted, key=lambda k: counted[k]) if counted else GAP


@dataclass(frozen=True, slots=True)
class Bar:
    """One day of an environment's history: its bar and its figures."""

    date: str  # `2026-11-20`
    word: str  # a class of time, or `gap`
    part: bool  # counted, but PART_GAP_S or more of it a gap: drawn half height
    #: `down: up 23 h 10 min, down 50 min · 96.52 %` (_figures)
    figures: str


def bars(env: JsonDoc, doc: JsonDoc) -> list[Bar]:
    """The environment's days, oldest first, from the snapshot's `days`; none for a board
    from before the memory. The first day is said from when the memory began, today up to
    the pass."""
    found: JsonDoc | None = env.get("days")
    if not found:
        return []
    first = parse_time(found["first"]).date()
    now = parse_time(doc["generated_at"])
    began: str | None = doc["collector"].get("memory_from")
    columns: dict[str, list[int]] = found["seconds"]
    out = []
    for i in range((now.date() - first).days + 1):
        day = first + i * DAY
        spent = tuple((k, column[i]) for k, column in columns.items() if i < len(column))
        word, part, figures = _day(spent, _day_note(day, now, began))
        out.append(Bar(day.isoformat(), word, part, figures))
    return out


@functools.lru_cache(maxsize=4096)
def _day(spent: tuple[tuple[str, int], ...], note: str) -> tuple[str, bool, str]:
    """(word, part, figures) of a day's seconds by class: most days of a fleet are alike
    (`up: 24 h · 100 %`), so a 100-environment page works out a few hundred, not 9,000."""
    seconds = dict(spent)
    word = day_word(seconds)
    part = word != GAP and seconds.get(GAP, 0) >= PART_GAP_S
    return word, part, _figures(word, seconds, note)


def _day_note(day: date, now: datetime, began: str | None) -> str:
    """` (today, to 08:00 UTC)`, ` (remembered from 06:56 UTC)`, or nothing."""
    notes = []
    start = parse_time(began) if began else None
    if start and start.date() == day and start.timestamp() % 86_400:
        notes.append(f"remembered from {start:%H:%M} UTC")
    if day == now.date():
        notes.append(f"today, to {now:%H:%M} UTC")
    return f" ({', '.join(notes)})" if notes else ""


def _figures(word: str, seconds: Mapping[str, float], note: str) -> str:
    """`up: 24 h · 100 %` for a day of one class; else each class it has time in, `down: up
    23 h 10 min, down 50 min · 98.26 %` (available); `gap: the collector did not run`.
    Short: a 100-environment history page carries 9,000 of them."""
    spent = [k for k in TIME_CLASSES if seconds.get(k, 0) > 0]
    if not [k for k in spent if k != GAP]:
        said = "the collector did not run" if spent else "nothing counted yet"
        return f"{GAP}{note}: {said}"
    if spent == [word]:
        amounts = amount(seconds[word])
    else:
        amounts = ", ".join(f"{k} {amount(seconds[k])}" for k in spent)
    rated = available(seconds)
    return f"{word}{note}: {amounts}" + ("" if rated is None else f" · {percent(rated)}")


def bar_counts(found: Sequence[Bar]) -> list[tuple[str, int]]:
    """(word, days) of the bars, in TIME_CLASSES' order: the bars said in words."""
    counts = Counter(b.word for b in found)
    order = [*TIME_CLASSES, *sorted(set(counts) - set(TIME_CLASSES))]
    return [(word, counts[word]) for word in order if counts[word]]


@dataclass(frozen=True, slots=True)
class Window:
    """One row of an environment's uptime table."""

    label: str  # `24 h`, `30 d`
    available: str  # `99.95 %`, `no rated time`
    #: (class, time) for every class the snapshot has and the gap, in TIME_CLASSES' order.
    spent: list[tuple[str, str]]
    #: The memory reaches back only this far into the window: `over 3 days`; else ``.
    short: str


def windows(env: JsonDoc, doc: JsonDoc) -> list[Window]:
    """The environment's uptime, window by window; none for a board from before the memory.
    A class the snapshot's uptime lacks is left out rather than shown as 0."""
    now = parse_time(doc["generated_at"])
    out = []
    for u in env.get("uptime") or ():
        spent = [(k, amount(u[f"{k}_s"])) for k in TIME_CLASSES if f"{k}_s" in u]
        label, rated = _window_label(u["window"]), percent(u["available"])
        out.append(Window(label, rated, spent, _short(u, now)))
    return out


def uptime_line(env: JsonDoc, doc: JsonDoc) -> str:
    """The card's uptime: `99.95 % 30 d`, `100 % over 3 days` while the memory is younger
    than the window, `no rated time 30 d`; `` for a board from before the memory."""
    found = next((u for u in env.get("uptime") or () if u["window"] == CARD_WINDOW), None)
    if found is None:
        return ""
    label = _short(found, parse_time(doc["generated_at"])) or _window_label(CARD_WINDOW)
    return f"{percent(found['available'])} {label}"


def _window_label(window: str) -> str:
    """`24h` -> `24 h`, `30d` -> `30 d`."""
    return re.sub(r"^(\d+)([a-z]+)$", r"\1 \2", window)


def _short(uptime: JsonDoc, now: datetime) -> str:
    """`over 3 days` when the time the window accounts for (every class and the gap) falls
    short of the window by more than a pass or two: the memory began inside it. The days'
    windows are whole UTC days back from today's, and today so far (memory/uptime.py)."""
    length = WINDOW_S.get(uptime["window"])
    if length is None:
        return ""
    if length > DAY_S:
        length += now.hour * 3600 + now.minute * 60 + now.second - DAY_S
    seen = sum(v for k, v in uptime.items() if k.endswith("_s"))
    return "" if seen >= length - SHORT_SLACK_S else f"over {duration(timedelta(seconds=seen))}"
