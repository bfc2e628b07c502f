"""Since your last visit: board.js remembers (localStorage) the newest pass this browser
showed, and on the next visit marks the recent changes newer than it, in words ("new", and
their count in the heading). The board's own reloads keep the visit's marks; a browser that
keeps nothing, or runs no script, shows the page unmarked and whole."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from .conftest import LATER, Opened, OpenPage

pytestmark = pytest.mark.browser

LAPTOP = {"width": 1280, "height": 800}
CLOCK = LATER + timedelta(seconds=42)
#: later's recent changes, newest first: the two after NOW, then the remembered demo's two.
LATER_LINES = (
    ("08:04 UTC", "test-2 worker:cred green → red"),
    ("08:02 UTC", "test-2 worker:email green → red"),
    ("07:51 UTC", "test red → stopped"),
    ("07:46 UTC", "test-2 worker:audit green → red"),
)


def lines(page: Page) -> list[tuple[str, bool]]:
    """Each line of recent changes: its text up to its age, and whether it is marked."""
    found: list[list[Any]] = page.locator("section.recent ol.changes > li").evaluate_all(
        """lis => lis.map(li => [li.innerText.split(' · ')[0].replace(/\\s+/g, ' '),
                                li.classList.contains('new')])"""
    )
    return [(text, marked) for text, marked in found]


def unmarked(page: Page) -> None:
    expect(page.locator("section.recent .badge.new")).to_have_count(0)
    expect(page.locator("section.recent li.new")).to_have_count(0)
    expect(page.locator("#recent-new")).to_have_count(0)


def visit(opened: Opened, base_url: str, folder: str) -> Page:
    opened.page.goto(f"{base_url}/{folder}/index.html")
    return opened.page


def test_the_changes_since_the_last_visit_are_marked_in_words(
    open_page: OpenPage, base_url: str
) -> None:
    opened = open_page("remembered", clock=CLOCK, viewport=LAPTOP)
    page = opened.page
    # a first visit knows no last one: nothing is marked
    expect(page.locator("section.recent ol.changes > li")).to_have_count(2)
    unmarked(page)
    # the next visit: the two changes since are marked "new", and counted in the heading
    visit(opened, base_url, "later")
    expect(page.locator("#recent-new")).to_have_text("2 new since your last visit")
    expect(page.locator("#recent-h")).to_contain_text("Recent changes 4 ·")
    found = lines(page)
    assert found == [(f"{at} new {what}", True) for at, what in LATER_LINES[:2]] + [
        (f"{at} {what}", False) for at, what in LATER_LINES[2:]
    ], found
    marked = page.locator("section.recent li.new")
    expect(marked).to_have_count(2)
    for i in range(2):
        badge = marked.nth(i).locator(".badge.new")
        expect(badge).to_have_text("new")
        expect(badge).to_be_visible()
    # the marks take no room from the red issues: all still in the first screen
    for box in page.locator("ol.issues > li").evaluate_all(
        "lis => lis.map(li => li.getBoundingClientRect().bottom)"
    ):
        assert box <= LAPTOP["height"]
    # seen now: a reload by the viewer starts a new visit, with nothing new
    page.reload()
    expect(page.locator("section.recent ol.changes > li")).to_have_count(4)
    unmarked(page)
    opened.assert_quiet()


def test_the_boards_own_reload_keeps_the_visits_marks(open_page: OpenPage, base_url: str) -> None:
    opened = open_page("remembered", goto=False)
    page = opened.page
    page.clock.install(time=CLOCK)
    visit(opened, base_url, "remembered")
    visit(opened, base_url, "later-newer")
    expect(page.locator("#recent-new")).to_have_text("2 new since your last visit")
    # version.json names a newer pass: the page reloads itself, and the viewer keeps the marks
    with page.expect_event("load"):
        page.clock.run_for(61_000)
    assert opened.requests.count(f"{base_url}/later-newer/index.html") == 2
    expect(page.locator("#recent-new")).to_have_text("2 new since your last visit")
    expect(page.locator("section.recent li.new")).to_have_count(2)
    # the viewer's own reload ends the visit
    page.reload()
    expect(page.locator("section.recent ol.changes > li")).to_have_count(4)
    unmarked(page)
    opened.assert_quiet()


#: A browser that refuses the page any storage (a blocked-cookies setting): reading
#: localStorage or sessionStorage throws, as Chromium does then.
NO_STORAGE = """
for (const name of ['localStorage', 'sessionStorage']) {
  Object.defineProperty(window, name, {
    get() { throw new DOMException('The operation is insecure.', 'SecurityError'); },
  });
}
"""


@pytest.mark.parametrize("storage", ["cleared", "refused"])
def test_storage_cleared_or_refused_marks_nothing_and_the_page_works(
    open_page: OpenPage, base_url: str, storage: str
) -> None:
    opened = open_page("remembered", clock=CLOCK, timezone_id="Asia/Tokyo", goto=False)
    if storage == "refused":
        opened.page.add_init_script(NO_STORAGE)
    page = visit(opened, base_url, "remembered")
    if storage == "cleared":  # between the two visits: the last one is forgotten
        page.evaluate("() => { localStorage.clear(); sessionStorage.clear(); }")
    visit(opened, base_url, "later")
    expect(page.locator("section.recent ol.changes > li")).to_have_count(4)
    unmarked(page)
    # the rest of the script ran: local times, the age clock
    expect(page.locator("header.top time")).to_have_text(
        re.compile(r"^2026-11-23 17:04 (GMT\+9|JST)$")
    )
    expect(page.locator("#age")).to_have_text("· 42 s ago")
    opened.assert_quiet()


def test_without_javascript_nothing_is_marked_and_every_change_shows(
    open_page: OpenPage, base_url: str
) -> None:
    opened = open_page("remembered", java_script_enabled=False)
    page = visit(opened, base_url, "later")
    found = lines(page)
    assert found == [(f"{at} {what}", False) for at, what in LATER_LINES], found
    unmarked(page)
    expect(page.locator("#recent-h")).to_have_text(
        "Recent changes 4 · since 06:56 UTC, when the board's memory begins"
    )
    opened.assert_quiet()
