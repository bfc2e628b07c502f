"""Three days at one pass a minute, through the real rules and the real memory, with an
injected clock: the figures the board remembers equal the ones worked out by hand below.

The script, for test-2 (the other environments hold one word throughout, but for base's
window):
- 20 Nov 00:00 UTC (a Friday), the first pass: test-2 amber (a stale binary), base green,
  test-3 stopped (parked).
- 06:00-06:30: an incident: audit-test-2 answers 502 and its A record points at slot 1's
  EIP, so test-2 is red for 30 minutes.
- 22:30-00:30: test-2's weekly window, Fridays 23:30 in Berlin for two hours (CET, UTC+1,
  in November): it crosses Berlin's midnight at 23:00 UTC, when the local day is Saturday
  but the Friday window is still open, and UTC's at 00:00. Two hours of maintenance, 1.5 on
  the 20th and 0.5 on the 21st: neither up nor down.
- 21 Nov 00:59: the last pass before the collector stops; it runs again at 03:00. The time
  after the last pass counts for 3 periods (3 min, to 01:02) as what it showed; the rest,
  1 h 58 min, is a gap, counted as nothing.
- 22 Nov 08:00-08:10: audit-test-2 flaps: the incident on even minutes, calm on odd ones,
  ten changes in ten passes; more than 3 in the last 20 passes is flapping.
- 22 Nov 10:00-10:45: a one-off window over base (UTC), 45 minutes of maintenance.
- 22 Nov 12:00: the last pass.

The rules judge afresh whenever what they read changes: the scene, or a window opening or
closing; in between, a pass re-dates the board they gave.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from tests.boards import ZONE, demo, demo_fleet
from tests.observed import Observed

from fleetboard import config, memory, rollups, schemas
from fleetboard.memory.timeline import Timeline
from fleetboard.model import Board, EnvironmentView, Uptime
from fleetboard.publish import rollup_key
from fleetboard.rules.maintenance import occurrence

T0 = datetime(2026, 11, 20, 0, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
INCIDENT = (T0 + timedelta(hours=6), T0 + timedelta(hours=6, minutes=30))
GAP = (T0 + timedelta(days=1, minutes=59), T0 + timedelta(days=1, hours=3))
FLAP = (T0 + timedelta(days=2, hours=8), T0 + timedelta(days=2, hours=8, minutes=10))
END = T0 + timedelta(days=2, hours=12)
H = 3600.0
WINDOWS = """
[[maintenance]]
reason = "kernel patching"
environments = ["test-2"]
every = "friday"
at = "23:30"
for_minutes = 120
timezone = "Europe/Berlin"

