"""The board remembers: since-times and the last day's changes, kept across passes, and a
lost or broken memory rebuilt from the last board instead of failing the pass."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from tests.boards import NOW, ZONE, before_memory, demo, document, remembered

from fleetboard import memory, snapshot
from fleetboard.memory import saved
from fleetboard.memory.timeline import RECENT_MAX, Timeline
from fleetboard.model import Board, EnvironmentView, Transition
from fleetboard.publish import LocalPublisher

AUDIT = f"audit-test-2.{ZONE}"
AUDIT_CHECK = f"http:{AUDIT}/healthz"


def env(board: Board, name: str) -> EnvironmentView:
    return next(e for e in board.environments if e.name == name)


def healthy_audit(at=NOW) -> Board:  # type: ignore[no-untyped-def]
    seen = demo(at)
    seen.answers(AUDIT)  # audit-test-2 answers ok: test-2 is red only for its A record
    return seen.board()


def test_the_first_pass_remembers_from_now_and_lists_no_change() -> None:
    board, timeline = memory.remember(None, demo(NOW).board())
    assert board.collector.memory_from == NOW and board.collector.memory_reset is None
    assert board.summary.since == NOW
    assert all(e.since == NOW for e in board.environments)
    assert all(c.since == NOW for e in board.environments for c in e.checks)
    assert all(i.since == NOW for i in board.summary.issues)
    assert board.recent == ()
    assert timeline.began == NOW


def test_an_unchanged_status_keeps_its_since() -> None:
    later = NOW + timedelta(minutes=14)
    board, _ = remembered(
        demo(NOW).board(), demo(NOW + timedelta(minutes=1)).board(), demo(later).board()
    )
    test2 = env(board, "test-2")
    assert test2.status.value == "red" and test2.since == NOW  # red for 14 min
    assert board.recent == ()
    assert board.collector.memory_from == NOW


def test_a_check_that_fails_starts_its_since_and_is_listed_once_with_its_environment() -> None:
    t1, t2 = NOW, NOW + timedelta(minutes=5)
    before = healthy_audit(t1)
    after = demo(t2).board()  # audit-test-2 answers 502
    board, timeline = remembered(before, after)
    audit = next(c for c in env(board, "test-2").checks if c.id == AUDIT_CHECK)
    assert audit.status.value == "red" and audit.since == t2
    lines = [(t.env, t.check, t.before, t.after) for t in board.recent]
    assert ("test-2", "worker:audit", "green", "red") in lines
    assert all(t.at == t2 for t in board.recent)
    # The machine kept its status: its since is still the first pass's.
    machine = next(c for c in env(board, "test-2").checks if c.name == "machine")
    assert machine.since == t1
    assert timeline.recent == board.recent


def test_a_slot_that_stops_is_one_line_not_one_per_check() -> None:
    t2 = NOW + timedelta(minutes=3)
    before = demo(NOW).board()
    seen = demo(t2)
    seen.stopped("test", "i-0135a8b2c53d14941", "3.214.219.209", launched_days_ago=3.1)
    board, _ = remembered(before, seen.board())
    test_lines = [t for t in board.recent if t.env == "test"]
    assert [(t.check, t.after, t.reason) for t in test_lines] == [
        (None, "stopped", "test is stopped")
    ]
    assert env(board, "test").since == t2


def test_recent_keeps_a_day_newest_first_and_is_bounded() -> None:
    old = Transition(NOW - timedelta(hours=25), "prod", None, "green", "red", "long ago")
    day = Transition(NOW - timedelta(hours=23), "prod", None, "red", "green", "this morning")
    flood = tuple(
        Transition(NOW - timedelta(minutes=i), "test", "x", "green", "red", str(i))
        for i in range(1, RECENT_MAX + 50)
    )
    start = Timeline(began=NOW - timedelta(days=3), recent=(*flood, day, old))
    board, _ = memory.remember(start, demo(NOW).board())
    assert len(board.recent) == RECENT_MAX
    assert [t.at for t in board.recent] == sorted((t.at for t in board.recent), reverse=True)
    assert old not in board.recent


def test_the_timeline_survives_its_own_encoding() -> None:
    _, timeline = remembered(healthy_audit(NOW), demo(NOW + timedelta(minutes=5)).board())
    assert saved.decode(saved.encode(timeline)) == timeline


# ------------------------------------------------------------------ kept beside the board


def published(folder: Path, board: Board) -> LocalPublisher:
    """A board folder whose latest.json is `board`'s."""
    publisher = LocalPublisher(folder)
    (folder / "latest.json").write_bytes(snapshot.dumps(document(board)))
    return publisher


def test_a_saved_timeline_is_read_back_by_the_next_pass(tmp_path: Path) -> None:
    store = LocalPublisher(tmp_path)
    _, first = memory.remember(None, demo(NOW).board())
    memory.save(store, first)
    later = NOW + timedelta(hours=2)
    board, _ = memory.remember(memory.load(store, lambda: None, later), demo(later).board())
    assert env(board, "test-2").since == NOW
    assert board.collector.memory_reset is None


