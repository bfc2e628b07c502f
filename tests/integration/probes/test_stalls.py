"""A pause of the collector's own process is never a host's timeout (net.StallWatch).

A long garbage collection, another thread holding the GIL, a descheduled VM: the event loop
does not run, the host's answer waits in the socket, and when the loop runs again the
step's timer and the answer are due together, the timer first. Such a timeout is retried
and, if the pause comes again, is the collector's blindness (unknown), never red. The pause
is made here for real: the loop's own thread blocks in time.sleep while a probe is in
flight against the real HTTPS server (another thread, which keeps serving).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from tests.integration.fixtures.hosts import name

from fleetboard.demo.hosts import text_reply
from fleetboard.model import Reason, Status
from fleetboard.rules.verdicts import classify_probe_error
from fleetboard.sources.net import HostProbe, Prober

PATH = "/answers-after-a-while"


@pytest.fixture
def slow_host(fleet: Any) -> Any:
    # answers after 0.3 s: a read is in flight for that long, so a pause lands inside it
    fleet.server.set_reply(name("audit"), PATH, text_reply("ok", delay_s=0.3))
    return fleet.host("audit", (PATH,))


def probe_with_pauses(fleet: Any, host: Any, *, pause_s: float, every_s: float | None) -> HostProbe:
    """Probe `host` while the loop's thread blocks for `pause_s` 0.1 s in (and again every
    `every_s` after, if given); timeouts of 0.5 s, so each pause outlasts a whole step."""
    settings = fleet.settings(connect_timeout_s=0.5, read_timeout_s=0.5)

    async def run() -> HostProbe:
        loop = asyncio.get_running_loop()

        def pause() -> None:
            time.sleep(pause_s)  # the whole event loop stops, as in a long GC pause
            if every_s is not None:
                loop.call_later(every_s, pause)

        async with Prober(settings, fleet.context()) as prober:
            loop.call_later(0.1, pause)
            return await prober.probe(host)

    return asyncio.run(run())


def test_a_timeout_across_a_pause_of_the_collector_is_retried_and_the_host_is_green(
    fleet: Any, slow_host: Any
) -> None:
    probe = probe_with_pauses(fleet, slow_host, pause_s=1.0, every_s=None)
    (exchange,) = probe.exchanges
    assert exchange.error is None, exchange.error
    assert (exchange.status_code, exchange.body, exchange.attempts) == (200, "ok", 2)


def test_a_collector_that_keeps_pausing_makes_the_probe_unknown_never_red(
    fleet: Any, slow_host: Any
) -> None:
    probe = probe_with_pauses(fleet, slow_host, pause_s=1.0, every_s=0.05)
    (exchange,) = probe.exchanges
    assert exchange.error is not None
    assert exchange.error.reason is Reason.COLLECTOR
    assert "this collector stalled for" in exchange.error.detail
    assert classify_probe_error(exchange.error)[0] is Status.UNKNOWN


def test_without_a_pause_a_host_slower_than_the_timeout_is_still_a_red_timeout(
    fleet: Any, slow_host: Any
) -> None:
    fleet.server.set_reply(name("audit"), PATH, text_reply("ok", delay_s=1.0))
    settings = fleet.settings(connect_timeout_s=0.5, read_timeout_s=0.5)

    async def run() -> HostProbe:
        async with Prober(settings, fleet.context()) as prober:
            return await prober.probe(slow_host)

    (exchange,) = asyncio.run(run()).exchanges
    assert exchange.error is not None and exchange.error.reason is Reason.TIMEOUT
    assert classify_probe_error(exchange.error)[0] is Status.RED
