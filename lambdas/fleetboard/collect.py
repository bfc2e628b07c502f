"""One pass: inventory -> sources -> rules -> snapshot -> render -> publish.

Sources run concurrently, each starting as soon as the sources it `needs` are done; none
can raise into the pass. A snapshot that fails the schema or the template is never
published, so the last good board stays in place.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from fleetboard import __version__, rules, snapshot
from fleetboard.config import LoadedConfig
from fleetboard.inventory import Inventory
from fleetboard.model import (
    AwsFacts,
    Board,
    ChainFacts,
    CollectorInfo,
    GithubFacts,
    HttpFacts,
    SourceFailure,
    SourceRun,
    TlsFacts,
)
from fleetboard.publish import LATEST, Publisher, Release, history_key
from fleetboard.rules.chain import nonce_key
from fleetboard.sources import PassContext, Source

log = logging.getLogger("fleetboard")

#: Time a source may overrun the pass deadline before the pass stops waiting for it.
DEADLINE_GRACE_S = 2.0


def default_sources(inventory: Inventory) -> tuple[Source, ...]:
    """The one list of sources, for what the inventory configures. Imported here so a pass
    pays only for what it runs."""
    from fleetboard.sources.aws import AwsSource
    from fleetboard.sources.github import GithubSource
    from fleetboard.sources.http import HttpSource
    from fleetboard.sources.tls import TlsSource

    sources: list[Source] = [AwsSource(), HttpSource(), TlsSource()]
    if inventory.github is not None:  # not configured: no CI part, and no issue about it
        sources.append(GithubSource())
    if inventory.chain is not None:
        from fleetboard.sources.chain import ChainSource, warm_up

        warm_up()  # web3's import takes seconds of CPU: not while the probes are timed
        sources.append(ChainSource())
        used = {e.chain.network for e in inventory.environments if e.chain and not e.retired}
        sources += [ChainSource(network=n) for n in sorted(inventory.chain_networks) if n in used]
    return tuple(sources)


@dataclass(frozen=True, slots=True)
class PassResult:
    board: Board
    document: dict[str, Any]
    published: list[str]  # keys written; empty when the pass was not published
    error: str | None = None  # why nothing was published


def run_sources(
    sources: Sequence[Source], loaded: LoadedConfig, ctx: PassContext
) -> tuple[dict[str, object], dict[str, SourceRun]]:
    """Run every source once, honouring `needs`; return each one's facts and timing."""
    inventory = loaded.inventory
    names = [s.name for s in sources]
    for i, source in enumerate(sources):
        for need in (*source.needs, *source.wants):
            if need not in names[:i]:
                raise ValueError(f"source {source.name!r} needs {need!r}, which must come first")
    results: dict[str, object] = {}
    runs: dict[str, SourceRun] = {}
    futures: dict[str, Future[object]] = {}

    def run(source: Source) -> object:
        for need in source.needs:
            if need in futures:
                wait = ctx.remaining_s() + DEADLINE_GRACE_S
                with contextlib.suppress(TimeoutError):
                    futures[need].result(timeout=wait)
        # Each source sees the facts of the sources it needs, and only those.
        own_ctx = replace(
            ctx,
            results={n: results[n] for n in source.needs if n in results},
            pending={n: futures[n] for n in source.wants},
        )
        started = time.monotonic()
        try:
            outcome = source.collect(inventory, own_ctx)
        except Exception as exc:  # a bug in a source must not blank the board
            log.exception("source %s raised", source.name)
            outcome = SourceFailure(source.name, f"internal error ({type(exc).__name__})")
        elapsed = time.monotonic() - started
        error = outcome.reason if isinstance(outcome, SourceFailure) else None
        results[source.name] = outcome
        runs[source.name] = SourceRun(ok=error is None, duration_s=elapsed, error=error)
        return outcome

    with ThreadPoolExecutor(max_workers=max(1, len(sources)), thread_name_prefix="source") as pool:
        # Every source gets its own worker, so one waiting on another can never starve it.
        for source in sources:
            futures[source.name] = pool.submit(run, source)
        for name, future in futures.items():
            try:
                future.result(timeout=ctx.remaining_s() + DEADLINE_GRACE_S)
            except TimeoutError:
                failure = SourceFailure(name, "did not finish before the pass deadline")
                results.setdefault(name, failure)
                runs.setdefault(name, SourceRun(ok=False, duration_s=0.0, error=failure.reason))
        # Sources that overran are abandoned to finish in the background; the pass goes on.
        pool.shutdown(wait=False, cancel_futures=True)
    return results, runs


