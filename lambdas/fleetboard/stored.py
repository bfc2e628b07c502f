"""A saved state's JSON (the timeline, the wallets' trails, the alerting), written and read
back the same way by each: the version check on the way in, the one save that never
raises, and the typed readers every decoder checks a value with (a wrong type or range is a
ValueError or TypeError, which the decoder turns into "malformed": a reset, never a crash).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from fleetboard import jsonsafe
from fleetboard.state import StateConflict, StateStore

log = logging.getLogger("fleetboard")

T = TypeVar("T")


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


def save_or_log(
    store: StateStore, name: str, data: bytes, what: str, *, part: str = "memory"
) -> StateConflict | None:
    """Write a saved state, only over the one this pass read (StateStore). Another pass's
    write since is a conflict: its state stays and the next pass reads it; this one is
    dropped, logged and the conflict returned. A failure is logged, saying `what` was not
    saved (`part` begins the line: "memory", "alerts"). Never raises."""
    try:
        store.save_state(name, data)
    except StateConflict as conflict:
        log.warning(
            "%s: %s was not saved: %s; that state stays, the next pass reads it",
            part,
            what,
            conflict,
        )
        return conflict
    except Exception as exc:
        log.warning("%s: %s was not saved (%s)", part, what, type(exc).__name__)
    return None


def kept(
    store: StateStore | None,
    name: str,
    version: int,
    max_bytes: int,
    decode: Callable[[dict[str, Any]], T],
    *,
    part: str,
    what: str,
    instead: str,
) -> T | None:
    """What a source kept between passes, decoded; None when nothing is kept, or when it
    cannot be read or decoded, which is logged ("metrics: the kept figures are unreadable
    (…); reading CloudWatch") and never raised: the source reads afresh (`instead`)."""
    if store is None:
        return None
    try:
        raw = store.load_state(name)
        if raw is None:
            return None
        return decode(versioned(raw, version, f"{part} state", max_bytes))
    except (KeyError, TypeError, ValueError) as exc:
        log.warning("%s: the kept %s are unreadable (%s); %s", part, what, exc, instead)
        return None
    except Exception as exc:  # the store could not be read
        log.warning("%s: the kept %s could not be read (%s)", part, what, type(exc).__name__)
        return None


@dataclass(frozen=True, slots=True)
class Keeping(Generic[T]):
    """What a source keeps between passes (`state/<name>.json`): the version it writes, the
    most it reads back, how it decodes it, and how its log lines name it. A source's
    figures read once a day or every N minutes are kept and read back through one of these,
    so each is versioned, size-capped and never crashes a pass the same way."""

    name: str  # the state object's name, and the source's, which begins its log lines
    version: int
    max_bytes: int
    decode: Callable[[dict[str, Any]], T]
    what: str  # "prices": what a log line says could not be read back, or was not saved
    instead: str  # what the source does when it cannot read them: "reading the Price List"

    def load(self, store: StateStore | None) -> T | None:
        """What an earlier pass kept, decoded; None when nothing is, or it is unreadable."""
        return kept(
            store,
            self.name,
            self.version,
            self.max_bytes,
            self.decode,
            part=self.name,
            what=self.what,
            instead=self.instead,
        )

    def save(self, store: StateStore | None, doc: Mapping[str, Any]) -> None:
        """Keep `doc` (its version added) for the next passes; a failure is logged."""
        self.save_bytes(store, encode({"version": self.version, **doc}))

    def save_bytes(self, store: StateStore | None, data: bytes) -> None:
        if store is not None:
            save_or_log(store, self.name, data, f"the {self.what}", part=self.name)


def encode(doc: Mapping[str, Any]) -> bytes:
    """A state object as it is written: compact JSON."""
    return json.dumps(doc, separators=(",", ":")).encode()


def iso(value: datetime) -> str:
    """UTC, `Z`: how a saved state writes a time."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def when(value: object) -> datetime:
    """A saved time, which must carry its zone."""
    parsed = datetime.fromisoformat(text(value).replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError("a time without its zone")
    return parsed


def text(value: object) -> str:
    return _typed(value, str, "a string")


def count(value: object) -> int:
    if type(value) is not int or value < 0:
        raise ValueError("not a count")
    return value


def flag(value: object) -> bool:
    return _typed(value, bool, "a flag")


def mapping(value: object) -> Mapping[str, Any]:
    return _typed(value, dict, "an object")


def _typed(value: object, kind: type[T], what: str) -> T:
    if not isinstance(value, kind):
        raise TypeError(f"not {what}")
    return value
