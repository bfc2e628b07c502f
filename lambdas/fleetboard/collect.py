"""One pass: inventory -> sources -> rules -> snapshot -> render -> publish.

Sources run concurrently, each starting as soon as the sources it `needs` are done; none
can raise into the pass, and none can hold it: the pass stops waiting at its deadline plus
DEADLINE_GRACE_S, shows a source still running as unknown ("no complete answer within
N s") and shuts it out of every later pass (PassGate). A snapshot that fails the schema or
the template is never published, so the last good board stays in place; a publish that
fails part-way says exactly which keys were written (PassResult.published/unpublished).
"""

from __future__ import annotations

import contextlib
import gc
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import CancelledError, Future
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from fleetboard import __version__, days, memory, registry, rules, snapshot
from fleetboard.alerts import saved as alert_memory
from fleetboard.alerts.run import AlertReport, Wires, run_alerts
from fleetboard.config import AFTER_DEADLINE_S, DEADLINE_GRACE_S, LoadedConfig
from fleetboard.inventory import AlertChannel, Inventory
from fleetboard.memory import wallets as wallet_memory
from fleetboard.model import (
    AwsFacts,
    Board,
    CollectorInfo,
    HttpFacts,
    RegionFacts,
    SourceFailure,
    SourceRun,
)
from fleetboard.publish import (
    LATEST,
    Publisher,
    PublishError,
    Release,
    history_key,
)
from fleetboard.registry import SourceKind
from fleetboard.rules.chain import nonce_key
from fleetboard.rules.runway import Trail
from fleetboard.secrets import Secret
from fleetboard.sources import PassContext, Source
from fleetboard.state import StateStore

log = logging.getLogger("fleetboard")


def default_sources(
    inventory: Inventory, kinds: Sequence[SourceKind] | None = None
) -> tuple[Source, ...]:
    """The sources of the registered kinds this inventory configures, warmed up first: a
    slow import (web3's takes seconds of CPU) is not paid while the probes are timed."""
    registry.warm_up(inventory, kinds)
    return registry.sources_for(inventory, kinds)


@dataclass(frozen=True, slots=True)
class PassResult:
    board: Board
    document: dict[str, Any]
    published: list[str]  # keys written, in order; empty when nothing was
    error: str | None = None  # why the board was not published, or not all of it
    #: Keys of this pass that were not written (a publish that failed part-way); empty
    #: when everything was, or when nothing was even tried (a snapshot that failed).
    unpublished: list[str] = field(default_factory=list)
    #: The state objects (`state/<name>.json`) this pass did not write because another pass
    #: wrote them after this one read them: the other's state stays; this board stays too.
    state_conflicts: list[str] = field(default_factory=list)
    #: What its alerting did, after the board was published; None without [alerts].
    alerts: AlertReport | None = None

    @property
    def publish_failed(self) -> bool:
        """The publisher itself failed (a full disk, S3 refusing): not the snapshot."""
        return bool(self.unpublished)


#: One pass's door: open (not set) while the pass waits for its sources, shut (set) for
#: good after. A source the pass stopped waiting for keeps running on its own thread
#: (nothing can stop a thread stuck in a read); the gate is what keeps it out of every later
#: pass. Its answer goes into this pass's futures, which nobody reads any more, and its
#: state writes are dropped once the gate is shut. Lambda thaws a warm container with such
#: threads still in it, so "later" is a real next pass, not just the end of the process.
PassGate = threading.Event


@dataclass(frozen=True, slots=True)
class GatedState:
    """A source's view of the state store for one pass: reads pass through; writes are
    dropped once the pass closed, so an abandoned source cannot overwrite what a later pass
    (or the next container's pass) saved."""

    store: StateStore
    closed: PassGate

    def load_state(self, name: str) -> bytes | None:
        return self.store.load_state(name)

    def save_state(self, name: str, data: bytes) -> None:
        # Checked at the start of the write: a write begun before the deadline may still
        # land just after it, but none begun after it ever does.
        if self.closed.is_set():
            log.warning("dropped a late state write %r from a source the pass gave up on", name)
            return
        self.store.save_state(name, data)


