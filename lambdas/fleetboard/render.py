"""Snapshot document -> the status page, through the jinja2 templates in site/.

The page is only a view of a validated snapshot dict (docs/design.md#page): the templates read
its keys directly under `StrictUndefined`, so a schema change that the page does not follow
fails the render instead of publishing a blank. The helpers here are small pure functions
the templates use as filters.

    from fleetboard import render
    html = render.render_page(doc)
    files = {"index.html": html.encode(), **render.static_assets()}
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import jinja2
from markupsafe import Markup, escape

from fleetboard import text
from fleetboard.model import SEVERITY, CheckKind, Lifecycle, SlotBasis, Status
from fleetboard.publish import ASSETS

JsonDoc = Mapping[str, Any]
P = ParamSpec("P")
R = TypeVar("R")

#: Files published beside index.html: the page links the first two by relative URL, and
#: CloudFront answers a missing key with the third.
STATIC_FILES = ASSETS

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


def site_dir() -> Path:
    """The `site/` folder: inside the package in a wheel or Lambda bundle, else the repo's."""
    packaged = Path(__file__).parent / "site"
    if packaged.is_dir():
        return packaged
    return Path(__file__).parents[2] / "site"


# --------------------------------------------------------------------------- helpers


def env_word(env: JsonDoc) -> str:
    """The pill of an environment: its lifecycle when grey, else its health."""
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
    """The checks of a running environment that are not green, worst first, optional last."""
    if env["lifecycle"] in GREY:
        return []
    found = [c for c in env["checks"] if c["status"] != "green"]
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


def utc(iso: str | None, seconds: bool = False) -> str:
    """`2026-11-23T08:00:03Z` -> `2026-11-23 08:00 UTC` (with `:03` when seconds)."""
    if not iso:
        return "never"
    return f"{iso[:10]} {iso[11:19] if seconds else iso[11:16]} UTC"


def seen(source: str, iso: str | None) -> str:
    """The title of an observed value: its source and observation time."""
    return f"source {source} · observed {utc(iso, seconds=True)}"


ms = text.latency


def seconds(duration: float) -> str:
    return f"{duration:.2f} s" if duration < 10 else f"{duration:.0f} s"


def code_spans(text: str) -> Markup:
    """Escape `text` and show its `backtick` spans as <code>, as a command to copy."""
    parts = text.split("`")
    if len(parts) % 2 == 0:  # an unpaired backtick: leave the text as it is
        return escape(text)
    out = [escape(p) if i % 2 == 0 else Markup("<code>%s</code>") % p for i, p in enumerate(parts)]
    return Markup("").join(out)


def by_rank(counts: Mapping[str, int]) -> list[tuple[str, int]]:
    """The non-zero entries of a {word: count} map, worst word first."""
    return sorted(((w, n) for w, n in counts.items() if n), key=lambda item: rank(item[0]))


#: A table longer than this folds its green (and grey) rows into one line per status word
#: (all green, stopped, ...) naming the environments, so a 100-environment fleet stays a
#: readable page of bounded size; latest.json keeps all.
FOLD_ABOVE = 300


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


def _table(
    pairs: list[tuple[JsonDoc, JsonDoc]], envs: Sequence[JsonDoc], *, worst_first: bool
) -> Table:
    rows = [Row(env, check_word(c, env), c) for env, c in pairs]
    if len(rows) <= FOLD_ABOVE:
        return Table(rows, len(rows), folded=False)
    listed = [r for r in rows if r.word != "green" and r.word not in GREY]
    if worst_first:
        listed.sort(key=lambda r: rank(r.word))
    quiet: dict[str, list[Row]] = {}
    for r in rows:
        if r.word == "green" or r.word in GREY:
            quiet.setdefault(r.word, []).append(r)
    folds = []
    for word in sorted(quiet, key=rank):
        group = quiet[word]
        names = {r.env["name"] for r in group}
        checks = tuple(r.check for r in group if r.check)
        named = tuple(e for e in envs if e["name"] in names)  # in the snapshot's order
        folds.append(Row(group[0].env, word, None, checks, named))
    return Table(listed + folds, len(rows), folded=True)


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


def kind_label(env: JsonDoc) -> str:
    """`prod`, `base`, `test slot 2`, `other`."""
    if env["kind"] == "test-slot":
        return "test slot" if env["slot"] is None else f"test slot {env['slot']}"
    return str(env["kind"])


