"""Each probe is bounded as a whole answer, not per read: hostile hosts fail alone, in time.

Every test runs the real source on a thread and joins it under a deadline (the probe's own
timeout plus SLACK_S): a source that overruns fails the test, no test sleeps to measure.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator

import pytest
from tests.integration.fixtures.deadline import within

from fleetboard.demo.hosts import BlackHole
from fleetboard.inventory import Address, Host, ProbeSettings
from fleetboard.model import CertFacts, HttpExchange, HttpFacts, ProbeError, Reason, TlsFacts
from fleetboard.sources import PassContext
from fleetboard.sources.http import HttpSource
from fleetboard.sources.net import clean_detail, path_only
from fleetboard.sources.tls import TlsSource

from .hostile import HostileServer

PROBE_S = 0.5  # the probe timeout these tests set (connect or read, whichever is tested)
SLACK_S = 1.0  # what the source may take beyond it: loop start, handshakes, teardown
LONG_S = 600.0  # a timeout that must never be the one that ends a test


@pytest.fixture(scope="module")
def hostile() -> Iterator[HostileServer]:
    with HostileServer(tick_s=0.05) as server:
        yield server


class Resolver:
    """Resolves every name to 127.0.0.1, except names starting "hung", which never return
    (until `release`, at teardown, so no thread outlives the test)."""

    def __init__(self) -> None:
        self.released = threading.Event()
        self.calls: list[str] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.calls.append(host)
        if host.startswith("hung"):
            self.released.wait()
            raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")
        return ["127.0.0.1"]


@pytest.fixture
def resolver() -> Iterator[Resolver]:
    resolve = Resolver()
    yield resolve
    resolve.released.set()


def settings(fleet, hostile: HostileServer, **changes: object) -> ProbeSettings:
    base: dict[str, object] = {
        "connect_timeout_s": PROBE_S,
        "read_timeout_s": PROBE_S,
        "ca_bundle": hostile.ca_bundle,
    }
    return fleet.settings(**{**base, **changes})  # type: ignore[no-any-return]


def run_http(
    fleet,
    hosts: list[Host],
    probe: ProbeSettings,
    *,
    deadline_s: float = 30.0,
    resolver: Resolver | None = None,
) -> HttpFacts:
    inventory = fleet.inventory(("test-1", hosts), settings=probe)
    ctx = fleet.context(deadline_s=deadline_s)
    if resolver is not None:
        ctx.resolver = resolver
    facts = HttpSource().collect(inventory, ctx)
    assert isinstance(facts, HttpFacts)
    return facts


def run_tls(
    fleet, hosts: list[Host], probe: ProbeSettings, *, resolver: Resolver | None = None
) -> TlsFacts:
    inventory = fleet.inventory(("test-1", hosts), settings=probe)
    ctx: PassContext = fleet.context()
    if resolver is not None:
        ctx.resolver = resolver
    facts = TlsSource().collect(inventory, ctx)
    assert isinstance(facts, TlsFacts)
    return facts


def error_of(exchange: HttpExchange) -> ProbeError:
    assert exchange.error is not None, f"expected a failure, got HTTP {exchange.status_code}"
    return exchange.error


# --------------------------------------------------------------------------- one bad host


@pytest.mark.parametrize(
    "path",
    ["/trickle", "/trickle-head", "/silent"],
    ids=["body-one-byte-a-tick", "head-one-byte-a-tick", "silent-after-the-request"],
)
def test_a_host_that_never_completes_its_answer_fails_alone_at_the_read_timeout(
    fleet, hostile: HostileServer, path: str
) -> None:
    bad = fleet.host("bad", (path, "/ok"), address=hostile.https)
    good = fleet.host("good", ("/ok",), address=hostile.https)
    probe = settings(fleet, hostile, connect_timeout_s=LONG_S)
    timed = within(PROBE_S + SLACK_S, lambda: run_http(fleet, [bad, good], probe))
    facts: HttpFacts = timed.value
    error = error_of(facts.exchanges[("bad.fleet.test", path)])
    assert error.reason is Reason.TIMEOUT
    assert error.detail == f"bad.fleet.test: no complete answer within {PROBE_S:g} s"
    assert facts.exchanges[("bad.fleet.test", path)].attempts == 1  # a timeout is not retried
    not_tried = error_of(facts.exchanges[("bad.fleet.test", "/ok")])
    assert not_tried.reason is Reason.TIMEOUT
    assert facts.exchanges[("good.fleet.test", "/ok")].status_code == 200
    assert timed.elapsed_s >= PROBE_S  # it did wait for the answer, the whole budget


def test_a_trickle_runs_into_the_pass_deadline_when_that_comes_first(
    fleet, hostile: HostileServer
) -> None:
    bad = fleet.host("bad", ("/trickle",), address=hostile.https)
    probe = settings(fleet, hostile, connect_timeout_s=LONG_S, read_timeout_s=LONG_S)
    timed = within(PROBE_S + SLACK_S, lambda: run_http(fleet, [bad], probe, deadline_s=PROBE_S))
    error = error_of(timed.value.exchanges[("bad.fleet.test", "/trickle")])
    assert error.reason is Reason.DEADLINE


def test_an_oversized_body_is_cut_at_the_cap_without_waiting_for_the_rest(
    fleet, hostile: HostileServer
) -> None:
    host = fleet.host("big", ("/flood", "/ok"), address=hostile.https)
    probe = settings(fleet, hostile, body_cap_bytes=4096, read_timeout_s=LONG_S)
    timed = within(SLACK_S, lambda: run_http(fleet, [host], probe))
    flood = timed.value.exchanges[("big.fleet.test", "/flood")]
    assert (flood.status_code, flood.body_truncated, len(flood.body)) == (200, True, 4096)
    assert timed.value.exchanges[("big.fleet.test", "/ok")].status_code == 200


def test_a_tls_handshake_that_trickles_fails_at_the_connect_timeout(
    fleet, hostile: HostileServer
) -> None:
    host = fleet.host("stall", ("/ok",), address=hostile.tls_trickle)
    probe = settings(fleet, hostile, read_timeout_s=LONG_S)
    timed = within(PROBE_S + SLACK_S, lambda: run_http(fleet, [host], probe))
    error = error_of(timed.value.exchanges[("stall.fleet.test", "/ok")])
    assert error.reason is Reason.TIMEOUT
    assert error.detail == f"TLS handshake with stall.fleet.test timed out after {PROBE_S:g} s"
    assert "stall.fleet.test" not in timed.value.certs


@pytest.mark.parametrize("where", ["tls-trickle", "black-hole"])
def test_the_tls_source_alone_is_bounded_by_the_connect_timeout_too(
    fleet, hostile: HostileServer, black_hole: BlackHole, where: str
) -> None:
    address = hostile.tls_trickle if where == "tls-trickle" else black_hole.address
    stall = fleet.host("stall", ("/ok",), address=address)
    good = fleet.host("good", ("/ok",), address=hostile.https)
    probe = settings(fleet, hostile, read_timeout_s=LONG_S)
    timed = within(PROBE_S + SLACK_S, lambda: run_tls(fleet, [stall, good], probe))
    facts: TlsFacts = timed.value
    stalled = facts.certs["stall.fleet.test"]
    assert isinstance(stalled, ProbeError) and stalled.reason is Reason.TIMEOUT
    assert isinstance(facts.certs["good.fleet.test"], CertFacts)


# --------------------------------------------------------------------------- DNS that hangs


def test_a_lookup_that_never_returns_costs_one_connect_timeout(
    fleet, hostile: HostileServer, resolver: Resolver
) -> None:
    hung = fleet.host("hung", ("/ok",), address=Address("hung.dns.test", hostile.https.port))
    good = fleet.host("good", ("/ok",), address=Address("good.dns.test", hostile.https.port))
    probe = settings(fleet, hostile, read_timeout_s=LONG_S)
    timed = within(
        PROBE_S + SLACK_S, lambda: run_http(fleet, [hung, good], probe, resolver=resolver)
    )
    error = error_of(timed.value.exchanges[("hung.fleet.test", "/ok")])
    assert error.reason is Reason.DNS
    assert error.detail == f"lookup of hung.dns.test got no answer within {PROBE_S:g} s"
    assert timed.value.exchanges[("good.fleet.test", "/ok")].status_code == 200


def test_many_hung_lookups_do_not_starve_the_lookups_of_other_hosts(
    fleet, hostile: HostileServer, resolver: Resolver
) -> None:
    port = hostile.https.port
    hung = [
        fleet.host(f"hung-{i}", ("/ok",), address=Address(f"hung-{i}.dns.test", port))
        for i in range(40)
    ]
    good = [
        fleet.host(f"good-{i}", ("/ok",), address=Address(f"good-{i}.dns.test", port))
        for i in range(5)
    ]
    probe = settings(fleet, hostile, read_timeout_s=LONG_S)
    timed = within(
        PROBE_S + SLACK_S, lambda: run_http(fleet, hung + good, probe, resolver=resolver)
    )
    for i in range(5):
        assert timed.value.exchanges[(f"good-{i}.fleet.test", "/ok")].status_code == 200
    for i in range(40):
        assert error_of(timed.value.exchanges[(f"hung-{i}.fleet.test", "/ok")]).reason is Reason.DNS


def test_the_tls_source_bounds_a_hung_lookup_the_same_way(
    fleet, hostile: HostileServer, resolver: Resolver
) -> None:
    hung = fleet.host("hung", ("/ok",), address=Address("hung.dns.test", hostile.https.port))
    probe = settings(fleet, hostile, read_timeout_s=LONG_S)
    timed = within(PROBE_S + SLACK_S, lambda: run_tls(fleet, [hung], probe, resolver=resolver))
    found = timed.value.certs["hung.fleet.test"]
    assert isinstance(found, ProbeError) and found.reason is Reason.DNS


_EXITS = textwrap.dedent(
    """
    import sys, threading, time
    from pathlib import Path
    from fleetboard.inventory import Address, AwsSettings, Environment, Host, Inventory
    from fleetboard.inventory import ProbeSettings, Thresholds
    from fleetboard.model import EnvKind
    from fleetboard.sources import PassContext
    from fleetboard.sources.http import HttpSource

    def never(host, port):
        threading.Event().wait()

    host = Host("worker", "worker:hung", "hung.fleet.test", ("/healthz",),
                Address("hung.dns.test", 443))
    env = Environment("test-1", EnvKind.TEST_SLOT, 1, "-test-1", "b.fleet.test",
                      "tag", "https://b.fleet.test", (host,))
    inventory = Inventory("x.toml", "x", AwsSettings("us-east-1", "fleet.test", "Z", "t*"),
                          ProbeSettings(connect_timeout_s=0.2), Thresholds(), (env,), "b")
    ctx = PassContext(deadline=time.monotonic() + 30, resolver=never)
    facts = HttpSource().collect(inventory, ctx)
    print(facts.exchanges[("hung.fleet.test", "/healthz")].error.reason)
    """
)


def test_a_process_whose_lookup_hung_still_exits_when_it_is_done() -> None:
    # A lookup thread stuck in the resolver must not keep the interpreter from exiting
    # (`fleetboard collect` would never end): the subprocess is killed if it overruns.
    done = subprocess.run(
        [sys.executable, "-c", _EXITS], capture_output=True, text=True, timeout=20, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "dns"


# --------------------------------------------------------------------------- many hosts


def test_slow_hosts_hold_their_own_slots_not_everyone_elses(fleet, hostile: HostileServer) -> None:
    bad = [
        fleet.host("trickle", ("/trickle",), address=hostile.https),
        fleet.host("silent", ("/silent",), address=hostile.https),
    ]
    good = [fleet.host(f"ok-{i}", ("/ok",), address=hostile.https) for i in range(20)]
    probe = settings(fleet, hostile, concurrency=3)
    # Two slots are held by the bad hosts for one read timeout; the third serves the rest.
    timed = within(PROBE_S + SLACK_S, lambda: run_http(fleet, bad + good, probe))
    facts: HttpFacts = timed.value
    for i in range(20):
        assert facts.exchanges[(f"ok-{i}.fleet.test", "/ok")].status_code == 200
    for host, path in (("trickle", "/trickle"), ("silent", "/silent")):
        assert error_of(facts.exchanges[(f"{host}.fleet.test", path)]).reason is Reason.TIMEOUT


# --------------------------------------------------------------------------- what reasons say


def test_a_failure_reason_names_the_host_never_the_query_string(
    fleet, hostile: HostileServer
) -> None:
    paths = ("/silent?token=s3cr3t-in-query", "/ok?key=another-s3cr3t")
    host = fleet.host("bad", paths, address=hostile.https)
    facts = within(PROBE_S + SLACK_S, lambda: run_http(fleet, [host], settings(fleet, hostile)))
    for path in paths:
        error = error_of(facts.value.exchanges[("bad.fleet.test", path)])
        assert "s3cr3t" not in error.detail
        assert "token" not in error.detail and "key=" not in error.detail


def test_a_server_that_echoes_the_request_gets_no_query_or_header_into_the_reason(
    fleet, hostile: HostileServer
) -> None:
    path = "/echo?token=s3cr3t-in-query"
    host = fleet.host("echo", (path,), address=hostile.https)
    facts = within(SLACK_S, lambda: run_http(fleet, [host], settings(fleet, hostile)))
    error = error_of(facts.value.exchanges[("echo.fleet.test", path)])
    assert error.reason is Reason.HTTP
    assert error.detail == "bad HTTP response: status line 'GET /echo'"


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("Connection timed out", "Connection timed out"),
        ("line one\r\nX-Injected: yes", "line one\\r\\nX-Injected: yes"),
        ("bidi \u202e override", "bidi \\u202e override"),
        ("x" * 500, "x" * 159 + "…"),
    ],
    ids=["plain", "a line break", "an invisible character", "too long"],
)
def test_an_exceptions_text_is_one_visible_capped_line_in_a_reason(text: str, shown: str) -> None:
    assert clean_detail(text) == shown


def test_a_path_in_a_reason_loses_its_query_and_fragment() -> None:
    assert path_only("/healthz?token=abc#frag") == "/healthz"
    assert path_only("/readyz") == "/readyz"
