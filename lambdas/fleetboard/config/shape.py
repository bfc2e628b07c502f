"""The shape of fleet.toml: schema/fleet.schema.json, and one line a person reads per
problem it finds (after the screen's checks, which run first)."""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterator
from datetime import date, time
from functools import cache
from importlib import resources
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from fleetboard.config.hosts import check_address, check_hostname, check_url
from fleetboard.config.messages import MAX_SHOWN, KeyPath, cap, key_path, show
from fleetboard.config.screen import Screen


@cache
def fleet_schema() -> dict[str, Any]:
    text = resources.files("fleetboard").joinpath("schema/fleet.schema.json").read_text()
    doc: dict[str, Any] = json.loads(text)
    return doc


def shape_problems(raw: dict[str, Any]) -> tuple[list[str], set[str] | None]:
    """Shape problems, and which parts they break: "fleet" and the names of environments.

    Broken [[maintenance]] tables are named by `window_key`. The second value is None
    when the breakage is everywhere (a top-level table missing or
    of the wrong kind, or [probe]/[thresholds]/[aws] wrong), so nothing can be built. One
    line per key: the first problem found there (the values check before the schema).
    """
    walk = Screen()
    clean = walk.check(raw, ())
    found = list(walk.problems)
    for error in _validator().iter_errors(clean):
        found.extend(_describe(error))
    lines: list[str] = []
    seen: list[KeyPath] = []
    broken: set[str] | None = set()
    for path, line in found:
        # Nothing more about a key whose value is already refused, or inside it.
        if any(path[: len(p)] == p for p in seen):
            continue
        seen.append(path)
        lines.append(line)
        if broken is None:
            continue
        if path[:1] == ("environments",) and len(path) >= 2:
            broken.add(str(path[1]))
        elif path[:1] == ("maintenance",):
            # One window's mistake leaves the others (and the fleet) to check; a name with
            # a dot is never an environment's.
            broken.add(window_key(path[1] if len(path) >= 2 else None))
        elif path[:1] == ("fleet",):
            broken.add("fleet")
        else:
            broken = None
    return sorted(set(lines), key=lines.index), broken


def window_key(index: object) -> str:
    """How `shape_problems` names a broken [[maintenance]] table ("maintenance.*": the
    whole array)."""
    return f"maintenance.{index if isinstance(index, int) else '*'}"


def _toml_type(value: Any) -> str:
    match value:
        case bool():
            return "true/false"
        case int():
            return "an integer"
        case float():
            return "a number"
        case str():
            return "a string"
        case list():
            return "an array"
        case dict():
            return "a table"
    return "a date or time" if isinstance(value, date | time) else type(value).__name__


_EXPECTED = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "object": "a table",
    "array": "an array",
}


@cache
def python_regex(pattern: str) -> re.Pattern[str]:
    r"""A schema pattern (ECMA 262) as Python reads it: `$` outside a class is the very end.

    Python's `$` also matches before a trailing newline, so "us-east-1\n" would pass
    "^[a-z]{2}-[a-z]+-\d$"; `\Z` does not.
    """
    out, in_class, chars = [], False, iter(pattern)
    for c in chars:
        if c == "\\":
            out.append(c + next(chars, ""))
            continue
        if in_class:
            in_class = c != "]"
        elif c == "[":
            in_class = True
        elif c == "$":
            c = r"\Z"
        out.append(c)
    return re.compile("".join(out))


@cache
def _validator() -> Any:
    from jsonschema import Draft202012Validator, FormatChecker, validators
    from jsonschema.exceptions import ValidationError

    def pattern(validator: Any, pattern: str, instance: Any, schema: Any) -> Iterator[Any]:
        if validator.is_type(instance, "string") and not python_regex(pattern).search(instance):
            yield ValidationError(f"{instance!r} does not match {pattern!r}")

    formats = FormatChecker(formats=())
    formats.checks("fleet-hostname", raises=ValueError)(check_hostname)
    formats.checks("fleet-address", raises=ValueError)(check_address)
    formats.checks("fleet-url", raises=ValueError)(check_url)
    # types-jsonschema leaves extend() untyped; it returns a validator class.
    cls = validators.extend(Draft202012Validator, {"pattern": pattern})  # type: ignore[no-untyped-call]
    return cls(fleet_schema(), format_checker=formats)


