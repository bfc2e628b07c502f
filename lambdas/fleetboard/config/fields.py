"""A section's plain keys read over its settings type's defaults."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import fields, replace
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

S = TypeVar("S", bound="DataclassInstance")

#: A field's declared type (as the settings modules write it) -> how a TOML value becomes it.
_AS: dict[str, Callable[[Any], Any]] = {"int": int, "float": float, "bool": bool, "str": str}


def overlay(defaults: S, raw: Mapping[str, Any], *names: str) -> S:
    """`defaults` with each of `names` that `raw` sets, as its field's declared type (a TOML
    `5` where a float is declared becomes 5.0); a name `raw` leaves out keeps its default."""
    declared = {f.name: f.type for f in fields(defaults)}
    return replace(defaults, **{n: _AS[str(declared[n])](raw[n]) for n in names if n in raw})
