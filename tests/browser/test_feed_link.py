"""The page points at its Atom feed: a `<link rel="alternate">` in its head, which browsers
and feed readers discover, and a small visible link in the footer, with or without
JavaScript. The page never fetches the feed itself."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from playwright.sync_api import expect
from tests.boards import NOW, document, remembered_demo_board

from fleetboard import feed
from fleetboard.publish import FEED

from .conftest import OpenPage, publish

pytestmark = pytest.mark.browser

A = "{http://www.w3.org/2005/Atom}"
FOLDER = "with-feed"


@pytest.fixture(scope="module")
def with_feed(site: Path) -> Path:
    """The remembered demo (two recent changes) published with its feed, as a pass does."""
    folder = site / FOLDER
    if not folder.exists():
        board = remembered_demo_board()
        publish(folder, board)
        (folder / FEED).write_bytes(feed.render_feed(document(board)))
    return folder


def test_the_page_head_names_its_feed_and_the_feed_is_there(
    open_page: OpenPage, with_feed: Path, base_url: str
) -> None:
    opened = open_page(FOLDER, clock=NOW)
    page = opened.page
    link = page.locator('head link[rel="alternate"][type="application/atom+xml"]')
    expect(link).to_have_count(1)
    expect(link).to_have_attribute("href", FEED)
    fleet = document(remembered_demo_board())["fleet"]["name"]
    expect(link).to_have_attribute("title", f"{fleet} fleet: recent changes")
    # Where the browser resolves it is the feed, and it holds the changes the page lists.
    href = link.evaluate("l => l.href")
    assert href == f"{base_url}/{FOLDER}/{FEED}"
    answer = page.request.get(href)
    assert answer.ok
    root = ET.fromstring(answer.body())
    titles = [e.findtext(f"{A}title") for e in root.findall(f"{A}entry")]
    assert titles == ["test red -> stopped", "test-2 worker:audit green -> red"]
    expect(page.locator("section.recent ol.changes > li")).to_have_count(len(titles))
    # Discovered, not fetched: the page loads only its own three files.
    page.wait_for_load_state("networkidle")
    assert sorted(u.removeprefix(base_url) for u in opened.requests) == [
        f"/{FOLDER}/board.css",
        f"/{FOLDER}/board.js",
        f"/{FOLDER}/index.html",
    ]
    opened.assert_quiet()


@pytest.mark.parametrize("script", [True, False], ids=["javascript", "no-javascript"])
def test_the_footer_links_the_feed_in_words(
    open_page: OpenPage, with_feed: Path, script: bool
) -> None:
    opened = open_page(FOLDER, clock=NOW, java_script_enabled=script)
    visible = opened.page.locator(f'footer.foot a[href="{FEED}"]')
    expect(visible).to_have_count(1)
    expect(visible).to_be_visible()
    expect(visible).to_have_text("Atom feed")
    expect(visible).to_have_attribute("type", "application/atom+xml")
    opened.assert_quiet()
