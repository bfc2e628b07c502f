"""Since when: how long each status has been shown, recent changes, flapping marks.

Every duration is to the snapshot's own `generated_at`, never the viewer's clock: the page
is static, and says no more than the pass saw.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from fleetboard.render.formats import JsonDoc, clock, parse_time
from fleetboard.text import duration

#: The recent changes listed in full under the summary; the rest fold into one line that
#: opens (a <details>, no script) to at most RECENT_FOLDED more, so a storm across a big
#: fleet adds a bounded part to the page (about 12 KB at most), and the rest is counted.
#: latest.json keeps every change of the day.
RECENT_SHOWN = 20
RECENT_FOLDED = 30
DAY = timedelta(days=1)


def until(window: JsonDoc, doc: JsonDoc) -> str:
    """When a maintenance window closes: `until 04:00 UTC`, with its date when that is
    not the pass's own (UTC) day."""
    return f"until {clock(parse_time(window['ends']), parse_time(doc['generated_at']))}"


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
    at, now = parse_time(iso), parse_time(doc["generated_at"])
    began: str | None = doc["collector"].get("memory_from")
    at_least = began is not None and parse_time(began) >= at
    lasted = max(now - at, timedelta(0))
    if at_least and lasted < timedelta(minutes=1):
        return None
    return Since(at, lasted, at_least, clock(at, now))


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
    now = parse_time(doc["generated_at"])
    lines = [
        Change(
            t,
            parse_time(t["at"]).strftime("%H:%M UTC"),
            f"{duration(now - parse_time(t['at']))} ago",
            int(parse_time(t["at"]).timestamp()),
        )
        for t in doc.get("recent") or ()
    ]
    start = parse_time(began) if began else now
    return Changes(
        shown=lines[:RECENT_SHOWN],
        folded=lines[RECENT_SHOWN : RECENT_SHOWN + RECENT_FOLDED],
        unlisted=max(0, len(lines) - RECENT_SHOWN - RECENT_FOLDED),
        total=len(lines),
        reset=reset,
        began=clock(start, now),
        whole_day=now - start >= DAY,
    )


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
