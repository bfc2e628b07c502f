"""history.html in a real browser, and the board's uptime and flapping marks: each day's
figures reachable by hover, keyboard and a tap, with or without JavaScript; axe-core clean;
on a phone, every environment's status and uptime without sideways scrolling."""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect
from tests.boards import NOW
from tests.history_boards import DEMO_SCRIPT, GAP_DAYS, day_start

from fleetboard import render

from .conftest import OpenPage
from .test_accessibility import FORBIDDEN, axe_violations, listed

pytestmark = pytest.mark.browser

FRESH = NOW + timedelta(seconds=42)
DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}
#: The down day of prod's row (DEMO_SCRIPT: 50 minutes down ten days ago).
DOWN_DAY = day_start(10).strftime("%Y-%m-%d")
#: prod over 30 days: 50 minutes down in 29 whole days and today to the pass, floored.
_RATED = 29 * 86_400 + NOW.hour * 3600 + NOW.minute * 60 + NOW.second
PROD_30_DAYS = f"{math.floor((1 - 50 * 60 / _RATED) * 10_000) / 100:.2f} %"
DOWN_DAY_FIGURES = (
    f"down: up 23 h 10 min, down 50 min · {math.floor((1 - 3000 / 86_400) * 10_000) / 100:.2f} %"
)


def open_history(open_page: OpenPage, folder: str = "days", **context: Any) -> Page:
    opened = open_page(folder, clock=FRESH, path="history.html", **context)
    return opened.page


def day(page: Page, env: str, date: str) -> Locator:
    return page.locator(f"#h-{env} .bars li").filter(has_text=date)


def shown(figures: Locator) -> bool:
    """The figures are on screen: laid out wider than the 1 px they are hidden in."""
    box = figures.bounding_box()
    return box is not None and box["width"] > 50 and box["height"] > 10


@pytest.mark.parametrize("script", [True, False], ids=["js", "no-js"])
def test_each_day_is_a_bar_whose_figures_show_on_focus_and_hover(
    open_page: OpenPage, script: bool
) -> None:
    opened = open_page(
        "days", clock=FRESH, path="history.html", viewport=DESKTOP, java_script_enabled=script
    )
    page = opened.page
    for env in DEMO_SCRIPT:
        expect(page.locator(f"#h-{env} .bars li")).to_have_count(90)
    down = day(page, "prod", DOWN_DAY)
    expect(down).to_have_class("down")
    figures = down.locator("b")
    assert not shown(figures)
    # the keyboard: from the environment's name, Tab reaches its first day
    page.locator("#h-prod h2 a").focus()
    page.keyboard.press("Tab")
    first = page.locator("#h-prod .bars li").first
    expect(first).to_be_focused()
    assert shown(first.locator("b"))
    expect(first.locator("b")).to_contain_text("up (remembered from 06:00 UTC): 18 h · 100 %")
    # any day, focused: its figures under the bars, the word first
    down.focus()
    assert shown(figures) and not shown(first.locator("b"))
    expect(figures).to_have_text(f"{DOWN_DAY} {DOWN_DAY_FIGURES}")
    # the pointer on another day: that day's figures, not the focused one's
    gap = day(page, "prod", day_start(GAP_DAYS[0]).strftime("%Y-%m-%d"))
    gap.hover()
    assert shown(gap.locator("b")) and not shown(figures)
    expect(gap.locator("b")).to_contain_text("gap: the collector did not run")
    expect(gap).to_have_class("gap")
    opened.assert_quiet()


def test_a_tap_on_a_day_shows_its_figures_on_a_phone(open_page: OpenPage) -> None:
    page = open_history(open_page, viewport=PHONE, has_touch=True, is_mobile=True)
    down = day(page, "prod", DOWN_DAY)
    down.scroll_into_view_if_needed()
    down.tap()
    figures = down.locator("b")
    assert shown(figures)
    box, width = figures.bounding_box(), PHONE["width"]
    assert box and box["x"] >= 0 and box["x"] + box["width"] <= width  # all of it on screen
    bars = down.bounding_box()
    assert bars and bars["width"] >= 8  # three rows of 30: a bar a finger can find


def test_without_javascript_the_bars_and_figures_are_all_in_the_page(
    open_page: OpenPage,
) -> None:
    page = open_history(open_page, java_script_enabled=False)
    bars = page.locator(".bars li")
    expect(bars).to_have_count(90 * len(DEMO_SCRIPT))
    # every day's figures are its own text, for a screen reader or a search in the page
    texts = bars.locator("b").all_inner_texts()
    assert all(t[:4] == "2026" and ": " in t for t in texts)
    expect(page.locator("#h-prod table.uptime tbody tr")).to_have_count(4)


