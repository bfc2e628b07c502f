"""Which word each pill carries and in what order: the page's status vocabulary.

The statuses come from the model (its SEVERITY order); the page adds "optional" (a failing
optional check) and the grey lifecycles (`Lifecycle.grey`: parked or missing, shown instead
of health). Every list on the page sorts by `rank`, so red is first everywhere.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping

from fleetboard.model import SEVERITY, Lifecycle, Status
from fleetboard.render.formats import JsonDoc

#: Lifecycles shown as a grey pill, checks hidden, instead of the environment's health
#: (`Lifecycle.grey`: parked or missing), the parked ones first.
_GREY_ORDER = sorted((lc for lc in Lifecycle if lc.grey), key=lambda lc: not lc.parked)
GREY = frozenset(str(lifecycle) for lifecycle in _GREY_ORDER)

#: Every word a status pill can carry, worst first: the order of tallies and lists. The
#: statuses in the model's SEVERITY order, "optional" after the failing ones (a failing
#: optional check), the grey lifecycles, and green last.
WORDS: tuple[str, ...] = (
    *(str(s) for s in SEVERITY if s != Status.GREEN),
    "optional",
    *(str(lifecycle) for lifecycle in _GREY_ORDER),
    str(Status.GREEN),
)
_RANK = {word: i for i, word in enumerate(WORDS)}


def env_word(env: JsonDoc) -> str:
    """The pill of an environment: "maintenance" inside a window, its lifecycle when grey,
    else its health."""
    if env.get("maintenance"):  # absent in snapshots from before maintenance windows
        return "maintenance"
    lifecycle: str = env["lifecycle"]
    return lifecycle if lifecycle in GREY else str(env["status"])


def check_word(check: JsonDoc, env: JsonDoc) -> str:
    """The pill of a check: grey for a grey environment or an optional endpoint."""
    if env["lifecycle"] in GREY:
        return str(env["lifecycle"])
    status: str = check["status"]
    if check["optional"] and status != "green":
        return "optional"
    return status


def rank(word: str) -> int:
    """Sort key of a pill word: red first, green last."""
    return _RANK.get(word, len(WORDS))


def issues_by_env(doc: JsonDoc) -> dict[str, list[JsonDoc]]:
    """The summary's issues by environment: a card counts exactly the issues the summary
    lists for it (one list, computed once by the rules)."""
    found: dict[str, list[JsonDoc]] = {}
    for issue in doc["summary"]["issues"]:
        found.setdefault(issue["env"], []).append(issue)
    return found


def issue_tally(issues: Iterable[JsonDoc]) -> list[tuple[str, int]]:
    """(word, count) of a card's issues, worst first, zero counts left out."""
    return by_rank(Counter(issue["status"] for issue in issues))


def green_checks(env: JsonDoc) -> int:
    """How many of the environment's checks were seen green."""
    return sum(1 for c in env["checks"] if c["status"] == "green")


def unseen_checks(env: JsonDoc) -> int:
    """How many of the environment's checks could not be observed (unknown, not optional)."""
    return sum(1 for c in env["checks"] if c["status"] == "unknown" and not c["optional"])


def attention(env: JsonDoc) -> list[JsonDoc]:
    """The checks of a running environment that are not green, or flapping (green just now,
    it may not be in a minute), worst first, optional last."""
    if env["lifecycle"] in GREY:
        return []
    found = [c for c in env["checks"] if c["status"] != "green" or c.get("flapping")]
    return sorted(found, key=lambda c: rank(check_word(c, env)))


def soonest_cert(env: JsonDoc) -> JsonDoc | None:
    """The check whose certificate expires first (None when no certificate was seen)."""
    best: JsonDoc | None = None
    for check in env["checks"]:
        cert = check["cert"]
        if cert is None or cert["days_left"] is None:
            continue
        if best is None or cert["days_left"] < best["cert"]["days_left"]:
            best = check
    return best


def by_rank(counts: Mapping[str, int]) -> list[tuple[str, int]]:
    """The non-zero entries of a {word: count} map, worst word first."""
    return sorted(((w, n) for w, n in counts.items() if n), key=lambda item: rank(item[0]))


def kind_label(env: JsonDoc) -> str:
    """`prod`, `base`, `test slot 2`, `other`."""
    if env["kind"] == "test-slot":
        return "test slot" if env["slot"] is None else f"test slot {env['slot']}"
    return str(env["kind"])
