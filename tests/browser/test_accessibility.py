"""The page for everyone: axe-core finds nothing serious in it, a status is never told by
colour alone, and on a phone every table shows its status without sideways scrolling.

axe-core (package.json, installed by scripts/lib/setup.sh: ensure_node_tools) is put into
the served page with `page.evaluate(<axe.min.js>)`: DevTools' evaluation is not bound by
the page's Content-Security-Policy, so the page is checked under its real CSP (no
`bypass_csp`, no script tag, which the CSP would refuse)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from tests.boards import NOW

from fleetboard import render

from .conftest import LATER, OpenPage

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}
#: The impacts the issue forbids (axe's scale: minor, moderate, serious, critical).
FORBIDDEN = ("serious", "critical")


def axe_violations(page: Page, axe_source: str) -> list[dict[str, Any]]:
    """axe-core's violations on the page as it is now, every rule axe runs by default."""
    page.evaluate(axe_source)
    result: dict[str, Any] = page.evaluate(
        "() => axe.run(document, { resultTypes: ['violations'] })"
    )
    violations: list[dict[str, Any]] = result["violations"]
    return violations


def listed(violations: list[dict[str, Any]]) -> str:
    """One line per failing element: rule, impact, target, and axe's one-line help."""
    return "\n".join(
        f"  {v['id']} ({v['impact']}) {' '.join(map(str, node['target']))}: {v['help']}"
        for v in violations
        for node in v["nodes"]
    )


def open_board(open_page: OpenPage, folder: str, **context: Any) -> Page:
    """`folder` as a viewer sees it; "marks" is later after a visit to remembered, so its
    two newest changes carry the since-your-last-visit marks."""
    if folder != "marks":
        return open_page(folder, clock=NOW + timedelta(seconds=42), **context).page
    opened = open_page("remembered", clock=LATER + timedelta(seconds=42), **context)
    base = opened.page.url.rsplit("/remembered/", 1)[0]
    opened.page.goto(f"{base}/later/index.html")
    expect(opened.page.locator("#recent-new")).to_have_text("2 new since your last visit")
    return opened.page


@pytest.mark.parametrize(
    ("folder", "viewport", "scheme"),
    [
        ("demo", DESKTOP, "light"),
        ("demo", PHONE, "dark"),
        ("machines", DESKTOP, "dark"),  # CPU lines, host and agent checks
        ("machines", PHONE, "light"),
        ("hostile", DESKTOP, "dark"),
        ("remembered-hostile", PHONE, "light"),
        ("old", DESKTOP, "dark"),  # the red stale banner
        ("marks", DESKTOP, "light"),
        ("marks", PHONE, "dark"),
        ("big", PHONE, "light"),  # 100 environments, folded rows stacked
        ("days", PHONE, "dark"),  # 90 days remembered: uptime, a flapping check
    ],
    ids=lambda v: v if isinstance(v, str) else f"{v['width']}px",
)
def test_axe_core_finds_nothing_serious(
    open_page: OpenPage, axe_source: str, folder: str, viewport: dict[str, int], scheme: str
) -> None:
    page = open_board(open_page, folder, viewport=viewport, color_scheme=scheme)
    found = axe_violations(page, axe_source)
    bad = [v for v in found if v["impact"] in FORBIDDEN]
    assert bad == [], f"axe-core on {folder} ({scheme}):\n{listed(bad)}"


#: Every class that colours an element by a status: the pill words, and "soon" (a
#: certificate's days) and "new" (since the last visit).
COLOURED = [*render.words.WORDS, "soon", "new"]

UNSAID = """words => {
  const unsaid = [];
  for (const el of document.querySelectorAll(words.map(w => '.' + w).join(','))) {
    if (!el.getClientRects().length) continue;  // not shown
    const word = words.find(w => el.classList.contains(w));
    const text = el.innerText.toLowerCase();
    const said =
      text.includes(word) ||                           // "2 red", a pill, "new"
      el.matches('.pill, .badge') ||                   // a badge's word is its meaning
      el.querySelector('.pill, .badge') !== null ||    // a card, a row, the summary
      (el.matches('[role=alert]') && text.length > 20) ||  // a banner says it in a sentence
      el.closest('p, li, tr')?.querySelector('.pill') != null;  // a cert's days
    if (!said) unsaid.push(el.outerHTML.slice(0, 160));
  }
  return unsaid;
}"""


