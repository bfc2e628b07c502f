"""A pass is published by its deadline plus a small grace, whatever a source does.

Stuck sources are real: one that blocks on an Event nobody sets, or the real aws source
against a loopback server that sends its headers and then one body byte at a time. Wall
time is asserted by the deadline itself: the pass runs on a thread joined with a timeout of
deadline + grace (+ a margin for judging and writing the board), so a pass that overruns
fails the test; nothing here sleeps to wait for time to pass.
"""

from __future__ import annotations

import gc
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import pytest
from tests.integration.faults.servers import FaultServer, trickle
from tests.integration.fixtures.aws import DUMMY_AWS_ENV
from tests.integration.fixtures.child import run_fleetboard
from tests.integration.fixtures.deadline import within
from tests.integration.fixtures.fleet_toml import one_env_fleet_toml

from fleetboard import collect, handler
from fleetboard.collect import DEADLINE_GRACE_S, PassResult
from fleetboard.config import LoadedConfig, load
from fleetboard.demo.hosts import refused_port
from fleetboard.inventory import Inventory
from fleetboard.model import SourceFailure
from fleetboard.publish import LATEST, LocalPublisher
from fleetboard.sources import PassContext
from fleetboard.sources.http import HttpSource
from fleetboard.sources.tls import TlsSource

DEADLINE_S = 2.0
#: Judging, rendering and writing the board after the sources: not waiting, so small.
MARGIN_S = 1.5
#: Starting a Python process that imports boto3 on a busy 2-core machine.
STARTUP_S = 8.0


def fleet_toml(endpoint: str, deadline_s: float = DEADLINE_S) -> str:
    """One environment whose only host refuses at once, AWS at `endpoint`."""
    return one_env_fleet_toml(
        "deadline",
        endpoint,
        probe=f"connect_timeout_s = 1\nread_timeout_s = 1\npass_deadline_s = {deadline_s:g}",
        prod=f'hosts.broker.address = "127.0.0.1:{refused_port()}"',
    )


@pytest.fixture
def loaded(tmp_path: Path) -> LoadedConfig:
    path = tmp_path / "fleet.toml"
    path.write_text(fleet_toml(f"http://127.0.0.1:{refused_port()}"))
    return load(path)


@dataclass
class Stuck:
    """A source whose collect blocks until `release` is set (in these tests: after the pass),
    then optionally saves state, and says it finished."""

    name: str
    release: threading.Event = field(default_factory=threading.Event)
    finished: threading.Event = field(default_factory=threading.Event)
    save: bytes | None = None
    needs: ClassVar[tuple[str, ...]] = ()
    wants: ClassVar[tuple[str, ...]] = ()

    def collect(self, inventory: Inventory, ctx: PassContext) -> object:
        try:
            self.release.wait()
            if self.save is not None and ctx.state is not None:
                ctx.state.save_state(self.name, self.save)
            return f"{self.name}: late answer"
        finally:
            self.finished.set()


@dataclass
class Quick:
    """A source that answers at once, after running `then` (if any)."""

    name: str
    answer: object = "answered"
    then: Callable[[PassContext], None] | None = None
    needs: ClassVar[tuple[str, ...]] = ()
    wants: ClassVar[tuple[str, ...]] = ()

    def collect(self, inventory: Inventory, ctx: PassContext) -> object:
        if self.then is not None:
            self.then(ctx)
        return self.answer


@pytest.fixture
def stuck() -> Iterator[Callable[..., Stuck]]:
    """Makes stuck sources; releases every one at the end and waits for its thread to end."""
    made: list[Stuck] = []

    def make(name: str, **kw: Any) -> Stuck:
        made.append(Stuck(name, **kw))
        return made[-1]

    yield make
    for source in made:
        source.release.set()
    for source in made:
        assert source.finished.wait(timeout=10), f"{source.name} did not end when released"


def one_pass(loaded: LoadedConfig, out: Path, sources: list[Any]) -> PassResult:
    ctx = collect.new_context(loaded, resolver=lambda host, port: ["127.0.0.1"])
    return collect.run_pass(loaded, ctx, LocalPublisher(out), sources=sources)


# --------------------------------------------------------------------------- in-process


