"""The page as a reader meets it: what shows first, what is grey, what is escaped, what is
linked. Boards come through the real path (observations -> rules -> to_document -> validate),
so every page here is one the collector could publish (tests/boards.py)."""

from __future__ import annotations

import copy
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import jinja2
import pytest
from markupsafe import escape
from tests.boards import (
    EXPLORER,
    FAILS_AT,
    NOW,
    PROD_DEPLOYER,
    PROD_PAYMASTER,
    REPO,
    RPC_ERROR,
    TEST_DEPLOYER,
    XSS,
    ZONE,
    before_memory,
    big_board,
    blind_board,
    demo,
    demo_board,
    document,
    omni,
    remembered,
    remembered_big_board,
    remembered_demo_board,
)
from tests.html import card, parse

from fleetboard import memory, render, snapshot
from fleetboard.memory import Timeline
from fleetboard.model import Transition
from fleetboard.publish import LocalPublisher
from fleetboard.text import duration

PAGE_BUDGET_BYTES = 200 * 1024


def section(html: str, css_class: str) -> str:
    found = re.search(rf'<section class="{css_class}[^"]*"(.*?)</section>', html, re.S)
    assert found, f"no section {css_class}"
    return found.group(1)


@pytest.fixture(scope="module")
def demo_doc() -> dict[str, Any]:
    return document(demo_board())


@pytest.fixture(scope="module")
def demo_html(demo_doc: dict[str, Any]) -> str:
    return render.render_page(demo_doc)


@pytest.fixture(scope="module")
def hostile_html() -> str:
    return render.render_page(document(demo_board(hostile=True)))


@pytest.fixture(scope="module")
def ci_unknown_html() -> str:
    return render.render_page(document(demo_board(ci="unknown")))


# --------------------------------------------------------------------------- what shows first


def test_red_issue_is_in_the_summary_before_the_environment_cards(
    demo_doc: dict[str, Any], demo_html: str
) -> None:
    red = [i for i in demo_doc["summary"]["issues"] if i["status"] == "red"]
    assert red, "the demo board has a red issue"
    summary = section(demo_html, "summary")
    for issue in red:
        text = str(escape(issue["text"]))
        assert text in summary
        assert demo_html.index(text) < demo_html.index('<section class="environments"')


def test_summary_carries_status_word_message_and_next_action(
    demo_doc: dict[str, Any], demo_html: str
) -> None:
    summary = section(demo_html, "summary")
    assert '<span class="pill big red"' in summary
    assert ">red</span>" in summary
    assert str(escape(demo_doc["summary"]["message"])) in summary
    assert str(escape(demo_doc["summary"]["suggested_next_action"])) in summary
    # a next action's `command` reads as code: the blind board's names a file
    blind = section(render.render_page(blind_doc()), "summary")
    assert "<code>/etc/resolv.conf</code>" in blind


def test_issues_keep_the_snapshot_order_red_first(demo_html: str) -> None:
    summary = section(demo_html, "summary")
    words = re.findall(r'<li><span class="pill (\w+)">', summary)
    assert words == ["red"] * 4 + ["amber"] * 6
    # the rules are the source of every issue: said once, on the list
    assert '<ol class="issues" title="source rules · observed 2026-11-23 08:00:03 UTC">' in summary


def test_page_has_one_card_per_environment_in_order(
    demo_doc: dict[str, Any], demo_html: str
) -> None:
    ids = re.findall(r'<article class="card [^"]*" id="env-([^"]+)">', demo_html)
    assert ids == [e["name"] for e in demo_doc["environments"]]


# --------------------------------------------------------------------------- grey, not red


def test_stopped_environment_shows_stopped_not_its_health(demo_html: str) -> None:
    stopped = card(demo_html, "test-3")
    assert '<span class="pill stopped"' in stopped
    assert not re.search(r'class="pill (red|amber|unknown|green)"', stopped)


def test_stopped_environment_stays_grey_even_if_rated_red() -> None:
    doc = document(demo_board(ci="parked"))  # a run holds the stopped slot: red
    assert [
        (e["lifecycle"], e["status"]) for e in doc["environments"] if e["name"] == "test-3"
    ] == [("stopped", "red")]
    stopped = card(render.render_page(doc), "test-3")
    assert ">stopped</span>" in stopped
    assert ">red</span>" not in stopped


def test_optional_endpoint_that_fails_is_grey_optional(demo_html: str) -> None:
    slot1 = card(demo_html, "test")
    assert re.search(
        r'<span class="pill optional">optional</span> <span><span class="check">mcp', slot1
    )
    row = re.search(
        r"<tr class=\"optional\"[^>]*><td>(.*?)<td>test<td>mcp<td>test-mcp\.litentry\.org<td>(.*?)</tr>",
        demo_html,
    )
    assert row, "the optional check's row in the services table"
    assert row.group(1) == '<span class="pill optional">optional</span>'  # status first
    assert "optional: dns: NXDOMAIN" in row.group(2)


@pytest.mark.parametrize(
    ("lifecycle", "status", "optional", "word"),
    [
        ("running", "red", False, "red"),
        ("running", "red", True, "optional"),
        ("running", "green", True, "green"),
        ("running", "unknown", False, "unknown"),
        ("stopped", "red", False, "stopped"),
        ("retired", "unknown", False, "retired"),
        ("missing", "amber", True, "missing"),
        ("unknown", "red", False, "red"),
    ],
    ids=lambda v: str(v),
)
def test_check_word(lifecycle: str, status: str, optional: bool, word: str) -> None:
    env = {"lifecycle": lifecycle, "status": "red"}
    assert render.words.check_word({"status": status, "optional": optional}, env) == word


# ------------------------------------------------------------------ certificates, drift, footer


def test_cert_close_to_expiry_leads_the_certificate_table_and_its_card(demo_html: str) -> None:
    table = section(demo_html, 'detail" aria-labelledby="certs-h')
    first_row = re.search(r"<tbody>\s*<tr[^>]*>(.*?)</tr>", table, re.S)
    assert first_row
    assert "<td>signer-test.litentry.org<td>12<td>" in first_row.group(1)
    assert ">amber</span>" in first_row.group(1)
    assert '<strong class="days soon">12 days</strong>' in card(demo_html, "test")


