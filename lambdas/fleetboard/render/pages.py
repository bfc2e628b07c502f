"""The jinja2 environment and the two pages: index.html and history.html.

Every helper the templates call is registered here, wrapped so a key the snapshot lacks
fails the render as the templates do (an UndefinedError), whichever reads it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import jinja2

from fleetboard.model import SlotBasis
from fleetboard.publish import ASSETS
from fleetboard.render import chain, ci, grid, logs, machine, since, tables, uptime, words
from fleetboard.render.formats import JsonDoc, code_spans, ms, seconds, seen, thousands, utc

P = ParamSpec("P")
R = TypeVar("R")

#: Files published beside index.html: the page links the first two by relative URL, and
#: CloudFront answers a missing key with the third.
STATIC_FILES = ASSETS


def site_dir() -> Path:
    """The `site/` folder: inside the package in a wheel or Lambda bundle, else the repo's."""
    package = Path(__file__).parents[1]  # fleetboard/
    packaged = package / "site"
    if packaged.is_dir():
        return packaged
    return package.parents[1] / "site"


FILTERS: dict[str, Any] = {
    "env_word": words.env_word,
    "check_word": words.check_word,
    "issue_tally": words.issue_tally,
    "green_checks": words.green_checks,
    "unseen_checks": words.unseen_checks,
    "by_rank": words.by_rank,
    "attention": words.attention,
    "soonest_cert": words.soonest_cert,
    "kind_label": words.kind_label,
    "utc": utc,
    "ms": ms,
    "seconds": seconds,
    "code_spans": code_spans,
    "thousands": thousands,
    "latency_span": tables.latency_span,
    "days_span": tables.days_span,
    "run_url": ci.run_url,
    "mapping": ci.mapping,
    "workflow_name": ci.workflow_name,
    "run_state": ci.run_state,
    "deploy_reason": ci.deploy_reason,
    "deploy_badge": ci.deploy_badge,
    "explorer_url": chain.explorer_url,
    "nonce_moved": chain.nonce_moved,
    "master_word": chain.master_word,
    "since": since.since,
    "until": since.until,
    "flap_text": since.flap_text,
    "flapping": since.flapping,
    "uptime_line": uptime.uptime_line,
    "bar_counts": uptime.bar_counts,
    "load_text": machine.load_text,
    "cost_text": machine.cost_text,
    "idle_text": machine.idle_text,
    "logs_summary": logs.logs_summary,
    "month_text": machine.month_text,
    "month_title": machine.month_title,
}
GLOBALS: dict[str, Any] = {
    "seen": seen,
    "services": tables.services,
    "certificates": tables.certificates,
    "compact": grid.compact,
    "grid": grid.grid,
    "wallets": chain.wallets,
    "ISSUES_SHOWN": grid.ISSUES_SHOWN,
    "ci_state": ci.ci_state,
    "slot_state": ci.slot_state,
    "clashing": ci.clashing,
    "runs_by_id": ci.runs_by_id,
    "issues_by_env": words.issues_by_env,
    "changes": since.changes,
    "bars": uptime.bars,
    "cpu_spark": machine.cpu_spark,
    "windows": uptime.windows,
    "TIME_CLASSES": uptime.TIME_CLASSES,
    "DAY_ORDER": uptime.DAY_ORDER,
    "PART_GAP_S": uptime.PART_GAP_S,
    "GREY": words.GREY,
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


def render_history(doc: JsonDoc) -> str:
    """history.html for a validated snapshot `doc`: each environment's days as bars and its
    uptime by window, from the snapshot alone, like the page.

    Raises jinja2.UndefinedError when `doc` lacks a key the page reads.
    """
    template = jinja_env().get_template("history.html.j2")
    return template.render(doc=doc)


def static_assets() -> dict[str, bytes]:
    """File name -> bytes of the stylesheet, the script and the not-found page."""
    static = site_dir() / "static"
    return {name: (static / name).read_bytes() for name in STATIC_FILES}