def _seconds(value: float) -> str:
    """2 -> "2", 7.25 -> "7.2": a time budget as a person reads it."""
    return f"{value:.1f}".removesuffix(".0")


def overran(name: str, budget_s: float) -> SourceFailure:
    """What a source that gave no answer in time is: unknown, with its budget said."""
    return SourceFailure(name, f"no complete answer within {_seconds(budget_s)} s")


@contextlib.contextmanager
def heap_set_aside() -> Iterator[None]:
    """While the sources run, the heap the pass found (botocore's models, web3, what earlier
    passes left) is set aside from the garbage collector, and handed back after.

    A full collection walks the whole heap and pauses every thread while it does: 0.4 to
    0.8 s at half a million objects, measured in the test suite's process, which is what a
    warm container with web3 holds. A pause in the middle of a probe's step would read as
    the host's timeout (net.StallWatch catches what still happens); with the old heap set
    aside, a collection walks only what this pass made.
    """
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def run_sources(
    sources: Sequence[Source], loaded: LoadedConfig, ctx: PassContext
) -> tuple[dict[str, object], dict[str, SourceRun]]:
    """Run every source once, honouring `needs`; return each one's facts and timing.

    Returns by ctx.deadline + DEADLINE_GRACE_S whatever the sources do. Each source runs on
    a daemon thread of its own, so neither this pass nor the process's exit waits for one
    that is stuck (a ThreadPoolExecutor would: its `with` exit and the interpreter's exit
    both join every worker). A source still running then is a SourceFailure ("no complete
    answer within N s"), and whatever it does later is shut out by the pass's gate.
    """
    with heap_set_aside():
        return _run_sources(sources, loaded, ctx)


def _run_sources(
    sources: Sequence[Source], loaded: LoadedConfig, ctx: PassContext
) -> tuple[dict[str, object], dict[str, SourceRun]]:
    names = [s.name for s in sources]
    for i, source in enumerate(sources):
        for need in (*source.needs, *source.wants):
            if need not in names[:i]:
                raise ValueError(f"source {source.name!r} needs {need!r}, which must come first")
    budget_s = ctx.budget_s()
    give_up_at = ctx.deadline + DEADLINE_GRACE_S
    closed = PassGate()
    state = GatedState(ctx.state, closed) if ctx.state is not None else None
    # One future per source, for this pass only: an abandoned source's late answer lands
    # in a future nobody reads again, never in another pass's results.
    futures: dict[str, Future[object]] = {name: Future() for name in names}
    for future in futures.values():
        # Running from the start: a source that `wants` this one may wrap the future in
        # asyncio and cancel its wrapper, which would cancel a pending future with it.
        future.set_running_or_notify_cancel()
    elapsed: dict[str, float] = {}
    for source in sources:
        own = replace(ctx, state=state)
        worker = threading.Thread(
            target=_run_one,
            args=(source, loaded.inventory, own, futures, elapsed),
            name=f"source-{source.name}",
            daemon=True,
        )
        worker.start()

    results: dict[str, object] = {}
    runs: dict[str, SourceRun] = {}
    started = time.monotonic()
    for name, future in futures.items():
        try:
            outcome = future.result(timeout=max(0.0, give_up_at - time.monotonic()))
        except TimeoutError:
            outcome = overran(name, budget_s)
            log.warning("source %s gave no answer by the deadline; the pass goes on", name)
            runs[name] = SourceRun(
                ok=False, duration_s=time.monotonic() - started, error=outcome.reason
            )
        else:
            error = outcome.reason if isinstance(outcome, SourceFailure) else None
            counted = getattr(outcome, "requests", None)
            runs[name] = SourceRun(
                ok=error is None,
                duration_s=elapsed[name],
                error=error,
                requests=counted if isinstance(counted, int) else None,
            )
        results[name] = outcome
    closed.set()
    return results, runs