@pytest.mark.parametrize(("days", "soon"), [(18, True), (25, False)], ids=["18d", "25d"])
def test_a_card_marks_its_soonest_certificate_by_the_rules_thresholds(
    days: int, soon: bool
) -> None:
    # Amber from tls_amber_days (20 by default), as the check says: the page keeps no
    # threshold of its own.
    seen = demo()
    seen.cert(f"signer-test.{ZONE}", days)
    html = render.render_page(document(seen.board()))
    marked = f'<strong class="days soon">{days} days</strong>' in card(html, "test")
    assert marked is soon
    assert f'<strong class="days">{days} days</strong>' in card(html, "test") or soon


def test_every_table_leads_with_its_status(demo_html: str) -> None:
    # The status column first, as the pill leads every list of the page: on a phone it is
    # what a row shows first (tests/browser checks it is on screen at 390 px).
    for heading in ("services-h", "certs-h", "ci-h", "drift-h"):
        table = section(demo_html, f'detail" aria-labelledby="{heading}')
        assert '<thead><tr><th scope="col">status<th' in table, heading
    # ... and every row's first cell is its word: a pill, or a run's state
    first_cells = re.findall(r'<tr[^>]*title="source [^"]*"><td>(.*?)<td>', demo_html)
    # the runs table names its source once, on the table
    runs_table = section(demo_html, 'detail" aria-labelledby="ci-h')
    assert '<table class="runs" title="source github · observed ' in runs_table
    first_cells += re.findall(r"<tr(?: class=\"red\")?><td>(.*?)<td>", runs_table)
    runs = [c for c in first_cells if c in ("in progress", "queued")]
    pills = [c for c in first_cells if re.fullmatch(r'<span class="pill (\w+)">\1</span>', c)]
    assert len(runs) == 3
    assert len(pills) + len(runs) == len(first_cells) > 10


def test_a_soon_expiring_certificate_says_so_in_words_on_its_card(demo_html: str) -> None:
    # the days are amber-coloured; the pill says amber, so the colour is never alone
    cert = re.search(r'<p class="cert"[^>]*>(.*?)</p>', card(demo_html, "test"), re.S)
    assert cert
    assert text_of(cert.group(1)) == (
        f"certificates: soonest expiry in 12 days amber · signer-test.{ZONE}"
    )
    calm = re.search(r'<p class="cert"[^>]*>(.*?)</p>', card(demo_html, "prod"), re.S)
    assert calm and "pill" not in calm.group(1)


def test_drift_table_has_environment_and_fleet_rows(demo_html: str) -> None:
    table = section(demo_html, 'detail" aria-labelledby="drift-h')
    assert "<td>test-2<td>worker_a_record<td>" in table
    assert "<td>fleet<td>undeclared_slot<td>" in table


def test_footer_names_each_source_and_its_error(demo_html: str, ci_unknown_html: str) -> None:
    footer = demo_html[demo_html.index('<footer class="foot"') :]
    for name in ("aws", "http", "tls", "github", "chain"):
        assert f"<strong>{name}</strong>" in footer
    assert "fleetboard 0.1.0" in footer
    failed = ci_unknown_html[ci_unknown_html.index('<footer class="foot"') :]
    assert '<strong>github</strong> <span class="pill red">error</span>' in failed
    assert "timeout: api.github.com did not answer in 3 s" in failed


# --------------------------------------------------------------------------- CI and deploys

HOLDER_URL = f"https://github.com/{REPO}/actions/runs/19433108775"


def text_of(html: str) -> str:
    """What a reader sees of some HTML: its text, cells and lines apart, whitespace collapsed."""
    spaced = re.sub(r"<(?=(td|th|dt|dd|li|br|tr|p)\b)", " <", html)
    return " ".join("".join(parse(spaced).text).split())


def ci_table(html: str) -> str:
    return section(html, 'detail" aria-labelledby="ci-h')


def test_slot_1_card_names_its_holder_run_and_pr_with_a_link(demo_html: str) -> None:
    slot1 = card(demo_html, "test")
    seen = text_of(slot1)
    assert "CI held by run #1287 · PR #411 broker: rotate the OIDC signing key on deploy" in seen
    assert "feat/x · mira-k · started 2026-11-23 07:44 UTC · job harness/v2-stage*-demo.sh" in seen
    assert f'<a href="{HOLDER_URL}" rel="noopener noreferrer">run #1287</a>' in slot1
    assert "1 waiting: run #1289 PR #415 (annotation)" in seen
    assert "(computed)" not in seen  # mapped by its marker step: no qualifier
    # the holder's title carries its source and the pass time
    assert re.search(r'<dt>CI<dd title="source github · observed 2026-11-23 08:00:03 UTC">', slot1)


def test_free_slots_say_free_and_other_environments_say_nothing_about_ci(demo_html: str) -> None:
    assert "CI free" in text_of(card(demo_html, "test-2"))
    assert "CI free" in text_of(card(demo_html, "test-3"))
    for env in ("prod", "base"):
        assert "<dt>CI" not in card(demo_html, env)


def test_a_computed_mapping_is_labelled_computed_in_the_card_and_the_queue() -> None:
    html = render.render_page(document(demo_board(ci="computed")))
    slot1 = card(html, "test")
    assert "held by run #1287 (computed) · PR #411" in text_of(slot1)
    assert re.search(r'<span class="guess" title="source github · [^"]*a guess', slot1)
    assert "1 waiting: run #1289 PR #415 (computed)" in text_of(card(html, "test-2"))
    rows = text_of(ci_table(html))
    assert "in progress #1287 harness-ci.yml 1 (computed) #411" in rows
    assert "queued #1289 harness-ci.yml 2 (computed) #415" in rows
    # and the summary says why
    summary = text_of(section(html, "summary"))
    assert "CI amber 2 in progress · 1 queued · GitHub API 87 of 5,000 left · 3 requests" in summary
    assert "below the rate floor of 100; their slots are computed from the PR number" in summary


