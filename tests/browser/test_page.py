"""The page in a real browser: what an operator sees, with and without JavaScript, on a
laptop and a phone, and what the small script does with time."""

from __future__ import annotations

import os
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect
from tests.boards import (
    EXPLORER,
    NOW,
    REPO,
    TEST_DEPLOYER,
    XSS,
    demo_board,
    document,
    remembered_demo_board,
)

from .conftest import PERIOD_S, Opened, OpenPage

pytestmark = pytest.mark.browser

FRESH = NOW + timedelta(seconds=42)
HOLDER_URL = f"https://github.com/{REPO}/actions/runs/19433108775"
RUN_URL = r"https://github\.com/[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+/actions/runs/\d+"
ADDRESS_URL = re.escape(EXPLORER) + r"/address/0x[0-9a-fA-F]{40}"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 900}
LAPTOP = {"width": 1280, "height": 800}


@pytest.fixture(scope="module")
def demo_doc() -> dict[str, Any]:
    return document(demo_board())


def test_summary_shows_fleet_status_and_every_red_issue(
    open_page: OpenPage, demo_doc: dict[str, Any]
) -> None:
    opened = open_page("demo", clock=FRESH)
    summary = opened.page.locator("section.summary")
    expect(summary.locator(".pill.big")).to_have_text(re.compile("^red$", re.I))
    text = summary.inner_text()
    assert demo_doc["summary"]["message"] in text
    red = [i["text"] for i in demo_doc["summary"]["issues"] if i["status"] == "red"]
    assert red
    for issue in red:
        assert issue in text
    expect(opened.page.locator("#stale")).to_be_hidden()
    opened.assert_quiet()


def test_page_only_talks_to_its_own_origin(open_page: OpenPage, base_url: str) -> None:
    opened = open_page("demo", clock=FRESH)
    opened.page.wait_for_load_state("networkidle")
    assert sorted(u.removeprefix(base_url) for u in opened.requests) == [
        "/demo/board.css",
        "/demo/board.js",
        "/demo/index.html",
    ]
    # ... although it links to GitHub run pages, which are for the operator to click
    assert opened.page.locator('a[href^="https://github.com/"]').count() >= 3
    opened.assert_quiet()


def test_summary_shows_the_ci_line(open_page: OpenPage) -> None:
    opened = open_page("demo", clock=FRESH)
    line = opened.page.locator("section.summary .ci-line")
    expect(line).to_be_visible()
    expect(line).to_have_text(
        "CI 2 in progress · 1 queued · GitHub API 4,771 of 5,000 left · 6 requests, 4 answered 304"
    )
    expect(line).to_have_attribute("title", "source github · observed 2026-11-23 08:00:03 UTC")
    opened.assert_quiet()


def test_slot_1_card_links_its_holder_run_and_the_link_fetches_nothing(
    open_page: OpenPage, base_url: str
) -> None:
    opened = open_page("demo", clock=FRESH)
    page = opened.page
    anywhere: list[str] = []  # every request of the context, a new tab's included
    page.context.on("request", lambda r: anywhere.append(r.url))
    ci = page.locator("#env-test dl.ci")
    expect(ci).to_contain_text("held by run #1287 · PR #411 broker: rotate the OIDC signing key")
    link = ci.get_by_role("link", name="run #1287", exact=True)
    expect(link).to_have_attribute("href", HOLDER_URL)
    expect(link).to_have_attribute("rel", "noopener noreferrer")
    assert link.evaluate("a => a.tagName === 'A' && a.href") == HOLDER_URL
    # every external URL on the page is such a link, or one to an address on the explorer
    external = page.locator('[href^="http"], [href^="//"], [src^="http"], [src^="//"]')
    hrefs = external.evaluate_all("els => els.map(e => [e.tagName, e.getAttribute('href'), e.rel])")
    assert hrefs and all(
        tag == "A"
        and (re.fullmatch(RUN_URL, href) or re.fullmatch(ADDRESS_URL, href))
        and rel == "noopener noreferrer"
        for tag, href, rel in hrefs
    ), hrefs
    # pointing at and tabbing to the links makes no request (no prefetch, no preconnect)
    for i in range(external.count()):
        external.nth(i).hover()
        external.nth(i).focus()
    page.wait_for_timeout(300)
    page.wait_for_load_state("networkidle")
    assert [u for u in anywhere if not u.startswith(f"{base_url}/")] == []
    opened.assert_quiet()


