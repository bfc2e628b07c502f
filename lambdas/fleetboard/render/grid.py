"""The fleet grid: one row an environment, one column a service, a status word in each cell.

A small fleet shows every environment as a card. Past CARDS_FOR_ALL environments a card
each makes a page of megabytes (1.4 KB a card), so the page leads with this grid, whose
all-green rows are one line ("all 25 checks green"), and keeps cards for the environments
that are not green (the worst first, at most CARDS_SHOWN of them). Every fact stays on the
page somewhere: a cell's title says its checks' summaries, a row without a card carries its
environment's anchor, and latest.json has every check.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from fleetboard.model import CheckKind
from fleetboard.render.formats import JsonDoc
from fleetboard.render.words import GREY, check_word, env_word, rank

#: Up to this many environments every one has its card (two screens of cards); past it the
#: page is the grid plus cards for what is not green.
CARDS_FOR_ALL = 12
#: The most cards a large fleet's page shows, worst first: on a day when hundreds of
#: environments are amber the grid already says which, and the page must stay loadable.
CARDS_SHOWN = 16
#: The most issues the summary lists on a large fleet's page (the rest are counted: the
#: grid shows each environment's state and latest.json lists every issue).
ISSUES_SHOWN = 50


@dataclass(frozen=True, slots=True)
class Cell:
    """One environment's service: the worst word of its checks, and (when not green) what
    they said, for the cell's title."""

    word: str
    says: str = ""


@dataclass(frozen=True, slots=True)
class Line:
    """One environment's row. `cells` is empty for a row that needs none: all green, or
    grey (parked or missing), said by `note` across the row."""

    env: JsonDoc
    word: str
    cells: tuple[Cell | None, ...]
    note: str
    card: bool  # the page also shows its card (the row links to it)


@dataclass(frozen=True, slots=True)
class Grid:
    columns: tuple[str, ...]
    lines: list[Line]
    carded: frozenset[str]  # names of the environments that keep a card
    uncarded: int  # environments that are not green but have no card (past CARDS_SHOWN)


def compact(envs: Sequence[JsonDoc]) -> bool:
    """Whether the page is the grid (a large fleet) rather than a card per environment."""
    return len(envs) > CARDS_FOR_ALL


def column(check: JsonDoc, labels: dict[str, str]) -> str:
    """The service a check belongs to: its host's (named by the host's certificate check,
    `tls:audit` → `audit`, else by its first health check), or its own name."""
    host = check["host"]
    if host and host in labels:
        return labels[host]
    return str(check["name"])


def _host_labels(env: JsonDoc) -> dict[str, str]:
    labels: dict[str, str] = {}
    for check in env["checks"]:
        host = check["host"]
        if not host:
            continue
        if check["kind"] == CheckKind.TLS:
            labels[host] = check["name"].removeprefix("tls:")
        elif host not in labels:  # as inventory.tls_check_name names it: worker:audit → audit
            labels[host] = check["name"].removeprefix("worker:").split(":")[0]
    return labels


def grid(envs: Sequence[JsonDoc]) -> Grid:
    """The grid of `envs` in the snapshot's order, its columns in the order they first
    appear (the machine first, as on a card)."""
    columns: dict[str, None] = {}
    per_env: list[tuple[JsonDoc, dict[str, list[JsonDoc]]]] = []
    for env in envs:
        labels = _host_labels(env)
        by_column: dict[str, list[JsonDoc]] = {}
        for check in env["checks"]:
            name = column(check, labels)
            columns.setdefault(name, None)
            by_column.setdefault(name, []).append(check)
        per_env.append((env, by_column))
    order = tuple(columns)
    needing = sorted((env for env in envs if _needs_card(env)), key=lambda env: rank(env_word(env)))
    carded = frozenset(env["name"] for env in needing[:CARDS_SHOWN])
    lines = [_line(env, by_column, order, env["name"] in carded) for env, by_column in per_env]
    return Grid(order, lines, carded, max(0, len(needing) - CARDS_SHOWN))


def _needs_card(env: JsonDoc) -> bool:
    """A large fleet's page keeps the card of an environment that needs a look: not green
    and not grey (a stopped slot is as expected; its row says so), or with a check flapping
    (green just now, it may not be in a minute)."""
    word = env_word(env)
    if word in GREY:
        return False
    return word != "green" or any(c.get("flapping") for c in env["checks"])


def _line(
    env: JsonDoc, by_column: dict[str, list[JsonDoc]], order: tuple[str, ...], card: bool
) -> Line:
    word = env_word(env)
    checks = env["checks"]
    if word in GREY:
        return Line(env, word, (), f"{word}: health not rated", card)
    words = {name: _cell(env, group) for name, group in by_column.items()}
    if word == "green" and not any(cell.says for cell in words.values()):
        noun = "check" if len(checks) == 1 else "checks"
        return Line(env, word, (), f"all {len(checks)} {noun} green", card)
    return Line(env, word, tuple(words.get(name) for name in order), "", card)


def _cell(env: JsonDoc, checks: list[JsonDoc]) -> Cell:
    """The worst word of a service's checks; what the ones that are not green said, and
    which are flapping (a green cell that flaps is not quiet: it carries its title)."""
    worst = min((check_word(c, env) for c in checks), key=rank)
    says = "; ".join(
        f"{c['name']}: {c['summary']}"
        + (f" (flapping: {c['flapping']} changes)" if c.get("flapping") else "")
        for c in checks
        if check_word(c, env) != "green" or c.get("flapping")
    )
    return Cell(worst, says)
