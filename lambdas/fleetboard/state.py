"""Where the board keeps a little state between passes (its timeline, the wallets' trails, the
GitHub source's ETags): the one interface the memory and the sources see. The publishers
implement it beside the board (publish.py keeps each name under `state/<name>.json`); a test
may keep it in memory.

Two passes must not interleave their state (docs/design.md#publishing): a publisher's
`save_state` writes only over the object its own `load_state` read, or only where there was
none if it found none, and otherwise raises StateConflict having written nothing. So the
pass that writes first wins, and the other's write is dropped, never mixed in.
"""

from __future__ import annotations

import enum
from typing import Protocol


class StateStore(Protocol):
    """Where the board keeps a little state between passes, beside the board.

    A publisher remembers, for each name, the version of the object its last `load_state`
    returned (or its own last write of it); `save_state` writes only if the object is still
    that version, or still absent if there was none or the store never read it, and raises
    StateConflict otherwise, with nothing written. One store serves one pass at a time: two
    passes are two stores (two Lambda containers, two processes).
    """

    def load_state(self, name: str) -> bytes | None: ...

    def save_state(self, name: str, data: bytes) -> None: ...


#: Why a state write was refused: the words after the object's key.
CHANGED = "was written by another pass since this pass read it"
CREATED = "was written by another pass since this pass found none"
DELETED = "was deleted since this pass read it"
RACED = "was being written by another pass at the same moment"
UNREAD = "could not be read when this pass began, so it is not overwritten"
LOCKED = "is being written by another pass (its lock was held too long)"


class StateConflict(Exception):
    """A state write refused because the object is not the one this store read: another pass
    wrote (or someone deleted) it since. Nothing was written; what is there stays."""

    def __init__(self, key: str, why: str) -> None:
        self.key = key
        self.why = why
        super().__init__(f"{key} {why}")


class Unread(enum.Enum):
    """A store that cannot say which version it read: its load failed."""

    FAILED = "failed"


#: What a store read of one name: the object's version (S3's ETag, a file's SHA-256), None
#: when there was no object, or Unread.FAILED when the read failed.
Seen = str | Unread | None


class Versions:
    """The version of each state object one store last read or wrote: what its next write of
    that object must still find there. A name never read expects no object."""

    def __init__(self) -> None:
        self._seen: dict[str, Seen] = {}

    def saw(self, name: str, version: str | None) -> None:
        self._seen[name] = version

    def lost(self, name: str) -> None:
        """The read failed: the store cannot tell what a write would overwrite."""
        self._seen[name] = Unread.FAILED

    def expected(self, name: str) -> Seen:
        return self._seen.get(name)


def refusal(expected: Seen, current: str | None) -> str | None:
    """Why a write expecting `expected` must not replace `current` (None: no object), or None
    when it may."""
    if expected is Unread.FAILED:
        return UNREAD
    if current == expected:
        return None
    if current is None:
        return DELETED
    return CREATED if expected is None else CHANGED