def test_script_text_shows_literally_and_opens_no_dialog(open_page: OpenPage) -> None:
    opened = open_page("hostile", clock=FRESH)
    page = opened.page
    page.wait_for_load_state("networkidle")
    assert XSS in page.locator("section.summary").inner_text()
    assert XSS in page.locator("#env-test-2").inner_text()
    assert XSS in page.locator("table.services").inner_text()
    assert f"broker: {XSS}" in page.locator("#env-test dl.ci").inner_text()
    assert f"broker: {XSS}" in page.locator("table.runs").inner_text()
    assert f"balance unknown: {XSS}" in page.locator("#env-test-2 .wallets").inner_text()
    assert f"master unknown: {XSS}" in page.locator("#env-test-2 .master").inner_text()
    assert page.locator('[href^="javascript:"]').count() == 0
    assert page.locator("script").count() == 1
    assert opened.dialogs == []
    opened.assert_quiet()


def test_times_show_the_viewer_clock_and_keep_utc_in_the_title(open_page: OpenPage) -> None:
    opened = open_page("demo", clock=FRESH, timezone_id="Asia/Tokyo")
    generated = opened.page.locator("header.top time")
    expect(generated).to_have_text(re.compile(r"^2026-11-23 17:00 (GMT\+9|JST)$"))
    expect(generated).to_have_attribute("datetime", "2026-11-23T08:00:03Z")
    expect(generated).to_have_attribute("title", re.compile(r"^2026-11-23 08:00:03 UTC"))
    # every time element was rewritten: none still says UTC
    texts = opened.page.locator("time").all_inner_texts()
    assert texts
    assert not [t for t in texts if t.endswith("UTC")]
    opened.assert_quiet()


def test_age_clock_counts_from_generated_at(open_page: OpenPage) -> None:
    opened = open_page("demo", clock=FRESH)
    expect(opened.page.locator("#age")).to_have_text("· 42 s ago")
    opened.assert_quiet()


@pytest.mark.parametrize(
    ("age_s", "level"),
    [(5, None), (3 * PERIOD_S, "amber"), (10 * PERIOD_S, "red")],
    ids=["fresh", "3-periods-amber", "10-periods-red"],
)
def test_stale_banner_follows_the_age_of_the_board(
    open_page: OpenPage, age_s: int, level: str | None
) -> None:
    opened = open_page("demo", clock=NOW + timedelta(seconds=age_s))
    banner = opened.page.locator("#stale")
    if level is None:
        expect(banner).to_be_hidden()
    else:
        expect(banner).to_be_visible()
        expect(banner).to_have_class(f"banner {level}")
        expect(banner).to_contain_text(re.compile("board is stale", re.I))
    opened.assert_quiet()


def test_board_generated_ten_periods_ago_is_red_stale(open_page: OpenPage) -> None:
    opened = open_page("old", clock=NOW)
    banner = opened.page.locator("#stale")
    expect(banner).to_be_visible()
    expect(banner).to_have_class("banner red")
    expect(banner).to_contain_text("10 min ago")
    opened.assert_quiet()


#: board.js asks for version.json every 60 s (its POLL_MS); a second more and it has asked.
PAST_THE_FIRST_POLL_MS = 61_000


def open_with_running_clock(open_page: OpenPage, base_url: str, folder: str) -> Opened:
    """`folder`'s page with the browser's clock installed at FRESH (running, not fixed), so
    a test can run it on past the page's first poll of version.json."""
    opened = open_page(folder, goto=False)
    opened.page.clock.install(time=FRESH)
    opened.page.goto(f"{base_url}/{folder}/index.html")
    return opened


def test_newer_latest_json_reloads_the_page(open_page: OpenPage, base_url: str) -> None:
    opened = open_with_running_clock(open_page, base_url, "newer")
    with opened.page.expect_event("load"):
        opened.page.clock.run_for(PAST_THE_FIRST_POLL_MS)
    assert opened.requests.count(f"{base_url}/newer/index.html") == 2
    # it asked for the few bytes of version.json, never for the snapshot itself
    assert f"{base_url}/newer/version.json" in opened.requests
    assert f"{base_url}/newer/latest.json" not in opened.requests
    opened.assert_quiet()