def test_a_stuck_source_is_unknown_and_the_board_is_published_by_deadline_plus_grace(
    loaded: LoadedConfig, tmp_path: Path, stuck: Callable[..., Stuck]
) -> None:
    sources = [stuck("aws"), HttpSource(), TlsSource()]
    timed = within(
        DEADLINE_S + DEADLINE_GRACE_S + MARGIN_S,
        lambda: one_pass(loaded, tmp_path / "board", sources),
    )
    result = timed.value
    assert result.error is None and result.published[-2:] == ["index.html", "version.json"]
    runs = result.board.collector.sources
    assert runs["aws"].error == f"no complete answer within {DEADLINE_S:g} s"
    assert runs["http"].ok and runs["tls"].ok  # the others answered, and are on the board
    doc = json.loads((tmp_path / "board" / LATEST).read_text())
    issues = {i["check"]: i["text"] for i in doc["summary"]["issues"]}
    assert "no complete answer within 2 s" in issues["source:aws"]
    assert "connection refused" in issues["broker"]
    print(f"pass with a stuck source: {timed.elapsed_s:.2f} s (deadline {DEADLINE_S:g} s)")


def test_a_source_that_needs_a_stuck_one_answers_without_it(
    loaded: LoadedConfig, tmp_path: Path, stuck: Callable[..., Stuck]
) -> None:
    # tls needs http: with http stuck, tls stops waiting before the pass does, and answers.
    sources = [Quick("aws", SourceFailure("aws", "not asked")), stuck("http"), TlsSource()]
    result = within(
        DEADLINE_S + DEADLINE_GRACE_S + MARGIN_S,
        lambda: one_pass(loaded, tmp_path / "board", sources),
    ).value
    runs = result.board.collector.sources
    assert runs["http"].error == "no complete answer within 2 s"
    assert runs["tls"].ok, runs["tls"]
    assert result.error is None


def test_the_heap_a_pass_finds_is_out_of_the_collectors_walk_while_it_runs_and_handed_back(
    loaded: LoadedConfig, tmp_path: Path
) -> None:
    """A full garbage collection of a warm container's heap pauses the probes' event loop
    for seconds (2 to 7 s measured in this suite's process, at 2 to 3 million objects):
    while the sources run, the heap the pass found is frozen out of every collection; after
    the pass it is handed back, so the garbage of a long-lived container is still freed."""
    frozen: list[int] = []
    seen = Quick(
        "aws", SourceFailure("aws", "not asked"), lambda _: frozen.append(gc.get_freeze_count())
    )
    gc.unfreeze()
    one_pass(loaded, tmp_path / "board", [seen, HttpSource(), TlsSource()])
    assert frozen and frozen[0] > 1000
    assert gc.get_freeze_count() == 0


def test_an_abandoned_source_cannot_write_into_a_later_pass(
    loaded: LoadedConfig, tmp_path: Path, stuck: Callable[..., Stuck]
) -> None:
    store = LocalPublisher(tmp_path / "board")
    late = stuck("late", save=b'{"from": "pass 1"}')
    in_time = Quick("github", then=lambda ctx: ctx.state.save_state("github", b"{}"))  # type: ignore[union-attr]
    first = collect.new_context(loaded, state=store)
    results, runs = within(
        DEADLINE_S + DEADLINE_GRACE_S + MARGIN_S,
        lambda: collect.run_sources([late, in_time], loaded, first),
    ).value
    assert results["late"] == SourceFailure("late", "no complete answer within 2 s")
    assert store.load_state("github") == b"{}"  # a write within the pass is kept

    def wake_pass_ones_source(ctx: PassContext) -> None:
        late.release.set()  # pass 1's source finishes now, inside pass 2
        assert late.finished.wait(timeout=10)

    second = collect.new_context(loaded, state=store)
    again = [Quick("late", answer="pass 2's own"), Quick("wake", then=wake_pass_ones_source)]
    results, runs = within(
        DEADLINE_S + DEADLINE_GRACE_S + MARGIN_S,
        lambda: collect.run_sources(again, loaded, second),
    ).value
    assert results == {"late": "pass 2's own", "wake": "answered"}
    assert all(run.ok for run in runs.values())
    assert store.load_state("late") is None  # its late write was dropped
    assert not list((tmp_path / "board").glob(".fleetboard-tmp-*"))


