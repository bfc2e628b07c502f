"""A large fleet's page (render/grid.py): a grid of environment × service, cards only for
what needs a look, green wallets folded, and a page that stays within its budget."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from tests.boards import big_board, demo_board, document, remembered_big_board
from tests.html import card

from fleetboard import render
from fleetboard.render import grid

#: What a large fleet's page may weigh: 100 environments with CI and wallets, and 1,000 on
#: a bad day of memory (a quarter of the slots failing at once, a run on every 4th).
BUDGET_100 = 200 * 1024
BUDGET_1000 = 400 * 1024


@cache
def big(n: int) -> tuple[dict[str, Any], str]:
    doc = document(big_board(n, wallets=True))
    return doc, render.render_page(doc)


def text_of(html: str) -> str:
    spaced = re.sub(r"<(?=(td|th|tr)\b)", " <", html)
    return " ".join(re.sub(r"<[^>]+>", "", spaced).split())


def grid_row(html: str, env: str) -> str:
    """The grid's row of one environment (with or without a card to link to)."""
    table = re.search(r'<table class="grid"[^>]*>(.*?)</table>', html, re.S)
    assert table, "no grid"
    row = re.search(
        rf'<tr(?: id="env-{env}")?><th>(?:<a href="#env-{env}">)?{env}(?:</a>)?<td.*?(?=<tr|</tbody>)',
        table.group(1),
        re.S,
    )
    assert row, f"no grid row for {env}"
    return row.group(0)


def test_a_small_fleet_keeps_a_card_for_every_environment() -> None:
    html = render.render_page(document(demo_board()))
    assert 'class="grid"' not in html
    assert 'aria-labelledby="wallets-h"' not in html  # its wallets are on their cards
    assert len(re.findall(r'<article class="card ', html)) == 5


def test_a_hundred_environments_with_ci_and_wallets_fit_the_budget() -> None:
    doc, html = big(100)
    assert sum(len(e["chain"]["wallets"]) for e in doc["environments"]) == 200
    assert doc["ci"]["runs"]
    assert len(html.encode()) <= BUDGET_100


def test_a_thousand_environments_on_a_bad_day_fit_the_budget() -> None:
    board = remembered_big_board(1000, wallets=True)
    html = render.render_page(document(board))
    assert len(html.encode()) <= BUDGET_1000
    assert html.count('<tr id="env-') + html.count('<tr><th><a href="#env-') == 1000


def test_the_grid_has_a_row_for_every_environment_and_a_word_in_every_cell() -> None:
    doc, html = big(100)
    head = re.search(r'<table class="grid"[^>]*>\s*<thead>(.*?)</thead>', html, re.S)
    assert head
    columns = re.findall(r'<th scope="col">([^<]*)', head.group(1))
    assert columns[:4] == ["env", "status", "machine", "broker"]
    assert {"signer", "mcp", "audit", "weixin"} <= set(columns)
    for env in doc["environments"]:
        row = text_of(grid_row(html, env["name"]))
        assert row.startswith(f"{env['name']} {grid.env_word(env)} "), row
    # an all-green environment is one line that says so
    assert text_of(grid_row(html, "test-2")) == "test-2 green all 25 checks green"
    # a parked one says why it is not rated
    assert text_of(grid_row(html, "test-7")) == "test-7 stopped stopped: health not rated"
    # a failing one: every service a word, the failing one red with what it said
    row = grid_row(html, "test-17")
    cells = re.findall(r"<td[^>]*>([a-z]+)", row)
    assert cells[0] == "red"  # the environment
    assert cells[1:].count("red") == 1 and cells[1:].count("green") == len(columns) - 3
    email = columns.index("email") - 1  # the row's cells start at the status column
    assert re.findall(r"<td([^>]*)>", row)[email] == (
        ' class="red" title="worker:email: HTTP 502 in 12 ms"'
    )