def test_two_holders_on_one_slot_are_both_shown_as_a_problem() -> None:
    html = render.render_page(document(demo_board(ci="two-holders")))
    slot1 = card(html, "test")
    assert '<span class="badge clash">2 holders</span> <strong>should be one</strong>' in slot1
    seen = text_of(slot1)
    assert "run #1287 · PR #411" in seen
    assert "run #1288 · harness CI (no LLM) feat/y-nonce · dlee" in seen
    rows = re.findall(r'<tr class="red">(.*?)</tr>', ci_table(html))
    assert [text_of(row)[:44] for row in rows] == [
        "in progress #1287 harness-ci.yml 1 2 holders",
        "in progress #1288 harness-ci.yml 1 2 holders",
    ]
    summary = text_of(section(html, "summary"))
    assert "3 in progress · 1 queued" in summary
    assert "test ci red: run #1287 (PR #411) and run #1288 both hold slot 1" in summary


def test_summary_has_the_ci_line(demo_html: str) -> None:
    line = re.search(
        r'<p class="ci-line" title="source github · observed [^"]+">(.*?)</p>', demo_html
    )
    assert line
    assert text_of(line.group(1)) == (
        "CI 2 in progress · 1 queued · GitHub API 4,771 of 5,000 left · 6 requests, 4 answered 304"
    )
    assert demo_html.index('class="ci-line"') < demo_html.index('<section class="environments"')


def test_ci_not_configured_says_so_once_in_the_summary_and_the_queue() -> None:
    html = render.render_page(document(demo_board(ci="none")))
    assert "CI not configured" in text_of(section(html, "summary"))
    assert "CI not configured" in text_of(ci_table(html))
    assert "<dt>CI" not in html  # no card guesses
    # the deploy trail comes from AWS and stays
    assert "deployed feat/x by run 19433108775" in text_of(card(html, "test"))


def test_ci_unknown_shows_the_error_and_no_slot_is_called_free(ci_unknown_html: str) -> None:
    summary = text_of(section(ci_unknown_html, "summary"))
    assert "CI unknown: timeout: api.github.com did not answer in 3 s" in summary
    assert "CI unknown: timeout" in text_of(ci_table(ci_unknown_html))
    for env in ("test", "test-2", "test-3"):
        seen = text_of(card(ci_unknown_html, env))
        assert "CI unknown not read this pass" in seen
        assert "free" not in seen


def test_no_runs_in_flight_is_an_empty_state_not_an_empty_table() -> None:
    html = render.render_page(document(demo_board(ci="idle")))
    table = ci_table(html)
    assert "No runs in flight." in table
    assert "<table" not in table
    assert "CI 0 in progress · 0 queued" in text_of(section(html, "summary"))


def test_deploy_trail_on_every_card_that_has_one(demo_html: str) -> None:
    assert "deployed main by run 19398812440 at 2026-11-21 02:48 UTC — current: deployed main" in (
        text_of(card(demo_html, "prod"))
    )
    # nothing to compare, nothing to badge
    assert '<dt>deployed<dd><span class="why">no CI deploy on record</span>' in card(
        demo_html, "base"
    )
    # a deploy by a run in flight names it by number (its CI line links it)
    slot1 = card(demo_html, "test")
    assert "deployed feat/x by run #1287 at 2026-11-23 07:49 UTC unknown" in text_of(slot1)
    assert (
        '<span class="badge">unknown</span> <span class="why">— deployed branch feat/x, '
        "not comparable with main</span>"
    ) in slot1


def test_stale_badge_only_when_the_deploy_is_stale(
    demo_doc: dict[str, Any], demo_html: str
) -> None:
    for env in demo_doc["environments"]:
        html = card(demo_html, env["name"])
        stale = env["deploy"] is not None and env["deploy"]["stale"] is True
        assert ('<span class="badge stale">stale</span>' in html) is stale, env["name"]
        if env["deploy"] is not None and env["deploy"]["stale"] is False:
            assert "badge" not in html  # nothing alarming
    assert "stale — behind main: main has a newer commit (5e1f0c2) than this deploy" in text_of(
        card(demo_html, "test-2")
    )


def test_ci_queue_lists_every_run_in_flight(demo_doc: dict[str, Any], demo_html: str) -> None:
    table = ci_table(demo_html)
    assert '<table class="runs" title="source github · observed ' in table  # for every row
    rows = re.findall(r"<tr>(<td>.*?)</tr>", table, re.S)
    assert len(rows) == len(demo_doc["ci"]["runs"]) == 3
    assert text_of(rows[0]) == (
        "in progress #1287 harness-ci.yml 1 #411 broker: rotate the OIDC signing key on deploy "
        "feat/x mira-k 2026-11-23 07:44 UTC harness/v2-stage*-demo.sh on Heima mainnet "
        "(test deployer)"
    )
    assert text_of(rows[1]) == (
        "queued #1289 harness-ci.yml 1 (annotation) #415 workers: retry audit uploads on 503 "
        "fix/audit-retry dlee queued 2026-11-23 07:56 UTC"
    )
    assert text_of(rows[2]).startswith("in progress #1290 harness-ci.yml — Merge pull request")
    # placed with the other tables: after certificates, before drift
    order = [demo_html.index(f'aria-labelledby="{h}"') for h in ("certs-h", "ci-h", "drift-h")]
    assert order == sorted(order)


def test_script_in_a_run_title_note_and_deploy_text_is_escaped(hostile_html: str) -> None:
    escaped = str(escape(XSS))
    assert f"broker: {escaped}" in card(hostile_html, "test")
    assert f"<td>broker: {escaped}<td>" in ci_table(hostile_html)
    assert f"<li>annotation not read: {escaped}</li>" in section(hostile_html, "summary")
    assert f"deployed branch {escaped}" in card(hostile_html, "test-3")
    assert XSS not in hostile_html


def test_times_are_utc_time_elements_with_source_in_title(demo_html: str) -> None:
    assert (
        '<time datetime="2026-11-23T08:00:03Z" title="2026-11-23 08:00:03 UTC · source collector">'
        "2026-11-23 08:00 UTC</time>"
    ) in demo_html
    assert f'data-generated-at="{NOW:%Y-%m-%dT%H:%M:%SZ}"' in demo_html


def test_schedule_period_reaches_the_script(demo_doc: dict[str, Any]) -> None:
    doc = {**demo_doc, "collector": {**demo_doc["collector"], "period_s": 300}}
    html = render.render_page(doc)
    assert '<body data-period-s="300"' in html


