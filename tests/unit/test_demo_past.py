"""The demo's 90 days of history, replayed through the real rules and memory with no network:
the figures the replay leaves equal the ones worked out by hand from its script (past.py).

The survey here is the demo fleet as tests/observed.py sees it healthy (so every change is
the script's): prod, slot 1 (amber for its stale EIP), test-2 and the stopped test-3. The
clock is 23 Nov 2026 08:00:03 UTC. By hand, from the script:
- the first pass is 26 Aug 00:00 (89 days before today's midnight); passes every 4 hours
  until the last 8 days, every 30 minutes in the last week, every 10 minutes in the last
  day, every minute in the last hour; the last at 08:00:00;
- 17 Nov 14:00-19:30: audit-test-2 answers 502: the passes at 14:00 to 19:00 see it and
  19:30 sees it over: test-2 is down 5 h 30 min that day and up the rest;
- 21 Nov 02:00-05:00: slot 1 ("test") is in its maintenance window: the passes at 02:00 to
  04:30 show it in maintenance, 05:00 out of it: 3 h of maintenance that day, the rest
  degraded (its stale EIP), nothing up or down;
- 19 Nov: the collector's last pass is 01:00 and its next 07:00; the 01:00 pass counts for
  3 periods of 30 min (to 02:30), so 4 h 30 min of the day is a gap for every environment,
  and nothing else in the 90 days is;
- classify-test answers 503 while (now - t) // 2 min is odd, for t in [07:10:03, 07:52:03):
  the passes at 07:41:00 ... 07:51:00 (ages 19 min 3 s ... 9 min 3 s) change at ages 19,
  17, 15, 13, 11 and 9 min: 6 changes in the last 20 passes, more than 3: flapping, 6;
  in all, 10 stretches of 503 between 50 and 8 minutes ago, 20 changes.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path

import pytest
from tests.observed import Observed

from fleetboard import memory
from fleetboard.demo import history, scenario
from fleetboard.demo.aws_world import CreatedEnv, World
from fleetboard.demo.past import Past
from fleetboard.inventory import Address
from fleetboard.memory import saved
from fleetboard.model import Board, EnvironmentView, SourceRun, Uptime
from fleetboard.publish import LATEST, LocalPublisher, rollup_key

NOW = datetime(2026, 11, 23, 8, 0, 3, tzinfo=UTC)
H = 3600.0
EIPS = {
    "prod": "54.164.117.252",
    "test": "54.145.185.156",
    "test-2": "3.93.12.40",
    "test-3": "44.200.1.9",
    "test-4": "44.200.7.31",
}


def observed(at: datetime) -> Observed:
    """The demo fleet (its own fleet.toml) seen healthy at `at`."""
    envs = {
        e.name: CreatedEnv(
            e.name,
            scenario.eip_tag(e),
            EIPS[e.name],
            f"eipalloc-0{i}",
            f"i-0{i}c0b739bd35643f",
            "t3.medium",
            "stopped" if e.stopped else "running",
        )
        for i, e in enumerate(scenario.DEMO_ENVS)
    }
    world = World("http://127.0.0.1:9", "us-east-1", scenario.ZONE, "Z0DEMO", envs, {}, {})
    text = scenario.fleet_toml(world, Address("127.0.0.1", 8443), "ca.pem", "http://127.0.0.1:9")
    text += Past(NOW).maintenance_toml()  # as the demo writes it
    # Nothing is probed here: the demo's CA file is not needed.
    seen = Observed(text.replace("ca_bundle = ", "# ca_bundle = "), at)
    for env in scenario.DEMO_ENVS:
        made = envs[env.name]
        mark = seen.stopped if env.stopped else seen.running
        mark(env.name, str(made.instance_id), str(made.eip), launched_days_ago=120)
    return seen


@pytest.fixture(scope="module")
def replayed() -> history.Replayed:
    seen = observed(NOW)
    results = seen.results()
    runs = {name: SourceRun(True, 0.1) for name in results}
    return history.replay(seen.loaded, results, runs, Past(NOW))


@pytest.fixture(scope="module")
def written(replayed: history.Replayed, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("board")
    history.write(LocalPublisher(out), replayed, chain=False)
    return out


def rollup(replayed: history.Replayed, day: str) -> dict[str, dict[str, float]]:
    key = rollup_key(datetime.fromisoformat(day).replace(tzinfo=UTC))
    doc: dict[str, dict[str, dict[str, float]]] = json.loads(replayed.rollups[key])
    return doc["environments"]


def env(board: Board, name: str) -> EnvironmentView:
    return next(e for e in board.environments if e.name == name)


def window(view: EnvironmentView, name: str) -> Uptime:
    return next(u for u in view.uptime if u.window == name)


def test_every_pass_counts_up_to_the_next_but_across_the_outage() -> None:
    past = Past(NOW)
    plan = list(past.passes())
    assert plan[0][0] == datetime(2026, 8, 26, tzinfo=UTC)
    assert plan[-1][0] == datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
    holes = [(a, b) for (a, _), (b, period) in pairwise(plan) if b - a != timedelta(seconds=period)]
    assert holes == [(past.outage.start, past.outage.end)]
    # Coarse long ago, the live period at the end.
    assert plan[1][1] == 4 * 3600 and plan[-1][1] == 60


def test_the_incident_day_is_five_and_a_half_hours_down(replayed: history.Replayed) -> None:
    day = rollup(replayed, "2026-11-17")
    assert day["test-2"] == {
        "up": 18.5 * H,
        "degraded": 0.0,
        "down": 5.5 * H,
        "unknown": 0.0,
        "parked": 0.0,
        "maintenance": 0.0,
        "gap": 0.0,
    }
    assert day["prod"]["up"] == 24 * H


def test_the_outage_is_a_gap_and_the_coarse_passes_are_not(replayed: history.Replayed) -> None:
    outage = rollup(replayed, "2026-11-19")
    for name in ("prod", "test-2"):
        assert outage[name]["gap"] == 4.5 * H
        assert outage[name]["up"] == 19.5 * H
    assert outage["test-3"]["parked"] == 19.5 * H and outage["test-3"]["gap"] == 4.5 * H
    # Passes four hours apart leave no gap: each says its step as its period.
    assert rollup(replayed, "2026-08-26")["prod"] == {
        "up": 24 * H,
        "degraded": 0.0,
        "down": 0.0,
        "unknown": 0.0,
        "parked": 0.0,
        "maintenance": 0.0,
        "gap": 0.0,
    }
    assert len(replayed.rollups) == 89  # every day but today, which is still open
    prod = window(env(replayed.board, "prod"), "90d")
    assert (prod.gap_s, prod.down_s, prod.available) == (4.5 * H, 0.0, 1.0)


def test_the_week_shows_the_incident_and_a_parked_slot_is_neither_up_nor_down(
    replayed: history.Replayed,
) -> None:
    week = window(env(replayed.board, "test-2"), "7d")
    assert week.down_s == 5.5 * H
    assert week.gap_s == 4.5 * H
    assert week.available == pytest.approx(1 - 5.5 * H / (week.up_s + week.down_s))
    stopped = window(env(replayed.board, "test-3"), "30d")
    assert stopped.available is None and stopped.parked_s > 29 * 24 * H


def test_the_worker_that_flapped_is_flapping_at_the_end(replayed: history.Replayed) -> None:
    test = env(replayed.board, "test")
    classify = next(c for c in test.checks if c.name == "worker:classify")
    assert classify.flapping == 6
    assert classify.status.value == "green"
    # Its 20 changes of the last day (10 stretches of 503) are one line of recent changes.
    folded = [t for t in replayed.board.recent if t.check == "worker:classify"]
    assert [(t.before, t.after, t.times) for t in folded] == [("green", "green", 20)]


def test_since_reaches_back_to_the_first_pass_and_to_the_incident(
    replayed: history.Replayed,
) -> None:
    board = replayed.board
    began = datetime(2026, 8, 26, tzinfo=UTC)
    assert board.collector.memory_from == began
    assert env(board, "prod").since == began
    assert env(board, "test-3").since == began  # stopped all along
    # test-2 has been green since the incident ended (19:30 on 17 Nov).
    assert env(board, "test-2").since == datetime(2026, 11, 17, 19, 30, tzinfo=UTC)


def test_the_live_pass_carries_on_from_what_was_written(
    replayed: history.Replayed, written: Path
) -> None:
    store = LocalPublisher(written)
    kept = saved.load(store, lambda: store.read(LATEST), NOW)
    assert kept is not None and kept.reset is None
    assert kept == replayed.timeline
    assert (written / "history" / "days" / "2026-11-19.json").is_file()
    # The first live pass, 6 s after the last replayed one: nothing is a gap, since stays.
    live = observed(NOW + timedelta(seconds=3)).board()
    shown, _ = memory.remember(kept, live)
    assert env(shown, "prod").since == datetime(2026, 8, 26, tzinfo=UTC)
    day = window(env(shown, "prod"), "24h")
    assert (day.gap_s, day.up_s) == (0.0, 24 * H)


def test_slot_one_s_maintenance_window_is_maintenance_time_not_up_or_down(
    replayed: history.Replayed,
) -> None:
    day = rollup(replayed, "2026-11-21")
    assert day["test"] == {
        "up": 0.0,
        "degraded": 21 * H,
        "down": 0.0,
        "unknown": 0.0,
        "parked": 0.0,
        "maintenance": 3 * H,
        "gap": 0.0,
    }
    # the week's uptime says it apart: not in the availability, not a gap
    week = window(env(replayed.board, "test"), "7d")
    assert (week.maintenance_s, week.gap_s) == (3 * H, 4.5 * H)