@pytest.mark.parametrize(
    ("saved_bytes", "why"),
    [
        (None, "no saved timeline was found"),
        (b'{"version": 2, "began": "2026-11-23T08:00:03Z"', "unreadable"),
        (b'{"version": 99}', "not a version 2 or 3 timeline"),
        (b'{"version": 2, "began": "x", "held": {}, "recent": []}', "malformed"),
        (b"[" * 100_000, "unreadable"),
    ],
    ids=["lost", "truncated", "another-version", "bad-time", "too-deep"],
)
def test_a_lost_or_broken_timeline_is_rebuilt_from_the_last_board_and_said(
    tmp_path: Path, saved_bytes: bytes | None, why: str
) -> None:
    first, _ = memory.remember(None, demo(NOW).board())
    store = published(tmp_path, first)
    if saved_bytes is not None:
        (tmp_path / "state").mkdir()
        (tmp_path / "state" / "timeline.json").write_bytes(saved_bytes)
    later = NOW + timedelta(hours=1)
    loaded = memory.load(store, lambda: (tmp_path / "latest.json").read_bytes(), later)
    assert loaded is not None
    board, _ = memory.remember(loaded, demo(later).board())
    reset = board.collector.memory_reset
    assert reset is not None and reset.startswith("history reset at 2026-11-23 09:00 UTC")
    assert why in reset
    # What the last board said is kept: test-2 has been red since the first pass.
    assert env(board, "test-2").since == NOW
    # The reset is said for a day, then the board stops saying it.
    next_day = NOW + timedelta(hours=26)
    _, timeline = memory.remember(loaded, demo(later).board())
    quiet, _ = memory.remember(timeline, demo(next_day).board())
    assert quiet.collector.memory_reset is None


def test_a_board_from_before_memory_gives_its_own_time_as_since(tmp_path: Path) -> None:
    doc = document(demo(NOW).board())  # no memory applied: every since is null
    assert env_doc(doc, "test-2")["since"] is None
    held = saved.from_snapshot(snapshot.dumps(doc))
    assert held is not None and held["env:test-2"].since == NOW


def env_doc(doc: dict, name: str) -> dict:
    return next(e for e in doc["environments"] if e["name"] == name)


def test_a_store_that_fails_is_a_reset_not_a_failed_pass() -> None:
    class Broken:
        def load_state(self, name: str) -> bytes | None:
            raise OSError("disk gone")

        def save_state(self, name: str, data: bytes) -> None:
            raise OSError("disk gone")

    first, _ = memory.remember(None, demo(NOW).board())
    loaded = memory.load(Broken(), lambda: snapshot.dumps(document(first)), NOW)
    assert loaded is not None and "could not be read (OSError)" in (loaded.reset or "")
    memory.save(Broken(), loaded)  # logged, not raised


def test_the_very_first_pass_is_not_a_reset(tmp_path: Path) -> None:
    assert memory.load(LocalPublisher(tmp_path), lambda: None, NOW) is None


def test_snapshots_from_before_memory_still_validate() -> None:
    board, _ = memory.remember(None, demo(NOW).board())
    doc = document(board)
    assert snapshot.problems(doc) == []
    old = before_memory(document(replace(board, recent=())))
    assert snapshot.problems(old) == []


def test_a_pass_that_closes_a_day_publishes_its_rollup_before_the_board(tmp_path: Path) -> None:
    from fleetboard import collect
    from fleetboard.publish import ordered

    before_midnight = NOW.replace(hour=23, minute=59, second=30)
    _, timeline = memory.remember(None, demo(before_midnight).board())
    board, timeline = memory.remember(
        timeline, demo(before_midnight + timedelta(minutes=1)).board()
    )
    assert [d.date().isoformat() for d in timeline.closed] == ["2026-11-23"]
    release, _ = collect.release_of(board, timeline)
    assert ordered(release)[0][0] == "history/days/2026-11-23.json"
    LocalPublisher(tmp_path).publish(release)
    day = json.loads((tmp_path / "history" / "days" / "2026-11-23.json").read_bytes())
    assert day["day"] == "2026-11-23"
    assert day["environments"]["test-2"]["down"] == 30.0  # red from 23:59:30 to midnight
    # Before the memory began (23:59:30) is not a gap: as in the snapshot's days and uptime.
    assert day["environments"]["test-2"]["gap"] == 0.0


def test_a_saved_tally_of_the_wrong_shape_is_a_reset_not_a_crash() -> None:
    _, timeline = remembered(demo(NOW).board(), demo(NOW + timedelta(minutes=1)).board())
    doc = json.loads(saved.encode(timeline))
    doc["tallies"]["test-2"]["hours"][0].append(5)  # one class too many
    with pytest.raises(ValueError, match="malformed"):
        saved.decode(json.dumps(doc).encode())


def test_a_version_2_timeline_is_read_with_its_history_whole(tmp_path: Path) -> None:
    """Version 3 added maintenance time to every bucket. A timeline saved by a version 2
    board (five classes a bucket) is read, not reset: its time is all there, with no
    maintenance in it, and the next pass carries on from it."""
    # Three minutes apart: each step is counted whole (three schedule periods of 60 s).
    passes = [NOW + timedelta(minutes=m) for m in range(0, 180, 3)]
    _, timeline = remembered(*(demo(at).board() for at in passes))
    doc = json.loads(saved.encode(timeline))
    doc["version"] = 2
    for tally in doc["tallies"].values():
        for rows in tally.values():
            for row in rows:
                assert row.pop() == 0.0  # no maintenance was counted: nothing is dropped
    store = LocalPublisher(tmp_path)
    (tmp_path / "state").mkdir()
    (tmp_path / "state" / "timeline.json").write_bytes(json.dumps(doc).encode())
    later = passes[-1] + timedelta(minutes=3)
    loaded = memory.load(store, lambda: None, later)
    assert loaded is not None and loaded.reset is None
    assert loaded.tallies == timeline.tallies
    assert loaded.held == timeline.held and loaded.began == timeline.began
    board, _ = memory.remember(loaded, demo(later).board())
    [day] = [u for u in env(board, "test-2").uptime if u.window == "24h"]
    assert day.down_s == pytest.approx(3 * 3600)  # red the whole three hours, none lost
    assert day.maintenance_s == 0 and day.gap_s == 0
    assert board.collector.memory_reset is None
    # What this board saves is the current version, read back the same.
    assert json.loads(saved.encode(loaded))["version"] == saved.VERSION