def test_every_value_in_a_table_row_has_a_source_title(demo_html: str) -> None:
    # on the row, or once on its table when one source says every row
    tables = re.findall(
        r"<table class=\"[^\"]*\"( title=\"[^\"]*\")?>(.*?)</table>", demo_html, re.S
    )
    assert len(tables) >= 4
    for table_title, table in tables:
        rows = re.findall(r"<tr(?: class=\"[^\"]*\")?( title=\"[^\"]*\")?><td>", table)
        assert rows
        titles = [table_title] if table_title else rows
        assert all(title.startswith(' title="source ') for title in titles)


# --------------------------------------------------------------------------- chain identity


def wallets(html: str, env: str) -> list[str]:
    """What a reader sees of each wallet row of an environment's card."""
    part = re.search(r'<ul class="wallets">(.*?)</ul>', card(html, env), re.S)
    assert part, f"no wallets on {env}"
    return [text_of(li) for li in re.findall(r"<li[^>]*>(.*?)</li>", part.group(1), re.S)]


def test_summary_has_the_chain_line_after_the_ci_line(demo_html: str) -> None:
    line = re.search(
        r'<p class="chain-line" title="source chain · observed 2026-11-23 08:00:03 UTC">(.*?)</p>',
        demo_html,
    )
    assert line
    assert text_of(line.group(1)) == (
        "Chain green RPC reachable, chain 212013 as expected, block 4,812,331 9 s old · 1 request"
    )
    assert '<span class="pill green">green</span>' in line.group(1)  # the word, not a colour
    order = [demo_html.index(s) for s in ('class="ci-line"', 'class="chain-line"', "envs-h")]
    assert order == sorted(order)


def test_each_chain_in_use_has_its_own_line_named_by_the_chain() -> None:
    # base's wallet lives on a second chain, whose RPC answers HTTP 500
    html = render.render_page(document(demo_board(chain="networks")))
    summary = text_of(section(html, "summary"))
    assert "Chain heima green RPC reachable, chain 212013 as expected" in summary
    assert "Chain base unknown: HTTP 500" in summary
    assert 'title="source chain:base · observed' in html


def test_chain_not_configured_says_so_and_no_card_lists_wallets() -> None:
    doc = document(demo_board(chain="none"))
    assert doc["chain"] is None
    html = render.render_page(doc)
    summary = text_of(section(html, "summary"))
    assert "Chain not configured · no [chain] in fleet.toml" in summary
    assert "Wallets" not in html
    assert 'class="wallets"' not in html


def test_chain_unknown_shows_the_error_and_no_wallet_looks_funded() -> None:
    html = render.render_page(document(demo_board(chain="unknown")))
    assert f"Chain unknown: {RPC_ERROR}" in text_of(section(html, "summary"))
    rows = wallets(html, "test")
    assert rows == [
        f"unknown deployer unknown · nonce — {TEST_DEPLOYER} balance unknown: {RPC_ERROR}"
    ]
    for env in ("prod", "test", "test-2"):
        seen = card(html, env)
        assert not re.search(r'class="pill (green|red)"', seen.split('<div class="chain"')[1])
        assert f"master unknown: {RPC_ERROR}" in text_of(seen)
    footer = html[html.index('<footer class="foot"') :]
    assert '<strong>chain</strong> <span class="pill red">error</span>' in footer


def test_each_wallet_shows_role_balance_word_nonce_and_address(demo_html: str) -> None:
    # A board with no balance history yet: each runway says so (tests/unit/test_runway.py).
    assert wallets(demo_html, "prod") == [
        f"green deployer 12.5 HEI · nonce 4,812 · moved {PROD_DEPLOYER} not enough history",
        "green sponsor 3.2 HEI · nonce 977 · unchanged 0x3f1C7bD24a0e9A5b6E8c2D4F90a1B3c5d7E9f20A"
        " not enough history",
        f"red paymaster deposit 0.05 HEI {PROD_PAYMASTER} "
        "deposit 0.05 HEI, below the 0.2 HEI floor: top it up not enough history",
    ]
    assert wallets(demo_html, "test") == [
        f"red deployer 0.04 HEI · nonce 1,204 · moved {TEST_DEPLOYER} "
        "0.04 HEI, below the 1 HEI floor: fund it not enough history"
    ]
    # no previous snapshot to compare the nonce with: a dash, and the title says why
    (slot2,) = wallets(demo_html, "test-2")
    assert slot2.startswith("green deployer 2 HEI · nonce 88 · — 0xC32A69BE")
    assert '<span class="none" title="not compared: no previous snapshot">—</span>' in card(
        demo_html, "test-2"
    )
    # every row's title names its source and time, and carries the rule's sentence
    assert (
        '<li title="source chain · observed 2026-11-23 08:00:03 UTC · 12.5 HEI (floor 1 HEI)">'
        '<span class="pill green">green</span>'
    ) in card(demo_html, "prod")


def test_a_deposit_below_its_floor_is_red_in_words_and_in_the_issues(demo_html: str) -> None:
    prod = card(demo_html, "prod")
    row = re.search(r"<li[^>]*>(<span class=\"pill red\">red</span>.*?)</li>", prod, re.S)
    assert row
    assert "paymaster deposit" in row.group(1)
    assert '<span class="why">deposit 0.05 HEI, below the 0.2 HEI floor: top it up</span>' in (
        row.group(1)
    )
    summary = text_of(section(demo_html, "summary"))
    assert (
        f"prod wallet:paymaster-deposit red: {PROD_PAYMASTER} deposit 0.05 HEI, below the "
        "0.2 HEI floor: top it up"
    ) in summary


def test_wallet_address_is_in_full_and_links_to_the_explorer(demo_html: str) -> None:
    url = f"{EXPLORER}/address/{TEST_DEPLOYER}"
    assert (
        f'<a href="{url}" rel="noopener noreferrer" title="deployer on the chain explorer">'
        f"<code>{TEST_DEPLOYER}</code></a>"
    ) in card(demo_html, "test")


