"""A dead host must not starve live ones: black holes against a small concurrency limit.

Every black-holed host is listed first, so under a plain semaphore the answering hosts would
wait for the dead ones' connect timeouts. Assertions are on what the probes said and on the
order they finished in, never on how long anything took.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from fleetboard.demo.hosts import BlackHole, HostServer, SimHost, text_reply
from fleetboard.model import CertFacts, ProbeError, Reason
from fleetboard.sources.net import _PARKED_PER_SLOT, Prober, _Slots

LIVE = 8
CONCURRENCY = 2
#: As many black holes as the prober has parking places: every one of them can park.
DEAD = CONCURRENCY * _PARKED_PER_SLOT
CONNECT_S = 3.0


@pytest.fixture(scope="module")
def live_server() -> Iterator[HostServer]:
    served = [SimHost(f"live-{i}.fleet.test", {"/healthz": text_reply("ok")}) for i in range(LIVE)]
    with HostServer(served) as server:
        yield server


@pytest.fixture(scope="module")
def live_ca(live_server: HostServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return live_server.write_ca(tmp_path_factory.mktemp("live") / "ca.pem")


def _dead_first(fleet, live_server: HostServer, hole: BlackHole) -> tuple[list, list]:
    dead = [fleet.host(f"dead-{i}", address=hole.address) for i in range(DEAD)]
    live = [fleet.host(f"live-{i}", address=live_server.address) for i in range(LIVE)]
    return dead, live


def _settings(fleet, ca: Path, concurrency: int = CONCURRENCY):
    return fleet.settings(concurrency=concurrency, connect_timeout_s=CONNECT_S, ca_bundle=ca)


def _handshake_timed_out(error: ProbeError | None, host: str) -> bool:
    """The reason a black hole's check has always carried: the connect timeout, named."""
    return error is not None and (error.reason, error.detail) == (
        Reason.TIMEOUT,
        f"TLS handshake with {host} timed out after {CONNECT_S:g} s",
    )


def test_live_hosts_answer_before_any_dead_host_times_out(
    fleet, live_server: HostServer, live_ca: Path, black_hole: BlackHole
) -> None:
    dead, live = _dead_first(fleet, live_server, black_hole)
    facts = fleet.http(*dead, *live, settings=_settings(fleet, live_ca))

    answered = [facts.exchanges[(h.hostname, "/healthz")] for h in live]
    timed_out = [facts.exchanges[(h.hostname, "/healthz")] for h in dead]
    assert [(ex.status_code, ex.body, ex.attempts) for ex in answered] == [(200, "ok", 1)] * LIVE
    # The dead hosts say what they always said: one attempt (a timeout is never retried),
    # stopped by the connect timeout during the handshake the black hole never answers.
    for host, ex in zip(dead, timed_out, strict=True):
        assert ex.attempts == 1
        assert _handshake_timed_out(ex.error, host.hostname), ex.error
    # Every answer was in before the first black hole gave up: the two slots were not
    # held for the dead hosts' connect timeouts while the answering hosts queued.
    assert max(ex.observed_at for ex in answered) < min(ex.observed_at for ex in timed_out)
    assert set(facts.certs) == {h.hostname for h in live}


def test_the_tls_sources_own_handshakes_are_not_starved_either(
    fleet, live_server: HostServer, live_ca: Path, black_hole: BlackHole
) -> None:
    dead, live = _dead_first(fleet, live_server, black_hole)
    finished: list[str] = []

    async def run() -> tuple[dict[str, CertFacts | ProbeError], int]:
        async with Prober(_settings(fleet, live_ca), fleet.context()) as prober:

            async def one(host) -> CertFacts | ProbeError:
                found = await prober.certificate(host)
                finished.append(host.hostname)
                return found

            found = await asyncio.gather(*(one(h) for h in [*dead, *live]))
            parked = prober._slots.parked
        return {h.hostname: f for h, f in zip([*dead, *live], found, strict=True)}, parked

    certs, parked = asyncio.run(run())
    for host in live:
        cert = certs[host.hostname]
        assert isinstance(cert, CertFacts) and cert.verified and cert.subject == host.hostname
    for host in dead:
        error = certs[host.hostname]
        assert isinstance(error, ProbeError) and _handshake_timed_out(error, host.hostname)
    assert set(finished[:LIVE]) == {h.hostname for h in live}  # all of them before the dead
    assert parked >= DEAD  # every black hole waited in a parking place, not in a slot