def _run_one(
    source: Source,
    inventory: Inventory,
    ctx: PassContext,
    futures: dict[str, Future[object]],
    elapsed: dict[str, float],
) -> None:
    """One source on its own thread: wait for what it needs (never past the deadline), then
    collect; the answer goes into its future. Never raises."""
    mine = futures[source.name]
    # A source waits for its needs until the deadline plus half the grace, keeping the
    # other half to answer from what it got; a need still out by then is simply absent.
    wait_until = ctx.deadline + DEADLINE_GRACE_S / 2
    for need in source.needs:
        with contextlib.suppress(TimeoutError, CancelledError):
            futures[need].result(timeout=max(0.0, wait_until - time.monotonic()))
    # Each source sees the facts of the sources it needs, and only those.
    own = replace(
        ctx,
        results={n: futures[n].result() for n in source.needs if _answered(futures[n])},
        pending={n: futures[n] for n in source.wants},
    )
    started = time.monotonic()
    try:
        outcome = source.collect(inventory, own)
    except Exception as exc:  # a bug in a source must not blank the board
        log.exception("source %s raised", source.name)
        outcome = SourceFailure(source.name, f"internal error ({type(exc).__name__})")
    elapsed[source.name] = time.monotonic() - started
    mine.set_result(outcome)


def _answered(future: Future[object]) -> bool:
    return future.done() and not future.cancelled() and future.exception() is None


def observations(
    results: dict[str, object], kinds: Sequence[SourceKind] | None = None
) -> rules.Observations:
    """The sources' answers as the rules read them: sorted by the kinds' facts types."""
    facts, source_rules = registry.sort_answers(results, kinds)
    return rules.Observations(facts=facts, rules=source_rules)


def build_board(
    loaded: LoadedConfig,
    ctx: PassContext,
    *,
    sources: Sequence[Source] | None = None,
    now: Callable[[], datetime] | None = None,
    previous: bytes | None = None,
    kinds: Sequence[SourceKind] | None = None,
    wallet_trails: Mapping[str, Trail] | None = None,
) -> Board:
    """Collect and judge, without publishing: the pure part of a pass after the I/O.

    `kinds`: None for the registered ones (registry.KINDS); `sources` replaces the ones
    they would build for this inventory (tests, the bench). `previous`: the last
    latest.json (the nonces); `wallet_trails`: the balance trails the board kept (the
    runway)."""
    chosen = sources if sources is not None else default_sources(loaded.inventory, kinds)
    started = time.monotonic()
    results, runs = run_sources(chosen, loaded, ctx)
    obs = replace(
        observations(results, kinds),
        previous_nonces=previous_nonces(previous),
        wallet_trails=wallet_trails or {},
    )
    collector = collector_info(loaded, obs, runs, duration_s=time.monotonic() - started)
    clock = now or ctx.now
    return rules.evaluate(loaded.inventory, obs, clock().replace(microsecond=0), collector)


def collector_info(
    loaded: LoadedConfig,
    obs: rules.Observations,
    runs: Mapping[str, SourceRun],
    *,
    duration_s: float,
) -> CollectorInfo:
    """What the board says of the pass that made it (the footer's figures, the period its
    stale clock counts in, the flapping window its marks speak of)."""
    aws = obs.aws if isinstance(obs.aws, AwsFacts) else None
    http = obs.http if isinstance(obs.http, HttpFacts) else None
    return CollectorInfo(
        version=__version__,
        duration_s=duration_s,
        sources=dict(runs),
        # Every AWS-backed source's requests: the aws source's and the region listings',
        # and those a failed read sent before it failed (what the pass paid).
        aws_requests=(aws.requests if aws else 0)
        + sum(f.requests for f in obs.facts.values() if isinstance(f, RegionFacts))
        + sum(f.requests or 0 for f in obs.facts.values() if isinstance(f, SourceFailure)),
        probes=len(http.exchanges) if http else 0,
        period_s=loaded.period_s,
        flap_passes=loaded.inventory.thresholds.flap_passes,
    )


