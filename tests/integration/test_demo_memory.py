"""The demo's memory against its real parts: the 90 days replayed before the first live pass,
what that first board shows a newcomer, and the live incident coming and going while the
board is served (driven pass by pass with an injected clock: no sleeping)."""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from fleetboard import collect, snapshot
from fleetboard.demo import history, incident, leaks, procs
from fleetboard.demo.past import Past
from fleetboard.demo.run import DemoFleet, demo_fleet, serve_pass
from fleetboard.publish import LATEST, LocalPublisher


@dataclass(frozen=True)
class First:
    written: history.Written
    doc: dict[str, Any]
    out: Path
    started: datetime  # the clock the replay ran up to


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoFleet]:
    with demo_fleet(tmp_path_factory.mktemp("demo")) as running:
        yield running


@pytest.fixture(scope="module")
def first(fleet: DemoFleet, tmp_path_factory: pytest.TempPathFactory) -> First:
    """What `fleetboard demo` does before it serves: the replay, then the first live pass."""
    out = tmp_path_factory.mktemp("board")
    children = set(procs.children())
    temps = set(leaks.temp_leftovers())
    started = datetime.now(UTC).replace(microsecond=0)
    written = history.replay_into(fleet.loaded, fleet.context_overrides(), out, now=started)
    # The replay starts no process and leaves no folder of its own.
    assert set(procs.children()) <= children
    assert set(leaks.temp_leftovers()) <= temps
    print(written.line(), f"(survey {written.survey_s:.2f} s, write {written.write_s:.2f} s)")
    ctx = collect.laptop_context(fleet.loaded, **fleet.context_overrides())
    result = collect.run_pass(fleet.loaded, ctx, LocalPublisher(out))
    assert result.error is None and result.state_conflicts == []
    return First(written, result.document, out, started)


def env(doc: dict[str, Any], name: str) -> dict[str, Any]:
    return next(e for e in doc["environments"] if e["name"] == name)


