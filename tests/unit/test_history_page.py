"""Uptime, 90 days of bars, and flapping, as a reader meets them: the card's uptime, the
history page's bars and figures, the flapping marks. Boards come through the real rules and
the real memory (tests/history_boards.py), so every figure here is one a pass could publish;
each expected figure is worked out from the script of days, not copied from a render."""

from __future__ import annotations

import copy
import gzip
import math
import re
from typing import Any

import pytest
from markupsafe import escape
from tests.boards import NOW, XSS, big_board, demo_board, document, remembered_demo_board
from tests.history_boards import (
    BEGAN,
    DEMO_SCRIPT,
    GAP_DAYS,
    PART_DAYS,
    busy_days,
    day_start,
    ninety_days,
)

from fleetboard import render

#: history.html at 100 environments: a quarter with incidents on every environment and a
#: collector gap (measured ~0.76 MB, ~11 KB gzipped as CloudFront sends it), and the worst
#: case, every day of every environment with time in every class (~1.7 MB, ~17 KB gzipped).
HISTORY_BUDGET_BYTES = 1024 * 1024
HISTORY_WORST_BUDGET_BYTES = 2 * 1024 * 1024
#: The main page's budget (tests/unit/test_render.py), with the uptime and flapping marks.
PAGE_BUDGET_BYTES = 200 * 1024
DAY_S = 86_400
#: Seconds of today the memory counted: the pass is at NOW.
TODAY_S = NOW.hour * 3600 + NOW.minute * 60 + NOW.second


@pytest.fixture(scope="module")
def remembered() -> dict[str, Any]:
    """The demo fleet after DEMO_SCRIPT's 90 days, base's classify worker flapping."""
    _, doc = ninety_days(demo_board(), DEMO_SCRIPT, flapping={"base/worker:classify": 5})
    return doc


@pytest.fixture(scope="module")
def page(remembered: dict[str, Any]) -> str:
    return render.render_page(remembered)


@pytest.fixture(scope="module")
def history(remembered: dict[str, Any]) -> str:
    return render.render_history(remembered)


def card(html: str, env: str) -> str:
    found = re.search(rf'<article class="card [^"]*" id="env-{env}">(.*?)</article>', html, re.S)
    assert found, env
    return found.group(1)


def hist(html: str, env: str) -> str:
    found = re.search(rf'<section class="hist" id="h-{env}".*?</section>', html, re.S)
    assert found, env
    return found.group(0)


def bar(html: str, env: str, before: int) -> tuple[str, str]:
    """(class, figures) of the bar of `before` days ago on `env`'s row."""
    date = day_start(before).strftime("%Y-%m-%d")
    found = re.search(rf'<li class="([a-z ]+)" tabindex="0"><b>{date} ([^<]*)</b>', hist(html, env))
    assert found, (env, date)
    return found.group(1), found.group(2)


def floored(fraction: float) -> str:
    """A fraction as the board says it: floored to 0.01 %."""
    return f"{math.floor(fraction * 10_000) / 100:.2f} %"


# --------------------------------------------------------------------------- the card


def test_a_card_shows_its_30_days_uptime_linked_to_its_history(page: str) -> None:
    # prod's 30-day window: 29 whole days and today so far, all rated; 50 minutes of it
    # down ten days ago (its two degraded hours twenty days ago count as available).
    rated = 29 * DAY_S + TODAY_S
    expected = floored(1 - 50 * 60 / rated)
    link = f'<a href="history.html#h-prod" title="source memory">{expected} 30 d</a>'
    assert link in card(page, "prod")
    # every environment's card links its history
    for env in DEMO_SCRIPT:
        assert f'href="history.html#h-{env}"' in card(page, env)


def test_unseen_time_is_never_100_percent() -> None:
    # slot 3 stopped for 90 days: nothing rated, said as such, not as 100 %
    _, doc = ninety_days(demo_board(), {"test-3": [(d, "parked", 0, 24) for d in range(90)]})
    html = render.render_page(doc)
    slot3 = card(html, "test-3")
    assert ">no rated time 30 d</a>" in slot3
    assert "100 %" not in slot3
    table = hist(render.render_history(doc), "test-3")
    assert "<td>no rated time" in table and "100 %" not in table


def test_a_young_memory_says_how_far_back_its_uptime_goes() -> None:
    # the remembered demo: its memory began 64 minutes ago, so its 30 days are "over 1 h
    # 4 min", never called 30 days; base was green throughout
    html = render.render_page(document(remembered_demo_board()))
    assert ">100 % over 1 h 4 min</a>" in card(html, "base")
    assert " 30 d</a>" not in html


