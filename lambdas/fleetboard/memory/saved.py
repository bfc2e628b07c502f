"""The timeline kept beside the board, and rebuilt when it is lost.

One small JSON object (`state/timeline.json`), read once and written once a pass: each key's
word and since, the last day's changes, when the memory began. It is checked whole on the
way in; anything unreadable (a truncated write, another version, a hand edit) is a reset,
not a failed pass: what can be rebuilt comes from the last published latest.json (its
statuses, and its since-times where it has them), and the page says the history was reset.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from fleetboard import jsonsafe, stored
from fleetboard.memory.timeline import Held, Timeline
from fleetboard.memory.uptime import CLASSES, Bucket, Tally
from fleetboard.model import Lifecycle, Transition
from fleetboard.rules.summary import MAINTENANCE
from fleetboard.state import StateConflict, StateStore
from fleetboard.text import scrub

log = logging.getLogger("fleetboard")

STATE_NAME = "timeline"
#: 2: flapping (passes, changes) and folded lines (times); 3: maintenance time, a sixth
#: class in every bucket.
VERSION = 3
#: Versions still read, each by what it lacks: version 2's buckets have no maintenance
#: seconds (none was counted then), so they are padded with zeros and no history is lost.
READS = (2, 3)
#: How many classes of time (CLASSES) each version's buckets hold.
_CLASSES_OF = {2: 5, 3: 6}
NOTHING_SAVED = "no saved timeline was found"
#: A saved timeline larger than this is not ours (1,000 environments of 12 checks is ~1 MB).
MAX_BYTES = 8 * 1024 * 1024


def encode(timeline: Timeline) -> bytes:
    doc = {
        "version": VERSION,
        "began": stored.iso(timeline.began),
        "passes": timeline.passes,
        "reset": timeline.reset,
        # [word, since] and, for a check that changed lately, the passes it changed in.
        "held": {
            key: [h.word, stored.iso(h.since), *([list(h.changes)] if h.changes else [])]
            for key, h in timeline.held.items()
        },
        "recent": [
            [stored.iso(t.at), t.env, t.check, t.before, t.after, t.reason, t.times]
            for t in timeline.recent
        ],
        "seen_at": None if timeline.seen_at is None else stored.iso(timeline.seen_at),
        "tallies": {
            env: {
                "hours": _buckets(t.hours),
                "days": _buckets(t.days),
                # When it was first seen, if after the memory began (absent: as old as it).
                **({} if t.began is None else {"began": t.began}),
            }
            for env, t in timeline.tallies.items()
        },
    }
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode()


def decode(data: bytes) -> Timeline:
    """The saved timeline; ValueError saying what is wrong with it."""
    doc = stored.versioned(data, READS, "timeline", MAX_BYTES)
    # Classes a bucket of this version lacks, all at the end of CLASSES: zero seconds.
    missing = len(CLASSES) - _CLASSES_OF[doc["version"]]
    try:
        held = {stored.text(key): _held(row) for key, row in stored.mapping(doc["held"]).items()}
        recent = tuple(
            Transition(
                stored.when(at),
                stored.text(env),
                None if check is None else stored.text(check),
                stored.text(before),
                stored.text(after),
                stored.text(reason),
                stored.count(times),
            )
            for at, env, check, before, after, reason, times in doc["recent"]
        )
        reset, seen_at = doc.get("reset"), doc.get("seen_at")
        tallies = {
            stored.text(env): Tally(
                _unbuckets(t["hours"], missing),
                _unbuckets(t["days"], missing),
                None if t.get("began") is None else stored.count(t["began"]),
            )
            for env, t in stored.mapping(doc.get("tallies", {})).items()
        }
        return Timeline(
            began=stored.when(doc["began"]),
            passes=stored.count(doc["passes"]),
            held=held,
            recent=recent,
            reset=None if reset is None else stored.text(reset),
            seen_at=None if seen_at is None else stored.when(seen_at),
            tallies=tallies,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"malformed ({type(exc).__name__})") from None


def load(store: StateStore, latest: Callable[[], bytes | None], now: datetime) -> Timeline | None:
    """The timeline the last pass saved; else one rebuilt from the last latest.json, with
    its reset said; None on the very first pass (nothing saved, nothing published)."""
    try:
        data = store.load_state(STATE_NAME)
    except Exception as exc:  # the store itself failed: a reset, never a failed pass
        data, why = None, f"the saved timeline could not be read ({type(exc).__name__})"
    else:
        why = NOTHING_SAVED
        if data is not None:
            try:
                return decode(data)
            except ValueError as exc:
                why = f"the saved timeline was unreadable ({scrub(str(exc), limit=120)})"
    log.warning("memory: %s; rebuilding from the last board", why)
    try:
        previous = latest()
    except Exception:
        previous = None
    rebuilt = from_snapshot(previous) if previous else None
    if previous is None and why == NOTHING_SAVED:
        return None  # the first pass: nothing to remember, nothing lost
    began = min([h.since for h in (rebuilt or {}).values()], default=now)
    stamp = now.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return Timeline(
        began=began,
        held=rebuilt or {},
        reset=f"history reset at {stamp}: {why}; since-times come from the last board",
    )


def save(store: StateStore, timeline: Timeline) -> StateConflict | None:
    """Write the timeline (see save_or_log; the next pass rebuilds it after a failure)."""
    return stored.save_or_log(store, STATE_NAME, encode(timeline), "the timeline")


def from_snapshot(data: bytes) -> dict[str, Held] | None:
    """Each environment's, check's and issue's word from a published latest.json, since its
    `since` (a snapshot from before the board remembered: since its own time); None when
    it cannot be read."""
    try:
        doc = jsonsafe.loads(data)
        at = stored.when(doc["generated_at"])
        held: dict[str, Held] = {}

        def since(item: Mapping[str, Any]) -> datetime:
            value = item.get("since")
            return stored.when(value) if value else at

        for env in doc["environments"]:
            grey = env["lifecycle"] in {lc.value for lc in Lifecycle if lc.grey}
            word = env["lifecycle"] if grey else env["status"]
            if env.get("maintenance"):
                word = MAINTENANCE
            held[f"env:{env['name']}"] = Held(stored.text(word), since(env))
            for check in env["checks"]:
                held[f"check:{check['id']}"] = Held(stored.text(check["status"]), since(check))
        summary = doc["summary"]
        for issue in summary["issues"]:
            held[f"issue:{issue['env']}/{issue['check']}"] = Held(
                stored.text(issue["status"]), since(issue)
            )
        held["fleet"] = Held(stored.text(summary["status"]), since(summary))
        return held
    except (ValueError, KeyError, TypeError, AttributeError):
        log.warning("memory: the last latest.json could not be read either")
        return None


def _buckets(buckets: tuple[Bucket, ...]) -> list[list[float]]:
    """[[start as epoch seconds, seconds by class...], ...]: compact and exact."""
    return [[b.start, *b.seconds] for b in buckets]


def _unbuckets(rows: object, missing: int = 0) -> tuple[Bucket, ...]:
    """Buckets as saved; `missing`: how many classes (the last of CLASSES) the saved
    version did not have, read as zero seconds."""
    if not isinstance(rows, list):
        raise TypeError("not a list")
    out = []
    for row in rows:
        if not isinstance(row, list) or len(row) != len(CLASSES) + 1 - missing:
            raise ValueError("a bucket of the wrong shape")
        padded: list[Any] = [*row, *[0.0] * missing]
        start, *seconds = padded
        # min and max raise TypeError on anything but numbers: one cheap check per bucket.
        if type(start) is not int or min(seconds) < 0 or max(seconds) > 86_400:
            raise ValueError("a bucket out of range")
        out.append(Bucket(start, tuple(seconds)))
    return tuple(out)


def _held(row: object) -> Held:
    if not isinstance(row, list) or len(row) not in (2, 3):
        raise ValueError("a held word of the wrong shape")
    changes = tuple(stored.count(n) for n in row[2]) if len(row) == 3 else ()
    return Held(stored.text(row[0]), stored.when(row[1]), changes)
