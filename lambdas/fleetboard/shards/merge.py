"""The merge: an ordinary pass whose http and tls sources read the shards' objects.

Everything after the sources (rules, memory, snapshot, page, alerts, publishing) is the
single collector's, so a sharded board is the board one collector would make of the same
answers. A shard the merge cannot use (it failed or timed out in Step Functions, left no
object, left one of another pass, or one that does not read) makes the probes of its
environments unknown with that reason: the collector did not see them, which says nothing
about the fleet.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from fleetboard import collect
from fleetboard.collect import PassResult
from fleetboard.config import LoadedConfig
from fleetboard.inventory import Host, Inventory
from fleetboard.model import (
    CertFacts,
    HttpFacts,
    ProbeError,
    Reason,
    SourceFailure,
    TlsFacts,
)
from fleetboard.publish import Publisher
from fleetboard.shards import codec
from fleetboard.shards.plan import restrict, split
from fleetboard.shards.run import SHARD_FORMAT, state_name
from fleetboard.sources import PassContext, Source
from fleetboard.sources.http import probe_targets
from fleetboard.sources.net import not_probed
from fleetboard.state import StateStore

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class _Shard:
    """One shard's facts, or why there are none."""

    label: str  # "shard 2 of 4"
    names: tuple[str, ...]
    http: HttpFacts | SourceFailure | None = None
    tls: TlsFacts | SourceFailure | None = None
    why: str | None = None  # set when the shard's object cannot be used


@dataclass
class ShardAnswers:
    """The shards' objects of one pass, read once (by whichever source asks first)."""

    loaded: LoadedConfig
    count: int
    pass_id: str
    #: Shard index -> why Step Functions says it failed (its Catch), read before the object.
    failures: Mapping[int, str] = field(default_factory=dict)
    _shards: list[_Shard] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def shards(self, store: StateStore | None) -> list[_Shard]:
        with self._lock:
            if self._shards is None:
                plan = split(self.loaded.inventory, self.count)
                self._shards = [self._read(store, i, names) for i, names in enumerate(plan)]
            return self._shards

    def _read(self, store: StateStore | None, index: int, names: tuple[str, ...]) -> _Shard:
        label = f"shard {index + 1} of {self.count}"
        if index in self.failures:
            return _Shard(label, names, why=f"{label} failed: {self.failures[index]}")
        raw = store.load_state(state_name(index)) if store is not None else None
        if raw is None:
            return _Shard(label, names, why=f"{label} left no answer")
        try:
            doc = json.loads(raw)
            if doc.get("format") != SHARD_FORMAT or doc.get("shards") != self.count:
                return _Shard(label, names, why=f"{label} left an answer of another shape")
            if doc.get("pass") != self.pass_id:
                return _Shard(label, names, why=f"{label} left no answer for this pass")
            if tuple(doc.get("environments", ())) != names:
                return _Shard(label, names, why=f"{label} probed other environments than planned")
            http, tls = codec.decode_http(doc["http"]), codec.decode_tls(doc["tls"])
            return _Shard(label, names, http, tls)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            log.warning("%s: its answer does not read: %s", label, exc)
            return _Shard(label, names, why=f"{label} left an answer that does not read")


def _unseen(why: str) -> ProbeError:
    return ProbeError(Reason.COLLECTOR, why)


def _shard_hosts(
    answers: ShardAnswers, shard: _Shard, aws: object
) -> tuple[list[Host], dict[str, str]]:
    """The hosts a lost shard would have probed, and those it would have skipped."""
    return probe_targets(restrict(answers.loaded, shard.names).inventory, aws)


class ShardedHttp:
    """The http source of a merge: the shards' exchanges, one HttpFacts for the fleet."""

    name: ClassVar[str] = "http"
    needs: ClassVar[tuple[str, ...]] = ("aws",)  # a lost shard's stopped slots stay skipped
    wants: ClassVar[tuple[str, ...]] = ()

    def __init__(self, answers: ShardAnswers) -> None:
        self.answers = answers

    def collect(self, inventory: Inventory, ctx: PassContext) -> HttpFacts:
        merged = HttpFacts(exchanges={}, certs={}, skipped={})
        aws = ctx.results.get("aws")
        for shard in self.answers.shards(ctx.state):
            facts = shard.http
            if isinstance(facts, HttpFacts):
                merged.exchanges.update(facts.exchanges)
                merged.certs.update(facts.certs)
                merged.skipped.update(facts.skipped)
                continue
            why = shard.why or f"{shard.label}: its http source failed: {_reason(facts)}"
            hosts, skipped = _shard_hosts(self.answers, shard, aws)
            merged.skipped.update(skipped)
            now = ctx.now()
            for host in hosts:
                unseen = not_probed(host, _unseen(why), now)
                merged.exchanges.update({(ex.host, ex.path): ex for ex in unseen.exchanges})
        return merged


class ShardedTls:
    """The tls source of a merge: the shards' certificates."""

    name: ClassVar[str] = "tls"
    needs: ClassVar[tuple[str, ...]] = ("aws", "http")
    wants: ClassVar[tuple[str, ...]] = ()

    def __init__(self, answers: ShardAnswers) -> None:
        self.answers = answers

    def collect(self, inventory: Inventory, ctx: PassContext) -> TlsFacts:
        certs: dict[str, CertFacts | ProbeError] = {}
        reused = 0
        for shard in self.answers.shards(ctx.state):
            facts = shard.tls
            if isinstance(facts, TlsFacts):
                certs.update(facts.certs)
                reused += facts.reused
                continue
            why = shard.why or f"{shard.label}: its tls source failed: {_reason(facts)}"
            hosts, _ = _shard_hosts(self.answers, shard, ctx.results.get("aws"))
            certs.update({host.hostname: _unseen(why) for host in hosts})
        return TlsFacts(certs=certs, reused=reused)


def _reason(facts: object) -> str:
    return facts.reason if isinstance(facts, SourceFailure) else "no facts"


def merge_sources(loaded: LoadedConfig, answers: ShardAnswers) -> Sequence[Source]:
    """The pass's sources with http and tls reading the shards instead of probing."""
    swapped: dict[str, Source] = {"http": ShardedHttp(answers), "tls": ShardedTls(answers)}
    return [swapped.get(s.name, s) for s in collect.default_sources(loaded.inventory)]


def merge_pass(
    loaded: LoadedConfig,
    ctx: PassContext,
    publisher: Publisher,
    *,
    count: int,
    pass_id: str,
    failures: Mapping[int, str] | None = None,
) -> PassResult:
    """The pass that publishes a sharded board: every source but the probing ones runs
    here; the probing ones read shard objects `pass_id` left."""
    answers = ShardAnswers(loaded, count, pass_id, failures or {})
    return collect.run_pass(loaded, ctx, publisher, sources=merge_sources(loaded, answers))


def failures_from(results: Sequence[Any]) -> dict[int, str]:
    """Step Functions' Map results -> shard index -> why it failed (its Catch's output:
    `{"shard", "error", "cause"}`), or what a shard itself said went wrong."""
    failed: dict[int, str] = {}
    for item in results:
        if not isinstance(item, dict) or not isinstance(item.get("shard"), int):
            continue
        error = item.get("error")
        if error:
            cause = str(item.get("cause") or "")[:200]
            failed[item["shard"]] = f"{error}: {cause}" if cause else str(error)
    return failed
