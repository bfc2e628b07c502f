"""The card's CPU line: 3 hours of CPU drawn as a small line, the load in words beside it.
The helpers take the snapshot's `metrics` as any JSON reader has it; the page tests go the
real path (observations -> rules -> to_document -> validate -> render_page)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from tests.boards import DEMO_MACHINES, NOW, XSS, demo, document
from tests.html import card, parse

from fleetboard import render
from fleetboard.model import Metrics, MetricsFacts
from fleetboard.render.machine import cpu_spark, idle_text, load_text

#: The box the line is drawn in: 20 units high, 0-100 % inside a margin of 1.
HEIGHT = 20
TOP, BOTTOM = 1.0, 19.0
STEP_W = 3  # units between two 5-minute steps


def metrics(
    cpu: list[float | None],
    credits: float | None = None,
    memory: float | None = None,
    disk: float | None = None,
) -> dict[str, Any]:
    """`environments[].metrics` as the snapshot carries it."""
    return {
        "cpu": cpu,
        "credits": credits,
        "memory": memory,
        "disk": disk,
        "observed_at": "2026-11-23T07:53:03Z",
    }


def points(line: str) -> list[tuple[float, float]]:
    """A polyline's points as (x, y)."""
    pairs = [p.split(",") for p in line.split()]
    return [(float(x), float(y)) for x, y in pairs]


# --------------------------------------------------------------------------- the line


def test_a_full_window_is_one_line_across_the_whole_box() -> None:
    cpu: list[float | None] = [float(v) for v in range(36)]

    spark = cpu_spark(metrics(cpu))

    assert spark is not None
    (line,) = spark.lines
    drawn = points(line)
    assert [x for x, _ in drawn] == [step * STEP_W for step in range(36)]
    assert (spark.width, spark.height) == (35 * STEP_W, HEIGHT)  # the last step at the edge
    # Higher CPU is higher on the line (smaller y), every point inside the box's margin.
    ys = [y for _, y in drawn]
    assert ys == sorted(ys, reverse=True) and len(set(ys)) == len(ys)
    assert all(TOP <= y <= BOTTOM for y in ys)


