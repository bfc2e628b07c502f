"""Snapshot document -> the status page, through the jinja2 templates in site/.

The page is only a view of a validated snapshot dict (docs/design.md#page): the templates read
its keys directly under `StrictUndefined`, so a schema change that the page does not follow
fails the render instead of publishing a blank. The helpers here are small pure functions
the templates use as filters.

    from fleetboard import render
    html = render.render_page(doc)
    files = {"index.html": html.encode(), **render.static_assets()}
"""

from __future__ import annotations

import functools
import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import jinja2
from markupsafe import Markup, escape

from fleetboard import text
from fleetboard.days import GAP
from fleetboard.memory.uptime import CLASSES, WINDOWS
from fleetboard.model import SEVERITY, CheckKind, Lifecycle, SlotBasis, Status
from fleetboard.publish import ASSETS

JsonDoc = Mapping[str, Any]
P = ParamSpec("P")
R = TypeVar("R")

#: Files published beside index.html: the page links the first two by relative URL, and
#: CloudFront answers a missing key with the third.
STATIC_FILES = ASSETS

#: Lifecycles shown as a grey pill, checks hidden, instead of the environment's health
#: (`Lifecycle.grey`: parked or missing), the parked ones first.
_GREY_ORDER = sorted((lc for lc in Lifecycle if lc.grey), key=lambda lc: not lc.parked)
GREY = frozenset(str(lifecycle) for lifecycle in _GREY_ORDER)

#: Every word a status pill can carry, worst first: the order of tallies and lists. The
#: statuses in the model's SEVERITY order, "optional" after the failing ones (a failing
#: optional check), the grey lifecycles, and green last.
WORDS: tuple[str, ...] = (
    *(str(s) for s in SEVERITY if s != Status.GREEN),
    "optional",
    *(str(lifecycle) for lifecycle in _GREY_ORDER),
    str(Status.GREEN),
)
_RANK = {word: i for i, word in enumerate(WORDS)}


def site_dir() -> Path:
    """The `site/` folder: inside the package in a wheel or Lambda bundle, else the repo's."""
    packaged = Path(__file__).parent / "site"
    if packaged.is_dir():
        return packaged
    return Path(__file__).parents[2] / "site"


# --------------------------------------------------------------------------- helpers


def env_word(env: JsonDoc) -> str:
    """The pill of an environment: "maintenance" inside a window, its lifecycle when grey,
    else its health."""
    if env.get("maintenance"):  # absent in snapshots from before maintenance windows
        return "maintenance"
    lifecycle: str = env["lifecycle"]
    return lifecycle if lifecycle in GREY else str(env["status"])


def check_word(check: JsonDoc, env: JsonDoc) -> str:
    """The pill of a check: grey for a grey environment or an optional endpoint."""
    if env["lifecycle"] in GREY:
        return str(env["lifecycle"])
    status: str = check["status"]
    if check["optional"] and status != "green":
        return "optional"
    return status


def rank(word: str) -> int:
    """Sort key of a pill word: red first, green last."""
    return _RANK.get(word, len(WORDS))


def issues_by_env(doc: JsonDoc) -> dict[str, list[JsonDoc]]:
    """The summary's issues by environment: a card counts exactly the issues the summary
    lists for it (one list, computed once by the rules)."""
    found: dict[str, list[JsonDoc]] = {}
    for issue in doc["summary"]["issues"]:
        found.setdefault(issue["env"], []).append(issue)
    return found


def issue_tally(issues: Iterable[JsonDoc]) -> list[tuple[str, int]]:
    """(word, count) of a card's issues, worst first, zero counts left out."""
    return by_rank(Counter(issue["status"] for issue in issues))


def green_checks(env: JsonDoc) -> int:
    """How many of the environment's checks were seen green."""
    return sum(1 for c in env["checks"] if c["status"] == "green")


def unseen_checks(env: JsonDoc) -> int:
    """How many of the environment's checks could not be observed (unknown, not optional)."""
    return sum(1 for c in env["checks"] if c["status"] == "unknown" and not c["optional"])


def attention(env: JsonDoc) -> list[JsonDoc]:
    """The checks of a running environment that are not green, or flapping (green just now,
    it may not be in a minute), worst first, optional last."""
    if env["lifecycle"] in GREY:
        return []
    found = [c for c in env["checks"] if c["status"] != "green" or c.get("flapping")]
    return sorted(found, key=lambda c: rank(check_word(c, env)))