def test_master_line_says_registered_or_not_with_the_omni(demo_html: str) -> None:
    slot1 = card(demo_html, "test")
    line = re.search(
        r'<p class="master" title="source chain · observed [^"]+">(.*?)</p>', slot1, re.S
    )
    assert line
    assert line.group(1).startswith('<span class="pill amber">amber</span>')
    assert text_of(line.group(1)) == (
        "amber master registration operator master not registered (the registry answers the "
        f"zero address) omni {omni(TEST_DEPLOYER)}"
    )
    assert f'<code title="operator omni of the deployer">{omni(TEST_DEPLOYER)}</code>' in slot1
    prod = text_of(card(demo_html, "prod"))
    assert "green master registration operator master registered: 0x6a1f3c5e" in prod
    assert f"omni {omni(PROD_DEPLOYER)}" in prod


def test_environments_without_a_chain_identity_show_no_wallets(demo_html: str) -> None:
    for env in ("base", "test-3"):
        assert "Wallets" not in card(demo_html, env)
    assert "Wallets 3" in text_of(card(demo_html, "prod"))


def test_script_in_a_wallet_reason_and_master_line_is_escaped(hostile_html: str) -> None:
    escaped = str(escape(XSS))
    slot2 = card(hostile_html, "test-2")
    assert f'<span class="why">balance unknown: {escaped}</span>' in slot2
    assert f'<span class="why">master unknown: {escaped}</span>' in slot2
    assert "javascript:" not in hostile_html
    assert XSS not in hostile_html


@pytest.mark.parametrize(
    ("url", "linked"),
    [
        (f"{EXPLORER}/address/{TEST_DEPLOYER}", True),
        (f"{EXPLORER}/address/{TEST_DEPLOYER.lower()}", True),
        (f"https://explorer.example:8443/heima/address/{TEST_DEPLOYER}", True),
        (f"{EXPLORER}/address/{PROD_DEPLOYER}", False),  # another address's page
        (f"http://explorer.heima.network/address/{TEST_DEPLOYER}", False),
        (f"//explorer.heima.network/address/{TEST_DEPLOYER}", False),
        (f"{EXPLORER}/address/{TEST_DEPLOYER}#x", False),
        (f"{EXPLORER}/address/{TEST_DEPLOYER}?tab=txs", False),
        (f'{EXPLORER}/"onmouseover="x/address/{TEST_DEPLOYER}', False),
        (f"javascript:alert(1)//address/{TEST_DEPLOYER}", False),
        (None, False),
        ("", False),
    ],
)
def test_a_wallet_url_that_is_not_its_explorer_page_is_not_linked(
    url: str | None, linked: bool
) -> None:
    found = render.chain.explorer_url({"url": url, "address": TEST_DEPLOYER})
    assert (found == url) if linked else found is None


# --------------------------------------------------------------------------- safety


def test_script_in_issue_text_and_check_summary_is_escaped(hostile_html: str) -> None:
    assert XSS not in hostile_html
    escaped = str(escape(XSS))
    # in a red issue's text (the summary) and in its check's summary (the services table)
    said = f"but the body is &#39;{escaped}&#39;, not ok"
    assert re.search(
        r"test-2 worker:email red: [^<]*" + re.escape(said), section(hostile_html, "summary")
    )
    assert re.search(r"<td>body: not ok<td>[^<]*" + re.escape(said), hostile_html)
    assert hostile_html.count(escaped) >= 3
    text = "".join(parse(hostile_html).text)
    assert text.count(XSS) >= 3  # and it reads back as the literal text


@pytest.mark.parametrize(
    ("text", "html"),
    [
        ("run `make demo` now", "run <code>make demo</code> now"),
        (f"`{XSS}`", f"<code>{escape(XSS)}</code>"),
        (f"odd ` {XSS}", f"odd ` {escape(XSS)}"),
        ("", ""),
    ],
    ids=["command", "script-in-code", "unpaired-backtick", "empty"],
)
def test_next_action_code_spans_are_escaped(text: str, html: str) -> None:
    assert str(render.formats.code_spans(text)) == html


def test_only_script_is_board_js(hostile_html: str) -> None:
    scripts = [attrs for tag, attrs in parse(hostile_html).tags if tag == "script"]
    assert scripts == [{"src": "board.js", "defer": None}]
    assert hostile_html.count("<script") == 1


def test_no_inline_style_or_event_handler(hostile_html: str) -> None:
    tags = parse(hostile_html).tags
    assert "style" not in {tag for tag, _ in tags}
    for tag, attrs in tags:
        assert "style" not in attrs, tag
        assert not [a for a in attrs if a.startswith("on")], (tag, attrs)


#: Attributes that make a browser fetch or navigate to a URL.
URL_ATTRIBUTES = (
    "src",
    "href",
    "srcset",
    "action",
    "formaction",
    "poster",
    "data",
    "background",
    "manifest",
    "xlink:href",
)
#: The only external URLs the page may carry: plain links to a GitHub Actions run page and to
#: an address on the chain explorer.
GITHUB_RUN = re.compile(r"https://github\.com/[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+/actions/runs/\d+")
EXPLORER_ADDRESS = re.compile(re.escape(EXPLORER) + r"/address/0x[0-9a-fA-F]{40}")


@pytest.mark.parametrize("variant", ["demo", "hostile"])
def test_nothing_leaves_the_page_origin_but_links_to_github_runs_and_the_explorer(
    variant: str, demo_html: str, hostile_html: str
) -> None:
    html = demo_html if variant == "demo" else hostile_html
    scheme = re.compile(r"^\s*([a-z][a-z0-9+.-]*:|//)", re.I)
    runs, addresses = [], []
    for tag, attrs in parse(html).tags:
        assert "ping" not in attrs, tag  # a click on a link must not report anywhere either
        for name in URL_ATTRIBUTES:
            value = attrs.get(name)
            if value is None:
                continue
            if tag == "link" and attrs.get("rel") == "icon":
                assert value == "data:,"  # stops the favicon request
                continue
            if tag == "a" and name == "href" and GITHUB_RUN.fullmatch(value):
                # a link the operator clicks, not a resource; it takes no referrer or opener
                assert attrs.get("rel") == "noopener noreferrer", attrs
                runs.append(value)
                continue
            if tag == "a" and name == "href" and EXPLORER_ADDRESS.fullmatch(value):
                assert attrs.get("rel") == "noopener noreferrer", attrs
                addresses.append(value)
                continue
            assert not scheme.match(value), f"<{tag} {name}={value!r}>"
    assert f"https://github.com/{REPO}/actions/runs/19433108775" in runs
    assert f"{EXPLORER}/address/{PROD_DEPLOYER}" in addresses
    links = {attrs.get("href") for tag, attrs in parse(html).tags if tag == "link"}
    assert links == {"data:,", "board.css", "feed.xml"}  # the Atom feed, same origin


