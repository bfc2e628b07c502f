"""The JSON Schemas other tools read our objects by (`schema/*.schema.json`): loaded and
compiled once per process, and one way of listing what an object breaks."""

from __future__ import annotations

import copy
import json
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
