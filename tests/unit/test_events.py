"""The events log: every change the board saw, one object per pass that saw any, under its
own JSON Schema, written with the board and never read back by a pass."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from jsonschema import Draft7Validator
from tests.boards import NOW, ZONE, demo

from fleetboard import collect, events, memory, schemas, snapshot
from fleetboard.memory.timeline import Timeline
from fleetboard.model import Board
from fleetboard.publish import (
    ASSETS,
    EVENTS_PREFIX,
    FEED,
    INDEX,
    LATEST,
    LocalPublisher,
    events_key,
    ordered,
)

AUDIT = f"audit-test-2.{ZONE}"
SCHEMA = Path(__file__).parents[2] / "lambdas" / "fleetboard" / "schema" / "events.schema.json"
MINUTE = timedelta(minutes=1)


def calm(at=NOW) -> Board:  # type: ignore[no-untyped-def]
    seen = demo(at)
    seen.answers(AUDIT)  # audit-test-2 answers ok
    return seen.board()


def broken(at=NOW) -> Board:  # type: ignore[no-untyped-def]
    return demo(at).board()  # audit-test-2 answers 502


def passes(*boards: Board) -> list[tuple[Board, Timeline]]:
    """Each board as the next pass through the real memory: (shown, timeline after it)."""
    timeline: Timeline | None = None
    out = []
    for i, board in enumerate(boards):
        shown, timeline = memory.remember(timeline, replace(board, generated_at=NOW + i * MINUTE))
        out.append((shown, timeline))
    return out


def logged(board: Board, timeline: Timeline) -> dict[str, dict]:
    """The events objects the pass publishes, by key, as a tool reads them."""
    release, _ = collect.release_of(board, timeline)
    return {key: json.loads(data) for key, data in release.events.items()}


def test_a_pass_that_saw_changes_writes_one_schema_valid_object_beside_its_history() -> None:
    (_, _), (board, timeline) = passes(calm(), broken())
    found = logged(board, timeline)
    assert list(found) == [events_key(NOW + MINUTE)]
    [doc] = found.values()
    # Valid by the schema file itself, read as any tool would (a generic validator).
    schema = json.loads(SCHEMA.read_text())
    assert list(Draft7Validator(schema).iter_errors(doc)) == []
    assert doc["schema_version"] == events.SCHEMA_VERSION
    assert doc["generated_at"] == "2026-11-23T08:01:03Z" and doc["fleet"] == board.fleet
    lines = [(e["env"], e["check"], e["from"], e["to"]) for e in doc["events"]]
    assert ("test-2", "worker:audit", "green", "red") in lines
    # The same changes the page lists for this pass, each with its time and reason.
    assert sorted(lines) == sorted((t.env, t.check, t.before, t.after) for t in board.recent)
    audit = next(e for e in doc["events"] if (e["env"], e["check"]) == ("test-2", "worker:audit"))
    assert audit["at"] == doc["generated_at"] and "502" in audit["reason"]
    # A tool lists a day by its prefix: the key is the pass's time under the day.
    key = events_key(NOW + MINUTE)
    assert key.startswith(f"{EVENTS_PREFIX}2026/11/23/")
    assert key.removeprefix(EVENTS_PREFIX).replace("/", "") == "20261123080103Z.json"


def test_a_pass_with_no_change_writes_no_events_object() -> None:
    first, (board, timeline) = passes(broken(), broken())
    assert logged(*first) == {}  # the first pass: nothing was there to change
    assert timeline.changes == () and logged(board, timeline) == {}
    release, _ = collect.release_of(board, timeline)
    assert not any(key.startswith(EVENTS_PREFIX) for key, _ in ordered(release))


def test_every_change_of_a_flapping_check_is_in_the_log_though_recent_folds_them() -> None:
    script = [calm(), broken(), calm(), broken(), calm(), broken()]  # five changes
    shown = passes(*script)
    board, _ = shown[-1]
    # The page's recent changes: one line for the flapping check, standing for all five.
    folded = [t for t in board.recent if (t.env, t.check) == ("test-2", "worker:audit")]
    assert len(folded) == 1 and folded[0].times == 5
    test2 = next(e for e in board.environments if e.name == "test-2")
    assert next(c for c in test2.checks if c.name == "worker:audit").flapping == 5
    # The log: every one of them, at its own pass's time, alternating.
    log = [
        e
        for b, t in shown
        for doc in logged(b, t).values()
        for e in doc["events"]
        if (e["env"], e["check"]) == ("test-2", "worker:audit")
    ]
    assert [(e["from"], e["to"]) for e in log] == [("green", "red"), ("red", "green")] * 2 + [
        ("green", "red")
    ]
    assert [e["at"] for e in log] == [snapshot.iso(NOW + i * MINUTE) for i in range(1, 6)]


def test_the_log_is_written_after_its_history_object_and_before_the_board(
    tmp_path: Path,
) -> None:
    _, (board, timeline) = passes(calm(), broken())
    release, _ = collect.release_of(board, timeline)
    keys = [key for key, _ in ordered(release)]
    history, event = keys.index(release.history_key), keys.index(events_key(board.generated_at))
    assert history < event < keys.index(LATEST) < keys.index(FEED) < keys.index(INDEX)
    assert keys.index(FEED) < min(keys.index(a) for a in ASSETS)
    written = LocalPublisher(tmp_path).publish(release)
    assert written == keys
    on_disk = tmp_path / events_key(board.generated_at)
    assert json.loads(on_disk.read_bytes())["events"]


def test_a_broken_events_object_is_refused_with_what_is_wrong() -> None:
    _, (board, timeline) = passes(calm(), broken())
    doc = events.document(board.fleet, board.generated_at, timeline.changes)
    assert events.problems(doc) == []
    del doc["events"][0]["reason"]
    doc["generated_at"] = "yesterday"
    found = events.problems(doc)
    assert "events.0: 'reason' is a required property" in found
    assert any(p.startswith("generated_at:") for p in found)
    with pytest.raises(schemas.Invalid, match="'reason' is a required property"):
        events.validate(doc)


def test_an_event_is_the_snapshots_transition_less_its_folding() -> None:
    """A tool reads `recent` and the log with one reader: the same fields, the same types."""
    event = events.schema()["definitions"]["event"]
    transition = snapshot.schema()["definitions"]["transition"]
    assert event["required"] == transition["required"]
    assert set(transition["properties"]) - set(event["properties"]) == {"times"}
    for name, rule in event["properties"].items():
        theirs = transition["properties"][name]
        assert {k: v for k, v in rule.items() if k != "description"} == {
            k: v for k, v in theirs.items() if k != "description"
        }, name