def test_more_black_holes_than_parking_places_still_get_the_same_verdicts(
    fleet, live_server: HostServer, live_ca: Path, black_hole: BlackHole
) -> None:
    # One slot, three places, four black holes: the fourth may wait out its timeout in the
    # slot (as every dead host did before places existed); nothing is lost or misreported.
    dead = [fleet.host(f"dead-{i}", address=black_hole.address) for i in range(4)]
    live = [fleet.host("live-0", address=live_server.address)]
    settings = fleet.settings(concurrency=1, connect_timeout_s=1.0, ca_bundle=live_ca)
    facts = fleet.http(*dead, *live, settings=settings)

    assert facts.exchanges[("live-0.fleet.test", "/healthz")].status_code == 200
    for host in dead:
        error = facts.exchanges[(host.hostname, "/healthz")].error
        assert error is not None and (error.reason, error.detail) == (
            Reason.TIMEOUT,
            f"TLS handshake with {host.hostname} timed out after 1 s",
        )


# --------------------------------------------------------------------------- the slots


def _run_slots(script) -> list[str]:
    """Run `script(slots, log)` on a fresh loop; return what it logged."""
    log: list[str] = []

    async def main() -> None:
        await script(_Slots(1, 1), log)

    asyncio.run(main())
    return log


async def _worker(slots: _Slots, log: list[str], name: str, gate: asyncio.Event) -> None:
    async with slots.hold():
        log.append(name)
        await gate.wait()


def test_a_parked_probe_takes_the_next_slot_before_any_fresh_one() -> None:
    async def script(slots: _Slots, log: list[str]) -> None:
        up = asyncio.Event()
        go = asyncio.Event()

        async def parked() -> None:
            async with slots.hold() as hold:
                log.append("parked: connecting")
                hold.park()  # its setup is slow: the slot goes to the next fresh probe
                await up.wait()
                hold.unpark()
                await hold.work()
                log.append("parked: working")

        tasks = [asyncio.ensure_future(parked())]
        await asyncio.sleep(0)
        tasks += [asyncio.ensure_future(_worker(slots, log, f"fresh-{i}", go)) for i in range(2)]
        await asyncio.sleep(0)
        up.set()  # its connection came up while fresh-0 works and fresh-1 waits
        await asyncio.sleep(0)
        go.set()
        await asyncio.gather(*tasks)

    assert _run_slots(script) == ["parked: connecting", "fresh-0", "parked: working", "fresh-1"]


def test_with_no_free_place_a_slow_setup_keeps_its_slot() -> None:
    async def script(slots: _Slots, log: list[str]) -> None:
        go = asyncio.Event()
        async with slots.hold() as first:
            first.park()  # takes the only place
            async with slots.hold() as second:
                second.park()  # no place left: keeps the slot
                waiting = asyncio.ensure_future(_worker(slots, log, "fresh", go))
                await asyncio.sleep(0)
                log.append(f"parked {slots.parked}, fresh waiting {not log}")
            go.set()
            await waiting

    assert _run_slots(script) == ["parked 1, fresh waiting True", "fresh"]


def test_a_probe_cancelled_as_it_was_handed_a_slot_passes_the_slot_on() -> None:
    async def script(slots: _Slots, log: list[str]) -> None:
        go = asyncio.Event()
        go.set()
        async with slots.hold():
            cancelled = asyncio.ensure_future(_worker(slots, log, "cancelled", go))
            after = asyncio.ensure_future(_worker(slots, log, "after", go))
            await asyncio.sleep(0)
        cancelled.cancel()  # handed the slot on release, cancelled before it ran
        await asyncio.gather(cancelled, after, return_exceptions=True)

    assert _run_slots(script) == ["after"]