def previous_nonces(latest: bytes | None) -> dict[str, int]:
    """Wallet nonces of the last published snapshot, by lower-case address: what "moved"
    compares with. Unreadable or absent: nothing to compare, said as "unknown"."""
    if not latest:
        return {}
    try:
        doc = json.loads(latest)  # our own snapshot, validated when it was written
        return {
            nonce_key(env["chain"].get("network"), wallet["address"]): int(wallet["nonce"])
            for env in doc.get("environments", [])
            if env.get("chain")
            for wallet in env["chain"].get("wallets", [])
            if wallet.get("nonce") is not None
        }
    except (ValueError, KeyError, TypeError, AttributeError):
        log.warning("the previous latest.json could not be read for nonces")
        return {}


def release_of(
    board: Board, timeline: memory.Timeline | None = None
) -> tuple[Release, dict[str, Any]]:
    """Validate and render a board and its history page; raises if any fails, before
    anything is written. The snapshot carries each environment's last 90 days (days.py).
    With the pass's timeline, the release carries the rollups of the days it closed and
    the events object of its changes (if it saw any); every release carries the feed."""
    from fleetboard import events, feed, render, rollups

    # Each environment's last 90 days, from the pass's timeline: the history page's bars.
    doc = snapshot.to_document(days.with_days(board, timeline) if timeline else board)
    snapshot.validate(doc)
    page = render.render_page(doc).encode()
    release = Release(
        history_key=history_key(board.generated_at),
        snapshot=snapshot.dumps(doc),
        page=page,
        history_page=render.render_history(doc).encode(),
        assets=render.static_assets(),
        rollups=rollups.objects(timeline) if timeline else {},
        # This pass's changes, each one (before flapping folds them), from the timeline:
        # the log is written, never read, so a pass's work is its own changes.
        events=events.objects(
            board.fleet, board.generated_at, timeline.changes if timeline else ()
        ),
        feed=feed.render_feed(doc),
        version=snapshot.version(doc),
    )
    return release, doc


def run_pass(
    loaded: LoadedConfig,
    ctx: PassContext,
    publisher: Publisher,
    *,
    sources: Sequence[Source] | None = None,
    kinds: Sequence[SourceKind] | None = None,
) -> PassResult:
    """One whole pass. Never raises for a broken snapshot or a failed publish: it reports
    (`error`, and exactly which keys were and were not written) and keeps the old board."""
    if ctx.state is None:  # sources keep their state beside the board they publish
        ctx = replace(ctx, state=publisher)
    last_board = _LastBoard(publisher)
    chain = loaded.inventory.chain is not None
    previous = last_board() if chain else None
    # The wallets' balance trails (the runway): read once before the rules, saved once
    # after the whole board is published, like the timeline.
    trails = wallet_memory.load(publisher, last_board) if chain else {}
    board = build_board(
        loaded, ctx, sources=sources, previous=previous, kinds=kinds, wallet_trails=trails
    )
    # What the board remembers: since-times and the last day's changes. Read once, and
    # written once only after the whole board is published, so it never runs ahead of it.
    remembered = memory.load(publisher, last_board, board.generated_at)
    board, timeline = memory.remember(remembered, board, loaded.inventory.thresholds)
    # The alert state too, read before the page is drawn: its footer says the last message
    # sent and any channel that failed. Messages are decided only once the board is out.
    settings = loaded.inventory.alerts
    alert_state = alert_memory.load(publisher) if settings else None
    if alert_state is not None:
        board = replace(
            board, collector=replace(board.collector, alerts=alert_memory.footer(alert_state))
        )
    try:
        release, doc = release_of(board, timeline)
    except Exception as exc:
        log.exception("snapshot not published")
        error = f"not published, the last good board stays: {type(exc).__name__}: {exc}"
        return PassResult(board=board, document={}, published=[], error=error)
    try:
        written = publisher.publish(release)
    except PublishError as exc:
        log.error("board published part-way or not at all: %s", exc)
        return PassResult(
            board=board,
            document=doc,
            published=exc.written,
            error=str(exc),
            unpublished=exc.unwritten,
        )
    # Each written only over the state this pass read: a conflict drops this pass's state
    # (the other pass's stays, and the next pass reads it), never the pass.
    refused = [memory.save(publisher, timeline)]
    if chain:
        refused.append(wallet_memory.save(publisher, wallet_memory.advance(trails, board)))
    conflicts = [c.key for c in refused if c is not None]
    report = None
    if settings is not None and alert_state is not None:
        report = run_alerts(
            publisher,
            board,
            settings,
            alert_wires(loaded, ctx),
            before=alert_state,
            now=board.generated_at,
            # After publishing, within what the schedule keeps back past the deadline for it.
            deadline=ctx.deadline + AFTER_DEADLINE_S - 1.0,
        )
        if report.conflict:
            conflicts.append(f"state/{alert_memory.STATE_NAME}.json")
    return PassResult(
        board=board,
        document=doc,
        published=written,
        state_conflicts=conflicts,
        alerts=report,
    )


