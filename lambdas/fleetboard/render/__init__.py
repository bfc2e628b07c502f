"""Snapshot document -> the status page and the history page, through jinja2 over site/.

The pages are only a view of a validated snapshot dict (docs/design.md#page): the templates
read its keys directly under `StrictUndefined`, so a schema change that the page does not
follow fails the render instead of publishing a blank. What the templates call are small
pure functions, one module a part of the page:

    words     which word each pill carries, and the order of every list (red first)
    formats   times, latencies, counts, `code` spans (durations: fleetboard.text)
    tables    the services and certificates tables, folded past a size
    since     since when, recent changes, flapping marks
    uptime    the day bars, their figures, the uptime windows
    ci        run links, slot states, deploys
    chain     explorer links, nonces, the operator master line
    pages     the jinja2 environment and the two pages

    from fleetboard import render
    html = render.render_page(doc)
    files = {"index.html": html.encode(), **render.static_assets()}
"""

from fleetboard.render.pages import (
    STATIC_FILES,
    jinja_env,
    render_history,
    render_page,
    site_dir,
    static_assets,
)

__all__ = [
    "STATIC_FILES",
    "jinja_env",
    "render_history",
    "render_page",
    "site_dir",
    "static_assets",
]