def test_missing_latest_json_degrades_quietly(open_page: OpenPage, base_url: str) -> None:
    opened = open_with_running_clock(open_page, base_url, "nolatest")
    page = opened.page
    with page.expect_response(f"{base_url}/nolatest/version.json") as response:
        page.clock.run_for(PAST_THE_FIRST_POLL_MS)
    assert response.value.status == 404
    page.wait_for_timeout(200)
    assert opened.errors == []
    assert opened.requests.count(f"{base_url}/nolatest/index.html") == 1  # no reload
    # the browser itself reports the 404; the script adds nothing
    assert [e for e in opened.console_errors() if "404" not in e] == []


def test_phone_viewport_has_no_sideways_scroll(open_page: OpenPage) -> None:
    opened = open_page("demo", clock=FRESH, viewport=PHONE, device_scale_factor=2, is_mobile=True)
    page = opened.page
    scroll_width, inner_width = page.evaluate(
        "[document.scrollingElement.scrollWidth, window.innerWidth]"
    )
    assert scroll_width <= inner_width
    # the cards stack in one column
    lefts = page.locator("article.card").evaluate_all(
        "cards => cards.map(c => Math.round(c.getBoundingClientRect().left))"
    )
    assert len(set(lefts)) == 1
    # the tables' rows stack: no table scrolls sideways either (test_accessibility.py checks
    # every status is on screen)
    boxes = page.locator("section.detail .scroll")
    assert boxes.count() == 4
    assert boxes.evaluate_all("els => els.filter(el => el.scrollWidth > el.clientWidth)") == []
    opened.assert_quiet()


def test_summary_shows_the_chain_line(open_page: OpenPage) -> None:
    opened = open_page("demo", clock=FRESH)
    line = opened.page.locator("section.summary .chain-line")
    expect(line).to_have_text(
        "Chain green RPC reachable, chain 212013 as expected, block 4,812,331 9 s old · 1 request"
    )
    expect(line).to_have_attribute("title", "source chain · observed 2026-11-23 08:00:03 UTC")
    opened.assert_quiet()


@pytest.mark.parametrize(
    "viewport",
    [PHONE, {"width": 320, "height": 640}, DESKTOP],
    ids=["phone", "narrow-phone", "desktop"],
)
def test_wallet_addresses_and_omni_stay_inside_their_card(
    open_page: OpenPage, viewport: dict[str, int]
) -> None:
    opened = open_page("demo", clock=FRESH, viewport=viewport)
    page = opened.page
    scroll_width, inner_width = page.evaluate(
        "[document.scrollingElement.scrollWidth, window.innerWidth]"
    )
    assert scroll_width <= inner_width
    spill = page.locator("article.card .chain code, article.card .chain .why").evaluate_all(
        """els => els.filter(el => {
            const card = el.closest('article.card').getBoundingClientRect();
            const box = el.getBoundingClientRect();
            return box.left < card.left || box.right > card.right + 0.5;
        }).map(el => el.textContent)"""
    )
    assert spill == []
    # the address reads as the full address, and links to its explorer page
    link = page.locator("#env-test .wallets a")
    expect(link).to_have_text(TEST_DEPLOYER)
    expect(link).to_have_attribute("href", f"{EXPLORER}/address/{TEST_DEPLOYER}")
    expect(link).to_have_attribute("rel", "noopener noreferrer")
    opened.assert_quiet()


def test_without_javascript_the_issues_and_cards_are_all_there(
    open_page: OpenPage, demo_doc: dict[str, Any]
) -> None:
    opened = open_page("demo", java_script_enabled=False)
    page = opened.page
    issues = page.locator("ol.issues li")
    expect(issues).to_have_count(len(demo_doc["summary"]["issues"]))
    for i, issue in enumerate(demo_doc["summary"]["issues"]):
        expect(issues.nth(i)).to_contain_text(issue["text"])
    cards = page.locator("article.card")
    expect(cards).to_have_count(len(demo_doc["environments"]))
    for env in demo_doc["environments"]:
        expect(page.locator(f"#env-{env['name']} h3")).to_have_text(env["name"])
    expect(page.locator("#env-test-3 .pill")).to_have_text("stopped")
    expect(page.locator("header.top time")).to_have_text("2026-11-23 08:00 UTC")
    expect(page.locator("#stale")).to_be_hidden()
    opened.assert_quiet()