#: On Lambda: the stack's alert topic (sns channels); on a laptop it may be set by hand.
ALERT_TOPIC_ENV = "FLEETBOARD_ALERT_TOPIC_ARN"
#: The prefix of a webhook URL's name among the pass's secrets: `alerts:<channel name>`,
#: filled on Lambda from the stack's webhook secret (a JSON object of name -> URL).
ALERT_SECRET_PREFIX = "alerts:"  # noqa: S105 - a name prefix, not a secret


def alert_wires(
    loaded: LoadedConfig, ctx: PassContext, environ: Mapping[str, str] | None = None
) -> Wires:
    """How this pass reaches its alert channels: a webhook's URL from the pass's secrets
    (Lambda) or its channel's `url_env` (a laptop); the SNS topic named by ALERT_TOPIC_ENV,
    through the pass's AWS clients."""
    env = os.environ if environ is None else environ

    def url(channel: AlertChannel) -> Secret | None:
        kept = ctx.secrets.get(ALERT_SECRET_PREFIX + channel.name)
        if kept is not None and kept.reveal().strip():
            return kept
        value = env.get(channel.url_env or "", "").strip() if channel.url_env else ""
        return Secret(value) if value else None

    topic = env.get(ALERT_TOPIC_ENV, "").strip() or None
    sns = ctx.aws_client("sns") if topic and ctx.aws_client is not None else None
    return Wires(url, sns, topic, loaded.inventory.probe.ca_bundle)


class _LastBoard:
    """The last published latest.json, read at most once a pass, and only if asked for
    (the chain's nonces, or a timeline to rebuild)."""

    def __init__(self, publisher: Publisher) -> None:
        self._publisher = publisher
        self._read = False
        self._data: bytes | None = None

    def __call__(self) -> bytes | None:
        if not self._read:
            self._read = True
            self._data = self._publisher.read(LATEST)
        return self._data


def new_context(loaded: LoadedConfig, **overrides: Any) -> PassContext:
    """A PassContext whose deadline is the config's pass deadline from now."""
    deadline = time.monotonic() + loaded.inventory.probe.pass_deadline_s
    return PassContext(deadline=deadline, **overrides)


def laptop_context(loaded: LoadedConfig, **overrides: Any) -> PassContext:
    """The context of a pass on an operator's laptop: own AWS credentials, system DNS.

    The demo overrides `resolver` (its simulated zone) and `aws_client` (dummy credentials).
    """
    if "aws_client" not in overrides:
        from fleetboard.sources.awsapi import make_aws_client_factory

        overrides["aws_client"] = make_aws_client_factory(loaded.inventory.aws)
    return new_context(loaded, **overrides)
