"""Since when, and what changed: the board's memory of the present, as a pure function.

Each thing the board shows has a key ("env:test-2", "check:<check id>", "issue:test-2/ci",
"fleet") and a word (its status; an environment's lifecycle while it is grey, and
"maintenance" inside a window). A word unchanged since the last pass keeps its `since`; a
new word starts now and, for an environment or a check, is one line of `recent`. A thing
seen for the first time starts now without a line: it was not there to change. The work
and the state are proportional to what the board shows now, never to how long it has been
remembering.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from fleetboard.inventory import Thresholds
from fleetboard.memory.uptime import WORD_CLASS, Tally, add, closed_days, counted, figures
from fleetboard.model import Board, Check, EnvironmentView, Issue, Transition
from fleetboard.rules.maintenance import sentence
from fleetboard.rules.summary import MAINTENANCE

#: How far back `recent` reaches, and the most lines it keeps (a storm across 100 slots
#: must not grow the snapshot without bound).
RECENT = timedelta(hours=24)
RECENT_MAX = 200


@dataclass(frozen=True, slots=True)
class Held:
    """A word, and since when it has been shown."""

    word: str
    since: datetime
    #: The passes (by number) in which a check changed, within the flapping window.
    changes: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class Timeline:
    """What the board remembers after a pass."""

    began: datetime  # when this memory began: every `since` is at or after it
    passes: int = 0  # passes remembered: numbers each change, for the flapping window
    held: Mapping[str, Held] = field(default_factory=dict)
    recent: tuple[Transition, ...] = ()  # newest first
    #: Why it began again at `began` (its saved state was lost); shown for a day.
    reset: str | None = None
    seen_at: datetime | None = None  # the pass this is the memory after
    #: Each environment's time by class, by the hour and by the day (memory/uptime.py).
    tallies: Mapping[str, Tally] = field(default_factory=dict)
    #: UTC days this pass closed, whose rollups it publishes (not kept).
    closed: tuple[datetime, ...] = field(default=(), compare=False)
    #: This pass's own changes, every one, before flapping folds them into `recent`: the
    #: events log publishes them (not kept).
    changes: tuple[Transition, ...] = field(default=(), compare=False)


def env_word(view: EnvironmentView) -> str:
    """What an environment's card says: "maintenance" inside a window, its lifecycle while
    grey, else its status."""
    if view.maintenance is not None:
        return MAINTENANCE
    return view.lifecycle.value if view.lifecycle.grey else view.status.value


def remember(
    previous: Timeline | None, board: Board, thresholds: Thresholds | None = None
) -> tuple[Board, Timeline]:
    """This pass's board with its since-times and recent changes, and the timeline after it.
    `previous` None: the first pass, whose memory begins now. `thresholds` say when a
    check is flapping (the defaults when None)."""
    now = board.generated_at
    began = previous.began if previous else now
    number = (previous.passes if previous else 0) + 1
    marks = _Marks(previous.held if previous else {}, now, number, thresholds or Thresholds())
    tallies = _tallies(previous, board)
    envs = [
        replace(
            _environment(view, marks),
            uptime=figures(tallies.get(view.name, Tally()), now, began),
        )
        for view in board.environments
    ]
    summary = board.summary
    issues = tuple(_issue(issue, marks) for issue in summary.issues)
    fleet_since = marks.keep("fleet", summary.status.value)
    window = [t for t in previous.recent if now - t.at < RECENT] if previous else []
    recent = tuple(_folded([*reversed(marks.changes), *window], marks.flapping)[:RECENT_MAX])
    reset = previous.reset if previous and now - previous.began < RECENT else None
    collector = replace(board.collector, memory_from=began, memory_reset=reset)
    shown = replace(
        board,
        environments=tuple(envs),
        summary=replace(summary, issues=issues, since=fleet_since),
        recent=recent,
        collector=collector,
    )
    after = Timeline(
        began=began,
        passes=number,
        held=marks.held,
        recent=recent,
        reset=reset,
        seen_at=now,
        tallies=tallies,
        closed=tuple(closed_days(previous.seen_at if previous else None, now)),
        changes=tuple(marks.changes),
    )
    return shown, after


def _tallies(previous: Timeline | None, board: Board) -> dict[str, Tally]:
    """Each environment's tally with the time since the last pass added, as what it showed
    then (an environment new since then has nothing to add yet)."""
    # An environment new since the last pass begins its own time now: before, it was not
    # there (no gap of its). On the memory's first pass every one is as old as the memory.
    new = Tally(began=int(board.generated_at.timestamp())) if previous else Tally()
    tallies = {
        v.name: previous.tallies.get(v.name, new) if previous else new for v in board.environments
    }
    if previous is None or previous.seen_at is None:
        return tallies
    start, end = counted(previous.seen_at, board.generated_at, board.collector.period_s)
    for name in tallies:
        was = previous.held.get(f"env:{name}")
        if was is not None and was.word in WORD_CLASS:
            klass = WORD_CLASS[was.word]
            tallies[name] = add(tallies[name], klass, start, end, board.generated_at)
    return tallies


class _Marks:
    """The pass's bookkeeping: what each key held before, what it holds now, what changed."""

    def __init__(
        self, before: Mapping[str, Held], now: datetime, number: int, thresholds: Thresholds
    ) -> None:
        self.before = before
        self.now = now
        self.number = number
        self.thresholds = thresholds
        self.held: dict[str, Held] = {}
        self.changes: list[Transition] = []
        self.flapping: set[tuple[str, str | None]] = set()  # (env, check) of flapping checks

    def keep(
        self, key: str, word: str, line: tuple[str, str | None, str] | None = None
    ) -> datetime:
        """The since of `key` showing `word`; a change is one line of `recent` when `line`
        (environment, check, reason) says it is one to list."""
        was = self.before.get(key)
        since = was.since if was is not None and was.word == word else self.now
        if was is not None and was.word != word and line is not None:
            env, check, reason = line
            self.changes.append(Transition(self.now, env, check, was.word, word, reason))
        self.held[key] = Held(word, since)
        return since

    def flaps(self, key: str, env: str, check: str | None) -> int | None:
        """Count `key`'s change this pass, if it changed, in its window; its count when it
        changed more than `flap_changes` times in the last `flap_passes` passes, else None."""
        was, now = self.before.get(key), self.held[key]
        window = self.number - self.thresholds.flap_passes
        changes = tuple(n for n in (was.changes if was else ()) if n > window)
        if was is not None and was.word != now.word:
            changes += (self.number,)
        self.held[key] = replace(now, changes=changes)
        if len(changes) <= self.thresholds.flap_changes:
            return None
        self.flapping.add((env, check))
        return len(changes)


