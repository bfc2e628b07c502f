"""How a fleet.toml message reads: the error that carries them, key paths, quoted values.

Every message names the key path and the value, escaped and capped, so a hostile file can
neither flood a terminal nor hide a character in it.
"""

from __future__ import annotations

import difflib
import json
import math
import re
from collections.abc import Collection, Iterable
from typing import Any

#: How many characters of a value a message quotes.
MAX_SHOWN = 120

#: A key path: table keys and array indexes, from the top of the file.
KeyPath = tuple[str | int, ...]


class ConfigError(ValueError):
    """fleet.toml is wrong; `problems` holds one line per mistake."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class Problems:
    """The problems a section's builder finds, one line each: "key.path: what is wrong"."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def add(self, where: str, text: str) -> None:
        self.lines.append(f"{where}: {text}")


_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def key_path(parts: Iterable[Any]) -> str:
    """environments.test-2.hosts.mcp; a key that is not a bare TOML key is quoted, escaped."""
    return ".".join(key_part(p) for p in parts) or "(top level)"


def key_part(part: str | int) -> str:
    if isinstance(part, int) or (_BARE_KEY.fullmatch(part) and len(part) <= MAX_SHOWN):
        return str(part)
    return show(part)


def cap(text: str, limit: int = 2 * MAX_SHOWN) -> str:
    """Text from elsewhere (a parser, a library) as a message may quote it."""
    text = _escape(text)
    return text if len(text) <= limit else text[:limit] + "…"


def _escape(text: str) -> str:
    if text.isprintable():
        return text
    return "".join(
        c if c.isprintable() else f"\\u{ord(c):04x}" if ord(c) <= 0xFFFF else f"\\U{ord(c):08x}"
        for c in text
    )


def show(value: Any) -> str:
    """A value as a message quotes it: escaped, and at most MAX_SHOWN characters of it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else "inf" if value > 0 else "-inf"
    if isinstance(value, int) and value.bit_length() > 128:
        try:
            digits = str(abs(value))
        except ValueError:  # past Python's 4300-digit limit
            return f"an integer of {value.bit_length()} bits"
        return f"{'-' if value < 0 else ''}{digits[:20]}… ({len(digits)} digits)"
    if isinstance(value, str):
        shown = _escape(json.dumps(value[:MAX_SHOWN], ensure_ascii=False))
        return shown if len(value) <= MAX_SHOWN else f"{shown}… ({len(value)} characters)"
    try:
        text = json.dumps(value, ensure_ascii=False, default=str)
    except (ValueError, RecursionError):
        return type(value).__name__
    return cap(text, MAX_SHOWN)


def unknown_env(name: str, declared: Collection[str]) -> str:
    """A name that is not an environment of the file, with the closest one if any (a
    maintenance window's, an alert channel's)."""
    close = difflib.get_close_matches(name, sorted(declared), n=1)
    hint = f"; did you mean {show(close[0])}?" if close else ""
    known = ", ".join(show(d) for d in declared)  # names from the file: shown escaped
    return f"{show(name)} is not an environment of this file{hint} (known: {known})"
