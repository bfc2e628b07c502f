"""Every environment's env files, checked and evaluated; the broken ones left out.

One environment's broken files leave that environment out, not the fleet
(`Document.left_out`); with `strict` they end the import.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from fleetboard.envfiles import (
    Checked,
    EnvFileError,
    EnvPair,
    check_pair,
    discover,
    env_order,
    evaluate,
)
from fleetboard.importer.document import Document

T = TypeVar("T")
U = TypeVar("U")

#: Keys of the machine file (broker<ext>.env); every other key belongs in the operator file.
_MACHINE_KEYS = frozenset({"INSTANCE_ID", "EIP"})


@dataclass(frozen=True, slots=True)
class Env:
    """One environment's env files, evaluated."""

    checked: Checked
    values: dict[str, str]

    @property
    def pair(self) -> EnvPair:
        return self.checked.pair

    def get(self, key: str) -> str | None:
        value = self.values.get(key, "").strip()
        return value or None

    def require(self, key: str, what: str) -> str:
        value = self.get(key)
        if value is None:
            raise EnvFileError(f"{self.file_of(key)}: {key}: missing or empty ({what})")
        return value

    def file_of(self, key: str) -> Path:
        """The file a key's value comes from; for a key neither file sets, its file."""
        if key in self.checked.sources:
            return self.checked.sources[key]
        return self.pair.machine if key in _MACHINE_KEYS else self.pair.operator

    def where(self, key: str) -> str:
        return f"{self.file_of(key).name} {key}"


def read(scripts: Path, doc: Document, strict: bool) -> list[Env]:
    """Every environment's files, evaluated; the broken ones left out (or, strict, fatal).

    Every line of every file is checked before bash runs on any of them: a refused line
    anywhere stops a --strict import before anything has run at all.
    """
    found = discover(scripts)
    doc.notes += found.notes
    leave_out(doc, found.broken, strict)
    checked = each_readable(found.pairs, lambda pair: pair.name, check_pair, doc, strict)
    return each_readable(
        checked,
        lambda one: one.pair.name,
        lambda one: Env(one, evaluate(one)),
        doc,
        strict,
        none_left="no environment's env files could be read",
    )


def each_readable(
    items: Iterable[T],
    name: Callable[[T], str],
    step: Callable[[T], U],
    doc: Document,
    strict: bool,
    *,
    none_left: str | None = None,
) -> list[U]:
    """`step` over each environment: one whose files it cannot read (EnvFileError) is left
    out with the reason, the others go on; `none_left` is the error when none is left."""
    done: list[U] = []
    broken: dict[str, str] = {}
    for item in items:
        try:
            done.append(step(item))
        except EnvFileError as exc:
            broken[name(item)] = str(exc)
    leave_out(doc, broken, strict)
    if none_left is not None and not done:
        raise EnvFileError(*left_out_lines(doc), none_left)
    return done


def leave_out(doc: Document, broken: Mapping[str, str], strict: bool) -> None:
    doc.left_out.update(broken)
    if strict and doc.left_out:
        raise EnvFileError(*left_out_lines(doc), "--strict: a broken environment is fatal")


def left_out_lines(doc: Document) -> list[str]:
    ordered = sorted(doc.left_out.items(), key=lambda kv: env_order(kv[0]))
    return [f"{name}: {why}" for name, why in ordered]
