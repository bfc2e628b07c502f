"""A sharded pass (shards/) against the demo's real parts: shard processes probing their
share of the environments, one merge publishing. The same board as one collector; a lost
shard leaves its environments unknown (the collector's blindness), never missing or red;
no shard process outlives the pass."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fleetboard import collect
from fleetboard.collect import PassResult
from fleetboard.demo import leaks
from fleetboard.demo.aws_world import DEMO_CREDENTIALS
from fleetboard.demo.run import DemoFleet, demo_fleet
from fleetboard.publish import LATEST, LocalPublisher
from fleetboard.shards import codec, split
from fleetboard.shards.local import ShardJob, run_local, run_processes
from fleetboard.shards.merge import failures_from, merge_pass
from fleetboard.shards.run import run_shard, state_name


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoFleet]:
    with demo_fleet(tmp_path_factory.mktemp("demo")) as running:
        yield running


def context(fleet: DemoFleet) -> Any:
    return collect.laptop_context(fleet.loaded, **fleet.context_overrides())


@pytest.fixture(scope="module")
def single(fleet: DemoFleet, tmp_path_factory: pytest.TempPathFactory) -> PassResult:
    out = tmp_path_factory.mktemp("single")
    return collect.run_pass(fleet.loaded, context(fleet), LocalPublisher(out))


def shard_processes() -> list[int]:
    me = os.getpid()
    return [
        p.pid
        for p in leaks.processes(
            lambda pid, _env, cmd: "fleetboard.shards.local" in cmd and leaks.descends_from(pid, me)
        )
    ]


def verdicts(doc: dict[str, Any]) -> dict[tuple[str, str], tuple[str, str]]:
    """Each check's status and reason: what a board says, without its timings."""
    return {
        (env["name"], check["name"]): (check["status"], check.get("reason") or "")
        for env in doc["environments"]
        for check in env["checks"]
    }


def probed(doc: dict[str, Any], env: str) -> list[dict[str, Any]]:
    found = next(e for e in doc["environments"] if e["name"] == env)
    return [c for c in found["checks"] if c["kind"] in ("http", "tls")]


def test_three_shard_processes_make_the_board_one_collector_makes(
    fleet: DemoFleet, single: PassResult, tmp_path: Path
) -> None:
    result = run_local(fleet.loaded, tmp_path, 3, context(fleet), credentials=DEMO_CREDENTIALS)
    assert result.error is None
    assert shard_processes() == []
    doc, one = result.document, single.document
    assert verdicts(doc) == verdicts(one)
    assert doc["summary"]["status"] == one["summary"]["status"]
    assert [(i["env"], i["check"]) for i in doc["summary"]["issues"]] == [
        (i["env"], i["check"]) for i in one["summary"]["issues"]
    ]
    # (the probe counts may differ: a stopped slot's probes that finished before AWS said
    # it was stopped are kept, in one process as in three; its checks do not use them)
    assert doc["collector"]["probes"] > 0 and one["collector"]["probes"] > 0
    # what was published is that board, and each shard left its object for this pass
    assert json.loads((tmp_path / LATEST).read_bytes())["generated_at"] == doc["generated_at"]
    passes = {
        json.loads((tmp_path / "state" / f"{state_name(i)}.json").read_bytes())["pass"]
        for i in range(3)
    }
    assert len(passes) == 1


def test_the_next_sharded_pass_writes_over_the_last_ones_shard_objects(
    fleet: DemoFleet, tmp_path: Path
) -> None:
    """Each pass's shards are new processes (on AWS, any container): they write over the
    objects an earlier pass's shards left, never refused as another pass's."""

    def passes() -> set[str]:
        folder = tmp_path / "state"
        return {json.loads((folder / f"{state_name(i)}.json").read_bytes())["pass"] for i in (0, 1)}

    first = run_local(fleet.loaded, tmp_path, 2, context(fleet), credentials=DEMO_CREDENTIALS)
    before = passes()
    second = run_local(fleet.loaded, tmp_path, 2, context(fleet), credentials=DEMO_CREDENTIALS)
    assert first.error is None and second.error is None
    after = passes()
    assert len(before) == len(after) == 1 and before != after
    said = [
        c["summary"]
        for e in fleet.loaded.inventory.environments
        for c in probed(second.document, e.name)
        if "shard" in c["summary"]
    ]
    assert said == []