@pytest.mark.parametrize(
    ("cpu", "runs"),
    [
        ([10.0, None, 20.0, 30.0, None, None, 40.0], [[0], [2, 3], [6]]),
        ([None, None, 50.0, 60.0], [[2, 3]]),  # a late start draws from where figures begin
        ([50.0, 60.0, None, None], [[0, 1]]),  # CloudWatch lags: the line stops short
        ([5.0, None, 5.0, None, 5.0], [[0], [2], [4]]),
    ],
    ids=["gaps-in-the-middle", "leading-gap", "trailing-gap", "every-other-step"],
)
def test_a_step_without_a_figure_breaks_the_line_rather_than_joining_across_it(
    cpu: list[float | None], runs: list[list[int]]
) -> None:
    spark = cpu_spark(metrics(cpu))

    assert spark is not None
    assert [[int(x) // STEP_W for x, _ in points(line)] for line in spark.lines] == runs
    # The box keeps the whole window's width, gaps included.
    assert spark.width == (len(cpu) - 1) * STEP_W


@pytest.mark.parametrize(
    ("value", "y"),
    [(0.0, BOTTOM), (100.0, TOP), (50.0, (TOP + BOTTOM) / 2), (-3.0, BOTTOM), (140.0, TOP)],
    ids=["idle", "flat-out", "half", "below-0-clamped", "over-100-clamped"],
)
def test_0_and_100_percent_are_the_bottom_and_top_of_the_box(value: float, y: float) -> None:
    spark = cpu_spark(metrics([value, value]))
    assert spark is not None
    assert [p[1] for p in points(spark.lines[0])] == [y, y]


@pytest.mark.parametrize("cpu", [[None] * 36, []], ids=["all-missing", "empty"])
def test_no_figure_at_all_is_no_line(cpu: list[float | None]) -> None:
    assert cpu_spark(metrics(cpu)) is None


@pytest.mark.parametrize(
    ("cpu", "label"),
    [
        ([12.0, 40.0, 31.0], "CPU over the last 3 hours: 31% now, at most 40%"),
        ([12.5, 96.0, None], "CPU over the last 3 hours: 96% now, at most 96%"),
        ([0.0, 0.0], "CPU over the last 3 hours: 0% now, at most 0%"),
    ],
    ids=["peak-earlier", "newest-step-missing", "idle"],
)
def test_the_line_s_label_says_now_and_the_peak_for_a_screen_reader(
    cpu: list[float | None], label: str
) -> None:
    spark = cpu_spark(metrics(cpu))
    assert spark is not None and spark.label == label


# --------------------------------------------------------------------------- the words


@pytest.mark.parametrize(
    ("found", "text"),
    [
        (
            metrics([20.0, 31.0], credits=412.0, memory=63.0, disk=71.0),
            "31% now · 412 credits · memory 63% · disk 71%",
        ),
        # Not a burstable type: no credits are claimed.
        (metrics([9.5], memory=40.2, disk=12.0), "9.5% now · memory 40.2% · disk 12%"),
        # No CloudWatch agent: said, never guessed.
        (
            metrics([96.0, None], credits=1.5),
            "96% now · 1.5 credits · memory not published · disk not published",
        ),
        (
            metrics([None, None], credits=300.0),
            "no CPU figures · 300 credits · memory not published · disk not published",
        ),
    ],
    ids=["everything", "not-burstable", "no-agent", "no-cpu"],
)
def test_the_load_in_words(found: dict[str, Any], text: str) -> None:
    assert load_text(found) == text


# --------------------------------------------------------------------------- on the page


def cpu_line(card_html: str) -> str | None:
    """The card's CPU entry: from its <dt>CPU to the end of the machine's list."""
    found = re.search(r"<dt>CPU(.*?)</dl>", card_html, re.S)
    return found.group(1) if found else None


#: The demo's load (issue 15): prod busy and fine, slot 1 idle, slot 2 out of CPU credits.
#: base is running too but CloudWatch has nothing of it yet; test-3 is stopped.
WAVE = [25.0, 40.0, 38.5, 33.0] * 8 + [30.0, None, 28.0, 31.0]
LOADS = {
    "prod": Metrics(tuple(WAVE), 412.0, 63.0, 71.0, NOW - timedelta(minutes=4)),
    "test": Metrics((9.0,) * 36, 576.0, None, None, NOW - timedelta(minutes=4)),
    "test-2": Metrics((96.0,) * 36, 1.5, None, None, NOW - timedelta(minutes=4)),
    "base": Metrics((None,) * 36, None, None, None, NOW - timedelta(minutes=4)),
}


def page(*, hostile: bool = False, loads: dict[str, Metrics] | None = LOADS) -> str:
    """The demo's page, the metrics source's figures added to its observations (`None`: the
    source did not run), through the real rules, snapshot and schema."""
    seen = demo(hostile=hostile)
    if loads is not None:
        ids = {name: machine[0] for name, machine in DEMO_MACHINES.items()}
        seen.reads("metrics", MetricsFacts({ids[n]: m for n, m in loads.items()}, NOW, 1))
    return render.render_page(document(seen.board()))


@pytest.fixture(scope="module")
def html() -> str:
    return page()


def test_a_card_shows_its_cpu_line_and_load(html: str) -> None:
    line = cpu_line(card(html, "prod"))
    assert line is not None
    tags = parse(line)
    (svg,) = [attrs for tag, attrs in tags.tags if tag == "svg"]
    assert svg["role"] == "img"
    assert svg["aria-label"] == "CPU over the last 3 hours: 31% now, at most 40%"
    # The one missing step breaks prod's line in two.
    assert len([tag for tag, _ in tags.tags if tag == "polyline"]) == 2
    words = " ".join("".join(tags.text).split())
    assert words == "31% now · 412 credits · memory 63% · disk 71%"
    # Its source and when CloudWatch was read, as every observed value on the card has.
    (dd,) = [attrs for tag, attrs in tags.tags if tag == "dd"]
    assert dd["title"] == "source metrics · observed 2026-11-23 07:56:03 UTC"


def test_each_card_shows_its_own_load(html: str) -> None:
    test = parse(cpu_line(card(html, "test")) or "")
    assert "576 credits · memory not published" in "".join(test.text)
    slot_2 = parse(cpu_line(card(html, "test-2")) or "")
    (svg,) = [attrs for tag, attrs in slot_2.tags if tag == "svg"]
    assert svg["aria-label"] == "CPU over the last 3 hours: 96% now, at most 96%"
    assert "1.5 credits" in "".join(slot_2.text)


def test_no_cpu_figure_is_said_in_words_without_a_line(html: str) -> None:
    line = cpu_line(card(html, "base"))
    assert line is not None
    assert "svg" not in line
    assert "no CPU figures" in line


def test_a_stopped_environment_shows_no_cpu_line(html: str) -> None:
    assert cpu_line(card(html, "test-3")) is None


def test_no_card_shows_a_cpu_line_when_the_source_did_not_run() -> None:
    html = page(loads=None)
    for name in ("prod", "base", "test", "test-2", "test-3"):
        assert cpu_line(card(html, name)) is None, name


def test_the_line_is_markup_of_the_page_s_own_and_nothing_else() -> None:
    # The hostile demo carries script in its observed text: with the CPU line on the page
    # that text is still escaped, and the line adds no style, script or handler.
    html = page(hostile=True)
    assert XSS not in html
    line = cpu_line(card(html, "prod"))
    assert line is not None
    allowed = {
        "dd": {"title"},
        "svg": {"class", "viewbox", "role", "aria-label"},
        "polyline": {"points"},
    }
    for tag, attrs in parse(line).tags:
        assert tag in allowed, tag
        assert set(attrs) <= allowed[tag], (tag, attrs)
    for tag, attrs in parse(html).tags:
        assert "style" not in attrs, tag
        assert not [a for a in attrs if a.startswith("on")], (tag, attrs)


def _issue(env: str, check: str, status: str, detail: str) -> dict[str, str]:
    return {
        "env": env,
        "check": check,
        "status": status,
        "text": f"{env} {check} {status}: {detail}",
    }


@pytest.mark.parametrize(
    ("issues", "text"),
    [
        ([], None),
        ([_issue("test-4", "metrics", "amber", "CPU credits 1.5")], None),
        (
            [
                _issue("test-4", "metrics", "amber", "CPU credits 1.5"),
                _issue("test-4", "idle", "amber", "idle for 9 h: stop it with `aws ec2 …`"),
            ],
            "idle for 9 h: stop it with `aws ec2 …`",
        ),
    ],
    ids=["no-issues", "other-issues-only", "idle-among-others"],
)
def test_the_idle_issue_is_said_beside_the_cost_without_the_summary_s_prefix(
    issues: list[dict[str, str]], text: str | None
) -> None:
    assert idle_text(issues) == text


def test_a_logged_line_is_shown_as_text_never_as_markup() -> None:
    # The hostile demo's broker logged a script: on the card it is the line's text.
    html = render.render_page(document(demo(hostile=True, machines=True).board()))
    errors = card(html, "prod")
    assert "<script>alert(1)</script>" not in errors
    assert "<code>&lt;script&gt;alert(1)&lt;/script&gt;</code>" in errors