def test_a_run_url_that_is_not_a_github_run_page_is_not_linked(hostile_html: str) -> None:
    assert "javascript:" not in hostile_html
    assert '<span class="nolink">run #1289</span>' in card(hostile_html, "test")
    for url, linked in [
        (f"https://github.com/{REPO}/actions/runs/19433108775", True),
        (f"https://github.com/{REPO}/actions/runs/1", False),  # another run's page
        (f"http://github.com/{REPO}/actions/runs/19433108775", False),
        (f"https://github.com.evil.example/{REPO}/actions/runs/19433108775", False),
        (f"https://github.com/{REPO}/actions/runs/19433108775/../../../../x", False),
        (f"https://github.com/{REPO}/actions/runs/19433108775#x", False),
        ("//github.com/litentry/agentKeys/actions/runs/19433108775", False),
    ]:
        found = render.ci.run_url({"url": url, "run_id": 19433108775})
        assert (found == url) if linked else found is None, url


def test_static_assets_are_the_css_and_script_the_page_links() -> None:
    assets = render.static_assets()
    assert set(assets) == {"board.css", "board.js", "not-found.html"}
    for name, body in assets.items():
        text = body.decode()
        assert text.strip(), name
        assert "http://" not in text and "https://" not in text, name
        assert "@import" not in text and "url(" not in text, name


# --------------------------------------------------------------------------- contract


@pytest.mark.parametrize(
    "path",
    [
        ("summary", "suggested_next_action"),
        ("summary", "blind"),
        ("fleet", "zone"),
        ("collector", "version"),
        ("environments", 1, "machine", "eip_tag"),
        ("environments", 0, "checks", 1, "latency_ms"),
        ("environments", 3, "drift", 0, "text"),
        ("ci", "rate_remaining"),
        ("ci", "runs", 0, "mapped_by"),
        ("environments", 2, "ci", "queued"),
        ("environments", 2, "ci", "holders", 0, "job"),
        ("environments", 3, "deploy", "stale"),
        ("chain", "text"),
        ("chain", "requests"),
        ("environments", 0, "chain", "master_text"),
        ("environments", 0, "chain", "omni"),
        ("environments", 0, "chain", "wallets", 0, "nonce_moved"),
        ("environments", 0, "chain", "wallets", 0, "url"),
        ("environments", 0, "chain", "wallets", 2, "balance"),
    ],
    ids=lambda p: ".".join(map(str, p)),
)
def test_missing_key_fails_the_render(demo_doc: dict[str, Any], path: tuple[Any, ...]) -> None:
    doc = copy.deepcopy(demo_doc)
    parent: Any = doc
    for key in path[:-1]:
        parent = parent[key]
    del parent[path[-1]]
    with pytest.raises(jinja2.UndefinedError):
        render.render_page(doc)


def test_quiet_fleet_says_so() -> None:
    board = big_board(3)
    html = render.render_page(document(board))
    assert "No issues." in html
    assert "No drift" in html
    assert '<span class="pill big green"' in html


# ------------------------------------------------------- one account: cards count issues


def test_each_card_counts_exactly_the_issues_the_summary_lists_for_it(
    demo_doc: dict[str, Any], demo_html: str
) -> None:
    for env in demo_doc["environments"]:
        tally = re.search(r'<p class="tally"[^>]*>(.*?)</p>', card(demo_html, env["name"]), re.S)
        assert tally
        shown = {
            word: int(n)
            for n, word in re.findall(
                r'<span class="count (?:red|amber|unknown)">(\d+) (\w+)<', tally.group(1)
            )
        }
        listed: dict[str, int] = {}
        for issue in demo_doc["summary"]["issues"]:
            if issue["env"] == env["name"]:
                listed[issue["status"]] = listed.get(issue["status"], 0) + 1
        assert shown == listed, env["name"]


def test_prod_with_a_red_deposit_is_red_on_its_card_not_green(demo_html: str) -> None:
    prod = card(demo_html, "prod")
    assert '<span class="pill red"' in prod.split("</header>")[0]
    assert '<span class="count red">1 red</span>' in prod


# --------------------------------------------------------------------------- a blind collector


def blind_doc(why: str = "Temporary failure in name resolution") -> dict[str, Any]:
    """The demo fleet as a collector with no DNS and no credentials sees it."""
    return document(blind_board(why))


def test_a_blind_collector_is_a_banner_above_the_summary() -> None:
    html = render.render_page(blind_doc())
    banner = re.search(
        r'<div id="blind" class="banner unknown" role="alert"[^>]*>(.*?)</div>', html
    )
    assert banner, "the blind banner"
    assert "The collector cannot see the fleet." in banner.group(1)
    assert "The collector has no DNS: every name lookup failed" in banner.group(1)
    assert html.index('id="blind"') < html.index('<section class="summary')
    summary = section(html, "summary")
    assert '<span class="pill big unknown"' in summary
    first = re.search(r'<ol class="issues"[^>]*>\s*<li>(.*?)</li>', summary, re.S)
    assert first and "fleet collector unknown" in first.group(1)


def test_a_blind_collector_never_says_running_for_an_unknown_lifecycle() -> None:
    html = render.render_page(blind_doc())
    for name in ("prod", "base", "test", "test-2"):
        meta = re.search(r'<p class="meta"[^>]*>(.*?)</p>', card(html, name), re.S)
        assert meta and "lifecycle unknown" in meta.group(1)
        assert "running" not in meta.group(1)
        assert '<span class="pill unknown"' in card(html, name)
        # AWS not read: the machine is unknown, not "none", and no EIP drift is claimed
        assert '<dt>instance<dd><span class="none">unknown</span>' in card(html, name)
        assert "≠ declared" not in card(html, name)
    assert "running" not in section(html, "summary").split("<h2")[0]