@pytest.mark.parametrize(
    ("folder", "viewport", "scheme"),
    [("days", DESKTOP, "light"), ("days", PHONE, "dark"), ("days-big", DESKTOP, "dark")],
    ids=lambda v: v if isinstance(v, str) else f"{v['width']}px",
)
def test_axe_core_finds_nothing_serious_on_the_history_page(
    open_page: OpenPage, axe_source: str, folder: str, viewport: dict[str, int], scheme: str
) -> None:
    page = open_history(open_page, folder, viewport=viewport, color_scheme=scheme)
    day(page, "prod", DOWN_DAY).focus()  # with a day's figures showing, too
    found = axe_violations(page, axe_source)
    bad = [v for v in found if v["impact"] in FORBIDDEN]
    assert bad == [], f"axe-core on {folder}/history.html ({scheme}):\n{listed(bad)}"


SAID = """words => {
  const unsaid = [];
  for (const el of document.querySelectorAll(words.map(w => '.' + w).join(','))) {
    if (!el.getClientRects().length) continue;
    const word = words.find(w => el.classList.contains(w));
    // a bar says its word in its figures; a key's swatch and a count beside their word
    const text = (el.closest('li, p, td') || el).textContent.toLowerCase();
    if (!text.includes(word)) unsaid.push(el.outerHTML.slice(0, 160));
  }
  return unsaid;
}"""


def test_no_day_is_told_by_colour_alone(open_page: OpenPage) -> None:
    page = open_history(open_page)
    words = [*render.uptime.TIME_CLASSES, *render.words.WORDS]
    assert page.evaluate(SAID, words) == []


def test_at_390_px_every_status_and_uptime_is_on_screen(open_page: OpenPage) -> None:
    page = open_history(open_page, "days-big", viewport=PHONE, device_scale_factor=2)
    width = PHONE["width"]
    assert page.evaluate("document.scrollingElement.scrollWidth") <= width
    sideways = page.locator(".hist .scroll").evaluate_all(
        "els => els.filter(el => el.scrollWidth > el.clientWidth).length"
    )
    assert sideways == 0
    for env in ("prod", "test-17", "test-98"):
        section = page.locator(f"#h-{env}")
        section.scroll_into_view_if_needed()
        pill = section.locator("h2 .pill")
        available = section.locator("table.uptime tbody tr").nth(2).locator("td").nth(1)
        for el in (pill, available, section.locator(".bars li").last):
            el.scroll_into_view_if_needed()
            box = el.bounding_box()
            assert box and box["x"] >= 0 and box["x"] + box["width"] <= width, env
        # labelled when the rows stack (a word before the figure, as every stacked table)
        label = available.evaluate("el => getComputedStyle(el, '::before').content")
        assert label == '"available "'
        expect(available).to_contain_text(" %")


def test_a_look_at_the_history_is_not_a_visit_of_the_board(open_page: OpenPage) -> None:
    page = open_history(open_page)
    expect(page.locator("#age")).to_be_visible()  # board.js ran
    assert page.evaluate("Object.keys(localStorage)") == []


def test_the_board_marks_the_flapping_check_and_links_each_history(
    open_page: OpenPage,
) -> None:
    for viewport in (DESKTOP, PHONE):
        opened = open_page("days", clock=FRESH, viewport=viewport)
        page = opened.page
        base = page.locator("#env-base")
        base.scroll_into_view_if_needed()
        expect(base.locator("header .badge.flap")).to_have_text("flapping")
        row = base.locator(".failing li").filter(has_text="worker:classify")
        expect(row.locator(".pill")).to_have_text("green")
        mark = row.locator(".badge.flap")
        expect(mark).to_have_text("flapping: 5 changes in 20 passes")
        box = mark.bounding_box()
        assert box and box["x"] + box["width"] <= viewport["width"]
        expect(page.locator(".badge.flap")).to_have_count(3)  # card, its row, the table
        link = page.locator("#env-prod .tally a")
        expect(link).to_have_text(f"{PROD_30_DAYS} 30 d")
        folder = page.url.rsplit("/", 1)[0]
        link.click()
        expect(page).to_have_url(f"{folder}/history.html#h-prod")
        expect(page.locator("#h-prod")).to_be_in_viewport()
        opened.assert_quiet()