[[maintenance]]
reason = "base database upgrade"
environments = ["base"]
start = "2026-11-22T10:00:00Z"
end = "2026-11-22T10:45:00Z"
"""
#: The demo fleet with the two windows.
INVENTORY = config.loads(demo_fleet() + WINDOWS).inventory
PATCHING = (T0 + timedelta(hours=22, minutes=30), T0 + timedelta(days=1, minutes=30))
UPGRADE = (T0 + timedelta(days=2, hours=10), T0 + timedelta(days=2, hours=10, minutes=45))


def observed(at: datetime, *, incident: bool = False) -> Observed:
    """The demo at `at` with the windows: calm (audit-test-2 answers, its A record right),
    or the incident."""
    seen = demo(at)
    seen.inventory = INVENTORY
    if not incident:
        seen.answers(f"audit-test-2.{ZONE}")
        seen.a_record(f"audit-test-2.{ZONE}", "54.145.185.156")
    return seen


def fixed() -> Board:
    return observed(T0).board()


@pytest.fixture(scope="module")
def replay() -> dict[str, object]:
    """Every pass of the script; what the board showed at the end, mid-incident and just
    after it, and the rollups published."""
    judged: dict[tuple[object, ...], Board] = {}  # the rules' boards, by what they read
    timeline: Timeline | None = None
    published: dict[str, dict] = {}
    shown: dict[str, Board] = {}
    at = T0
    while at <= END:
        if GAP[0] < at < GAP[1]:
            at += MINUTE
            continue
        flapping = FLAP[0] <= at < FLAP[1] and at.minute % 2 == 0
        incident = INCIDENT[0] <= at < INCIDENT[1] or flapping
        key = (incident, *(occurrence(w.when, at) for w in INVENTORY.maintenance))
        if key not in judged:
            judged[key] = observed(at, incident=incident).board()
        board, timeline = memory.remember(timeline, replace(judged[key], generated_at=at))
        for day in timeline.closed:
            published[day.date().isoformat()] = json.loads(
                rollups.objects(timeline)[rollup_key(day)]
            )
        if at == INCIDENT[0] + timedelta(minutes=10):
            shown["incident"] = board
        if at == INCIDENT[1] + timedelta(minutes=5):
            shown["after"] = board
        if at in (FLAP[0] + timedelta(minutes=9), FLAP[0] + timedelta(minutes=20)):
            shown[f"flap+{(at - FLAP[0]).seconds // 60}"] = board
        if at == FLAP[0] + timedelta(minutes=30):
            shown["flap+30"] = board
        if at == T0 + timedelta(hours=23, minutes=15):  # 00:15 on Saturday in Berlin
            shown["patching"] = board
        if at == UPGRADE[0] + timedelta(minutes=10):
            shown["upgrade"] = board
        at += MINUTE
    shown["end"] = board
    return {"shown": shown, "rollups": published}


def env(board: Board, name: str) -> EnvironmentView:
    return next(e for e in board.environments if e.name == name)


def window(view: EnvironmentView, name: str) -> Uptime:
    return next(u for u in view.uptime if u.window == name)


def test_the_script_is_what_the_rules_say() -> None:
    assert env(fixed(), "test-2").status.value == "amber"
    assert env(demo(T0).board(), "test-2").status.value == "red"


def test_closed_days_are_rolled_up_once_with_their_gap(replay: dict) -> None:
    rollups = replay["rollups"]
    assert sorted(rollups) == ["2026-11-20", "2026-11-21"]  # the 22nd is still open
    day1 = rollups["2026-11-20"]["environments"]
    # Its window's first 1.5 hours (22:30-24:00 UTC) are maintenance, not degraded.
    assert day1["test-2"] == {
        "up": 0.0,
        "degraded": 23.5 * H - 1.5 * H,
        "down": 0.5 * H,
        "unknown": 0.0,
        "parked": 0.0,
        "maintenance": 1.5 * H,
        "gap": 0.0,
    }
    assert day1["test-3"]["parked"] == 24 * H
    assert day1["base"]["up"] == 24 * H
    day2 = rollups["2026-11-21"]["environments"]
    # 00:00-00:30 in its window; 00:30-01:02 (the last pass at 00:59 plus 3 periods) and
    # 03:00-24:00 amber.
    assert day2["test-2"]["maintenance"] == 0.5 * H
    assert day2["test-2"]["degraded"] == (32 * 60) + 21 * H
    assert day2["test-2"]["gap"] == 1 * H + 58 * 60
    assert day2["test-3"] == {
        "up": 0.0,
        "degraded": 0.0,
        "down": 0.0,
        "unknown": 0.0,
        "parked": 22 * H + 2 * 60,
        "maintenance": 0.0,
        "gap": 1 * H + 58 * 60,
    }


def test_each_rollup_follows_its_schema_and_a_broken_one_is_refused(replay: dict) -> None:
    """Tools read history/days/ by days.schema.json: what is published follows it, and a
    rollup that would not (a collector bug) is refused by name before anything is written."""
    day = replay["rollups"]["2026-11-21"]
    assert day["schema_version"] == rollups.SCHEMA_VERSION
    assert [rollups.SCHEMA.problems(doc) for doc in replay["rollups"].values()] == [[], []]
    broken = json.loads(json.dumps(day))
    broken["environments"]["test-2"]["down"] = -5
    del broken["environments"]["base"]["gap"]
    with pytest.raises(schemas.Invalid) as refused:
        rollups.SCHEMA.validate(broken)
    message = str(refused.value)
    assert "daily rollup does not match days.schema.json" in message
    assert "environments.test-2.down: -5 is less than the minimum of 0" in message
    assert "environments.base: 'gap' is a required property" in message


def test_uptime_over_each_window_at_the_end(replay: dict) -> None:
    test2 = env(replay["shown"]["end"], "test-2")
    day = window(test2, "24h")  # 21 Nov 12:00 to 22 Nov 12:00: amber but 5 flapping minutes
    flapped = 5 * 60.0
    assert day.degraded_s == pytest.approx(24 * H - flapped)
    assert (day.down_s, day.gap_s) == (pytest.approx(flapped), 0)
    assert day.available == pytest.approx(1 - flapped / (24 * H))
    week = window(test2, "7d")  # 2.5 days since the memory began
    degraded = 23.5 * H + (22 * H + 2 * 60) + 12 * H - flapped - 2 * H
    assert week.degraded_s == pytest.approx(degraded)
    assert week.down_s == pytest.approx(0.5 * H + flapped)
    assert week.maintenance_s == pytest.approx(2 * H)
    assert week.gap_s == pytest.approx(1 * H + 58 * 60)
    # Maintenance is in neither side of the figure.
    assert week.available == pytest.approx(degraded / (degraded + 0.5 * H + flapped))
    assert window(test2, "90d") == replace(week, window="90d")
    parked = window(env(replay["shown"]["end"], "test-3"), "7d")
    assert parked.parked_s == pytest.approx(2.5 * 24 * H - (1 * H + 58 * 60))
    assert parked.available is None  # parked time is neither up nor down
    base = window(env(replay["shown"]["end"], "base"), "30d")
    assert base.maintenance_s == pytest.approx(0.75 * H)
    assert base.up_s == pytest.approx(2.5 * 24 * H - (1 * H + 58 * 60) - 0.75 * H)
    assert base.available == 1.0  # 45 minutes worked on are not 45 minutes down
    base_day = window(env(replay["shown"]["end"], "base"), "24h")
    assert (base_day.up_s, base_day.maintenance_s) == (23.25 * H, 0.75 * H)


def test_since_and_recent_follow_the_incident(replay: dict) -> None:
    during = env(replay["shown"]["incident"], "test-2")
    assert during.status.value == "red" and during.since == INCIDENT[0]
    after = replay["shown"]["after"]
    assert env(after, "test-2").since == INCIDENT[1]
    lines = [
        (t.at, t.before, t.after) for t in after.recent if t.env == "test-2" and t.check is None
    ]
    assert lines == [(INCIDENT[1], "red", "amber"), (INCIDENT[0], "amber", "red")]
    end = replay["shown"]["end"]
    # A gap is not a change: test-2 has been amber since it last flapped back.
    assert env(end, "test-2").since == FLAP[0] + timedelta(minutes=9)
    # test-3 has been stopped since the memory began: "at least since".
    assert env(end, "test-3").since == T0 == end.collector.memory_from


def test_a_flapping_check_is_marked_with_its_count_and_its_changes_are_one_line(
    replay: dict,
) -> None:
    def audit(board: Board) -> object:
        return next(c for c in env(board, "test-2").checks if c.name == "worker:audit")

    shown = replay["shown"]
    assert audit(shown["flap+9"]).flapping == 10  # ten changes in the last 20 passes
    assert audit(shown["flap+20"]).flapping == 9  # 08:00's change has left the window
    assert audit(shown["flap+30"]).flapping is None  # settled
    lines = [
        (t.check, t.before, t.after, t.times, t.at)
        for t in shown["end"].recent
        if t.env == "test-2"
    ]
    last = FLAP[0] + timedelta(minutes=9)
    # Its ten changes, and test-2's with it, are one line each: from the first's from to
    # the last's to; nothing else changed in the last 24 hours.
    assert lines == [
        (None, "amber", "amber", 10, last),
        ("worker:audit", "green", "green", 10, last),
    ]
    # Nothing else changed in the last 24 hours but base's window, in and out.
    assert [(t.at, t.before, t.after) for t in shown["end"].recent if t.env != "test-2"] == [
        (UPGRADE[1], "maintenance", "green"),
        (UPGRADE[0], "green", "maintenance"),
    ]


def test_a_window_across_its_zones_midnight_is_maintenance_on_both_days(replay: dict) -> None:
    board = replay["shown"]["patching"]  # 23:15 UTC on Friday: Saturday 00:15 in Berlin
    test2 = env(board, "test-2")
    assert test2.maintenance is not None
    assert (test2.maintenance.starts, test2.maintenance.ends) == PATCHING
    assert test2.since == PATCHING[0]
    assert board.summary.counts["maintenance"] == 1
    # It closes on the next UTC day: the summary says so with the date.
    assert "test-2 until 2026-11-21 00:30 UTC (kernel patching)" in board.summary.message
    [line] = [t for t in board.recent if t.env == "test-2" and t.at == PATCHING[0]]
    assert (line.before, line.after) == ("amber", "maintenance")
    assert line.reason == "test-2 in maintenance until 2026-11-21 00:30 UTC: kernel patching"


def test_a_one_off_window_is_maintenance_and_then_its_word_again(replay: dict) -> None:
    base = env(replay["shown"]["upgrade"], "base")
    assert base.maintenance is not None and base.maintenance.reason == "base database upgrade"
    assert base.since == UPGRADE[0]
    end = env(replay["shown"]["end"], "base")
    assert end.maintenance is None and end.status.value == "green" and end.since == UPGRADE[1]