# --------------------------------------------------------------------------- since when

#: The recent changes listed in full under the summary; the rest fold into one line that
#: opens (a <details>, no script) to at most RECENT_FOLDED more, so a storm across a big
#: fleet adds a bounded part to the page (about 12 KB at most), and the rest is counted.
#: latest.json keeps every change of the day.
RECENT_SHOWN = 20
RECENT_FOLDED = 30
DAY = timedelta(days=1)


@functools.lru_cache(maxsize=4096)
def _parse(iso: str) -> datetime:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone(UTC)


def duration(lasted: timedelta) -> str:
    """`under 1 min`, `14 min`, `2 h 5 min`, `1 day 3 h`, `6 days`: floored, never rounded
    up (a board says no more than it saw)."""
    minutes = max(0, int(lasted.total_seconds()) // 60)
    if minutes < 1:
        return "under 1 min"
    hours, minutes = divmod(minutes, 60)
    if hours < 1:
        return f"{minutes} min"
    days, hours = divmod(hours, 24)
    if days < 1:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    if days < 2:
        return f"1 day {hours} h" if hours else "1 day"
    return f"{days} days"


def _clock(at: datetime, day: datetime) -> str:
    """`07:46 UTC` on the pass's own (UTC) day, else `2026-11-20 07:46 UTC`."""
    return at.strftime("%H:%M UTC" if at.date() == day.date() else "%Y-%m-%d %H:%M UTC")


@dataclass(frozen=True, slots=True)
class Since:
    """How long a status has been shown, as of the snapshot's pass (the page is static:
    every duration is to `generated_at`, never to the viewer's clock)."""

    at: datetime
    lasted: timedelta
    #: The since is when the board's memory begins: it may have been so for longer.
    at_least: bool
    clock: str  # `07:46 UTC`

    @property
    def text(self) -> str:
        """`for 14 min`, `for at least 6 days`: beside a status word."""
        return f"for {'at least ' if self.at_least else ''}{duration(self.lasted)}"

    @property
    def line(self) -> str:
        """`since 07:46 UTC (14 min)`, `for at least 1 h 4 min`: after an issue's text."""
        if self.at_least:
            return self.text
        return f"since {self.clock} ({duration(self.lasted)})"

    @property
    def title(self) -> str:
        """The absolute time, `since 2026-11-23 07:46 UTC`; none for an at-least since,
        whose time is when the memory begins (the footer and recent changes say it once,
        rather than a hundred cards each)."""
        return "" if self.at_least else self.at.strftime("since %Y-%m-%d %H:%M UTC")


def since(item: JsonDoc, doc: JsonDoc) -> Since | None:
    """Since when `item` (an environment, a check, an issue, the summary) has shown what it
    shows; None when the snapshot does not say (a board from before the memory), or when
    the memory began at this very pass and so knows nothing yet."""
    iso: str | None = item.get("since")
    if not iso:
        return None
    at, now = _parse(iso), _parse(doc["generated_at"])
    began: str | None = doc["collector"].get("memory_from")
    at_least = began is not None and _parse(began) >= at
    lasted = max(now - at, timedelta(0))
    if at_least and lasted < timedelta(minutes=1):
        return None
    return Since(at, lasted, at_least, _clock(at, now))


@dataclass(frozen=True, slots=True)
class Change:
    """One line of recent changes: the transition, its clock time and its age."""

    t: JsonDoc
    clock: str  # `07:51 UTC`
    ago: str  # `9 min ago`
    #: Its time in Unix seconds, for board.js to tell the lines since the viewer's last
    #: visit (an ISO time would cost the 100-environment page twice the bytes).
    epoch: int


@dataclass(frozen=True, slots=True)
class Changes:
    """The recent-changes section: what it lists, what it folds, what it only counts."""

    shown: list[Change]
    folded: list[Change]
    unlisted: int  # beyond the fold: only in latest.json
    total: int
    reset: str | None  # the memory was lost and rebuilt: said for a day
    began: str  # when the memory begins, `06:56 UTC`
    whole_day: bool  # the memory reaches back the whole 24 hours


def changes(doc: JsonDoc) -> Changes | None:
    """The snapshot's `recent`, newest first as it lists them; None for a board from before
    the memory (no `collector.memory_from`)."""
    collector = doc["collector"]
    began: str | None = collector.get("memory_from")
    reset: str | None = collector.get("memory_reset")
    if began is None and not reset:
        return None
    now = _parse(doc["generated_at"])
    lines = [
        Change(
            t,
            _parse(t["at"]).strftime("%H:%M UTC"),
            f"{duration(now - _parse(t['at']))} ago",
            int(_parse(t["at"]).timestamp()),
        )
        for t in doc.get("recent") or ()
    ]
    start = _parse(began) if began else now
    return Changes(
        shown=lines[:RECENT_SHOWN],
        folded=lines[RECENT_SHOWN : RECENT_SHOWN + RECENT_FOLDED],
        unlisted=max(0, len(lines) - RECENT_SHOWN - RECENT_FOLDED),
        total=len(lines),
        reset=reset,
        began=_clock(start, now),
        whole_day=now - start >= DAY,
    )


# --------------------------------------------------------------------------- CI and deploys

#: The one kind of external URL the page carries: a GitHub Actions run page, as a plain link
#: the operator clicks (never a resource the page loads).
RUN_URL = re.compile(r"https://github\.com/[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+/actions/runs/(\d+)")

#: How a run was tied to its slot (docs/fleet.md#ci), for the label's title.
MAPPED_BY: dict[str, str] = {
    SlotBasis.MARKER: "slot read from the run's marker step (test-fleet slot N)",
    SlotBasis.ANNOTATION: "slot read from the run's slot-claim annotation",
    SlotBasis.COMPUTED: (
        "slot computed as PR number % slot count + 1, a guess: its jobs were not read"
    ),
}


def run_url(run: JsonDoc) -> str | None:
    """The run's GitHub page when its URL is exactly one (and of this run), else None: the
    page shows the run number as plain text rather than link anything else."""
    url: str = run["url"]
    found = RUN_URL.fullmatch(url)
    return url if found and int(found.group(1)) == run["run_id"] else None


def mapping(run: JsonDoc) -> str:
    """Why the board puts a run on its slot."""
    by: str | None = run["mapped_by"]
    return MAPPED_BY.get(by or "", "not tied to a slot yet")


def workflow_name(path: str) -> str:
    """`.github/workflows/harness-ci.yml` -> `harness-ci.yml`."""
    return path.rsplit("/", 1)[-1]


def run_state(status: str) -> str:
    """GitHub's `in_progress` -> `in progress`."""
    return status.replace("_", " ")


def thousands(n: int) -> str:
    """4771 -> `4,771`."""
    return f"{int(n):,}"


def deploy_badge(deploy: JsonDoc) -> str:
    """`stale` (behind main), `unknown` (cannot tell, the text says why) or `` (current, or
    nothing to compare: "no CI deploy on record")."""
    if deploy["stale"]:
        return "stale"
    if deploy["stale"] is None and (deploy["ref"] is not None or deploy["text"].startswith(UNK)):
        return "unknown"
    return ""


def deploy_reason(deploy: JsonDoc) -> str:
    """The deploy's text beside its badge, without the leading `unknown: ` the badge says."""
    text: str = deploy["text"]
    return text.removeprefix(UNK) if deploy_badge(deploy) == "unknown" else text


UNK = "unknown: "


def ci_state(ci: JsonDoc | None) -> str:
    """The fleet's CI part: `off` (no [github]), `unknown` (not read this pass) or `ok`."""
    if ci is None or not ci["configured"]:
        return "off"
    return "unknown" if ci["status"] == "unknown" else "ok"


def slot_state(env: JsonDoc, ci: JsonDoc | None) -> str:
    """What a card says about CI: `` (nothing: not a test slot, or CI off), `unknown`,
    `free`, `held`, or `clash` (more than one run holds the slot)."""
    state = ci_state(ci)
    if env["kind"] != "test-slot" or state == "off":
        return ""
    slot: JsonDoc | None = env["ci"]
    if state == "unknown" or slot is None:
        return "unknown"
    holders = len(slot["holders"])
    return "free" if holders == 0 else "held" if holders == 1 else "clash"


def runs_by_id(ci: JsonDoc | None) -> dict[int, JsonDoc]:
    """The runs in flight by id, so a deploy by one of them names it by number, linked."""
    return {r["run_id"]: r for r in ci["runs"]} if ci else {}


def clashing(envs: Sequence[JsonDoc]) -> dict[int, int]:
    """Run id -> how many runs hold its slot, for the runs that hold one with another run."""
    return {
        r["run_id"]: len(env["ci"]["holders"])
        for env in envs
        if env["ci"] and len(env["ci"]["holders"]) > 1
        for r in env["ci"]["holders"]
    }


# --------------------------------------------------------------------------- chain identity

#: The other kind of external URL the page carries: an address on the chain explorer, as
#: the rules build it (`<explorer_url>/address/<address>`), a plain link the operator clicks.
EXPLORER_URL = re.compile(
    r"https://[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*(?::[0-9]{1,5})?(?:/[A-Za-z0-9._~-]+)*"
    r"/address/(0x[0-9a-fA-F]{40})"
)


def explorer_url(wallet: JsonDoc) -> str | None:
    """The wallet's page on the explorer when its URL is exactly one (and of this address),
    else None: the page shows the address as plain text rather than link anything else."""
    url: str | None = wallet["url"]
    found = EXPLORER_URL.fullmatch(url) if url else None
    return url if found and found.group(1).lower() == str(wallet["address"]).lower() else None


def nonce_moved(wallet: JsonDoc) -> str:
    """Whether the nonce moved since the previous snapshot: `moved`, `unchanged`, or `—`
    (no previous snapshot, or no nonce, to compare)."""
    moved: bool | None = wallet["nonce_moved"]
    return "—" if moved is None else "moved" if moved else "unchanged"


def master_word(chain: JsonDoc) -> str:
    """The pill of the operator master line: green (registered), amber (not registered),
    unknown (not read), or `` when there is nothing to read (no registry or deployer)."""
    if chain["registry"] is None or chain["omni"] is None:
        return ""
    registered: bool | None = chain["master_registered"]
    return "unknown" if registered is None else "green" if registered else "amber"


FILTERS: dict[str, Any] = {
    "env_word": env_word,
    "check_word": check_word,
    "issue_tally": issue_tally,
    "green_checks": green_checks,
    "unseen_checks": unseen_checks,
    "by_rank": by_rank,
    "attention": attention,
    "soonest_cert": soonest_cert,
    "utc": utc,
    "ms": ms,
    "seconds": seconds,
    "code_spans": code_spans,
    "kind_label": kind_label,
    "latency_span": latency_span,
    "days_span": days_span,
    "run_url": run_url,
    "mapping": mapping,
    "workflow_name": workflow_name,
    "run_state": run_state,
    "deploy_reason": deploy_reason,
    "deploy_badge": deploy_badge,
    "thousands": thousands,
    "explorer_url": explorer_url,
    "nonce_moved": nonce_moved,
    "master_word": master_word,
    "since": since,
}
GLOBALS: dict[str, Any] = {
    "seen": seen,
    "services": services,
    "certificates": certificates,
    "ci_state": ci_state,
    "slot_state": slot_state,
    "clashing": clashing,
    "runs_by_id": runs_by_id,
    "issues_by_env": issues_by_env,
    "changes": changes,
    "GREY": GREY,
    "SlotBasis": SlotBasis,
}


# --------------------------------------------------------------------------- rendering


@cache
def jinja_env() -> jinja2.Environment:
    """The one jinja2 environment of the process: autoescaped, strict, whitespace-trimmed."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(site_dir() / "templates"),
        autoescape=jinja2.select_autoescape(
            enabled_extensions=("html", "j2"), default_for_string=True, default=True
        ),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    env.filters.update({name: _strict(f) for name, f in FILTERS.items()})
    env.globals.update({name: _strict(g) if callable(g) else g for name, g in GLOBALS.items()})
    return env


def _strict(helper: Callable[P, R]) -> Callable[P, R]:
    """`helper` with a key the snapshot lacks reported as the templates report it (an
    UndefinedError), so a schema change fails the render the same way wherever it is read."""

    @functools.wraps(helper)
    def strict(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return helper(*args, **kwargs)
        except KeyError as missing:
            raise jinja2.UndefinedError(f"the snapshot has no {missing}") from missing

    return strict


def render_page(doc: JsonDoc) -> str:
    """The page for a validated snapshot `doc`; the stale clock's period is the snapshot's
    own (`collector.period_s`), so the page has no schedule default of its own.

    Raises jinja2.UndefinedError when `doc` lacks a key the page reads.
    """
    template = jinja_env().get_template("index.html.j2")
    return template.render(doc=doc)


def static_assets() -> dict[str, bytes]:
    """File name -> bytes of the stylesheet, the script and the not-found page."""
    static = site_dir() / "static"
    return {name: (static / name).read_bytes() for name in STATIC_FILES}