def test_the_blind_cause_is_escaped() -> None:
    html = render.render_page(blind_doc(f"no resolver ({XSS})"))
    assert XSS not in html
    banner = re.search(r'<div id="blind"[^>]*>(.*?)</div>', html)
    assert banner and str(escape(XSS)) in banner.group(1)


def test_no_banner_when_the_collector_can_see(demo_doc: dict[str, Any], demo_html: str) -> None:
    assert demo_doc["summary"]["blind"] is None
    assert 'id="blind"' not in demo_html


# --------------------------------------------------------------------------- size


def test_hundred_environments_fit_the_page_budget_and_fold_green_rows() -> None:
    doc = document(big_board(100))
    html = render.render_page(doc)
    assert len(html.encode()) <= PAGE_BUDGET_BYTES
    # every check that is not green or parked still has its own row
    for env in doc["environments"]:
        for check in env["checks"]:
            if check["kind"] == "http" and check["status"] == "red":
                assert f"<td>{env['name']}<td>{check['name']}<td>{check['host']}<td>" in html
    assert "folded into one line, naming their environments" in html
    # the environments whose green checks are folded are named in the folded line
    running = [e["name"] for e in doc["environments"] if e["lifecycle"] == "running"]
    folded = re.search(
        r'<tr class="fold green"[^>]*><td><span class="pill green">green</span>'
        r'<td>(\d+) envs<td colspan="2">(.*?)<td>',
        html,
    )
    assert folded
    assert int(folded.group(1)) == len(running)
    assert folded.group(2).endswith(" checks on " + ", ".join(running))


def test_hundred_environments_with_a_bad_day_of_memory_fit_the_page_budget() -> None:
    # The memory began three days ago; every failure of the big board began two hours ago.
    board = remembered_big_board(100)
    assert 20 < len(board.recent) < render.since.RECENT_SHOWN + render.since.RECENT_FOLDED
    html = render.render_page(document(board))
    assert len(html.encode()) <= PAGE_BUDGET_BYTES
    headers = re.findall(r"<header>.*?</header>", html)
    assert len(headers) == 14  # a card for each environment that is red or amber
    assert all("<small" in h for h in headers)  # every card says how long
    assert text_of(card(html, "test-17")).startswith("test-17 red for 2 h ")
    changes = section(html, "recent")
    assert changes.count("<li data-t=") == len(board.recent)


def test_hundred_environments_remembered_once_fit_the_page_budget() -> None:
    board, _ = memory.remember(None, big_board(100))
    html = render.render_page(document(board))
    assert len(html.encode()) <= PAGE_BUDGET_BYTES
    # the memory begins at this pass: it knows no since yet, and says so once
    assert "No changes since 08:00 UTC, when the board&#39;s memory begins." in html


def test_a_storm_of_changes_is_listed_only_to_the_fold() -> None:
    """A transition on every check of 100 environments in one pass: the page lists the
    newest RECENT_SHOWN, folds RECENT_FOLDED more, and counts the rest (latest.json has
    every one)."""
    storm = tuple(
        Transition(NOW - timedelta(minutes=i), f"test-{i}", "worker:audit", "green", "red", "x")
        for i in range(150)
    )
    start = Timeline(began=NOW - timedelta(days=3), recent=storm)
    board, _ = memory.remember(start, big_board(100))
    html = render.render_page(document(board))
    changes = section(html, "recent")
    assert changes.count("<li data-t=") == render.since.RECENT_SHOWN + render.since.RECENT_FOLDED
    assert "<summary>and 130 earlier changes</summary>" in changes
    assert "and 100 more: <code>latest.json</code> lists every change of the day." in changes


def test_small_fleet_lists_every_http_check(demo_doc: dict[str, Any], demo_html: str) -> None:
    http = [c for e in demo_doc["environments"] for c in e["checks"] if c["kind"] == "http"]
    table = section(demo_html, 'detail" aria-labelledby="services-h')
    assert table.count("<tr") - 1 == len(http)  # minus the header row
    assert "folded" not in table


# --------------------------------------------------------------------------- since when


@pytest.fixture(scope="module")
def remembered_html() -> str:
    """The demo after 64 minutes of memory: audit-test-2 red since 07:46, test stopped since
    07:51, the rest as it was when the memory began (06:56)."""
    return render.render_page(document(remembered_demo_board()))


def header(html: str, env: str) -> str:
    found = re.search(r"<header>(.*?)</header>", card(html, env), re.S)
    assert found, f"no header for {env}"
    return found.group(1)


def test_an_environment_says_how_long_it_has_shown_its_word(remembered_html: str) -> None:
    assert text_of(header(remembered_html, "test")) == "test stopped for 9 min"
    assert '<small title="since 2026-11-23 07:51 UTC">for 9 min</small>' in header(
        remembered_html, "test"
    )
    # a failing check says how long it has failed, after its name
    failing = re.search(r'<ul class="failing">(.*?)</ul>', card(remembered_html, "test-2"), re.S)
    assert failing
    assert (
        'worker:audit</span> <small title="since 2026-11-23 07:46 UTC">for 14 min</small> '
        '<span class="why">HTTP 502 in 41 ms</span>'
    ) in failing.group(1)


def test_an_issue_says_since_when(remembered_html: str) -> None:
    summary = text_of(section(remembered_html, "summary"))
    assert (
        "test-2 worker:audit red: audit-test-2.litentry.org HTTP 502 in 41 ms "
        "· since 07:46 UTC (14 min)"
    ) in summary
    stopped = "holds slot 1, which is stopped: its deploy and tests will fail"
    assert f"{stopped} · since 07:51 UTC (9 min)" in summary


