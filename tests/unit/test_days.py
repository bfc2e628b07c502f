"""The days in the snapshot (days.py) and history.html in the release: compact, under the
schema, old snapshots still valid, and the page published beside index.html."""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

from tests.boards import NOW, demo, demo_board
from tests.history_boards import BEGAN, DEMO_SCRIPT, GAP_DAYS, TODAY, ninety_days, tally_of

from fleetboard import collect, days, memory, rollups, snapshot
from fleetboard.memory import Timeline, saved
from fleetboard.memory.uptime import CLASSES, Tally, add
from fleetboard.publish import (
    CACHE_BOARD,
    HISTORY_PAGE,
    INDEX,
    PUBLISHED_KEYS,
    VERSION,
    LocalPublisher,
    cache_control,
    content_type,
    ordered,
    rollup_key,
)

DAY_S = 86_400


def test_each_class_is_one_list_of_whole_seconds_a_day_and_idle_ones_are_left_out() -> None:
    found = days.days_of(tally_of([(5, "down", 14, 3)]), BEGAN, NOW)
    assert found.first == TODAY - timedelta(days=89)
    # up, down, and the gap of the day the collector did not run and the part day
    assert set(found.seconds) == {"up", "down", "gap"}
    assert all(len(column) == 90 for column in found.seconds.values())
    assert all(isinstance(s, int) for column in found.seconds.values() for s in column)
    down = found.seconds["down"]
    assert down[89 - 5] == 3 * 3600 and sum(down) == 3 * 3600
    (gap,) = GAP_DAYS
    assert found.seconds["gap"][89 - gap] == DAY_S and found.seconds["up"][89 - gap] == 0
    # the first day counts from when the memory began (06:00), which is not a gap
    assert found.seconds["up"][0] == 18 * 3600 and found.seconds["gap"][0] == 0
    # today up to the pass, and each whole day adds up to a day
    assert found.seconds["up"][-1] == NOW.hour * 3600 + NOW.minute * 60 + NOW.second
    for i in range(1, 89):
        assert sum(column[i] for column in found.seconds.values()) == DAY_S


def test_a_quiet_environment_is_one_list_of_about_half_a_kilobyte() -> None:
    began = TODAY - timedelta(days=89)
    quiet = days.days_of(add(Tally(), "up", began, NOW, NOW), began, NOW)
    assert list(quiet.seconds) == ["up"]
    encoded = json.dumps(snapshot.encode(quiet), separators=(",", ":"))
    assert len(encoded) < 600  # 90 days in whole seconds: `86400,` each


def test_the_first_pass_has_today_and_nothing_counted_yet() -> None:
    board, timeline = memory.remember(None, demo_board())
    found = days.with_days(board, timeline).environments[0].days
    assert found is not None
    assert found.first == TODAY and found.seconds == {}


def test_more_than_90_days_are_never_kept() -> None:
    long_ago = TODAY - timedelta(days=400)
    found = days.days_of(tally_of([]), long_ago, NOW)
    assert found.first == TODAY - timedelta(days=89)
    assert all(len(column) == 90 for column in found.seconds.values())


def test_the_snapshot_with_days_validates_and_one_without_still_does() -> None:
    _, doc = ninety_days(demo_board(), DEMO_SCRIPT)  # document() validates it
    assert {e["name"]: sorted(e["days"]["seconds"]) for e in doc["environments"]}["prod"] == [
        "degraded",
        "down",
        "gap",
        "up",
    ]
    old = copy.deepcopy(doc)
    for env in old["environments"]:
        del env["days"]
    del old["collector"]["flap_passes"]
    snapshot.validate(old)
    bad = copy.deepcopy(doc)
    bad["environments"][0]["days"]["seconds"]["up"][0] = DAY_S + 1
    assert snapshot.problems(bad)
    bad["environments"][0]["days"]["seconds"] = {"Up; DROP": [1]}
    assert snapshot.problems(bad)


