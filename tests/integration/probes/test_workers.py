"""Probing in worker processes (sources/workers.py) against the real HTTPS hosts: the same
facts as one process, a worker that dies makes only its unsent hosts unknown, and no
worker outlives the pass."""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import Future
from dataclasses import replace
from typing import Any

import pytest
from tests.integration.fixtures.hosts import name
from tests.integration.probes.crashing import EXIT_CODE, DiesOn, FreezesOn

from fleetboard.demo import leaks
from fleetboard.demo.hosts import BlackHole
from fleetboard.inventory import BROKER_PATHS, Address, Host
from fleetboard.model import AddressFacts, AwsFacts, HttpFacts, InstanceFacts, Reason, Status
from fleetboard.rules.verdicts import classify_probe_error
from fleetboard.sources import PassContext
from fleetboard.sources import http as http_source
from fleetboard.sources.http import HttpSource
from fleetboard.sources.workers import shares

LABELS = ("audit", "cred", "sick", "gateway", "expiring", "expired", "stranger", "closing")


@pytest.fixture(autouse=True)
def small_shares(monkeypatch: pytest.MonkeyPatch) -> None:
    # a worker for every host or two: the tests' fleets are small
    monkeypatch.setattr(http_source, "WORKER_MIN_HOSTS", 1)


def probe(
    fleet: Any, hosts: list[Host], workers: int, resolver: Any = None, deadline_s: float = 30
) -> HttpFacts:
    inventory = fleet.inventory(("test-1", hosts), settings=fleet.settings(workers=workers))
    resolver = resolver or fleet.context().resolver
    ctx = PassContext(deadline=time.monotonic() + deadline_s, resolver=resolver)
    return HttpSource().collect(inventory, ctx)


def no_workers_left() -> bool:
    """No probe worker of this test process is alive (a zombie holds nothing)."""
    me = os.getpid()
    found = leaks.processes(
        lambda pid, _env, cmd: "fleetboard.sources.workers" in cmd and leaks.descends_from(pid, me)
    )
    return found == []


def seen(facts: HttpFacts) -> dict[tuple[str, str], tuple[Any, ...]]:
    """What each exchange said, without its timing."""
    return {
        key: (
            ex.status_code,
            ex.body,
            ex.error.reason if ex.error else None,
            ex.error.detail if ex.error else None,
        )
        for key, ex in facts.exchanges.items()
    }


def test_three_processes_see_what_one_sees(fleet: Any) -> None:
    hosts = [fleet.host(label) for label in LABELS]
    hosts.append(Host("broker", "broker", name("broker"), BROKER_PATHS, fleet.address))
    alone = probe(fleet, hosts, workers=1)
    shared = probe(fleet, hosts, workers=3)
    assert seen(shared) == seen(alone)
    assert len(seen(alone)) == len(LABELS) + len(BROKER_PATHS)
    # the certificates each handshake showed (from the workers too), and the rejected ones
    certs = {h: (c.not_after, c.issuer, c.error) for h, c in shared.certs.items()}
    assert certs == {h: (c.not_after, c.issuer, c.error) for h, c in alone.certs.items()}
    assert name("expiring") in certs and certs[name("stranger")][2]
    assert no_workers_left()


def test_a_worker_that_dies_leaves_its_unsent_hosts_unknown_and_the_rest_seen(
    fleet: Any,
) -> None:
    fatal = name("boom")
    hosts = [fleet.host(label) for label in ("audit", "cred", "sick")]
    # dealt round-robin: this process keeps audit and sick, the worker cred and boom
    hosts.append(fleet.host("boom", address=Address(fatal, fleet.address.port)))
    assert [[h.hostname for h in s] for s in shares(hosts, 2)][1] == [name("cred"), fatal]
    resolver = DiesOn(fatal, {fatal: ["127.0.0.1"]})
    facts = probe(fleet, hosts, workers=2, resolver=resolver)
    boom = facts.exchanges[(fatal, "/healthz")]
    assert boom.error is not None and boom.error.reason is Reason.COLLECTOR
    assert boom.error.detail == (
        f"probe worker 1 exited (code {EXIT_CODE}) before probing this host"
    )
    # the collector did not see it: unknown, never red
    status, reason, _ = classify_probe_error(boom.error)
    assert status is Status.UNKNOWN and reason.startswith("collector: probe worker 1 exited")
    # this process's share was probed as ever
    assert facts.exchanges[(name("audit"), "/healthz")].status_code == 200
    assert facts.exchanges[(name("sick"), "/healthz")].status_code == 200
    # the worker's other host: seen if it was sent before the crash, else unknown the same way
    cred = facts.exchanges[(name("cred"), "/healthz")]
    assert cred.status_code == 200 or (cred.error and cred.error.reason is Reason.COLLECTOR)
    assert no_workers_left()