def test_a_flapping_check_is_marked_with_its_count_on_its_card(page: str) -> None:
    base = card(page, "base")
    # the card says it, and the check is listed although it is green right now
    assert '<span class="badge flap">flapping</span>' in base.split("</header>")[0]
    row = re.search(r"<li[^>]*>.*?worker:classify.*?</li>", base, re.S)
    assert row
    assert '<span class="pill green">green</span>' in row.group(0)
    assert '<span class="badge flap">flapping: 5 changes in 20 passes</span>' in row.group(0)
    # no other card, and no other check, is marked
    assert page.count("flapping: ") == 2  # the card's row and the services table's
    for env in ("prod", "test", "test-2", "test-3"):
        assert "flapping" not in card(page, env)


def test_the_services_table_marks_the_flapping_check(page: str) -> None:
    rows = re.findall(r"<tr[^>]*><td>.*?</tr>", page)
    flapping = [r for r in rows if "flapping:" in r]
    assert len(flapping) == 1
    assert "<td>base<td>worker:classify<td>" in flapping[0]


def test_a_flapping_check_stays_listed_when_a_big_table_folds_its_green_rows() -> None:
    _, doc = ninety_days(big_board(100), {}, flapping={"test-3/worker:audit": 6})
    table = render.tables.services(doc["environments"])
    assert table.folded
    green = [(r.env["name"], r.check) for r in table.rows if r.check and r.word == "green"]
    assert [(env, check["name"]) for env, check in green] == [("test-3", "worker:audit")]
    assert render.render_page(doc).count("flapping: 6 changes in 20 passes") == 2


# --------------------------------------------------------------------------- the bars


def test_one_bar_per_remembered_day_oldest_first_today_last(history: str) -> None:
    row = hist(history, "prod")
    dates = re.findall(r'tabindex="0"><b>(\d{4}-\d\d-\d\d) ', row)
    first = BEGAN.strftime("%Y-%m-%d")
    assert dates[0] == first and dates[-1] == NOW.strftime("%Y-%m-%d")
    assert len(dates) == 90 == len(set(dates)) and dates == sorted(dates)
    assert f"<b>{first} up (remembered from 06:00 UTC): 18 h · 100 %</b>" in row
    assert f"<b>{dates[-1]} up (today, to 08:00 UTC): 8 h · 100 %</b>" in row


def test_a_day_the_collector_did_not_run_is_a_gap_not_green(history: str) -> None:
    for env in DEMO_SCRIPT:
        (gap,) = GAP_DAYS
        word, figures = bar(history, env, gap)
        assert word == "gap"
        assert figures == "gap: the collector did not run"
        # a day it ran only from 18:00: what it saw, drawn half height, the rest a gap
        (part,) = PART_DAYS
        word, figures = bar(history, env, part)
        assert word.endswith(" part") and word != "up"
        assert "gap 18 h" in figures


def test_a_day_with_any_time_down_is_a_down_day_with_its_figures(history: str) -> None:
    word, figures = bar(history, "prod", 10)
    down = 50 * 60
    assert word == "down"
    assert figures == f"down: up 23 h 10 min, down 50 min · {floored(1 - down / DAY_S)}"
    word, figures = bar(history, "prod", 20)  # two hours degraded: available, amber
    assert (word, figures) == ("degraded", "degraded: up 22 h, degraded 2 h · 100 %")
    word, figures = bar(history, "test-2", 5)  # the incident last week
    assert (word, figures) == ("down", f"down: up 21 h, down 3 h · {floored(21 / 24)}")


def test_unknown_and_parked_time_are_shown_never_rated(history: str) -> None:
    word, figures = bar(history, "base", 3)
    assert (word, figures) == ("unknown", "unknown: up 23 h, unknown 1 h · 100 %")
    word, figures = bar(history, "test", 40)  # parked all day: nothing to rate
    assert (word, figures) == ("parked", "parked: 24 h")


def test_the_bars_are_said_in_words_below_them(history: str) -> None:
    counts = re.search(r'<p class="tally">(.*?)</p>', hist(history, "prod"))
    assert counts
    text = re.sub(r"<[^>]+>", " ", counts.group(1)).split()
    # 90 days: one down, one degraded, one gap, the rest up (the part day too)
    assert " ".join(text) == "87 days up 1 day degraded 1 day down 1 day gap"