def test_the_lambda_handler_publishes_by_its_invocations_remaining_time(
    tmp_path: Path, stuck: Callable[..., Stuck], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "fleet.toml"
    config.write_text(fleet_toml(f"http://127.0.0.1:{refused_port()}", deadline_s=40))
    rt = handler.Runtime(
        loaded=load(config),
        publisher=LocalPublisher(tmp_path / "board"),
        aws_client=None,
        resolver=lambda host, port: ["127.0.0.1"],
    )
    monkeypatch.setattr(handler, "runtime", lambda: rt)
    monkeypatch.setattr(collect, "default_sources", lambda *_: (stuck("aws"), HttpSource()))
    # 10 s left: 2 s of grace and 5 s to publish kept back, so the sources get 3 s, not 40.
    remaining_ms = 10_000
    timed = within(
        remaining_ms / 1000,
        lambda: handler.handler({}, LambdaContext(remaining_ms=remaining_ms)),
    )
    outcome = timed.value
    assert outcome["error"] is None and outcome["published"][-2:] == ["index.html", "version.json"]
    doc = json.loads((tmp_path / "board" / LATEST).read_text())
    assert doc["collector"]["sources"]["aws"]["error"] == "no complete answer within 3 s"
    assert timed.elapsed_s < 3 + DEADLINE_GRACE_S + MARGIN_S
    print(f"handler with a stuck source: {timed.elapsed_s:.2f} s (10 s left, budget 3 s)")


@dataclass
class LambdaContext:
    """What Powertools and the handler read from a Lambda context."""

    remaining_ms: int
    aws_request_id: str = "req-deadline"
    function_name: str = "fleetboard-collector"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:fleetboard"

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


# --------------------------------------------------------------------------- the command


def test_collect_exits_by_its_deadline_while_aws_trickles_one_byte_at_a_time(
    tmp_path: Path,
) -> None:
    out = tmp_path / "board"
    # Its head at once, then a body byte a second (faults/servers.py): well inside the aws
    # source's read timeout (5 s), so only the pass deadline can end the wait.
    with FaultServer() as aws:
        aws.behave(trickle(b"<", "text/xml"))
        config = tmp_path / "fleet.toml"
        config.write_text(fleet_toml(aws.url))
        limit_s = DEADLINE_S + DEADLINE_GRACE_S + MARGIN_S + STARTUP_S
        started = time.monotonic()
        done = run_fleetboard(
            "collect",
            "--config",
            str(config),
            "--out",
            str(out),
            env=DUMMY_AWS_ENV,
            limit_s=limit_s,
        )
        took = time.monotonic() - started
        assert aws.requests >= 1  # the aws source really was stuck on this server
    assert done.returncode == 0, done.stderr
    assert "aws (no complete answer within 2 s)" in done.stdout
    doc = json.loads((out / LATEST).read_text())
    assert doc["collector"]["sources"]["aws"]["error"] == "no complete answer within 2 s"
    print(f"`fleetboard collect` with a trickling AWS endpoint: {took:.2f} s (limit {limit_s:g})")


#: `fleetboard collect` whose aws source is stuck in a pool thread, as net.py's DNS lookups
#: run: concurrent.futures joins such (non-daemon) workers when the interpreter exits.
STUCK_IN_A_POOL = """
import runpy, threading
from concurrent.futures import ThreadPoolExecutor
from fleetboard import collect

class StuckLookup:
    name, needs, wants = "aws", (), ()

    def collect(self, inventory, ctx):
        pool = ThreadPoolExecutor(1, "stuck-lookup")
        return pool.submit(threading.Event().wait).result()  # never set

collect.default_sources = lambda *_: (StuckLookup(),)
runpy.run_module("fleetboard", run_name="__main__", alter_sys=True)
"""


def test_collect_exits_even_when_a_stuck_source_holds_a_thread_the_exit_would_join(
    loaded: LoadedConfig, tmp_path: Path
) -> None:
    # `loaded` wrote tmp_path/fleet.toml.
    started = time.monotonic()
    done = run_fleetboard(
        *("collect", "--config", str(tmp_path / "fleet.toml"), "--out", str(tmp_path / "board")),
        python=("-c", STUCK_IN_A_POOL),
        limit_s=DEADLINE_S + DEADLINE_GRACE_S + MARGIN_S + STARTUP_S,
    )
    took = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    assert "aws (no complete answer within 2 s)" in done.stdout
    print(f"`fleetboard collect` with a source stuck in a pool: {took:.2f} s")