def _describe(error: Any) -> Iterator[tuple[KeyPath, str]]:
    """One jsonschema error -> (key, the line a person reads) (the interface, so tested exactly)."""
    path: KeyPath = tuple(error.absolute_path)
    where = key_path(path)
    schema = error.schema
    kind = error.validator
    value = error.instance
    # A key's name that breaks its table's propertyNames: reported at the table, about the key.
    at: KeyPath = (*path, value) if "propertyNames" in error.absolute_schema_path else path
    if kind == "additionalProperties":
        allowed = list(schema.get("properties", {}))
        for key in sorted(set(value) - set(allowed)):
            hint = difflib.get_close_matches(key, allowed, n=1)
            did_you_mean = f"; did you mean {hint[0]!r}?" if hint else ""
            known = ", ".join(allowed)
            yield (
                (*path, key),
                f"{key_path([*path, key])}: unknown key{did_you_mean} (known here: {known})",
            )
    elif kind == "required":
        props = schema.get("properties", {})
        for key in error.validator_value:
            if key not in value:
                prop = props.get(key, {})
                hint = prop.get("x-hint") or prop.get("description")
                suffix = f": {hint}" if hint else ""
                yield (*path, key), f"{key_path([*path, key])}: missing{suffix}"
    elif kind == "type":
        expected = error.validator_value
        names = [expected] if isinstance(expected, str) else list(expected)
        want = " or ".join(_EXPECTED.get(n, n) for n in names)
        # TOML has dates of its own; fleet.toml takes its times as strings (a UTC one ends
        # in Z), so an unquoted one is only a missing pair of quotes.
        quoted = isinstance(value, date | time) and "string" in names
        advice = "; write it in quotes" if quoted else ""
        if isinstance(value, dict) and names == ["array"] and schema.get("items", {}).get("$ref"):
            advice = f"; write each table as [[{where}]]"  # [maintenance] for [[maintenance]]
        yield at, f"{where}: {show(value)} is {_toml_type(value)}; expected {want}{advice}"
    elif kind == "pattern" and "x-rule" in schema:
        what = "has a space" if re.search(r"\s", value) else "is not allowed"
        yield at, f"{where}: {show(value)} {what}; {schema['x-rule']}"
    elif kind in {"pattern", "format"} and "x-message" in schema:
        why = f"; {cap(str(error.cause))}" if kind == "format" and error.cause else ""
        yield at, f"{where}: {show(_masked(value))} {schema['x-message']}{why}"
    elif kind == "format":
        yield at, f"{where}: {show(_masked(value))} is not allowed; {cap(str(error.cause))}"
    elif kind == "propertyNames":
        # The failing name is the instance of the nested error; report it by name.
        rule = schema["propertyNames"].get("x-message", "is not allowed")
        yield (*path, value), f"{where}: {show(value)} {rule}"
    elif kind == "enum":
        options = ", ".join(show(v) for v in error.validator_value)
        yield at, f"{where}: {show(value)} is not one of {options}"
    elif kind in {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"}:
        bound = {
            "minimum": "at least",
            "maximum": "at most",
            "exclusiveMinimum": "more than",
            "exclusiveMaximum": "less than",
        }[kind]
        yield at, f"{where}: {show(value)} must be {bound} {error.validator_value}"
    elif kind == "maxLength":
        size = "" if len(value) > MAX_SHOWN else f"{len(value)} characters; "
        yield at, f"{where}: {show(value)} is too long ({size}at most {error.validator_value})"
    elif kind == "minLength":
        yield at, f"{where}: {show(value)} is empty; give a value or leave the key out"
    elif kind == "uniqueItems":
        yield at, f"{where}: {show(value)} lists a name twice"
    elif kind == "minProperties":
        # The table's own words where it has them ([alerts.levels.red] empty), else the one
        # table the file needs filled: [environments].
        said = schema.get("x-message", "declare at least one environment, e.g. [environments.prod]")
        yield at, f"{where}: {said}"
    elif kind == "minItems":
        yield at, f"{where}: {show(value)} is empty; list at least {error.validator_value}"
    else:
        yield at, f"{where}: {show(value)}: {cap(error.message)}"


def _masked(value: object) -> object:
    """A URL with its user name and password as `***`: a message says where the mistake is
    without quoting a credential back to the terminal or the log."""
    if not isinstance(value, str) or "@" not in value:
        return value
    try:
        parts = urlsplit(value)
        if parts.username is None and parts.password is None:
            return value
    except ValueError:
        return value
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"***@{host}"))
