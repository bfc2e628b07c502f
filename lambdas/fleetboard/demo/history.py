"""The demo's 90 days of history: its script (past.py) replayed through the real rules and
the real memory, and written where the first live pass reads it.

The sources run once against the live simulated fleet (the survey); each pass of the script
then gets what the sources would have seen at its time: the survey's facts with the
scene's differences (what a host answered, where an A record pointed, what a wallet held)
and its clock (observation times moved back; a CI run not created yet is not in flight).
Those facts go through `rules.evaluate`, the same function every pass calls, whenever they
change and at least once an hour (time alone changes verdicts: a certificate's days left);
the passes in between re-date that board, as tests/unit/test_replay.py does, because asking
the rules ~3,000 times would cost the demo seconds it should not wait. Every pass goes
through `memory.remember` with its own step as its period, so the tallies count the time
up to the next pass (past.py says why that is honest) and close the days as a live pass
does. At the end the last board is published like any pass (its rollups are every day the
replay closed), and the timeline and wallets' trails are saved by the memory's own
encoders into the same folder, through the publisher the live passes use.

The replay sends no alerts: the 90 days are a memory, not news, and a page for an incident
that ended last week helps nobody. The alert state is saved empty with the rest (over an
earlier demo's, which would re-send its outbox to this demo's receiver), so the alerting
starts with the first live pass: what is red now pages once it has held `fail_passes`
live passes, as it would for a board that started watching now.

Nothing here starts a process or makes a folder: it runs inside the demo's own.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from fleetboard import chain as evm
from fleetboard import collect, events, memory, rules
from fleetboard.alerts import saved as alert_memory
from fleetboard.alerts.model import AlertState
from fleetboard.config import LoadedConfig
from fleetboard.demo import scenario
from fleetboard.demo.hosts import Reply
from fleetboard.demo.past import DAYS, Past, Scene
from fleetboard.memory import saved
from fleetboard.memory import wallets as wallet_memory
from fleetboard.memory.timeline import Timeline
from fleetboard.model import (
    AgentFacts,
    AgentInfo,
    AwsFacts,
    Board,
    CertFacts,
    ChainFacts,
    GithubFacts,
    HostFacts,
    HostStatus,
    HttpExchange,
    HttpFacts,
    ProbeError,
    SourceRun,
    TlsFacts,
)
from fleetboard.publish import LocalPublisher, Publisher
from fleetboard.rollups import objects as rollup_objects
from fleetboard.rules import maintenance
from fleetboard.rules.runway import Trail
from fleetboard.sources import utc_now
from fleetboard.sources.metrics import WINDOW as METRICS_WINDOW


@dataclass(frozen=True, slots=True)
class Replayed:
    """What a board that had watched the demo fleet for the script's 90 days remembers."""

    board: Board  # the last pass's, as the memory showed it
    timeline: Timeline
    trails: dict[str, Trail]  # the wallets' balance trails after the last pass
    rollups: dict[str, bytes]  # history/days/ key -> its JSON: every day the replay closed
    #: history/events/ key -> its JSON: every pass's changes, as a live pass logs its own.
    events: dict[str, bytes]
    passes: int
    judged: int  # passes the rules judged afresh; the others re-dated the board before
    seconds: float  # how long the replay took (the survey and the writing apart)


@dataclass(frozen=True, slots=True)
class Written:
    replayed: Replayed
    keys: list[str]  # what the publisher wrote: the rollups, the last board
    state_bytes: dict[str, int]  # state/<name>.json -> its size
    survey_s: float
    write_s: float

    def line(self) -> str:
        """What the demo says once the history is in place."""
        r = self.replayed
        state = ", ".join(f"{n}.json {b / 1024:.1f} KB" for n, b in self.state_bytes.items())
        return (
            f"demo history: {DAYS} days replayed through the rules ({r.passes:,} passes, "
            f"{r.judged:,} judged afresh) in {r.seconds:.1f} s, {len(r.rollups)} daily "
            f"rollups, {len(r.events):,} events logs; state {state}"
        )


def survey(
    loaded: LoadedConfig, overrides: Mapping[str, Any]
) -> tuple[dict[str, object], dict[str, SourceRun]]:
    """Every source once against the live fleet: the facts the script changes. No state is
    kept (the GitHub source's ETags are the live passes')."""
    ctx = collect.laptop_context(loaded, **overrides)
    return collect.run_sources(collect.default_sources(loaded.inventory), loaded, ctx)


