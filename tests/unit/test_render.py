"""The page as a reader meets it: what shows first, what is grey, what is escaped, what is
linked. Snapshots come through the real path (model -> to_document -> validate)."""

from __future__ import annotations

import copy
import re
from dataclasses import replace
from html.parser import HTMLParser
from typing import Any

import jinja2
import pytest
from markupsafe import escape
from tests.boards import NOW, XSS, big_board, demo_board, document

from fleetboard import render
from fleetboard.model import Status

PAGE_BUDGET_BYTES = 200 * 1024


class Tags(HTMLParser):
    """Every start tag of a page with its attributes, and the text outside tags."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(html: str) -> Tags:
    tags = Tags()
    tags.feed(html)
    tags.close()
    return tags


def card(html: str, env: str) -> str:
    """The HTML of one environment card."""
    found = re.search(
        rf'<article class="card [^"]*" id="env-{re.escape(env)}">(.*?)</article>', html, re.S
    )
    assert found, f"no card for {env}"
    return found.group(1)


def section(html: str, css_class: str) -> str:
    found = re.search(rf'<section class="{css_class}[^"]*"(.*?)</section>', html, re.S)
    assert found, f"no section {css_class}"
    return found.group(1)


@pytest.fixture(scope="module")
def demo_doc() -> dict[str, Any]:
    return document(demo_board())


@pytest.fixture(scope="module")
def demo_html(demo_doc: dict[str, Any]) -> str:
    return render.render_page(demo_doc, period_s=60)


@pytest.fixture(scope="module")
def hostile_html() -> str:
    return render.render_page(document(demo_board(hostile=True)))


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
    # the next action's `command` reads as code
    assert "<code>systemctl status agentkeys-worker-audit</code>" in summary


def test_issues_keep_the_snapshot_order_red_first(demo_html: str) -> None:
    summary = section(demo_html, "summary")
    words = re.findall(r'<li title="[^"]*"><span class="pill (\w+)">', summary)
    assert words == ["red", "amber", "amber", "amber", "amber"]


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
    board = demo_board()
    envs = list(board.environments)
    envs[4] = replace(envs[4], status=Status.RED)
    html = render.render_page(document(replace(board, environments=tuple(envs))))
    stopped = card(html, "test-3")
    assert ">stopped</span>" in stopped
    assert ">red</span>" not in stopped


def test_optional_endpoint_that_fails_is_grey_optional(demo_html: str) -> None:
    slot1 = card(demo_html, "test")
    assert re.search(
        r'<span class="pill optional">optional</span> <span><span class="check">mcp', slot1
    )
    row = re.search(
        r"<tr class=\"optional\"[^>]*><td>test<td>mcp<td>test-mcp\.litentry\.org<td>(.*?)</tr>",
        demo_html,
    )
    assert row, "the optional check's row in the services table"
    assert ">optional</span>" in row.group(1)
    assert "dns NXDOMAIN" in row.group(1)


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
    assert render.check_word({"status": status, "optional": optional}, env) == word


# ------------------------------------------------------------------ certificates, drift, footer


def test_cert_close_to_expiry_leads_the_certificate_table_and_its_card(demo_html: str) -> None:
    table = section(demo_html, 'detail" aria-labelledby="certs-h')
    first_row = re.search(r"<tbody>\s*<tr[^>]*>(.*?)</tr>", table, re.S)
    assert first_row
    assert "<td>signer-test.litentry.org<td>5<td>" in first_row.group(1)
    assert ">amber</span>" in first_row.group(1)
    assert '<strong class="days soon">5 days</strong>' in card(demo_html, "test")


def test_drift_table_has_environment_and_fleet_rows(demo_html: str) -> None:
    table = section(demo_html, 'detail" aria-labelledby="drift-h')
    assert "<td>test-2<td>worker_a_record<td>" in table
    assert "<td>fleet<td>undeclared_slot<td>" in table


def test_footer_names_each_source_and_its_error(demo_html: str) -> None:
    footer = demo_html[demo_html.index('<footer class="foot"') :]
    for name in ("aws", "http", "tls", "github"):
        assert f"<strong>{name}</strong>" in footer
    assert "timeout: api.github.com did not answer in 3 s" in footer
    assert "fleetboard 0.1.0" in footer


def test_times_are_utc_time_elements_with_source_in_title(demo_html: str) -> None:
    assert (
        '<time datetime="2026-11-23T08:00:03Z" title="2026-11-23 08:00:03 UTC · source collector">'
        "2026-11-23 08:00 UTC</time>"
    ) in demo_html
    assert f'data-generated-at="{NOW:%Y-%m-%dT%H:%M:%SZ}"' in demo_html


def test_schedule_period_reaches_the_script(demo_doc: dict[str, Any]) -> None:
    html = render.render_page(demo_doc, period_s=300)
    assert '<body data-period-s="300"' in html


def test_every_value_in_a_table_row_has_a_source_title(demo_html: str) -> None:
    rows = re.findall(r"<tr(?: class=\"[^\"]*\")?( title=\"[^\"]*\")?><td>", demo_html)
    assert rows
    assert all(title.startswith(' title="source ') for title in rows)


# --------------------------------------------------------------------------- safety


def test_script_in_issue_summary_and_host_is_escaped(hostile_html: str) -> None:
    assert XSS not in hostile_html
    escaped = str(escape(XSS))
    assert hostile_html.count(escaped) >= 3  # issue text, check summary, host name
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
    assert str(render.code_spans(text)) == html


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


def test_no_link_leaves_the_page_origin(hostile_html: str) -> None:
    scheme = re.compile(r"^\s*([a-z][a-z0-9+.-]*:|//)", re.I)
    for tag, attrs in parse(hostile_html).tags:
        for name in ("src", "href", "action", "srcset", "poster", "data"):
            value = attrs.get(name)
            if value is None:
                continue
            if tag == "link" and attrs.get("rel") == "icon":
                assert value == "data:,"  # stops the favicon request
                continue
            assert not scheme.match(value), f"<{tag} {name}={value!r}>"
    links = {attrs.get("href") for tag, attrs in parse(hostile_html).tags if tag == "link"}
    assert links == {"data:,", "board.css"}


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
        ("fleet", "zone"),
        ("collector", "version"),
        ("environments", 1, "machine", "eip_tag"),
        ("environments", 0, "checks", 1, "latency_ms"),
        ("environments", 3, "drift", 0, "text"),
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


# --------------------------------------------------------------------------- size


def test_hundred_environments_fit_the_page_budget_and_fold_green_rows() -> None:
    doc = document(big_board(100))
    html = render.render_page(doc)
    assert len(html.encode()) <= PAGE_BUDGET_BYTES
    assert len(re.findall(r"<article class=\"card ", html)) == 100
    # every check that is not green or parked still has its own row
    for env in doc["environments"]:
        for check in env["checks"]:
            if check["kind"] == "http" and check["status"] == "red":
                assert f"<td>{env['name']}<td>{check['name']}<td>{check['host']}<td>" in html
    assert "folded into one line per environment" in html


def test_small_fleet_lists_every_http_check(demo_doc: dict[str, Any], demo_html: str) -> None:
    http = [c for e in demo_doc["environments"] for c in e["checks"] if c["kind"] == "http"]
    table = section(demo_html, 'detail" aria-labelledby="services-h')
    assert table.count("<tr") - 1 == len(http)  # minus the header row
    assert "folded" not in table