@pytest.mark.parametrize(
    ("name", "viewport", "scheme"),
    [("desktop", DESKTOP, "light"), ("phone", PHONE, "light"), ("desktop-dark", DESKTOP, "dark")],
    ids=["desktop", "phone", "desktop-dark"],
)
def test_screenshot(
    open_page: OpenPage, name: str, viewport: dict[str, int], scheme: str, tmp_path: Path
) -> None:
    opened = open_page(
        "demo",
        clock=FRESH,
        viewport=viewport,
        color_scheme=scheme,
        timezone_id="Europe/Berlin",
        device_scale_factor=2 if name == "phone" else 1,
    )
    opened.page.wait_for_load_state("networkidle")
    # To look at them: FLEETBOARD_SCREENSHOTS=DIR keeps them there; else they go with tmp_path.
    folder = Path(os.environ.get("FLEETBOARD_SCREENSHOTS") or tmp_path)
    opened.page.screenshot(path=str(folder / f"fleetboard-page-{name}.png"), full_page=True)
    opened.assert_quiet()


@pytest.mark.parametrize("script", [True, False], ids=["js", "no-js"])
def test_recent_changes_sit_under_the_summary_with_the_red_issues_above_the_fold(
    open_page: OpenPage, script: bool
) -> None:
    doc = document(remembered_demo_board())
    opened = open_page("remembered", clock=FRESH, viewport=LAPTOP, java_script_enabled=script)
    page = opened.page
    recent = page.locator("section.recent")
    expect(recent).to_be_visible()
    heading = recent.locator("h2").bounding_box()
    summary = page.locator("section.summary").bounding_box()
    assert heading and summary
    # right under the summary, and in the first screen
    assert summary["y"] + summary["height"] <= heading["y"]
    assert heading["y"] + heading["height"] <= LAPTOP["height"]
    # every red issue is still above the fold
    red = [i for i in doc["summary"]["issues"] if i["status"] == "red"]
    assert red
    for i, issue in enumerate(doc["summary"]["issues"]):
        if issue["status"] == "red":
            box = page.locator("ol.issues > li").nth(i).bounding_box()
            assert box and box["y"] + box["height"] <= LAPTOP["height"], issue["text"]
    # the first change shows too, newest first, as the operator reads it
    lines = recent.locator("ol.changes > li")
    expect(lines).to_have_count(len(doc["recent"]))
    expect(lines.nth(0)).to_contain_text("07:51 UTC test red → stopped · 9 min ago")
    expect(lines.nth(1)).to_have_text(
        "07:46 UTC test-2 worker:audit green → red · 14 min ago · HTTP 502 in 41 ms"
    )
    first = lines.nth(0).bounding_box()
    assert first and first["y"] < LAPTOP["height"]
    expect(page.locator("#env-test header")).to_have_text("test stopped for 9 min")
    opened.assert_quiet()


def test_recent_changes_fit_a_phone_without_sideways_scroll(open_page: OpenPage) -> None:
    opened = open_page(
        "remembered-hostile", clock=FRESH, viewport=PHONE, device_scale_factor=2, is_mobile=True
    )
    page = opened.page
    # a script in a reason is text, and does nothing
    expect(page.locator("section.recent")).to_contain_text(
        f"test-2 worker:email green → red · 14 min ago · HTTP 200 in 68 ms but the body is "
        f"'{XSS}', not ok"
    )
    assert opened.dialogs == []
    scroll_width, inner_width = page.evaluate(
        "[document.scrollingElement.scrollWidth, window.innerWidth]"
    )
    assert scroll_width <= inner_width
    spill = page.locator(
        "section.recent li, section.summary small, article.card header small"
    ).evaluate_all(
        """els => els.filter(el => {
            const box = el.getBoundingClientRect();
            return box.left < 0 || box.right > window.innerWidth;
        }).map(el => el.textContent)"""
    )
    assert spill == []
    opened.assert_quiet()
