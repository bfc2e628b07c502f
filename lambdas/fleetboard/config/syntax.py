"""TOML text -> dict, or a ConfigError naming the line; never another exception."""

from __future__ import annotations

import re
import tomllib
from typing import Any

from fleetboard.config.messages import ConfigError, cap, key_part
from fleetboard.config.screen import MAX_DEPTH

_DUP_TABLE = re.compile(r"Cannot declare \((?P<keys>.*)\) twice \(at line (?P<line>\d+)")
_AT_LINE = re.compile(r"\(at line (?P<line>\d+), column \d+\)")
_AT_END = "(at end of document)"
_BIG_INT = re.compile(r"[+-]?\d[\d_]{4300,}")


def parse(text: str, source: str) -> dict[str, Any]:
    """TOML -> dict, or ConfigError naming the line; never another exception."""
    # Measured before parsing, not left to tomllib's RecursionError: web3's import (py_ecc)
    # raises the process's recursion limit to 100,000, and the answer must not depend on
    # what was imported before.
    deep = _too_deep_line(text)
    if deep is not None:
        raise ConfigError([_too_deep_message(source, text, deep)])
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{source}: {_toml_message(str(exc), text)}"]) from None
    except RecursionError:  # deeper than the scan could tell (it skips strings roughly)
        raise ConfigError([_too_deep_message(source, text, 1)]) from None
    except ValueError as exc:  # an integer of more than 4300 digits (Python's int() limit)
        m = _BIG_INT.search(text)
        if m is None:
            raise ConfigError([f"{source}: not valid TOML ({cap(str(exc))})"]) from None
        line = text.count("\n", 0, m.start()) + 1
        raise ConfigError(
            [
                f"{source}: line {line}: {_line_key(text, line)}an integer of thousands of "
                "digits; TOML integers are 64-bit"
            ]
        ) from None


def _too_deep_message(source: str, text: str, line: int) -> str:
    return (
        f"{source}: line {line}: {_line_key(text, line)}arrays or inline tables nested "
        f"too deeply (keys go at most {MAX_DEPTH} deep)"
    )


def _too_deep_line(text: str) -> int | None:
    """The line where brackets first nest deeper than MAX_DEPTH (strings and comments
    skipped); None when they never do."""
    depth, quote, line = 0, "", 1
    chars = iter(text)
    for c in chars:
        if c == "\n":
            line += 1
        if quote:
            if c == "\\" and quote == '"':
                next(chars, "")
            elif c == quote:
                quote = ""
        elif c in "\"'":
            quote = c
        elif c == "#":
            for c2 in chars:
                if c2 == "\n":
                    line += 1
                    break
        elif c in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return line
        elif c in "]}":
            depth = max(0, depth - 1)
    return None


def _line_key(text: str, line: int) -> str:
    """ "fleet.x: " for `x = ...` on that line (best effort), so a parse error names its key."""
    lines = text.splitlines()
    if not 0 < line <= len(lines):
        return ""
    m = re.match(r"\s*([A-Za-z0-9_.\"' -]{1,80}?)\s*=", lines[line - 1])
    return f"{key_part(m.group(1).strip())}: " if m else ""


def _toml_message(message: str, text: str) -> str:
    m = _DUP_TABLE.search(message)
    if m:
        keys = [k.strip().strip("'\"") for k in m.group("keys").split(",") if k.strip()]
        table = ".".join(keys)
        if len(keys) == 2 and keys[0] == "environments":
            return (
                f"line {m.group('line')}: environment {cap(keys[1])!r} is declared twice; "
                f"keep one [environments.{cap(keys[1])}] table"
            )
        return f"line {m.group('line')}: [{cap(table)}] is declared twice; keep one"
    m = _AT_LINE.search(message)
    if m:
        return f"line {m.group('line')}: not valid TOML ({cap(_AT_LINE.sub('', message).strip())})"
    if message.endswith(_AT_END):
        last = text.count("\n") + (not text.endswith("\n"))
        why = message.removesuffix(_AT_END).strip()
        return f"line {max(last, 1)}: not valid TOML ({cap(why)}, at the end of the file)"
    return f"not valid TOML ({cap(message)})"