def test_a_failed_shard_leaves_its_environments_unknown_and_the_board_published(
    fleet: DemoFleet, single: PassResult, tmp_path: Path
) -> None:
    store = LocalPublisher(tmp_path)
    for index in (0, 2):
        run_shard(fleet.loaded, context(fleet), store, index=index, count=3, pass_id="p1")
    failed = failures_from(
        [
            {"shard": 0, "environments": 2, "error": None},
            {"shard": 1, "error": "States.Timeout", "cause": "the task timed out"},
        ]
    )
    result = merge_pass(fleet.loaded, context(fleet), store, count=3, pass_id="p1", failures=failed)
    assert result.error is None and result.published
    lost = split(fleet.loaded.inventory, 3)[1]
    doc = result.document
    assert {e["name"] for e in doc["environments"]} == {
        e["name"] for e in single.document["environments"]
    }
    running = [c for env in lost for c in probed(doc, env) if c["status"] != "grey"]
    assert running  # the lost shard had running environments: the loop below checks them
    for check in running:
        assert check["status"] == "unknown", check
        assert "shard 2 of 3 failed: States.Timeout: the task timed out" in check["summary"]
    assert doc["summary"]["status"] != "green"
    kept = verdicts(single.document)
    for key, verdict in verdicts(doc).items():
        if key[0] not in lost:
            assert verdict == kept[key], key


def test_a_shard_object_of_another_pass_is_not_used(fleet: DemoFleet, tmp_path: Path) -> None:
    store = LocalPublisher(tmp_path)
    for index in range(2):
        run_shard(fleet.loaded, context(fleet), store, index=index, count=2, pass_id="old")
    run_shard(fleet.loaded, context(fleet), store, index=0, count=2, pass_id="new")
    result = merge_pass(fleet.loaded, context(fleet), store, count=2, pass_id="new")
    stale = [
        c
        for env in split(fleet.loaded.inventory, 2)[1]
        for c in probed(result.document, env)
        if c["status"] != "grey"
    ]
    assert stale
    for check in stale:
        assert "shard 2 of 2 left no answer for this pass" in check["summary"]
    for env in split(fleet.loaded.inventory, 2)[0]:
        assert not any("shard" in c["summary"] for c in probed(result.document, env))


def test_an_unreadable_shard_object_is_said_and_never_read_as_facts(
    fleet: DemoFleet, tmp_path: Path
) -> None:
    store = LocalPublisher(tmp_path)
    run_shard(fleet.loaded, context(fleet), store, index=0, count=1, pass_id="p")
    doc = json.loads(store.load_state(state_name(0)) or b"{}")
    doc["http"]["exchanges"][0]["observed_at"] = 12
    store.save_state(state_name(0), json.dumps(doc).encode())
    result = merge_pass(fleet.loaded, context(fleet), store, count=1, pass_id="p")
    summaries = [
        c["summary"]
        for e in fleet.loaded.inventory.environments
        for c in probed(result.document, e.name)
        if c["status"] != "grey"
    ]
    assert summaries and all(
        "shard 1 of 1 left an answer that does not read" in s for s in summaries
    )


def test_a_shard_process_that_fails_is_said_and_none_outlives_the_pass(
    fleet: DemoFleet, tmp_path: Path
) -> None:
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the store's folder should be")
    jobs = [ShardJob(fleet.loaded, blocked, 0, 1, "p", context(fleet).resolver, DEMO_CREDENTIALS)]
    assert run_processes(jobs, deadline_s=30) == {0: "its process exited with code 1"}
    assert shard_processes() == []


def test_the_wire_form_round_trips_every_fact(fleet: DemoFleet, single: PassResult) -> None:
    """What a shard writes reads back as the same facts, failures included."""
    results, _ = collect.run_sources(
        collect.default_sources(fleet.loaded.inventory),
        fleet.loaded,
        context(fleet),
    )
    http, tls = results["http"], results["tls"]
    assert codec.decode_http(json.loads(json.dumps(codec.encode_http(http)))) == http
    assert codec.decode_tls(json.loads(json.dumps(codec.encode_tls(tls)))) == tls