@pytest.mark.parametrize("folder", ["demo", "machines", "hostile", "old", "marks", "days"])
def test_no_status_is_told_by_colour_alone(open_page: OpenPage, folder: str) -> None:
    page = open_board(open_page, folder)
    assert page.locator(".pill").count() > 10
    assert page.evaluate(UNSAID, COLOURED) == []


STATUS_CELLS = """rows => [...document.querySelectorAll('section.detail table')].map(table => {
  const heads = [...table.tHead.rows[0].cells].map(th => th.textContent.trim());
  const at = heads.indexOf('status');
  return [table.className, at, [...table.tBodies[0].rows].slice(0, rows).map(tr => {
    const cell = tr.cells[at];
    cell.scrollIntoView({ block: 'center' });
    const box = cell.getBoundingClientRect();
    return [cell.innerText.trim(), box.left, box.right, box.top, box.bottom];
  })];
})"""


@pytest.mark.parametrize("folder", ["demo", "hostile", "big"])
def test_at_390_px_every_table_shows_its_status_without_sideways_scrolling(
    open_page: OpenPage, folder: str
) -> None:
    opened = open_page(
        folder, clock=NOW + timedelta(seconds=42), viewport=PHONE, device_scale_factor=2
    )
    page = opened.page
    width, height = PHONE["width"], PHONE["height"]
    assert page.evaluate("document.scrollingElement.scrollWidth") <= width
    boxes = page.locator("section.detail .scroll")
    assert boxes.count() == 4
    sideways = boxes.evaluate_all(
        "els => els.filter(el => el.scrollWidth > el.clientWidth).map(el => el.ariaLabel)"
    )
    assert sideways == []
    # stacked, they are still tables to a screen reader: Chromium keeps their roles
    detail = page.locator("section.detail")
    expect(detail.get_by_role("columnheader", name="status", exact=True)).to_have_count(4)
    tables = page.evaluate(STATUS_CELLS, 5)
    assert [name for name, _, _ in tables] == ["services", "certs", "runs", "drift"]
    for name, at, rows in tables:
        assert at >= 0, f"{name} has no status column"
        assert rows, name
        for word, left, right, top, bottom in rows:
            assert word, f"{name}: an empty status cell"
            assert left >= 0 and right <= width, f"{name}: {word} at {left}..{right} px"
            assert top >= 0 and bottom <= height, f"{name}: {word} at {top}..{bottom} px"
    opened.assert_quiet()


LABELS = """() => [...document.querySelectorAll('section.detail table')].flatMap(table => {
  const heads = [...table.tHead.rows[0].cells].map(th => th.textContent.trim());
  return [...table.tBodies[0].rows].filter(tr => !tr.classList.contains('fold')).flatMap(
    tr => [...tr.cells].map((td, i) => {
      const label = getComputedStyle(td, '::before').content;
      return label === 'none' || label === 'normal' ? null
        : [table.className, heads[i], JSON.parse(label).trim()];
    }).filter(Boolean));
})"""


def test_on_a_phone_the_stacked_cells_are_named_by_their_column(open_page: OpenPage) -> None:
    """board.css names the cells whose value does not say what it is (days left, slot,
    ...) by its column; each name is its column's header, wherever the columns move."""
    phone = open_page("demo", clock=NOW + timedelta(seconds=42), viewport=PHONE).page
    labels = [tuple(found) for found in phone.evaluate(LABELS)]
    assert {table for table, _, _ in labels} == {"services", "certs", "runs"}
    assert [(t, head) for t, head, label in labels if head != label] == []
    assert ("certs", "days left", "days left") in labels
    assert ("runs", "slot", "slot") in labels
    # on a wide screen the header row names them: no label in the cells
    desktop = open_page("demo", clock=NOW + timedelta(seconds=42), viewport=DESKTOP).page
    assert desktop.evaluate(LABELS) == []
    expect(desktop.locator("section.detail thead").first).to_be_visible()
