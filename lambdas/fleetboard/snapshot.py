"""Board -> snapshot JSON, and the check of every snapshot against the schema in the repo.

The JSON is the contract other tools read (docs/design.md#snapshot); the page is only a view of
it, so render.py takes the validated document, not the dataclasses.
"""

from __future__ import annotations

import json
from dataclasses import Field, fields, is_dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import Any

from fleetboard import schemas
from fleetboard.model import Board
from fleetboard.schemas import JsonDoc

SCHEMA_VERSION = 1

#: The schema, an object's problems (`path: message` lines) and the check that raises.
SCHEMA = schemas.Schema("snapshot.schema.json", "snapshot does not match")
schema = SCHEMA.schema
problems = SCHEMA.problems
validate = SCHEMA.validate


def iso(value: datetime | None) -> str | None:
    """UTC, seconds precision, `Z` suffix: the one time format of the snapshot."""
    if value is None:
        return None
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def to_document(board: Board) -> JsonDoc:
    """The snapshot as plain JSON-able data, in the schema's shape: the model's dataclasses
    written field by field, as each field's `as_json(...)` metadata says."""
    doc: JsonDoc = {"schema_version": SCHEMA_VERSION}
    doc.update(encode(board))
    return doc


def json_rule(f: Field[Any]) -> dict[str, Any]:
    """How a dataclass field is written: key, digits, string, omit (see model.as_json)."""
    rule: dict[str, Any] = {"key": f.name, "digits": None, "string": False, "omit": False}
    declared = f.metadata.get("json") or {}
    rule.update({k: v for k, v in declared.items() if v is not None})
    return rule


#: One field as written: attribute, key path, decimal places to round to, int as a string.
_Step = tuple[str, tuple[str, ...], int | None, bool]
_Plan = tuple[tuple[str, ...], tuple[_Step, ...]]
_SCALARS = frozenset({type(None), str, int, float, bool})
#: Per type: how a dataclass is written, worked out once; None for any other type.
_PLANS: dict[type, _Plan | None] = {}


def _plan(kind: type) -> _Plan | None:
    if kind not in _PLANS:
        plan = None
        if is_dataclass(kind):
            steps = []
            for f in fields(kind):
                rule = json_rule(f)
                if not rule["omit"]:
                    key = tuple(rule["key"].split("."))
                    steps.append((f.name, key, rule["digits"], rule["string"]))
            plan = (getattr(kind, "JSON_PROPERTIES", ()), tuple(steps))
        _PLANS[kind] = plan
    return _PLANS[kind]


def encode(value: Any) -> Any:
    """Any model value as JSON data: dataclasses as objects in field order (after the
    class's JSON_PROPERTIES), enums as their value, datetimes as `iso`, tuples as lists."""
    kind = type(value)
    if kind in _SCALARS:
        return value
    plan = _plan(kind)
    if plan is not None:
        properties, steps = plan
        out: JsonDoc = {name: encode(getattr(value, name)) for name in properties}
        for name, path, digits, string in steps:
            item = getattr(value, name)
            if item is not None and string:
                item = str(item)
            elif item is not None and digits is not None:
                item = round(item, digits)
            into = out
            for parent in path[:-1]:
                into = into.setdefault(parent, {})
            into[path[-1]] = encode(item)
        return out
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, list | tuple):
        return [encode(v) for v in value]
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise TypeError(f"snapshot object keys must be strings: {list(value)[:3]}")
        return {k: encode(v) for k, v in value.items()}
    if isinstance(value, str | int | float):
        return value
    raise TypeError(f"no snapshot form for {type(value).__name__}")


def dumps(doc: JsonDoc) -> bytes:
    """Compact, stable JSON (keys in schema order) with a trailing newline."""
    return (json.dumps(doc, ensure_ascii=False, separators=(",", ":")) + "\n").encode()


def version(doc: JsonDoc) -> bytes:
    """version.json of a snapshot: which pass it is and its one word, ~90 bytes whatever the
    fleet's size, for the page's reload check and for tools that poll before they fetch."""
    return dumps(
        {
            "schema_version": doc["schema_version"],
            "generated_at": doc["generated_at"],
            "status": doc["summary"]["status"],
        }
    )
