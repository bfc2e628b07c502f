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

from fleetboard import jsonsafe
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
        "began": _time(timeline.began),
        "passes": timeline.passes,
        "reset": timeline.reset,
        # [word, since] and, for a check that changed lately, the passes it changed in.
        "held": {
            key: [h.word, _time(h.since), *([list(h.changes)] if h.changes else [])]
            for key, h in timeline.held.items()
        },
        "recent": [
            [_time(t.at), t.env, t.check, t.before, t.after, t.reason, t.times]
            for t in timeline.recent
        ],
        "seen_at": None if timeline.seen_at is None else _time(timeline.seen_at),
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


def versioned(
    data: bytes, version: int | tuple[int, ...], what: str, max_bytes: int
) -> dict[str, Any]:
    """A saved state's JSON object, once its size, depth and version are what this code
    writes (or one of the older `version`s it still reads); ValueError saying which is not."""
    if len(data) > max_bytes:
        raise ValueError(f"{len(data)} bytes, more than {max_bytes}")
    doc = jsonsafe.loads(data)
    versions = version if isinstance(version, tuple) else (version,)
    if not isinstance(doc, dict) or doc.get("version") not in versions:
        raise ValueError(f"not a version {' or '.join(map(str, versions))} {what}")
    return doc


def decode(data: bytes) -> Timeline:
    """The saved timeline; ValueError saying what is wrong with it."""
    doc = versioned(data, READS, "timeline", MAX_BYTES)
    # Classes a bucket of this version lacks, all at the end of CLASSES: zero seconds.
    missing = len(CLASSES) - _CLASSES_OF[doc["version"]]
    try:
        held = {_text(key): _held(row) for key, row in _mapping(doc["held"]).items()}
        recent = tuple(
            Transition(
                _parse(at),
                _text(env),
                None if check is None else _text(check),
                _text(before),
                _text(after),
                _text(reason),
                _count(times),
            )
            for at, env, check, before, after, reason, times in doc["recent"]
        )
        reset, seen_at = doc.get("reset"), doc.get("seen_at")
        tallies = {
            _text(env): Tally(
                _unbuckets(t["hours"], missing),
                _unbuckets(t["days"], missing),
                None if t.get("began") is None else _count(t["began"]),
            )
            for env, t in _mapping(doc.get("tallies", {})).items()
        }
        return Timeline(
            began=_parse(doc["began"]),
            passes=_count(doc["passes"]),
            held=held,
            recent=recent,
            reset=None if reset is None else _text(reset),
            seen_at=None if seen_at is None else _parse(seen_at),
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
    return save_or_log(store, STATE_NAME, encode(timeline), "the timeline")


def save_or_log(store: StateStore, name: str, data: bytes, what: str) -> StateConflict | None:
    """Write a saved state, only over the one this pass read (StateStore). Another pass's
    write since is a conflict: its state stays and the next pass reads it; this one is
    dropped, logged and the conflict returned. A failure is logged, saying `what` was not
    saved. Never raises."""
    try:
        store.save_state(name, data)
    except StateConflict as conflict:
        log.warning(
            "memory: %s was not saved: %s; that state stays, the next pass reads it",
            what,
            conflict,
        )
        return conflict
    except Exception as exc:
        log.warning("memory: %s was not saved (%s)", what, type(exc).__name__)
    return None


def from_snapshot(data: bytes) -> dict[str, Held] | None:
    """Each environment's, check's and issue's word from a published latest.json, since its
    `since` (a snapshot from before the board remembered: since its own time); None when
    it cannot be read."""
    try:
        doc = jsonsafe.loads(data)
        at = _parse(doc["generated_at"])
        held: dict[str, Held] = {}

        def since(item: Mapping[str, Any]) -> datetime:
            value = item.get("since")
            return _parse(value) if value else at

        for env in doc["environments"]:
            grey = env["lifecycle"] in {lc.value for lc in Lifecycle if lc.grey}
            word = env["lifecycle"] if grey else env["status"]
            if env.get("maintenance"):
                word = MAINTENANCE
            held[f"env:{env['name']}"] = Held(_text(word), since(env))
            for check in env["checks"]:
                held[f"check:{check['id']}"] = Held(_text(check["status"]), since(check))
        summary = doc["summary"]
        for issue in summary["issues"]:
            held[f"issue:{issue['env']}/{issue['check']}"] = Held(
                _text(issue["status"]), since(issue)
            )
        held["fleet"] = Held(_text(summary["status"]), since(summary))
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
    changes = tuple(_count(n) for n in row[2]) if len(row) == 3 else ()
    return Held(_text(row[0]), _parse(row[1]), changes)


def _count(value: object) -> int:
    if type(value) is not int or value < 0:
        raise ValueError("not a count")
    return value


def _time(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _parse(value: object) -> datetime:
    parsed = datetime.fromisoformat(_text(value).replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError("a time without its zone")
    return parsed


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError("not a string")
    return value


def _mapping(value: object) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise TypeError("not an object")
    return value