def when(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _at(at: datetime) -> datetime:
    return at


def window(view: dict[str, Any], name: str) -> dict[str, Any]:
    return next(u for u in view["uptime"] if u["window"] == name)


def today(first: First) -> datetime:
    return Past(first.started).today


def test_the_first_board_remembers_ninety_days(first: First) -> None:
    doc = first.doc
    assert snapshot.problems(doc) == []
    assert doc["collector"]["memory_reset"] is None
    began = when(doc["collector"]["memory_from"])
    assert began == today(first) - timedelta(days=89)
    # prod's services have answered since the memory began; prod itself has shown its word
    # since before today (red with the chain since its deposit crossed the floor).
    prod = env(doc, "prod")
    green = [c for c in prod["checks"] if c["status"] == "green" and c["kind"] == "http"]
    assert green and all(when(c["since"]) == began for c in green)
    assert when(prod["since"]) < today(first)
    if prod["status"] == "green":  # without the chain
        assert when(prod["since"]) == began
    assert when(env(doc, "test-3")["since"]) == began  # stopped all along
    for view in doc["environments"]:
        ninety = window(view, "90d")
        covered = sum(ninety[k] for k in ("up_s", "degraded_s", "down_s", "unknown_s"))
        assert covered + ninety["parked_s"] > 88 * 86_400  # 90 days remembered, not 1 pass


def test_test2s_incident_last_week_is_in_its_uptime(first: First) -> None:
    past = Past(first.started)
    test2 = env(first.doc, "test-2")
    week = window(test2, "7d")
    assert week["available"] is not None and week["available"] < 1
    assert week["down_s"] >= 5.5 * 3600  # the incident, and whatever is red since
    assert window(test2, "90d")["available"] is not None
    day = json.loads(
        (first.out / "history" / "days" / f"{past.incident.start.date()}.json").read_text()
    )
    assert day["environments"]["test-2"]["down"] == 5.5 * 3600


def test_the_collector_outage_is_a_gap_day(first: First) -> None:
    past = Past(first.started)
    day = json.loads(
        (first.out / "history" / "days" / f"{past.outage.start.date()}.json").read_text()
    )
    # Stopped after the 01:00 pass, back at 07:00; a pass covers 3 half-hour periods.
    gaps = {name: e["gap"] for name, e in day["environments"].items()}
    assert gaps == dict.fromkeys(("prod", "test", "test-2", "test-3", "test-4"), 4.5 * 3600)
    assert window(env(first.doc, "prod"), "7d")["gap_s"] == 4.5 * 3600


def test_slot_1s_flapping_worker_is_marked_on_the_first_board(first: First) -> None:
    classify = next(c for c in env(first.doc, "test")["checks"] if c["name"] == "worker:classify")
    assert classify["status"] == "green"
    assert classify["flapping"] is not None and classify["flapping"] > 3
    folded = [t for t in first.doc["recent"] if t["check"] == "worker:classify"]
    assert len(folded) == 1 and folded[0]["times"] > 3


def test_the_draining_deployer_shows_its_runway_in_days(fleet: DemoFleet, first: First) -> None:
    if fleet.chain is None:  # anvil or solc-js missing: scripts/test.sh installs both
        if os.environ.get("CI") == "true":
            pytest.fail(f"the demo ran without its chain: {fleet.chain_note}")
        pytest.skip(f"the demo ran without its chain: {fleet.chain_note}")
    deployer = env(first.doc, "test")["chain"]["wallets"][0]
    # 2.4 HEI, floor 1 HEI, burning 0.25 HEI a day: (2.4 - 1) / 0.25 = 5.6 days.
    assert deployer["days_left"] == pytest.approx(5.6, abs=0.15)
    assert deployer["runway"].endswith("runs dry in about 6 days")
    assert deployer["status"] == "amber"  # sooner than runway_days (7)
    deposit = next(
        w for w in env(first.doc, "prod")["chain"]["wallets"] if w["role"] == "paymaster deposit"
    )
    assert deposit["burn_per_day"] is not None and deposit["status"] == "red"
    assert (first.out / "state" / "wallets.json").is_file()


def test_the_live_incident_comes_and_goes_pass_by_pass(fleet: DemoFleet, first: First) -> None:
    """Serving passes 1..6 at 60 s, each 10 s after the one before (an injected clock):
    prod's email worker answers 502 from pass 2 until pass 5."""
    live = incident.LiveIncident.for_demo(60)
    assert (live.begins, live.ends) == (2, 5)
    start = when(first.doc["generated_at"])
    seen: dict[int, dict[str, Any]] = {}
    said: list[str] = []
    for number in range(1, 7):
        clock = functools.partial(_at, start + timedelta(seconds=10 * number))
        result = serve_pass(fleet, first.out, number, live, every_s=60, now=clock, say=said.append)
        assert result.error is None
        seen[number] = result.document

    def email(number: int) -> dict[str, Any]:
        checks = env(seen[number], "prod")["checks"]
        return next(c for c in checks if c["name"] == "worker:email")

    began, ended = start + timedelta(seconds=20), start + timedelta(seconds=50)
    assert email(1)["status"] == "green" and when(email(1)["since"]) < today(first)
    assert (email(2)["status"], when(email(2)["since"])) == ("red", began)
    assert (email(4)["status"], when(email(4)["since"])) == ("red", began)
    assert (email(5)["status"], when(email(5)["since"])) == ("green", ended)
    lines = [
        (when(t["at"]), t["from"], t["to"])
        for t in seen[6]["recent"]
        if t["env"] == "prod" and t["check"] == "worker:email"
    ]
    assert lines == [(ended, "red", "green"), (began, "green", "red")]
    assert any(line.startswith("an incident begins on prod: email.litentry.org") for line in said)
    assert any(line.startswith("the incident on prod ends") for line in said)
    latest = json.loads((first.out / LATEST).read_text())
    assert latest["generated_at"] == seen[6]["generated_at"]


def test_the_replay_logs_its_changes_like_a_live_pass(fleet: DemoFleet, first: First) -> None:
    """The events log holds the 90 days' changes too, each object under the schema, so a
    tool reading history/events/ sees test-2's incident last week as a live board logs it."""
    from fleetboard import events

    logs = sorted((first.out / "history" / "events").rglob("*.json"))
    assert len(logs) >= len(first.written.replayed.events) > 0  # with the live pass's, if any
    docs = [json.loads(p.read_text()) for p in logs]
    assert [problem for doc in docs for problem in events.problems(doc)] == []
    incident = Past(first.started).incident
    went_red = [
        e
        for doc in docs
        for e in doc["events"]
        if e["env"] == "test-2" and e["check"] is None and e["to"] == "red"
    ]
    assert any(incident.start <= when(e["at"]) < incident.end for e in went_red)
    # The replayed board speaks of its flapping window as a live one does.
    flap_passes = fleet.loaded.inventory.thresholds.flap_passes
    assert first.written.replayed.board.collector.flap_passes == flap_passes