def soonest_cert(env: JsonDoc) -> JsonDoc | None:
    """The check whose certificate expires first (None when no certificate was seen)."""
    best: JsonDoc | None = None
    for check in env["checks"]:
        cert = check["cert"]
        if cert is None or cert["days_left"] is None:
            continue
        if best is None or cert["days_left"] < best["cert"]["days_left"]:
            best = check
    return best


def utc(iso: str | None, seconds: bool = False) -> str:
    """`2026-11-23T08:00:03Z` -> `2026-11-23 08:00 UTC` (with `:03` when seconds)."""
    if not iso:
        return "never"
    return f"{iso[:10]} {iso[11:19] if seconds else iso[11:16]} UTC"


def seen(source: str, iso: str | None) -> str:
    """The title of an observed value: its source and observation time."""
    return f"source {source} · observed {utc(iso, seconds=True)}"


ms = text.latency


def seconds(duration: float) -> str:
    return f"{duration:.2f} s" if duration < 10 else f"{duration:.0f} s"


def code_spans(text: str) -> Markup:
    """Escape `text` and show its `backtick` spans as <code>, as a command to copy."""
    parts = text.split("`")
    if len(parts) % 2 == 0:  # an unpaired backtick: leave the text as it is
        return escape(text)
    out = [escape(p) if i % 2 == 0 else Markup("<code>%s</code>") % p for i, p in enumerate(parts)]
    return Markup("").join(out)


def by_rank(counts: Mapping[str, int]) -> list[tuple[str, int]]:
    """The non-zero entries of a {word: count} map, worst word first."""
    return sorted(((w, n) for w, n in counts.items() if n), key=lambda item: rank(item[0]))


#: A table longer than this folds its green (and grey) rows into one line per status word
#: (all green, stopped, ...) naming the environments, so a 100-environment fleet stays a
#: readable page of bounded size; latest.json keeps all.
FOLD_ABOVE = 300


@dataclass(frozen=True, slots=True)
class Row:
    """One line of a detail table: a check in full, or the quiet checks of several
    environments folded (`envs` names them, in the snapshot's order)."""

    env: JsonDoc
    word: str
    check: JsonDoc | None = None
    folded: tuple[JsonDoc, ...] = ()
    envs: tuple[JsonDoc, ...] = ()


@dataclass(frozen=True, slots=True)
class Table:
    rows: list[Row]
    total: int  # checks the table covers, folded ones included
    folded: bool


def _table(
    pairs: list[tuple[JsonDoc, JsonDoc]], envs: Sequence[JsonDoc], *, worst_first: bool
) -> Table:
    rows = [Row(env, check_word(c, env), c) for env, c in pairs]
    if len(rows) <= FOLD_ABOVE:
        return Table(rows, len(rows), folded=False)
    listed = [r for r in rows if not _quiet(r)]
    if worst_first:
        listed.sort(key=lambda r: rank(r.word))
    quiet: dict[str, list[Row]] = {}
    for r in rows:
        if _quiet(r):
            quiet.setdefault(r.word, []).append(r)
    folds = []
    for word in sorted(quiet, key=rank):
        group = quiet[word]
        names = {r.env["name"] for r in group}
        checks = tuple(r.check for r in group if r.check)
        named = tuple(e for e in envs if e["name"] in names)  # in the snapshot's order
        folds.append(Row(group[0].env, word, None, checks, named))
    return Table(listed + folds, len(rows), folded=True)


def _quiet(row: Row) -> bool:
    """A row that folds: green (or grey) and not flapping."""
    flaps = row.check is not None and bool(row.check.get("flapping"))
    return (row.word == "green" or row.word in GREY) and not flaps


def services(envs: Sequence[JsonDoc]) -> Table:
    """Every http check in the snapshot's order; past FOLD_ABOVE rows, the ones that need a
    look (worst first), then one folded line per quiet word (green, stopped, ...)."""
    pairs = [(env, c) for env in envs for c in env["checks"] if c["kind"] == CheckKind.HTTP]
    return _table(pairs, envs, worst_first=True)