def observations(results: dict[str, object]) -> rules.Observations:
    def pick(name: str, kind: type) -> Any:
        value = results.get(name)
        return value if isinstance(value, kind | SourceFailure) else None

    known = {"aws", "http", "tls", "github", "chain"}
    networks = {
        k.removeprefix("chain:"): v
        for k, v in results.items()
        if k.startswith("chain:") and isinstance(v, ChainFacts | SourceFailure)
    }
    others = tuple(
        v
        for k, v in results.items()
        if k not in known and not k.startswith("chain:") and isinstance(v, SourceFailure)
    )
    return rules.Observations(
        aws=pick("aws", AwsFacts),
        http=pick("http", HttpFacts),
        tls=pick("tls", TlsFacts),
        github=pick("github", GithubFacts),
        chain=pick("chain", ChainFacts),
        chain_networks=networks,
        failures=others,
    )


def build_board(
    loaded: LoadedConfig,
    ctx: PassContext,
    *,
    sources: Sequence[Source] | None = None,
    now: Callable[[], datetime] | None = None,
    previous: bytes | None = None,
) -> Board:
    """Collect and judge, without publishing: the pure part of a pass after the I/O."""
    chosen = sources if sources is not None else default_sources(loaded.inventory)
    started = time.monotonic()
    results, runs = run_sources(chosen, loaded, ctx)
    obs = replace(observations(results), previous_nonces=previous_nonces(previous))
    aws = obs.aws if isinstance(obs.aws, AwsFacts) else None
    http = obs.http if isinstance(obs.http, HttpFacts) else None
    collector = CollectorInfo(
        version=__version__,
        duration_s=time.monotonic() - started,
        sources=runs,
        aws_requests=aws.requests if aws else 0,
        probes=len(http.exchanges) if http else 0,
    )
    clock = now or ctx.now
    return rules.evaluate(loaded.inventory, obs, clock().replace(microsecond=0), collector)


def previous_nonces(latest: bytes | None) -> dict[str, int]:
    """Wallet nonces of the last published snapshot, by lower-case address: what "moved"
    compares with. Unreadable or absent: nothing to compare, said as "unknown"."""
    if not latest:
        return {}
    try:
        doc = json.loads(latest)
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


def release_of(board: Board, period_s: int) -> tuple[Release, dict[str, Any]]:
    """Validate and render a board; raises if either fails, before anything is written."""
    from fleetboard import render

    doc = snapshot.to_document(board)
    snapshot.validate(doc)
    page = render.render_page(doc, period_s=period_s).encode()
    release = Release(
        history_key=history_key(board.generated_at),
        snapshot=snapshot.dumps(doc),
        page=page,
        assets=render.static_assets(),
    )
    return release, doc


def run_pass(
    loaded: LoadedConfig,
    ctx: PassContext,
    publisher: Publisher,
    *,
    sources: Sequence[Source] | None = None,
) -> PassResult:
    """One whole pass. Never raises for a broken snapshot: it reports and keeps the old one."""
    if ctx.state is None:  # sources keep their state beside the board they publish
        ctx = replace(ctx, state=publisher)
    previous = publisher.read(LATEST) if loaded.inventory.chain is not None else None
    board = build_board(loaded, ctx, sources=sources, previous=previous)
    try:
        release, doc = release_of(board, loaded.period_s)
    except Exception as exc:
        log.exception("snapshot not published")
        error = f"not published, the last good board stays: {type(exc).__name__}: {exc}"
        return PassResult(board=board, document={}, published=[], error=error)
    written = publisher.publish(release)
    return PassResult(board=board, document=doc, published=written)


def new_context(loaded: LoadedConfig, **overrides: Any) -> PassContext:
    """A PassContext whose deadline is the config's pass deadline from now."""
    deadline = time.monotonic() + loaded.inventory.probe.pass_deadline_s
    return PassContext(deadline=deadline, **overrides)


def laptop_context(loaded: LoadedConfig, **overrides: Any) -> PassContext:
    """The context of a pass on an operator's laptop: own AWS credentials, system DNS.

    The demo overrides `resolver` (its simulated zone) and `aws_client` (dummy credentials).
    """
    if "aws_client" not in overrides:
        from fleetboard.sources.aws import make_aws_client_factory

        overrides["aws_client"] = make_aws_client_factory(loaded.inventory.aws)
    return new_context(loaded, **overrides)