def test_a_worker_that_never_finishes_is_killed_after_the_deadline_and_its_hosts_unknown(
    fleet: Any,
) -> None:
    frozen = name("frozen")
    hosts = [fleet.host("audit"), fleet.host("frozen", address=Address(frozen, fleet.address.port))]
    resolver = FreezesOn(frozen, {frozen: ["127.0.0.1"]})
    facts = probe(fleet, hosts, workers=2, resolver=resolver, deadline_s=2)
    stuck = facts.exchanges[(frozen, "/healthz")]
    assert stuck.error is not None and stuck.error.reason is Reason.COLLECTOR
    assert stuck.error.detail == "probe worker 1 did not answer by the pass deadline"
    assert facts.exchanges[(name("audit"), "/healthz")].status_code == 200
    assert no_workers_left()


def test_a_stopped_slot_a_worker_is_still_probing_is_dropped_when_aws_answers(
    fleet: Any, black_hole: BlackHole
) -> None:
    # test-2's EIP black-holes: without the drop its probe, in the worker's share, would
    # wait out its 30 s timeout and come back as a timeout
    hole = fleet.host("cred", address=black_hole.address)
    inventory = fleet.inventory(("test-1", [fleet.host("audit")]), ("test-2", [hole]))
    settings = fleet.settings(workers=2, connect_timeout_s=30.0, read_timeout_s=30.0)
    inventory = replace(inventory, probe=settings)
    assert [[h.hostname for h in s] for s in shares([fleet.host("audit"), hole], 2)][1] == [
        name("cred")
    ]
    stopped = AwsFacts(
        addresses=(
            AddressFacts("203.0.113.8", "agentkeys-broker-eip-test-2", "eipalloc-2", "i-2"),
        ),
        instances={"i-2": InstanceFacts("i-2", "stopped", "t3.medium", None)},
        a_records={},
        requests=3,
    )
    aws = Future[object]()
    threading.Timer(0.1, aws.set_result, [stopped]).start()  # AWS answers after the start
    facts = HttpSource().collect(inventory, fleet.context(deadline_s=60, pending={"aws": aws}))
    assert set(facts.exchanges) == {(name("audit"), "/healthz")}
    assert facts.skipped == {name("cred"): "environment test-2 is stopped"}
    assert no_workers_left()


def test_a_resolver_a_worker_cannot_be_given_keeps_the_probes_in_one_process(
    fleet: Any, caplog: pytest.LogCaptureFixture
) -> None:
    lock = threading.Lock()  # nothing holding a lock can be copied to another process
    zone = fleet.context().resolver

    def guarded(host: str, port: int) -> list[str]:
        with lock:
            return zone(host, port)

    hosts = [fleet.host(label) for label in ("audit", "cred")]
    facts = probe(fleet, hosts, workers=2, resolver=guarded)
    assert all(ex.status_code == 200 for ex in facts.exchanges.values())
    assert "probing in one process: the resolver cannot be given to a worker" in caplog.text


def test_only_a_fleet_large_enough_gets_workers_and_never_more_than_asked(
    monkeypatch: pytest.MonkeyPatch, fleet: Any
) -> None:
    monkeypatch.setattr(http_source, "WORKER_MIN_HOSTS", 250)
    settings = fleet.settings(workers=4)
    ctx = fleet.context()
    assert http_source.worker_count(settings, 249, ctx) == 1
    assert http_source.worker_count(settings, 500, ctx) == 2
    assert http_source.worker_count(settings, 5000, ctx) == 4