def test_a_class_added_to_the_tally_is_a_list_of_its_own() -> None:
    assert "maintenance" in CLASSES  # memory/uptime.py's sixth class, by the same code
    found = days.days_of(tally_of([(2, "maintenance", 1, 2)]), BEGAN, NOW)
    assert sum(found.seconds["maintenance"]) == 2 * 3600


def test_the_release_carries_history_html_before_index_html(tmp_path: Path) -> None:
    start = Timeline(began=BEGAN, tallies={"prod": tally_of([])})
    board, timeline = memory.remember(start, demo_board())
    release, doc = collect.release_of(board, timeline)
    first = TODAY - timedelta(days=89)
    assert doc["environments"][0]["days"]["first"] == f"{first:%Y-%m-%dT%H:%M:%SZ}"
    assert release.history_page is not None
    assert b'<section class="hist" id="h-prod"' in release.history_page
    keys = [key for key, _ in ordered(release)]
    assert keys[-3:] == [HISTORY_PAGE, INDEX, VERSION]  # the version last: the pass is all there
    assert HISTORY_PAGE in PUBLISHED_KEYS  # the collector's role may write it
    assert content_type(HISTORY_PAGE) == "text/html; charset=utf-8"
    assert cache_control(HISTORY_PAGE) == CACHE_BOARD
    LocalPublisher(tmp_path).publish(release)
    assert (tmp_path / HISTORY_PAGE).read_bytes() == release.history_page
    assert json.loads((tmp_path / "latest.json").read_text())["environments"][0]["days"]


def test_an_environment_new_since_the_memory_began_starts_at_its_first_day() -> None:
    # added three days ago at 00:00, up since: three days and today, no gap before it
    added = TODAY - timedelta(days=3)
    found = days.days_of(add(Tally(), "up", added, NOW, NOW), BEGAN, NOW)
    assert found.first == added
    assert list(found.seconds) == ["up"] and len(found.seconds["up"]) == 4


def test_an_environment_added_mid_day_has_no_gap_before_it_was_first_seen() -> None:
    """test-2 joins the fleet at 06:00 on the memory's second day. That day's rollup, its
    bar and its uptime count its 18 hours, with no 6-hour gap for the time it was not there
    (a gap says the collector was not running, and it was); the memory is saved and read
    back after every pass, as on Lambda."""
    start = NOW.replace(hour=0, minute=0, second=0) - timedelta(days=1)
    joined = start + timedelta(days=1, hours=6)
    end = start + timedelta(days=2, minutes=10)
    full = demo(start).board()
    full = replace(full, collector=replace(full.collector, period_s=600))
    without = replace(full, environments=tuple(e for e in full.environments if e.name != "test-2"))
    timeline: Timeline | None = None
    published: dict[str, dict] = {}
    at = start
    while at <= end:
        board, timeline = memory.remember(
            timeline, replace(full if at >= joined else without, generated_at=at)
        )
        published.update({d.date().isoformat(): rollup(d, timeline) for d in timeline.closed})
        timeline = saved.decode(saved.encode(timeline))
        at += timedelta(minutes=10)
    second = published[f"{joined:%Y-%m-%d}"]["environments"]
    assert sum(second["test-2"].values()) == 18 * 3600 and second["test-2"]["gap"] == 0
    assert sum(second["prod"].values()) == DAY_S and second["prod"]["gap"] == 0
    found = days.with_days(board, timeline)
    test2 = next(e for e in found.environments if e.name == "test-2")
    assert test2.days is not None and test2.days.first == joined.replace(hour=0)
    assert "gap" not in test2.days.seconds
    day_window = next(u for u in test2.uptime if u.window == "24h")
    assert day_window.gap_s == 0


def rollup(day: datetime, timeline: Timeline) -> dict:
    doc: dict = json.loads(rollups.objects(replace(timeline, closed=(day,)))[rollup_key(day)])
    return doc