def certificates(envs: Sequence[JsonDoc]) -> Table:
    """Every certificate seen, one per host, soonest expiry first (folded past FOLD_ABOVE)."""
    by_host: dict[tuple[str, str], tuple[JsonDoc, JsonDoc]] = {}
    for env in envs:
        for check in env["checks"]:
            if check["cert"] is None:
                continue
            key = (env["name"], check["host"] or check["id"])
            if key not in by_host or check["kind"] == CheckKind.TLS:  # prefer the tls source's view
                by_host[key] = (env, check)
    by_expiry = sorted(by_host.values(), key=lambda pair: _days(pair[1]))
    return _table(by_expiry, envs, worst_first=False)


def _days(check: JsonDoc) -> int:
    left: int | None = check["cert"]["days_left"] if check["cert"] else None
    return -(10**9) if left is None else left  # unknown expiry first: it needs a look


def span(values: Iterable[float | int | None]) -> tuple[float, float] | None:
    """(lowest, highest) of the values that are known, or None."""
    known = [v for v in values if v is not None]
    return (min(known), max(known)) if known else None


def latency_span(checks: Iterable[JsonDoc]) -> str:
    found = span(c["latency_ms"] for c in checks)
    if found is None:
        return ""
    low, high = found
    return ms(low) if low == high else f"{low:.0f}\N{EN DASH}{ms(high)}"


def days_span(checks: Iterable[JsonDoc]) -> str:
    found = span(c["cert"]["days_left"] for c in checks if c["cert"])
    if found is None:
        return "expiry unknown"
    low, high = found
    return f"{low:.0f} days left" if low == high else f"{low:.0f}\N{EN DASH}{high:.0f} days left"


def kind_label(env: JsonDoc) -> str:
    """`prod`, `base`, `test slot 2`, `other`."""
    if env["kind"] == "test-slot":
        return "test slot" if env["slot"] is None else f"test slot {env['slot']}"
    return str(env["kind"])


# --------------------------------------------------------------------------- since when

#: The recent changes listed in full under the summary; the rest fold into one line that
#: opens (a <details>, no script) to at most RECENT_FOLDED more, so a storm across a big
#: fleet adds a bounded part to the page (about 12 KB at most), and the rest is counted.
#: latest.json keeps every change of the day.
RECENT_SHOWN = 20
RECENT_FOLDED = 30
DAY = timedelta(days=1)


@functools.lru_cache(maxsize=4096)
def _parse(iso: str) -> datetime:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone(UTC)


