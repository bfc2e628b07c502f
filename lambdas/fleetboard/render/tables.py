"""The page's detail tables (services, certificates): one row a check, folded past a size.

Past FOLD_ABOVE rows the quiet ones (green or grey, not flapping) fold into one line per
word naming their environments, so a big fleet's page stays bounded; latest.json keeps all.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from fleetboard.model import CheckKind
from fleetboard.render.formats import JsonDoc, ms
from fleetboard.render.words import GREY, check_word, rank

#: A table longer than this folds its green (and grey) rows into one line per status word
#: (all green, stopped, ...) naming the environments, so a 100-environment fleet stays a
#: readable page of bounded size; latest.json keeps all.
FOLD_ABOVE = 300
#: A folded table lists at most this many rows that need a look, worst first, and counts
#: the rest: a fleet where every environment has a host down (1,000 red rows) keeps a page
#: that loads, and its grid still shows each environment's failing service.
LISTED_MAX = 100


@dataclass(frozen=True, slots=True)
class Row:
    """One line of a detail table: a check in full, or the quiet checks of several
    environments folded (`envs` names them, in the snapshot's order)."""

    env: JsonDoc
    word: str
    check: JsonDoc | None = None
    folded: tuple[JsonDoc, ...] = ()
    envs: tuple[JsonDoc, ...] = ()


@dataclass(frozen=True, slots=True)
class Table:
    rows: list[Row]
    total: int  # checks the table covers, folded ones included
    folded: bool
    unlisted: int = 0  # rows that need a look past LISTED_MAX, counted, not shown


def _table(
    pairs: list[tuple[JsonDoc, JsonDoc]], envs: Sequence[JsonDoc], *, worst_first: bool
) -> Table:
    rows = [Row(env, check_word(c, env), c) for env, c in pairs]
    if len(rows) <= FOLD_ABOVE:
        return Table(rows, len(rows), folded=False)
    listed = [r for r in rows if not _quiet(r)]
    if worst_first:
        listed.sort(key=lambda r: rank(r.word))
    unlisted = max(0, len(listed) - LISTED_MAX)
    listed = listed[:LISTED_MAX]
    quiet: dict[str, list[Row]] = {}
    for r in rows:
        if _quiet(r):
            quiet.setdefault(r.word, []).append(r)
    folds = []
    for word in sorted(quiet, key=rank):
        group = quiet[word]
        names = {r.env["name"] for r in group}
        checks = tuple(r.check for r in group if r.check)
        named = tuple(e for e in envs if e["name"] in names)  # in the snapshot's order
        folds.append(Row(group[0].env, word, None, checks, named))
    return Table(listed + folds, len(rows), folded=True, unlisted=unlisted)


def _quiet(row: Row) -> bool:
    """A row that folds: green (or grey) and not flapping."""
    flaps = row.check is not None and bool(row.check.get("flapping"))
    return (row.word == "green" or row.word in GREY) and not flaps


def services(envs: Sequence[JsonDoc]) -> Table:
    """Every http check in the snapshot's order; past FOLD_ABOVE rows, the ones that need a
    look (worst first), then one folded line per quiet word (green, stopped, ...)."""
    pairs = [(env, c) for env in envs for c in env["checks"] if c["kind"] == CheckKind.HTTP]
    return _table(pairs, envs, worst_first=True)


def certificates(envs: Sequence[JsonDoc]) -> Table:
    """Every certificate seen, one per host, soonest expiry first (folded past FOLD_ABOVE)."""
    by_host: dict[tuple[str, str], tuple[JsonDoc, JsonDoc]] = {}
    for env in envs:
        for check in env["checks"]:
            if check["cert"] is None:
                continue
            key = (env["name"], check["host"] or check["id"])
            if key not in by_host or check["kind"] == CheckKind.TLS:  # prefer the tls source's view
                by_host[key] = (env, check)
    by_expiry = sorted(by_host.values(), key=lambda pair: _days(pair[1]))
    return _table(by_expiry, envs, worst_first=False)


def _days(check: JsonDoc) -> int:
    left: int | None = check["cert"]["days_left"] if check["cert"] else None
    return -(10**9) if left is None else left  # unknown expiry first: it needs a look


def span(values: Iterable[float | int | None]) -> tuple[float, float] | None:
    """(lowest, highest) of the values that are known, or None."""
    known = [v for v in values if v is not None]
    return (min(known), max(known)) if known else None


def latency_span(checks: Iterable[JsonDoc]) -> str:
    found = span(c["latency_ms"] for c in checks)
    if found is None:
        return ""
    low, high = found
    return ms(low) if low == high else f"{low:.0f}\N{EN DASH}{ms(high)}"


def days_span(checks: Iterable[JsonDoc]) -> str:
    found = span(c["cert"]["days_left"] for c in checks if c["cert"])
    if found is None:
        return "expiry unknown"
    low, high = found
    return f"{low:.0f} days left" if low == high else f"{low:.0f}\N{EN DASH}{high:.0f} days left"