@pytest.mark.parametrize(
    ("seconds", "word"),
    [
        ({"up": 86_340, "down": 60}, "down"),
        ({"up": 80_000, "degraded": 6_000, "down": 1}, "down"),
        ({"up": 86_000, "degraded": 400}, "degraded"),
        ({"up": 86_000, "unknown": 400}, "unknown"),
        ({"up": 3_600, "parked": 82_800}, "up"),
        ({"parked": 80_000, "maintenance": 6_400}, "parked"),
        ({"parked": 6_400, "maintenance": 80_000}, "maintenance"),
        ({"gap": 86_400}, "gap"),
        ({}, "gap"),
    ],
)
def test_what_a_day_is(seconds: dict[str, float], word: str) -> None:
    assert render.uptime.day_word(seconds) == word


def test_the_uptime_table_has_every_class_and_the_gap(history: str, remembered: Any) -> None:
    table = hist(history, "prod")
    heads = re.findall(r'<th scope="col">([a-z0-9 ]+)', table)
    assert heads == ["window", "available", *render.uptime.TIME_CLASSES]
    rows = re.findall(r"<tr><td>(.*?)</tr>", table)
    assert [re.sub(r"<[^>]+>.*", "", r).strip() for r in rows] == ["24 h", "7 d", "30 d", "90 d"]
    assert '90 d <span class="muted">over 89 days</span>' in rows[3]  # remembered from 06:00
    # the 90 days: one gap day and 18 hours of the part day, never up
    ninety = rows[3]
    assert '<td data-l="gap">1 d 18 h' in ninety
    assert '<td data-l="down">50 min' in ninety and '<td data-l="degraded">2 h' in ninety


# --------------------------------------------------------------------------- the page


def test_the_history_page_links_back_and_uses_only_the_board_assets(history: str) -> None:
    assert '<a href="index.html">' in history
    assert '<link rel="stylesheet" href="board.css">' in history
    assert re.findall(r"<script[^>]*>", history) == ['<script src="board.js" defer>']
    assert "style=" not in history and not re.search(r"<[^>]+\son\w+=", history)
    # not a visit of the board: board.js keeps "since your last visit" for the board only
    assert "data-fleet" not in history
    for env in DEMO_SCRIPT:
        assert f'<a href="index.html#env-{env}">{env}</a>' in history


def test_everything_on_the_history_page_is_escaped(remembered: dict[str, Any]) -> None:
    doc = copy.deepcopy(remembered)
    doc["fleet"]["name"] = XSS
    html = render.render_history(doc)
    assert XSS not in html
    assert str(escape(XSS)) in html


def test_an_old_snapshot_renders_both_pages_without_days_or_uptime() -> None:
    doc = document(demo_board())  # never remembered: no days, no uptime, no flap window
    assert all(e["days"] is None and e["uptime"] == [] for e in doc["environments"])
    old = copy.deepcopy(doc)
    for env in old["environments"]:
        del env["days"], env["uptime"]
    del old["collector"]["flap_passes"]
    for d in (doc, old):
        assert "history.html#h-" not in render.render_page(d)
        assert render.render_history(d).count("No days yet") == len(d["environments"])


def test_the_history_page_fits_its_budget_at_the_demo_and_100_environments(
    history: str,
) -> None:
    assert len(history.encode()) <= 64 * 1024
    script = {
        f"test-{i}": [(i % 90, "down", 3, 0.5), ((i * 7) % 90, "degraded", 10, 1)]
        for i in range(2, 100)
    }
    _, doc = ninety_days(big_board(100), script)
    html = render.render_history(doc)
    assert html.count('tabindex="0"><b>') == 100 * 90
    assert len(html.encode()) <= HISTORY_BUDGET_BYTES
    assert len(gzip.compress(html.encode())) <= 64 * 1024


def test_the_history_page_fits_its_worst_case_budget() -> None:
    _, doc = busy_days(big_board(100))
    html = render.render_history(doc)
    assert html.count('tabindex="0"><b>') == 100 * 90
    assert len(html.encode()) <= HISTORY_WORST_BUDGET_BYTES


def test_the_main_page_with_90_days_and_flapping_fits_its_budget() -> None:
    # 100 environments, each remembered 90 days, a flapping check on ten of them
    flapping = {f"test-{i}/worker:audit": 5 for i in range(2, 100, 10)}
    _, doc = ninety_days(big_board(100), {}, flapping=flapping)
    html = render.render_page(doc)
    assert len(html.encode()) <= PAGE_BUDGET_BYTES
    # 23 need a look (14 red or amber, and 9 green ones with a check flapping; test-42 is
    # stopped): the worst 16 have a card, each with its uptime line, and the rest are counted
    cards = re.findall(r'<article class="card ', html)
    assert html.count('title="source memory">') == len(cards) == render.grid.CARDS_SHOWN == 16
    assert "7 more environments need a look without a card here" in html