def duration(lasted: timedelta) -> str:
    """`under 1 min`, `14 min`, `2 h 5 min`, `1 day 3 h`, `6 days`: floored, never rounded
    up (a board says no more than it saw)."""
    minutes = max(0, int(lasted.total_seconds()) // 60)
    if minutes < 1:
        return "under 1 min"
    hours, minutes = divmod(minutes, 60)
    if hours < 1:
        return f"{minutes} min"
    days, hours = divmod(hours, 24)
    if days < 1:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    if days < 2:
        return f"1 day {hours} h" if hours else "1 day"
    return f"{days} days"


def _clock(at: datetime, day: datetime) -> str:
    """`07:46 UTC` on the pass's own (UTC) day, else `2026-11-20 07:46 UTC`."""
    return at.strftime("%H:%M UTC" if at.date() == day.date() else "%Y-%m-%d %H:%M UTC")


def until(window: JsonDoc, doc: JsonDoc) -> str:
    """When a maintenance window closes: `until 04:00 UTC`, with its date when that is
    not the pass's own (UTC) day."""
    return f"until {_clock(_parse(window['ends']), _parse(doc['generated_at']))}"


@dataclass(frozen=True, slots=True)
class Since:
    """How long a status has been shown, as of the snapshot's pass (the page is static:
    every duration is to `generated_at`, never to the viewer's clock)."""

    at: datetime
    lasted: timedelta
    #: The since is when the board's memory begins: it may have been so for longer.
    at_least: bool
    clock: str  # `07:46 UTC`

    @property
    def text(self) -> str:
        """`for 14 min`, `for at least 6 days`: beside a status word."""
        return f"for {'at least ' if self.at_least else ''}{duration(self.lasted)}"

    @property
    def line(self) -> str:
        """`since 07:46 UTC (14 min)`, `for at least 1 h 4 min`: after an issue's text."""
        if self.at_least:
            return self.text
        return f"since {self.clock} ({duration(self.lasted)})"

    @property
    def title(self) -> str:
        """The absolute time, `since 2026-11-23 07:46 UTC`; none for an at-least since,
        whose time is when the memory begins (the footer and recent changes say it once,
        rather than a hundred cards each)."""
        return "" if self.at_least else self.at.strftime("since %Y-%m-%d %H:%M UTC")


def since(item: JsonDoc, doc: JsonDoc) -> Since | None:
    """Since when `item` (an environment, a check, an issue, the summary) has shown what it
    shows; None when the snapshot does not say (a board from before the memory), or when
    the memory began at this very pass and so knows nothing yet."""
    iso: str | None = item.get("since")
    if not iso:
        return None
    at, now = _parse(iso), _parse(doc["generated_at"])
    began: str | None = doc["collector"].get("memory_from")
    at_least = began is not None and _parse(began) >= at
    lasted = max(now - at, timedelta(0))
    if at_least and lasted < timedelta(minutes=1):
        return None
    return Since(at, lasted, at_least, _clock(at, now))


@dataclass(frozen=True, slots=True)
class Change:
    """One line of recent changes: the transition, its clock time and its age."""

    t: JsonDoc
    clock: str  # `07:51 UTC`
    ago: str  # `9 min ago`
    #: Its time in Unix seconds, for board.js to tell the lines since the viewer's last
    #: visit (an ISO time would cost the 100-environment page twice the bytes).
    epoch: int


@dataclass(frozen=True, slots=True)
class Changes:
    """The recent-changes section: what it lists, what it folds, what it only counts."""

    shown: list[Change]
    folded: list[Change]
    unlisted: int  # beyond the fold: only in latest.json
    total: int
    reset: str | None  # the memory was lost and rebuilt: said for a day
    began: str  # when the memory begins, `06:56 UTC`
    whole_day: bool  # the memory reaches back the whole 24 hours


def changes(doc: JsonDoc) -> Changes | None:
    """The snapshot's `recent`, newest first as it lists them; None for a board from before
    the memory (no `collector.memory_from`)."""
    collector = doc["collector"]
    began: str | None = collector.get("memory_from")
    reset: str | None = collector.get("memory_reset")
    if began is None and not reset:
        return None
    now = _parse(doc["generated_at"])
    lines = [
        Change(
            t,
            _parse(t["at"]).strftime("%H:%M UTC"),
            f"{duration(now - _parse(t['at']))} ago",
            int(_parse(t["at"]).timestamp()),
        )
        for t in doc.get("recent") or ()
    ]
    start = _parse(began) if began else now
    return Changes(
        shown=lines[:RECENT_SHOWN],
        folded=lines[RECENT_SHOWN : RECENT_SHOWN + RECENT_FOLDED],
        unlisted=max(0, len(lines) - RECENT_SHOWN - RECENT_FOLDED),
        total=len(lines),
        reset=reset,
        began=_clock(start, now),
        whole_day=now - start >= DAY,
    )


# --------------------------------------------------------------------------- uptime and days

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
    first = _parse(found["first"]).date()
    now = _parse(doc["generated_at"])
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
    start = _parse(began) if began else None
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
    now = _parse(doc["generated_at"])
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
    label = _short(found, _parse(doc["generated_at"])) or _window_label(CARD_WINDOW)
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


def flap_text(check: JsonDoc, doc: JsonDoc) -> str:
    """`flapping: 5 changes in 20 passes`; `` when the check is not flapping."""
    count: int | None = check.get("flapping")
    if not count:
        return ""
    passes: int | None = doc["collector"].get("flap_passes")
    return f"flapping: {count} changes" + (f" in {passes} passes" if passes else "")


def flapping(env: JsonDoc) -> int:
    """How many of the environment's checks are flapping."""
    return sum(1 for c in env["checks"] if c.get("flapping"))


# --------------------------------------------------------------------------- CI and deploys

#: The one kind of external URL the page carries: a GitHub Actions run page, as a plain link
#: the operator clicks (never a resource the page loads).
RUN_URL = re.compile(r"https://github\.com/[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+/actions/runs/(\d+)")

#: How a run was tied to its slot (docs/fleet.md#ci), for the label's title.
MAPPED_BY: dict[str, str] = {
    SlotBasis.MARKER: "slot read from the run's marker step (test-fleet slot N)",
    SlotBasis.ANNOTATION: "slot read from the run's slot-claim annotation",
    SlotBasis.COMPUTED: (
        "slot computed as PR number % slot count + 1, a guess: its jobs were not read"
    ),
}


def run_url(run: JsonDoc) -> str | None:
    """The run's GitHub page when its URL is exactly one (and of this run), else None: the
    page shows the run number as plain text rather than link anything else."""
    url: str = run["url"]
    found = RUN_URL.fullmatch(url)
    return url if found and int(found.group(1)) == run["run_id"] else None


def mapping(run: JsonDoc) -> str:
    """Why the board puts a run on its slot."""
    by: str | None = run["mapped_by"]
    return MAPPED_BY.get(by or "", "not tied to a slot yet")


def workflow_name(path: str) -> str:
    """`.github/workflows/harness-ci.yml` -> `harness-ci.yml`."""
    return path.rsplit("/", 1)[-1]


def run_state(status: str) -> str:
    """GitHub's `in_progress` -> `in progress`."""
    return status.replace("_", " ")


def thousands(n: int) -> str:
    """4771 -> `4,771`."""
    return f"{int(n):,}"


def deploy_badge(deploy: JsonDoc) -> str:
    """`stale` (behind main), `unknown` (cannot tell, the text says why) or `` (current, or
    nothing to compare: "no CI deploy on record")."""
    if deploy["stale"]:
        return "stale"
    if deploy["stale"] is None and (deploy["ref"] is not None or deploy["text"].startswith(UNK)):
        return "unknown"
    return ""


def deploy_reason(deploy: JsonDoc) -> str:
    """The deploy's text beside its badge, without the leading `unknown: ` the badge says."""
    text: str = deploy["text"]
    return text.removeprefix(UNK) if deploy_badge(deploy) == "unknown" else text


UNK = "unknown: "


def ci_state(ci: JsonDoc | None) -> str:
    """The fleet's CI part: `off` (no [github]), `unknown` (not read this pass) or `ok`."""
    if ci is None or not ci["configured"]:
        return "off"
    return "unknown" if ci["status"] == "unknown" else "ok"


def slot_state(env: JsonDoc, ci: JsonDoc | None) -> str:
    """What a card says about CI: `` (nothing: not a test slot, or CI off), `unknown`,
    `free`, `held`, or `clash` (more than one run holds the slot)."""
    state = ci_state(ci)
    if env["kind"] != "test-slot" or state == "off":
        return ""
    slot: JsonDoc | None = env["ci"]
    if state == "unknown" or slot is None:
        return "unknown"
    holders = len(slot["holders"])
    return "free" if holders == 0 else "held" if holders == 1 else "clash"


def runs_by_id(ci: JsonDoc | None) -> dict[int, JsonDoc]:
    """The runs in flight by id, so a deploy by one of them names it by number, linked."""
    return {r["run_id"]: r for r in ci["runs"]} if ci else {}


def clashing(envs: Sequence[JsonDoc]) -> dict[int, int]:
    """Run id -> how many runs hold its slot, for the runs that hold one with another run."""
    return {
        r["run_id"]: len(env["ci"]["holders"])
        for env in envs
        if env["ci"] and len(env["ci"]["holders"]) > 1
        for r in env["ci"]["holders"]
    }


# --------------------------------------------------------------------------- chain identity

#: The other kind of external URL the page carries: an address on the chain explorer, as
#: the rules build it (`<explorer_url>/address/<address>`), a plain link the operator clicks.
EXPLORER_URL = re.compile(
    r"https://[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*(?::[0-9]{1,5})?(?:/[A-Za-z0-9._~-]+)*"
    r"/address/(0x[0-9a-fA-F]{40})"
)


def explorer_url(wallet: JsonDoc) -> str | None:
    """The wallet's page on the explorer when its URL is exactly one (and of this address),
    else None: the page shows the address as plain text rather than link anything else."""
    url: str | None = wallet["url"]
    found = EXPLORER_URL.fullmatch(url) if url else None
    return url if found and found.group(1).lower() == str(wallet["address"]).lower() else None


def nonce_moved(wallet: JsonDoc) -> str:
    """Whether the nonce moved since the previous snapshot: `moved`, `unchanged`, or `—`
    (no previous snapshot, or no nonce, to compare)."""
    moved: bool | None = wallet["nonce_moved"]
    return "—" if moved is None else "moved" if moved else "unchanged"


def master_word(chain: JsonDoc) -> str:
    """The pill of the operator master line: green (registered), amber (not registered),
    unknown (not read), or `` when there is nothing to read (no registry or deployer)."""
    if chain["registry"] is None or chain["omni"] is None:
        return ""
    registered: bool | None = chain["master_registered"]
    return "unknown" if registered is None else "green" if registered else "amber"


FILTERS: dict[str, Any] = {
    "env_word": env_word,
    "check_word": check_word,
    "issue_tally": issue_tally,
    "green_checks": green_checks,
    "unseen_checks": unseen_checks,
    "by_rank": by_rank,
    "attention": attention,
    "soonest_cert": soonest_cert,
    "utc": utc,
    "ms": ms,
    "seconds": seconds,
    "code_spans": code_spans,
    "kind_label": kind_label,
    "latency_span": latency_span,
    "days_span": days_span,
    "run_url": run_url,
    "mapping": mapping,
    "workflow_name": workflow_name,
    "run_state": run_state,
    "deploy_reason": deploy_reason,
    "deploy_badge": deploy_badge,
    "thousands": thousands,
    "explorer_url": explorer_url,
    "nonce_moved": nonce_moved,
    "master_word": master_word,
    "since": since,
    "until": until,
    "uptime_line": uptime_line,
    "flap_text": flap_text,
    "flapping": flapping,
    "bar_counts": bar_counts,
}
GLOBALS: dict[str, Any] = {
    "seen": seen,
    "services": services,
    "certificates": certificates,
    "ci_state": ci_state,
    "slot_state": slot_state,
    "clashing": clashing,
    "runs_by_id": runs_by_id,
    "issues_by_env": issues_by_env,
    "changes": changes,
    "bars": bars,
    "windows": windows,
    "TIME_CLASSES": TIME_CLASSES,
    "DAY_ORDER": DAY_ORDER,
    "PART_GAP_S": PART_GAP_S,
    "GREY": GREY,
    "SlotBasis": SlotBasis,
}


# --------------------------------------------------------------------------- rendering


@cache
def jinja_env() -> jinja2.Environment:
    """The one jinja2 environment of the process: autoescaped, strict, whitespace-trimmed."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(site_dir() / "templates"),
        autoescape=jinja2.select_autoescape(
            enabled_extensions=("html", "j2"), default_for_string=True, default=True
        ),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    env.filters.update({name: _strict(f) for name, f in FILTERS.items()})
    env.globals.update({name: _strict(g) if callable(g) else g for name, g in GLOBALS.items()})
    return env


def _strict(helper: Callable[P, R]) -> Callable[P, R]:
    """`helper` with a key the snapshot lacks reported as the templates report it (an
    UndefinedError), so a schema change fails the render the same way wherever it is read."""

    @functools.wraps(helper)
    def strict(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return helper(*args, **kwargs)
        except KeyError as missing:
            raise jinja2.UndefinedError(f"the snapshot has no {missing}") from missing

    return strict


def render_page(doc: JsonDoc) -> str:
    """The page for a validated snapshot `doc`; the stale clock's period is the snapshot's
    own (`collector.period_s`), so the page has no schedule default of its own.

    Raises jinja2.UndefinedError when `doc` lacks a key the page reads.
    """
    template = jinja_env().get_template("index.html.j2")
    return template.render(doc=doc)


def render_history(doc: JsonDoc) -> str:
    """history.html for a validated snapshot `doc`: each environment's days as bars and its
    uptime by window, from the snapshot alone, like the page.

    Raises jinja2.UndefinedError when `doc` lacks a key the page reads.
    """
    template = jinja_env().get_template("history.html.j2")
    return template.render(doc=doc)


def static_assets() -> dict[str, bytes]:
    """File name -> bytes of the stylesheet, the script and the not-found page."""
    static = site_dir() / "static"
    return {name: (static / name).read_bytes() for name in STATIC_FILES}
