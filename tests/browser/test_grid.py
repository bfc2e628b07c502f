"""A large fleet's grid in a browser: it scrolls in its own box on a phone with the
environment's name kept in view, and its links land on the card they name."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect
from tests.boards import NOW

from .conftest import OpenPage

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


def test_on_a_phone_the_grid_scrolls_in_its_box_and_keeps_the_names(open_page: OpenPage) -> None:
    opened = open_page("big", clock=NOW + timedelta(seconds=42), viewport=PHONE)
    page = opened.page
    assert page.evaluate("document.scrollingElement.scrollWidth") <= PHONE["width"]
    box = page.get_by_role("region", name="fleet grid")
    assert box.evaluate("el => el.scrollWidth > el.clientWidth")  # 14 columns do not fit
    row = page.locator("table.grid tbody tr", has_text="test-17")
    name, last = row.locator("th"), row.locator("td").last
    last.scroll_into_view_if_needed()  # the box scrolls to its right end
    assert box.evaluate("el => el.scrollLeft") > 0
    expect(last).to_be_in_viewport()
    expect(name).to_be_in_viewport()  # the name stays at the box's left edge
    # the red cell, scrolled to, is a word beside the name, not under it
    red = row.locator("td.red").last
    red.scroll_into_view_if_needed()
    expect(red).to_have_text("red")
    expect(name).to_be_in_viewport()
    edge = name.evaluate("el => el.getBoundingClientRect().right")
    assert red.evaluate("el => el.getBoundingClientRect().left") >= edge - 1
    opened.assert_quiet()


def test_a_grid_row_links_to_its_card_and_an_issue_to_its_row(open_page: OpenPage) -> None:
    opened = open_page("big", clock=NOW + timedelta(seconds=42))
    page = opened.page
    page.locator("table.grid").get_by_role("link", name="test-17", exact=True).click()
    expect(page.locator("#env-test-17")).to_be_in_viewport()
    expect(page.locator("#env-test-17 h3")).to_have_text("test-17")
    # a green environment has no card; its grid row carries the anchor
    page.goto(page.url.split("#")[0] + "#env-test-2")
    target = page.locator("#env-test-2")
    expect(target).to_be_in_viewport()
    expect(target).to_contain_text("all 25 checks green")
    assert page.locator("article#env-test-2").count() == 0
    opened.assert_quiet()
