"""The checks every fleet.toml value passes before its shape is: what no value may be,
whatever its key (NaN or infinity, an integer past 64 bits, a control character, a string
or key longer than any real one, nesting deeper than any real table)."""

from __future__ import annotations

import math
from typing import Any

from fleetboard.config.messages import KeyPath, key_path, show

#: What no fleet.toml comes near, checked before its shape: the file's size, its nesting (the
#: deepest real value, environments.<env>.hosts.<service>.address, is 5 keys down), a string
#: and a key. Each key's own limits are in the schema.
MAX_FILE_BYTES = 1024 * 1024
MAX_DEPTH = 6
MAX_STRING = 4096
MAX_KEY = 128
#: TOML integers are 64-bit (tomllib reads longer ones).
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def _control_char(text: str) -> tuple[int, str] | None:
    """The first character that is not printable: a control (newline and tab too), a format
    character (a bidi override, a zero-width one), a separator other than the space, a
    private-use or unassigned code point; None when there is none."""
    if text.isprintable():
        return None
    return next((i, c) for i, c in enumerate(text) if not c.isprintable())


def _codepoint(c: str) -> str:
    return f"U+{ord(c):04X}"


class Screen:
    """What no fleet.toml value may be, whatever its key: NaN or infinity, an integer past
    64 bits, a control character, a string or key longer than any real one, nesting deeper
    than any real table. Gives a copy with the refused nesting cut off, safe to validate."""

    def __init__(self) -> None:
        self.problems: list[tuple[KeyPath, str]] = []

    def problem(self, path: KeyPath, text: str) -> None:
        self.problems.append((path, f"{key_path(path)}: {text}"))

    def check(self, value: Any, path: KeyPath) -> Any:
        if isinstance(value, dict | list) and len(path) >= MAX_DEPTH:
            self.problem(
                path,
                "holds tables or arrays nested deeper than any fleet.toml "
                f"(keys at most {MAX_DEPTH} deep)",
            )
            return type(value)()
        if isinstance(value, dict):
            out = {}
            for key, item in value.items():
                here = (*path, key)
                if len(key) > MAX_KEY:
                    self.problem(here, f"the key is {len(key)} characters long; at most {MAX_KEY}")
                elif bad := _control_char(key):
                    self.problem(
                        here, f"the key has a control or invisible character ({_codepoint(bad[1])})"
                    )
                out[key] = self.check(item, here)
            return out
        if isinstance(value, list):
            return [self.check(item, (*path, i)) for i, item in enumerate(value)]
        if isinstance(value, bool):
            return value
        if isinstance(value, float) and not math.isfinite(value):
            self.problem(path, f"{show(value)} is not a finite number")
        elif isinstance(value, int) and not INT64_MIN <= value <= INT64_MAX:
            self.problem(path, f"{show(value)} does not fit in TOML's 64-bit integers")
        elif isinstance(value, str):
            if len(value) > MAX_STRING:
                self.problem(
                    path,
                    f"{show(value)} is longer than any value fleet.toml takes "
                    f"(at most {MAX_STRING} characters)",
                )
                return value[:MAX_STRING]  # what the schema reads: refused already
            elif bad := _control_char(value):
                self.problem(
                    path,
                    f"{show(value)} has a control or invisible character ({_codepoint(bad[1])} at "
                    f"position {bad[0]}); values are one line of printable text",
                )
        return value
