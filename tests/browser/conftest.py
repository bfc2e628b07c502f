"""Real parts for the page tests: rendered boards served on 127.0.0.1, and Debian's Chromium.

Boards are written once per session into folders of one temp dir, each a published board
(index.html, latest.json, board.css, board.js), and served by a ThreadingHTTPServer that
sends the page's Content-Security-Policy. Chromium is driven by Playwright with
`executable_path` (never `playwright install`); without it the tests skip, except in CI.
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Dialog, Page, Playwright, sync_playwright
from tests.boards import (
    FAILS_AT,
    NOW,
    REMEMBERED_FROM,
    STOPS_AT,
    ZONE,
    big_board,
    demo,
    demo_board,
    document,
    remembered,
    remembered_demo_board,
)
from tests.history_boards import DEMO_SCRIPT, ninety_days
from tests.tools import missing

from fleetboard import render, snapshot
from fleetboard.model import Board

CHROMIUM = Path("/usr/bin/chromium")
#: axe-core, from package.json's devDependencies (scripts/lib/setup.sh: ensure_node_tools).
AXE = Path(__file__).parents[2] / "node_modules" / "axe-core" / "axe.min.js"
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
]
PERIOD_S = 60
#: The CloudFront policy plus `img-src data:`, which the `data:,` icon link needs.
CSP = "default-src 'self'; img-src 'self' data:"


def publish(folder: Path, board: Board, *, latest: Board | None = None) -> None:
    """Write a board the way the collector publishes it; `latest` overrides latest.json."""
    folder.mkdir(parents=True)
    doc = document(board)
    assert doc["collector"]["period_s"] == PERIOD_S  # the page takes it from the snapshot
    (folder / "index.html").write_text(render.render_page(doc))
    (folder / "history.html").write_text(render.render_history(doc))
    published = document(latest or board)
    (folder / "latest.json").write_bytes(snapshot.dumps(published))
    (folder / "version.json").write_bytes(snapshot.version(published))
    for name, body in render.static_assets().items():
        (folder / name).write_bytes(body)


#: The check that flaps in the "days" board: base's classify worker, 5 changes in 20 passes.
FLAPPING = {"base/worker:classify": 5}

#: The remembered demo a few minutes on (`later_board`): two changes newer than NOW.
LATER = NOW + timedelta(minutes=4)
LATER_DOWN = (f"email-test-2.{ZONE}", f"cred-test-2.{ZONE}")


def later_board(at: datetime = LATER) -> Board:
    """The remembered demo (tests/boards.py: remembered_demo_board's passes, the same
    observations) carried on: a pass at NOW, then email-test-2 answers 500 from NOW + 2 min
    and cred-test-2 from NOW + 4 min. So its recent changes are the demo's two, and two
    newer than NOW (the newest first); `at` after LATER adds a pass with nothing new."""

    def observed(when: datetime, down: tuple[str, ...] = ()) -> Board:
        seen = demo(when)
        if when < FAILS_AT:
            seen.answers(f"audit-test-2.{ZONE}")
            seen.answers(f"email-test-2.{ZONE}")
        if when >= STOPS_AT:
            seen.stopped("test", "i-0135a8b2c53d14941", "3.214.219.209", launched_days_ago=3.1)
        for host in down:
            seen.answers(host, code=500, body="upstream gone", ms=12)
        return seen.board()

    passes = [observed(when) for when in (REMEMBERED_FROM, FAILS_AT, STOPS_AT, NOW)]
    passes += [observed(NOW + timedelta(minutes=2), LATER_DOWN[:1]), observed(LATER, LATER_DOWN)]
    if at > LATER:
        passes.append(observed(at, LATER_DOWN))
    shown, _ = remembered(*passes)
    return shown


@pytest.fixture(scope="session")
def axe_source() -> str:
    """axe-core's axe.min.js, as ensure_node_tools installs it (package.json pins it)."""
    if not AXE.is_file():
        missing(
            f"axe-core is not at {AXE}: run scripts/test.sh once, or source "
            "scripts/lib/setup.sh and run ensure_node_tools"
        )
    return AXE.read_text()


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Folders of published boards: demo, machines (the demo with its machines' status checks,
    SSM agents and CPU figures read), hostile, old, newer (latest.json ahead), nolatest,
    remembered (the demo after 64 minutes of memory, with two changes; hostile: three, one
    of them a script in its reason), later (remembered, four minutes on: two changes more),
    later-newer (later, its latest.json a pass ahead), big (100 environments, rows folded),
    days and days-big (90 days remembered: the demo, and 100 environments). Each folder has
    its history.html beside its index.html."""
    root = tmp_path_factory.mktemp("site")
    publish(root / "demo", demo_board())
    publish(root / "machines", demo_board(machines=True))
    publish(root / "remembered", remembered_demo_board())
    publish(root / "remembered-hostile", remembered_demo_board(hostile=True))
    publish(root / "later", later_board())
    publish(root / "later-newer", later_board(), latest=later_board(LATER + timedelta(minutes=1)))
    publish(root / "big", big_board(100))
    # 90 days remembered (tests/history_boards.py): the history page's bars and the cards'
    # uptime, base's classify worker flapping; and 100 environments of them.
    publish(root / "days", ninety_days(demo_board(), DEMO_SCRIPT, flapping=FLAPPING)[0])
    publish(root / "days-big", ninety_days(big_board(100), {})[0])
    publish(root / "hostile", demo_board(hostile=True))
    publish(root / "old", demo_board(NOW - timedelta(seconds=10 * PERIOD_S)))
    publish(root / "newer", demo_board(), latest=demo_board(NOW + timedelta(seconds=PERIOD_S)))
    publish(root / "nolatest", demo_board())
    (root / "nolatest" / "latest.json").unlink()
    (root / "nolatest" / "version.json").unlink()
    return root


class _Handler(SimpleHTTPRequestHandler):
    def end_headers(self) -> None:
        self.send_header("Content-Security-Policy", CSP)
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="session")
def base_url(site: Path) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Handler, directory=site))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


# Module scope: Playwright's sync API keeps an event loop running in this thread while it
# is open, which must not outlive the browser tests.
@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    if not CHROMIUM.exists():
        missing(f"{CHROMIUM} is missing: apt-get install -y chromium")
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(playwright: Playwright, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    home = tmp_path_factory.mktemp("chromium-home")
    env: dict[str, str | float | bool] = {
        **os.environ,
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_CACHE_HOME": str(home / "cache"),
        "XDG_DATA_HOME": str(home / "data"),
    }
    browser = playwright.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=LAUNCH_ARGS, env=env
    )
    try:
        yield browser
    finally:
        browser.close()


@dataclass
class Opened:
    """A page plus everything it said and asked for."""

    page: Page
    console: list[ConsoleMessage] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    def console_errors(self) -> list[str]:
        return [m.text for m in self.console if m.type == "error"]

    def assert_quiet(self) -> None:
        """No console error, no page error, no dialog, nothing fetched beyond 127.0.0.1."""
        assert self.console_errors() == []
        assert self.errors == []
        assert self.dialogs == []
        outside = [u for u in self.requests if not u.startswith("http://127.0.0.1:")]
        assert outside == []


OpenPage = Callable[..., Opened]


@pytest.fixture
def open_page(browser: Browser, base_url: str) -> Iterator[OpenPage]:
    """open_page("demo", viewport=..., timezone_id=..., clock=datetime, goto=True,
    path="index.html")."""
    contexts: list[Any] = []

    def _open(
        folder: str,
        *,
        clock: Any = None,
        goto: bool = True,
        path: str = "index.html",
        **context: Any,
    ) -> Opened:
        context.setdefault("viewport", {"width": 1366, "height": 900})
        context.setdefault("timezone_id", "UTC")
        ctx = browser.new_context(**context)
        contexts.append(ctx)
        page = ctx.new_page()
        opened = Opened(page)
        page.on("console", lambda m: opened.console.append(m))
        page.on("pageerror", lambda e: opened.errors.append(str(e)))
        page.on("request", lambda r: opened.requests.append(r.url))

        def on_dialog(dialog: Dialog) -> None:
            opened.dialogs.append(dialog.message)
            dialog.dismiss()

        page.on("dialog", on_dialog)
        if clock is not None:
            page.clock.set_fixed_time(clock)
        if goto:
            page.goto(f"{base_url}/{folder}/{path}")
        return opened

    yield _open
    for ctx in contexts:
        ctx.close()
