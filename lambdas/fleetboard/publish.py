"""Where a finished board goes: one Publisher interface, a local folder now, S3 later.

Write order is the contract (DESIGN §6): the immutable history object first, then
latest.json, then the page's assets, then index.html last, so a reader never finds a page
that points at data that is not there yet. Each file is replaced atomically.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

LATEST = "latest.json"
INDEX = "index.html"


def history_key(generated_at: datetime) -> str:
    """`history/YYYY/MM/DD/HHMMSSZ.json`: sortable, one object per pass, never rewritten."""
    return generated_at.astimezone(UTC).strftime("history/%Y/%m/%d/%H%M%SZ.json")


@dataclass(frozen=True, slots=True)
class Release:
    """One pass's files, already validated and rendered; nothing left that can fail but I/O."""

    history_key: str
    snapshot: bytes
    page: bytes
    assets: dict[str, bytes]  # board.css, board.js: published beside index.html


class Publisher(Protocol):
    def publish(self, release: Release) -> list[str]:
        """Write the release in order; return the keys written."""
        ...

    def read(self, key: str) -> bytes | None:
        """A previously published object (e.g. latest.json), or None if there is none."""
        ...


class LocalPublisher:
    """Publishes into a folder: what `fleetboard collect --out DIR` and the demo use."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def publish(self, release: Release) -> list[str]:
        written = [release.history_key, LATEST]
        self._write(release.history_key, release.snapshot)
        self._write(LATEST, release.snapshot)
        for name, data in sorted(release.assets.items()):
            if self.read(name) != data:  # unchanged assets are not rewritten
                self._write(name, data)
                written.append(name)
        self._write(INDEX, release.page)
        written.append(INDEX)
        return written

    def read(self, key: str) -> bytes | None:
        try:
            return (self.root / key).read_bytes()
        except FileNotFoundError:
            return None

    def _write(self, key: str, data: bytes) -> None:
        target = self.root / key
        target.parent.mkdir(parents=True, exist_ok=True)
        # A temporary file in the same folder, then a rename: readers see the old file or
        # the new one, never half of one.
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            Path(tmp).chmod(0o644)
            Path(tmp).replace(target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
