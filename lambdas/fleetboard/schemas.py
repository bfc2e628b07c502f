"""The JSON Schemas other tools read our objects by (`schema/*.schema.json`): loaded and
compiled once per process, one way of listing what an object breaks, and one `Schema` per
file for the module that writes its objects."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

JsonDoc = dict[str, Any]


@cache
def load(name: str) -> JsonDoc:
    """The schema `schema/<name>`, parsed once per process."""
    text = resources.files("fleetboard").joinpath(f"schema/{name}").read_text()
    doc: JsonDoc = json.loads(text)
    return doc


@cache
def _compiled(name: str) -> Any:
    """The schema compiled to Python once per process: a 100-environment snapshot checks in
    tens of milliseconds, where a generic validator takes most of a second (decision 0005)."""
    import fastjsonschema

    # A copy: compiling rewrites every `$ref` in place to an absolute URL.
    return fastjsonschema.compile(copy.deepcopy(load(name)))


def problems(name: str, doc: JsonDoc) -> list[str]:
    """Every way `doc` breaks schema `name`, as `path: message` lines (empty when valid)."""
    import fastjsonschema

    try:
        _compiled(name)(doc)
    except fastjsonschema.JsonSchemaValueException:
        pass
    else:
        return []
    # Slow path, only for a broken object: list every problem, not just the first.
    from jsonschema import Draft7Validator

    errors = sorted(
        Draft7Validator(load(name)).iter_errors(doc), key=lambda e: list(map(str, e.absolute_path))
    )
    return [f"{'.'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}" for e in errors]


def summary(found: list[str], shown: int = 5) -> str:
    """The first `shown` problems, and how many more: for one line of an error."""
    more = len(found) - shown
    return "; ".join(found[:shown]) + (f"; and {more} more" if more > 0 else "")


class Invalid(ValueError):
    """An object that does not match its schema: a collector bug, never published."""


@dataclass(frozen=True, slots=True)
class Schema:
    """One schema file as the module writing its objects uses it (snapshot, events, rollups):
    the schema, an object's problems, and the check that raises Invalid for a broken one."""

    file: str  # under schema/, e.g. "snapshot.schema.json"
    mismatch: str  # how Invalid's message begins: "snapshot does not match"

    def schema(self) -> JsonDoc:
        return load(self.file)

    def problems(self, doc: JsonDoc) -> list[str]:
        """Every way `doc` breaks the schema, as `path: message` lines (empty when valid)."""
        return problems(self.file, doc)

    def validate(self, doc: JsonDoc) -> None:
        """Raise Invalid listing the problems; return quietly when the doc is valid."""
        found = self.problems(doc)
        if found:
            raise Invalid(f"{self.mismatch} {self.file}: {summary(found)}")
