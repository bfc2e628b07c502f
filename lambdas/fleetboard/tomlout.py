"""Write a fleet.toml document the same way every time: stable order, one comment per key
where one was given, so re-running `inventory import` gives a diff that shows only what
changed in the fleet.

Tables come in the document's order; within one, plain keys first, then `hosts.<name>.<key>`
as dotted keys (an environment's host overrides read best beside it), then sub-tables, then
arrays of tables (`[[maintenance]]`), each table of them under its own header.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

Path_ = tuple[str, ...]
#: Nested tables written as dotted keys inside their parent rather than as [headers].
DOTTED = frozenset({"hosts"})
_COMMENT_COLUMN = 38


def dumps(data: Mapping[str, Any], comments: Mapping[Path_, str], header: str = "") -> str:
    lines = [f"# {line}".rstrip() for line in header.splitlines()] if header else []
    _table(lines, (), data, comments)
    return "\n".join(lines).strip("\n") + "\n"


def _table(
    lines: list[str], at: Path_, table: Mapping[str, Any], comments: Mapping[Path_, str]
) -> None:
    arrays = [(k, v) for k, v in table.items() if _array_of_tables(v)]
    plain = [
        (k, v) for k, v in table.items() if not isinstance(v, Mapping) and not _array_of_tables(v)
    ]
    dotted = [(k, v) for k, v in table.items() if isinstance(v, Mapping) and k in DOTTED and at]
    nested = [(k, v) for k, v in table.items() if isinstance(v, Mapping) and (k, v) not in dotted]
    if at and (plain or dotted or not nested):
        lines += ["", f"[{'.'.join(_key(p) for p in at)}]"]
    for key, value in plain:
        _line(lines, _key(key), value, comments.get((*at, key)))
    for key, value in dotted:
        for path, leaf in _leaves((key,), value):
            _line(lines, ".".join(_key(p) for p in path), leaf, comments.get((*at, *path)))
    for key, value in nested:
        _table(lines, (*at, key), value, comments)
    for key, items in arrays:
        for item in items:
            lines += ["", f"[[{'.'.join(_key(p) for p in (*at, key))}]]"]
            for path, leaf in _leaves((), item):
                _line(lines, ".".join(_key(p) for p in path), leaf, None)


def _array_of_tables(value: Any) -> bool:
    """A list of tables, written `[[key]]` (a [[maintenance]] window is one)."""
    return isinstance(value, list) and bool(value) and all(isinstance(v, Mapping) for v in value)


def _leaves(at: Path_, value: Mapping[str, Any]) -> list[tuple[Path_, Any]]:
    out: list[tuple[Path_, Any]] = []
    for key, item in value.items():
        if isinstance(item, Mapping):
            out += _leaves((*at, key), item)
        else:
            out.append(((*at, key), item))
    return out


def _line(lines: list[str], key: str, value: Any, comment: str | None) -> None:
    text = f"{key} = {_value(value)}"
    if comment:
        text = f"{text.ljust(_COMMENT_COLUMN - 1)} # {comment}"
    lines.append(text)


def _key(key: str) -> str:
    return key if key.replace("-", "").replace("_", "").isalnum() else json.dumps(key)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # TOML basic strings escape like JSON
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} to fleet.toml")