def replay(
    loaded: LoadedConfig,
    seen: Mapping[str, object],
    runs: Mapping[str, SourceRun],
    past: Past,
) -> Replayed:
    """Every pass of the script through the rules and the memory, oldest first."""
    started = time.monotonic()
    inventory = loaded.inventory
    chain = inventory.chain is not None
    eips = _eips(seen)
    timeline: Timeline | None = None
    trails: dict[str, Trail] = {}
    rollups: dict[str, bytes] = {}
    logged: dict[str, bytes] = {}
    judged_key: tuple[Scene, int, tuple[maintenance.OpenWindow, ...]] | None = None
    judged: Board | None = None
    count = judged_count = 0
    plan = list(past.passes())
    shown: Board | None = None
    for i, (at, period) in enumerate(plan):
        scene = past.scene(at)
        # A maintenance window opening or closing changes the verdicts: judged afresh.
        key = (scene, past.judged(at), maintenance.open_at(inventory.maintenance, at))
        # The last pass is always judged afresh: it is the board that gets published.
        if judged is None or key != judged_key or i == len(plan) - 1:
            facts = facts_at(seen, scene, at, past.now, eips)
            obs = replace(collect.observations(facts), wallet_trails=trails)
            info = collect.collector_info(loaded, obs, runs, duration_s=0.0)
            judged = rules.evaluate(inventory, obs, at, info)
            judged_key = key
            judged_count += 1
        board = replace(
            judged, generated_at=at, collector=replace(judged.collector, period_s=period)
        )
        shown, timeline = memory.remember(timeline, board, inventory.thresholds)
        rollups.update(rollup_objects(timeline))
        logged.update(events.objects(board.fleet, at, timeline.changes))
        if chain:
            trails = wallet_memory.advance(trails, board)
        count += 1
    if shown is None or timeline is None:
        raise ValueError("the script has no passes before its start")
    return Replayed(
        shown, timeline, trails, rollups, logged, count, judged_count, time.monotonic() - started
    )


def write(
    publisher: Publisher, replayed: Replayed, *, chain: bool, alerts: bool = False
) -> list[str]:
    """Publish the replay's last board with every day's rollup, then save its memory with
    the memory's own encoders over whatever the folder held (an earlier demo's), through the
    store the live passes read. Raises (PublishError, StateConflict, OSError) if any of it
    could not be written: the demo says so and starts remembering from its first pass.
    With `alerts`, the alert state is saved empty: nothing was said of the past."""
    release, _ = collect.release_of(replayed.board, replayed.timeline)
    release = replace(
        release,
        rollups={**replayed.rollups, **release.rollups},
        events={**replayed.events, **release.events},
    )
    keys = publisher.publish(release)
    state = {saved.STATE_NAME: saved.encode(replayed.timeline)}
    if chain:
        state[wallet_memory.STATE_NAME] = wallet_memory.encode(replayed.trails)
    if alerts:
        state[alert_memory.STATE_NAME] = alert_memory.encode(AlertState())
    for name, data in state.items():
        # The store writes only over the version it read: read first, to replace it.
        publisher.load_state(name)
        publisher.save_state(name, data)
    return keys


def replay_into(
    loaded: LoadedConfig,
    overrides: Mapping[str, Any],
    out: Path,
    *,
    now: datetime | None = None,
) -> Written:
    """Survey the live fleet, replay the script up to `now` (the clock), write it to `out`."""
    start = time.monotonic()
    at = (now or utc_now()).replace(microsecond=0)
    seen, runs = survey(loaded, overrides)
    surveyed = time.monotonic()
    replayed = replay(loaded, seen, runs, Past(at))
    wrote = time.monotonic()
    publisher = LocalPublisher(out)
    inventory = loaded.inventory
    keys = write(
        publisher, replayed, chain=inventory.chain is not None, alerts=inventory.alerts is not None
    )
    sizes = {
        name: len(data)
        for name in (saved.STATE_NAME, wallet_memory.STATE_NAME)
        if (data := publisher.read(f"state/{name}.json")) is not None
    }
    return Written(replayed, keys, sizes, surveyed - start, time.monotonic() - wrote)


# --------------------------------------------------------------------------- facts