def test_what_was_so_when_the_memory_began_is_so_for_at_least(remembered_html: str) -> None:
    # the fleet, prod and its deposit issue have been red since the memory's first pass
    h1 = re.search(r"<h1[^>]*>(.*?)</h1>", remembered_html, re.S)
    assert h1 and text_of(h1.group(1)).startswith("red for at least 1 h 4 min ")
    assert text_of(header(remembered_html, "prod")) == "prod red for at least 1 h 4 min"
    assert text_of(header(remembered_html, "base")) == "base green for at least 1 h 4 min"
    assert "<small>for at least 1 h 4 min</small>" in header(remembered_html, "prod")
    assert "below the 0.2 HEI floor: top it up · for at least 1 h 4 min" in text_of(
        section(remembered_html, "summary")
    )
    # ... and when that was is said once: in the footer, and in recent changes' heading
    foot = re.search(r"<footer.*?</footer>", remembered_html, re.S)
    assert foot and "remembers since 2026-11-23 06:56 UTC" in text_of(foot.group(0))
    assert '<time datetime="2026-11-23T06:56:03Z"' in foot.group(0)
    assert "since 06:56 UTC, when the board&#39;s memory begins" in section(
        remembered_html, "recent"
    )


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "under 1 min"),
        (59, "under 1 min"),
        (14 * 60 + 59, "14 min"),
        (3600, "1 h"),
        (64 * 60, "1 h 4 min"),
        (24 * 3600 - 1, "23 h 59 min"),
        (24 * 3600, "1 day"),
        (27 * 3600 + 59 * 60, "1 day 3 h"),
        (6 * 86400 + 23 * 3600, "6 days"),
        (-30, "under 1 min"),  # a since after the pass (a skewed clock) is not negative
    ],
)
def test_durations_are_floored_and_short(seconds: int, text: str) -> None:
    assert duration(timedelta(seconds=seconds)) == text


def test_a_since_on_another_day_says_its_date() -> None:
    board = remembered_demo_board(NOW + timedelta(days=2))
    html = render.render_page(document(board))
    assert text_of(header(html, "test")) == "test stopped for 2 days"
    assert "· since 2026-11-23 07:46 UTC (2 days)" in text_of(section(html, "summary"))
    assert text_of(header(html, "base")) == "base green for at least 2 days"


def test_recent_changes_are_under_the_summary_newest_first(remembered_html: str) -> None:
    summary_at = remembered_html.index('<section class="summary')
    recent_at = remembered_html.index('<section class="recent"')
    assert summary_at < recent_at < remembered_html.index('<section class="environments"')
    recent = section(remembered_html, "recent")
    assert text_of(recent.split("</h2>")[0]).endswith(
        "Recent changes 2 · since 06:56 UTC, when the board's memory begins"
    )
    lines = [text_of(li) for li in re.findall(r"<li data-t=\"[^\"]+\">(.*?)</li>", recent, re.S)]
    assert lines == [
        "07:51 UTC test red → stopped · 9 min ago · test is stopped",
        "07:46 UTC test-2 worker:audit green → red · 14 min ago · HTTP 502 in 41 ms",
    ]
    # each line carries its time for board.js (the lines since the viewer's last visit)
    times = [int(t) for t in re.findall(r'<li data-t="(\d+)">', recent)]
    assert times == [int(FAILS_AT.timestamp()) + 300, int(FAILS_AT.timestamp())]
    assert 'data-fleet="agentkeys"' in remembered_html
    # the new word is a pill, linked to its card by the environment's name
    audit = '<a href="#env-test-2">test-2</a> <b>worker:audit</b> green → <span class="pill red">'
    assert audit in recent
    assert "<details" not in recent  # nothing to fold


def test_a_script_in_a_reason_is_escaped_in_recent_changes() -> None:
    html = render.render_page(document(remembered_demo_board(hostile=True)))
    assert XSS not in html
    recent = section(html, "recent")
    email = re.search(r"<li data-t=(?:(?!</li>).)*<b>worker:email</b>.*?</li>", recent, re.S)
    assert email, "the email worker's change"
    assert str(escape(XSS)) in email.group(0)
    assert f"green → red · 14 min ago · HTTP 200 in 68 ms but the body is '{XSS}', not ok" in (
        text_of(email.group(0))
    )
    tags = parse(html).tags
    assert [a for t, a in tags if t == "script"] == [{"src": "board.js", "defer": None}]


def test_more_than_a_screen_of_changes_folds_into_one_line() -> None:
    flood = tuple(
        Transition(
            NOW - timedelta(hours=2, minutes=i), "test-2", "worker:email", "red", "green", XSS
        )
        for i in range(60)
    )
    start = Timeline(began=NOW - timedelta(days=3), recent=flood)
    html = render.render_page(document(remembered_demo_board(start=start)))
    recent = section(html, "recent")
    assert text_of(recent.split("</h2>")[0]).endswith("Recent changes 62 · last 24 h")
    shown, folded = recent.split("<details>")
    assert shown.count("<li data-t=") == render.since.RECENT_SHOWN
    assert "<summary>and 42 earlier changes</summary>" in folded
    assert f'<ol class="changes" start="{render.since.RECENT_SHOWN + 1}"' in folded
    assert folded.count("<li data-t=") == render.since.RECENT_FOLDED
    assert "and 12 more: <code>latest.json</code> lists every change of the day." in folded
    assert XSS not in html


def test_a_memory_reset_is_one_line_under_the_summary(tmp_path: Path) -> None:
    # The last board was published; the timeline beside it is gone: the pass rebuilds.
    before = remembered_demo_board(NOW - timedelta(minutes=30))
    (tmp_path / "latest.json").write_bytes(snapshot.dumps(document(before)))
    store = LocalPublisher(tmp_path)
    loaded = memory.load(store, lambda: (tmp_path / "latest.json").read_bytes(), NOW)
    assert loaded is not None and loaded.reset
    board, _ = remembered(demo(NOW).board(), start=loaded)
    html = render.render_page(document(board))
    recent = section(html, "recent")
    reset = re.search(r'<p class="reset"[^>]*>(.*?)</p>', recent, re.S)
    assert reset
    assert reset.group(1).startswith("History reset at 2026-11-23 08:00 UTC: ")
    assert "no saved timeline was found" in reset.group(1)
    assert html.count('class="reset"') == 1
    # since-times come from the last board: the fleet has been red since it began
    assert text_of(header(html, "prod")).startswith("prod red for at least ")


def test_an_old_snapshot_renders_without_since_or_recent_changes() -> None:
    doc = before_memory(document(remembered_demo_board()))
    assert snapshot.problems(doc) == []
    for old in (doc, document(demo_board())):  # keys absent; keys null (no memory applied)
        html = render.render_page(old)
        assert "<small" not in html
        assert '<section class="recent"' not in html
        assert "remembers since" not in html
        assert " for " not in text_of(header(html, "prod"))