def test_only_environments_that_need_a_look_have_cards() -> None:
    doc, html = big(100)
    cards = re.findall(r'<article class="card (\w+)" id="env-([\w-]+)"', html)
    needing = [
        e["name"] for e in doc["environments"] if grid.env_word(e) in ("red", "amber", "unknown")
    ]
    assert sorted(name for _, name in cards) == sorted(needing)
    assert {word for word, _ in cards} <= {"red", "amber", "unknown"}
    # the row of a carded environment links to its card; the others carry the anchor
    assert grid_row(html, "test-17").startswith('<tr><th><a href="#env-test-17">')
    assert grid_row(html, "test-2").startswith('<tr id="env-test-2"><th>test-2')


def test_every_link_on_the_page_lands_on_something() -> None:
    # the summary's issues and the recent changes link #env-<name>: a card, or a grid row
    html = render.render_page(document(remembered_big_board(100, wallets=True)))
    targets = set(re.findall(r'href="#([^"]+)"', html))
    ids = set(re.findall(r' id="([^"]+)"', html))
    assert "env-test-2" in ids and "env-test-17" in ids
    assert targets - ids == {"main"} - ids


def test_past_the_card_limit_the_rest_are_counted_not_dropped() -> None:
    doc, html = big(1000)
    needing = [e for e in doc["environments"] if grid.env_word(e) in ("red", "amber", "unknown")]
    assert len(needing) > grid.CARDS_SHOWN
    cards = re.findall(r'<article class="card (\w+)"', html)
    assert len(cards) == grid.CARDS_SHOWN
    reds = sum(1 for e in needing if grid.env_word(e) == "red")
    assert cards == ["red"] * grid.CARDS_SHOWN < ["red"] * reds  # the worst first
    more = len(needing) - grid.CARDS_SHOWN
    assert (
        f"{more} more environments need a look without a card here: their rows in the grid "
        "above say which services"
    ) in text_of(html)
    # the summary lists the worst ISSUES_SHOWN issues and counts the rest
    issues = doc["summary"]["issues"]
    listed = re.search(r'<ol class="issues"[^>]*>(.*?)</ol>', html, re.S)
    assert listed and listed.group(1).count("<li>") == grid.ISSUES_SHOWN
    assert f"and {len(issues) - grid.ISSUES_SHOWN} more issues: the grid below" in text_of(html)


def test_green_wallets_fold_into_one_row_a_role_and_the_rest_are_listed() -> None:
    doc, html = big(100)
    table = re.search(r'<table class="wallet-table"[^>]*>(.*?)</table>', html, re.S)
    assert table
    rows = [text_of(r) for r in re.findall(r"<tr[^>]*>(<td>.*?)</tr>", table.group(1))]
    low = [e["name"] for e in doc["environments"] if e["name"] in ("test-3", "test-53")]
    assert [r.split()[:3] for r in rows[: len(low)]] == [["red", n, "deployer"] for n in low]
    assert rows[len(low) :] == [
        "green 98 envs deployer (98) lowest 3 HEI (prod) all above their floor",
        "green 100 envs sponsor (100) lowest 2 HEI (prod) all above their floor",
    ]
    # a carded environment shows the wallet that needs a look, and points at the rest
    test3 = card(html, "test-3")
    assert "1 green</a>, folded in the Wallets table." in test3
    assert test3.count("<li title=") == 1


def test_a_folded_table_lists_the_worst_hundred_and_counts_the_rest() -> None:
    doc, html = big(1000)
    failing = [
        c
        for e in doc["environments"]
        if grid.env_word(e) not in render.words.GREY
        for c in e["checks"]
        if c["kind"] == "http" and c["status"] != "green"
    ]
    assert len(failing) > render.tables.LISTED_MAX
    services = re.search(r'aria-labelledby="services-h">(.*?)</section>', html, re.S)
    assert services
    rows = re.findall(r'<tr class="(red|amber|unknown)"', services.group(1))
    assert len(rows) == render.tables.LISTED_MAX
    assert rows == sorted(rows, key=render.words.rank)  # the worst first: every red one
    more = len(failing) - render.tables.LISTED_MAX
    assert f"and {more} more failing checks, not listed here" in services.group(1)