def facts_at(
    seen: Mapping[str, object],
    scene: Scene,
    at: datetime,
    now: datetime,
    eips: Mapping[str, str],
) -> dict[str, object]:
    """What the sources would have seen at `at`: the survey's facts (seen at `now`) with
    the scene's differences, observed `now - at` earlier. A source that failed in the
    survey failed then too."""
    shift = at - now
    out: dict[str, object] = dict(seen)
    replies = dict(scene.replies)
    http = seen.get("http")
    if isinstance(http, HttpFacts):
        out["http"] = replace(
            http,
            exchanges={k: _exchange(x, replies.get(k), shift) for k, x in http.exchanges.items()},
            certs={h: _cert(c, shift) for h, c in http.certs.items()},
        )
    tls = seen.get("tls")
    if isinstance(tls, TlsFacts):
        out["tls"] = replace(tls, certs={h: _tls(c, shift) for h, c in tls.certs.items()})
    aws = seen.get("aws")
    if isinstance(aws, AwsFacts) and scene.records:
        records = dict(aws.a_records)
        for host, env in scene.records:
            if env in eips:
                records[host.lower()] = (eips[env],)
        out["aws"] = replace(aws, a_records=records)
    github = seen.get("github")
    if isinstance(github, GithubFacts):
        runs = tuple(r for r in github.runs if r.created_at is None or r.created_at <= at)
        out["github"] = replace(github, runs=runs)
    chain = seen.get("chain")
    if isinstance(chain, ChainFacts):
        out["chain"] = _chain(chain, scene, shift)
    out.update(_machines_then(seen, at))
    if now - at > METRICS_WINDOW:
        # CloudWatch's figures cover their last 3 hours: older passes had none, and the
        # source is left out of them rather than guessed.
        out.pop("metrics", None)
    return out


def _machines_then(seen: Mapping[str, object], at: datetime) -> dict[str, object]:
    """The host and agent sources at `at`, from what they say now: a check impaired since
    42 minutes ago passed before that, an agent last heard 7 hours ago was online until
    then (EC2 and SSM say when)."""
    out: dict[str, object] = {}
    host = seen.get("host")
    if isinstance(host, HostFacts):
        statuses = {i: _status_then(s, at) for i, s in host.items.items()}
        out["host"] = HostFacts(statuses, at, host.requests, host.complete)
    agent = seen.get("agent")
    if isinstance(agent, AgentFacts):
        agents = {i: _agent_then(a, at) for i, a in agent.items.items()}
        out["agent"] = AgentFacts(agents, at, agent.requests, agent.complete)
    return out


def _status_then(status: HostStatus, at: datetime) -> HostStatus:
    failing = {c: since for c, since in status.impaired_since.items() if since <= at}

    def then(check: str, now: str | None) -> str | None:
        return "ok" if now == "impaired" and check not in failing else now

    return replace(
        status,
        system=then("system", status.system),
        instance=then("instance", status.instance),
        ebs=then("ebs", status.ebs),
        impaired_since=failing,
    )


def _agent_then(agent: AgentInfo, at: datetime) -> AgentInfo:
    if agent.ping != "Online" and agent.last_ping is not None and at <= agent.last_ping:
        return replace(agent, ping="Online", last_ping=at)
    return agent


def _exchange(seen: HttpExchange, reply: Reply | None, shift: timedelta) -> HttpExchange:
    at = seen.observed_at + shift
    if reply is None:
        return replace(seen, observed_at=at)
    return HttpExchange(
        seen.host,
        seen.path,
        at,
        1,
        reply.status,
        reply.body.decode("utf-8", "replace"),
        latency_ms=seen.latency_ms if seen.latency_ms is not None else 1.0,
    )


def _cert(cert: CertFacts, shift: timedelta) -> CertFacts:
    if cert.observed_at is None:
        return cert
    return replace(cert, observed_at=cert.observed_at + shift)


def _tls(cert: CertFacts | ProbeError, shift: timedelta) -> CertFacts | ProbeError:
    return cert if isinstance(cert, ProbeError) else _cert(cert, shift)


def _chain(chain: ChainFacts, scene: Scene, shift: timedelta) -> ChainFacts:
    accounts = dict(chain.accounts)
    for address, more in scene.balances:
        account = accounts.get(address)
        if account is not None and account.balance_wei is not None:
            accounts[address] = replace(account, balance_wei=account.balance_wei + more)
    deposits = dict(chain.deposits)
    extra = dict(scene.deposits)
    for (entrypoint, paymaster), call in chain.deposits.items():
        if paymaster in extra and call.result is not None and call.error is None:
            wei = evm.decode_uint(call.result) + extra[paymaster]
            deposits[(entrypoint, paymaster)] = replace(call, result=f"0x{wei:064x}")
    block_time = chain.block_time + shift if chain.block_time else None
    return replace(chain, accounts=accounts, deposits=deposits, block_time=block_time)


def _eips(seen: Mapping[str, object]) -> dict[str, str]:
    """Each demo environment's EIP, as the survey found it by its tag."""
    aws = seen.get("aws")
    if not isinstance(aws, AwsFacts):
        return {}
    by_tag = {a.tag: a.public_ip for a in aws.addresses}
    return {
        env.name: by_tag[scenario.eip_tag(env)]
        for env in scenario.DEMO_ENVS
        if scenario.eip_tag(env) in by_tag
    }
