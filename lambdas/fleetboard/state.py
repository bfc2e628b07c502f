"""Where a source keeps a little state between passes (the GitHub source's ETags): the one
interface sources see. The publishers implement it beside the board (publish.py keeps each
name under `state/<name>.json`); a test may keep it in memory."""

from __future__ import annotations

from typing import Protocol


class StateStore(Protocol):
    """Where sources keep a little state between passes, beside the board."""

    def load_state(self, name: str) -> bytes | None: ...

    def save_state(self, name: str, data: bytes) -> None: ...
