"""The machines on the page, in Chromium: what EC2's status checks, the SSM agents and
CloudWatch said of the demo's machines (tests/boards.py `_demo_machines`), as an operator
reads it on a laptop and a phone; and the board `fleetboard demo --once` itself writes."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect
from tests.boards import NOW
from tests.integration.fixtures.child import run_fleetboard

from .conftest import OpenPage

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


def card(page: Page, name: str) -> Locator:
    return page.locator(f"#env-{name}")


def test_each_running_card_draws_its_cpu_and_says_its_figures(open_page: OpenPage) -> None:
    opened = open_page("machines", clock=NOW + timedelta(seconds=42))
    prod = card(opened.page, "prod")
    line = prod.locator("svg.spark[role=img]")
    expect(line).to_have_count(1)
    # A screen reader hears the figures the line draws; the text beside it says the rest.
    expect(line).to_have_attribute(
        "aria-label", re.compile(r"CPU over the last 3 hours: [\d.]+% now")
    )
    figures = "412 credits · memory 63% · disk 71%"
    expect(prod.locator("dd:has(svg.spark)")).to_contain_text(figures)
    unpublished = "memory not published · disk not published"
    expect(card(opened.page, "test").locator("dd:has(svg.spark)")).to_contain_text(unpublished)
    # The line is drawn: its points span the box, not collapsed to nothing.
    width = line.evaluate("svg => svg.getBoundingClientRect().width")
    assert width > 40, width
    # A stopped slot has no figures, so no line and no made-up numbers.
    expect(card(opened.page, "test-3").locator("svg.spark")).to_have_count(0)
    opened.assert_quiet()


def test_what_ec2_and_ssm_said_is_on_the_cards_and_in_the_summary(open_page: OpenPage) -> None:
    opened = open_page("machines", clock=NOW + timedelta(seconds=42))
    page = opened.page
    summary = page.locator("section.summary")
    expect(summary).to_contain_text("test cannot be deployed to")
    expect(summary).to_contain_text("instance status check failed")
    test_2 = card(page, "test-2")
    expect(test_2.locator(".failing li", has_text="instance status check failed")).to_have_count(1)
    expect(test_2.locator(".failing li", has_text="CPU credits 1.5")).to_contain_text("amber")
    prod = card(page, "prod")
    retirement = prod.locator(".failing li", has_text="instance-retirement")
    expect(retirement).to_contain_text("amber")
    expect(retirement).to_contain_text("stop and start it before then")
    # The runs on the slot CI cannot deploy to are told so, next to the slot's CI line.
    expect(summary).to_contain_text("which CI cannot deploy to")
    opened.assert_quiet()


def test_the_cpu_line_fits_a_phone_card(open_page: OpenPage) -> None:
    opened = open_page("machines", clock=NOW + timedelta(seconds=42), viewport=PHONE)
    page = opened.page
    scroll = page.evaluate("() => document.documentElement.scrollWidth")
    assert scroll <= PHONE["width"], scroll
    box = card(page, "prod").locator("svg.spark").bounding_box()
    outer = card(page, "prod").bounding_box()
    assert box is not None and outer is not None
    assert box["x"] + box["width"] <= outer["x"] + outer["width"]
    opened.assert_quiet()


def test_each_card_says_what_its_machine_costs_and_the_idle_slot_how_to_stop_it(
    open_page: OpenPage,
) -> None:
    opened = open_page("machines", clock=NOW + timedelta(seconds=42))
    page = opened.page
    cost = card(page, "prod").locator("dt:text-is('cost') + dd")
    expect(cost).to_have_text(re.compile(r"^about \$1\.12/day · running [\d.]+ h today"))
    # Where the price comes from, on hover: the Price List, and what the figure leaves out.
    expect(cost).to_have_attribute("title", re.compile(r"AWS Price List, read .*EBS"))
    # A stopped slot still pays for its address, and says so rather than $0.
    expect(card(page, "test-3").locator("dt:text-is('cost') + dd")).to_contain_text(
        "about $0.12/day while stopped: its Elastic IP's public IPv4"
    )
    # The idle slot says so on its card, beside what it costs, with the command as code.
    idle = card(page, "test-2").locator("dt:text-is('cost') + dd")
    expect(idle).to_contain_text(re.compile(r"amber idle idle for 9 h \d+ min \(no CI run"))
    expect(idle.locator("code")).to_have_text(
        "aws ec2 stop-instances --region us-east-1 --instance-ids i-0a5c74cdbb3e5be84"
    )
    expect(card(page, "prod").locator("dt:text-is('cost') + dd")).not_to_contain_text("idle")
    expect(page.locator("section.summary")).to_contain_text(
        "aws ec2 stop-instances --region us-east-1 --instance-ids i-0a5c74cdbb3e5be84"
    )
    opened.assert_quiet()


def test_the_month_so_far_and_the_error_lines_read_as_information(open_page: OpenPage) -> None:
    """With Cost Explorer and [logs] on: each cost line says the month so far and as of
    when; prod's errors fold open to each service's lines, oldest first; a group that was
    refused or not read yet says so, in words, with no status pill."""
    opened = open_page("machines", clock=NOW + timedelta(seconds=42))
    page = opened.page
    prod = card(page, "prod")
    month = prod.locator("dt:text-is('cost') + dd .month")
    expect(month).to_have_text("$25.75 this month (Cost Explorer, to 2026-11-23)")
    expect(month).to_have_attribute("title", re.compile(r"tagged Name=prod"))
    errors = prod.locator("details.logs")
    expect(errors.locator("summary")).to_contain_text(
        "errors: 3 error lines in 2 services in the last 60 min (as of "
    )
    expect(errors.locator("ol code").first).not_to_be_visible()  # folded until asked
    errors.locator("summary").click()
    audit = errors.locator("li", has=page.locator(".check", has_text="audit"))
    expect(audit.locator("ol code")).to_have_text(
        ["ERROR write failed: 41 retries", "ERROR write failed: 30 retries"]
    )
    refused = card(page, "test-2").locator("p.logs")
    expect(refused).to_contain_text("errors: unknown logs:FilterLogEvents denied")
    expect(card(page, "test").locator("p.logs")).to_contain_text("not read yet")
    expect(card(page, "base").locator("p.logs")).to_contain_text(
        "errors: no error lines in the last 60 min"
    )
    # Information, not health: no pill in any errors part, and prod's issues are as before.
    expect(page.locator(".logs .pill")).to_have_count(0)
    opened.assert_quiet()


@pytest.fixture(scope="module")
def live(site: Path) -> str:
    """The folder of the board the demo writes of its simulated fleet (moto with the
    demo's layer, real HTTPS hosts, its GitHub, anvil when Node.js is installed)."""
    done = run_fleetboard("demo", "--once", "--out", str(site / "live"))
    assert done.returncode == 0, done.stderr
    return "live"


def test_the_demo_s_own_board_shows_every_machine_story(open_page: OpenPage, live: str) -> None:
    opened = open_page(live)
    page = opened.page
    retirement = card(page, "prod").locator(".failing li", has_text="instance-retirement")
    expect(retirement).to_contain_text("stop and start it before then")
    agent = card(page, "test").locator(".failing li", has_text="SSM agent ConnectionLost")
    expect(agent).to_contain_text("test cannot be deployed to")
    test_2 = card(page, "test-2")
    expect(test_2.locator(".failing li", has_text="instance status check failed")).to_have_count(1)
    expect(test_2.locator(".failing li", has_text="CPU credits 1.5")).to_contain_text("amber")
    expect(card(page, "test-3").locator("dt:text-is('cost') + dd")).to_contain_text(
        "while stopped: its Elastic IP's public IPv4"
    )
    idle = card(page, "test-4").locator("dt:text-is('cost') + dd")
    expect(idle).to_contain_text(re.compile(r"about \$[\d.]+/day · running [\d.]+ h today"))
    expect(idle).to_contain_text(re.compile(r"amber idle idle for 9 h \d+ min"))
    expect(idle.locator("code")).to_contain_text("aws ec2 stop-instances --region us-east-1")
    # Every running machine draws its CPU; the stopped one draws nothing.
    expect(page.locator("article.card svg.spark")).to_have_count(4)
    expect(card(page, "test-3").locator("svg.spark")).to_have_count(0)
    opened.assert_quiet()