def _environment(view: EnvironmentView, marks: _Marks) -> EnvironmentView:
    # A grey environment's checks are not rated: one line for the environment ("stopped"),
    # not one more for each check that went unknown with it. Nor are the checks of one in
    # maintenance, or a check in a window of its own: what they do there is the work.
    away = view.maintenance is not None
    listed = not view.lifecycle.grey and not away
    checks = tuple(_check(view.name, check, marks, listed) for check in view.checks)
    # A grey environment's issues are about what it holds (its wallets), not why it is
    # grey: its line says what it is now; one in maintenance says the window's reason.
    grey = view.lifecycle.grey or not view.issues
    reason = f"{view.name} is {env_word(view)}" if grey else view.issues[0].text
    if view.maintenance is not None:
        reason = sentence(view.name, view.maintenance, marks.now)
    key = f"env:{view.name}"
    since = marks.keep(key, env_word(view), (view.name, None, reason))
    marks.flaps(key, view.name, None)  # an environment that flaps with its check: one line
    return replace(view, checks=checks, since=since)


def _check(env: str, check: Check, marks: _Marks, listed: bool) -> Check:
    key = f"check:{check.id}"
    was = marks.before.get(key)
    windowed = check.maintenance is not None
    line = (env, check.name, check.summary) if listed and not windowed else None
    since = marks.keep(key, check.status.value, line)
    if listed:
        _window(env, check, marks, was)
    return replace(check, since=since, flapping=marks.flaps(key, env, check.name))


def _window(env: str, check: Check, marks: _Marks, was: Held | None) -> None:
    """A check going into a maintenance window of its own, or out of one, is a line:
    "green → maintenance" with the window's reason, "maintenance → red" with what it shows
    after. Its status changes inside the window are not (what it does there is the work).
    The key is held only while the check is in a window, so the state of a fleet without
    windows does not grow."""
    key = f"window:{check.id}"
    inside, before = marks.before.get(key), check.maintenance
    if before is not None:
        marks.held[key] = Held(MAINTENANCE, inside.since if inside else marks.now)
        if inside is None and was is not None:
            reason = sentence(f"{env} {check.name}", before, marks.now)
            marks.changes.append(
                Transition(marks.now, env, check.name, was.word, MAINTENANCE, reason)
            )
    elif inside is not None:
        marks.changes.append(
            Transition(marks.now, env, check.name, MAINTENANCE, check.status.value, check.summary)
        )


def _folded(lines: list[Transition], flapping: set[tuple[str, str | None]]) -> list[Transition]:
    """`lines` (newest first) with each flapping check's lines as one: the newest line's
    time, word and reason, the oldest line's `from`, and how many changes it stands for."""
    out: list[Transition] = []
    at: dict[tuple[str, str | None], int] = {}
    for line in lines:
        key = (line.env, line.check)
        if key in flapping and key in at:
            first = out[at[key]]
            out[at[key]] = replace(first, before=line.before, times=first.times + line.times)
            continue
        at[key] = len(out)
        out.append(line)
    return out


def _issue(issue: Issue, marks: _Marks) -> Issue:
    return replace(issue, since=marks.keep(f"issue:{issue.env}/{issue.check}", issue.status.value))
