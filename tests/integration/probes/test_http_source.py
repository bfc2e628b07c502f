"""The http source against real HTTPS hosts on 127.0.0.1: what a probe sees, and says."""

from __future__ import annotations

import json
import threading
from concurrent.futures import Future
from dataclasses import replace

import pytest

from fleetboard.demo.hosts import BlackHole, HostServer, SimHost, refused_port, text_reply
from fleetboard.inventory import ISSUER_PATH, READY_PATH, Address
from fleetboard.model import (
    AddressFacts,
    AwsFacts,
    InstanceFacts,
    Reason,
    SourceFailure,
)
from fleetboard.sources.http import HttpSource, probe_sequentially
from fleetboard.sources.net import USER_AGENT, request_bytes


def aws_with(env_state: str) -> AwsFacts:
    """AWS facts where environment test-1's instance is in `env_state`."""
    return AwsFacts(
        addresses=(
            AddressFacts("203.0.113.7", "agentkeys-broker-eip-test-1", "eipalloc-1", "i-1"),
        ),
        instances={"i-1": InstanceFacts("i-1", env_state, "t3.medium", None)},
        a_records={},
        requests=3,
    )


# --------------------------------------------------------------------------- healthy answers


def test_a_healthy_host_answers_200_with_its_plain_ok_body(fleet) -> None:
    facts = fleet.http(fleet.host("audit"))
    exchange = facts.exchanges[("audit.fleet.test", "/healthz")]
    assert (exchange.status_code, exchange.body, exchange.error) == (200, "ok", None)
    assert exchange.attempts == 1
    assert exchange.latency_ms is not None and exchange.latency_ms > 0


def test_a_json_health_body_is_kept_whole_for_the_rules_to_read(fleet) -> None:
    facts = fleet.http(fleet.host("cred"))
    exchange = facts.exchanges[("cred.fleet.test", "/healthz")]
    assert exchange.status_code == 200
    assert json.loads(exchange.body) == {"ok": True, "memory_bucket": "mem-test"}


def test_an_ok_false_body_is_captured_as_an_answer_not_an_error(fleet) -> None:
    exchange = fleet.http(fleet.host("sick")).exchanges[("sick.fleet.test", "/healthz")]
    assert exchange.error is None
    assert exchange.status_code == 200
    assert json.loads(exchange.body)["ok"] is False


def test_every_request_names_the_real_host_and_fleetboard() -> None:
    sent = request_bytes("audit-test-2.litentry.org", "/healthz").decode()
    assert sent.startswith("GET /healthz HTTP/1.1\r\n")
    assert "\r\nHost: audit-test-2.litentry.org\r\n" in sent
    assert f"\r\nUser-Agent: {USER_AGENT}\r\n" in sent
    assert "\r\nAccept: */*\r\n" in sent
    assert USER_AGENT.startswith("fleetboard/")


def test_a_host_reached_through_a_zone_name_is_probed_like_any_other(fleet) -> None:
    via_name = Address("lb.fleet.test", fleet.address.port)
    facts = fleet.http(fleet.host("audit", address=via_name))
    assert facts.exchanges[("audit.fleet.test", "/healthz")].status_code == 200


# --------------------------------------------------------------------------- connections


def test_the_brokers_three_paths_share_one_tls_connection(fleet) -> None:
    before = fleet.server.stats().connections.get("broker.fleet.test", 0)
    facts = fleet.http(fleet.broker())
    after = fleet.server.stats().connections["broker.fleet.test"]
    assert after - before == 1
    statuses = {path: ex.status_code for (_, path), ex in facts.exchanges.items()}
    assert statuses == {"/healthz": 200, READY_PATH: 200, ISSUER_PATH: 200}
    issuer = json.loads(facts.exchanges[("broker.fleet.test", ISSUER_PATH)].body)["issuer"]
    assert issuer == "https://broker.fleet.test"


def test_a_server_that_closes_after_each_answer_gets_a_new_connection_per_path(fleet) -> None:
    before = fleet.server.stats().connections.get("closing.fleet.test", 0)
    facts = fleet.http(fleet.host("closing", ("/healthz", "/readyz")))
    after = fleet.server.stats().connections["closing.fleet.test"]
    assert after - before == 2
    assert all(ex.status_code == 200 and ex.attempts == 1 for ex in facts.exchanges.values())


def test_at_most_the_configured_number_of_connections_are_open_at_once(fleet, ca_bundle) -> None:
    slow = [
        SimHost(f"slow-{i}.fleet.test", {"/healthz": text_reply("ok", delay_s=0.05)})
        for i in range(24)
    ]
    with HostServer(slow) as server:
        hosts = [fleet.host(f"slow-{i}", address=server.address) for i in range(24)]
        bundle = server.write_ca(ca_bundle.with_name("slow-ca.pem"))
        facts = fleet.http(*hosts, settings=fleet.settings(concurrency=4, ca_bundle=bundle))
        stats = server.stats()
    assert all(ex.status_code == 200 for ex in facts.exchanges.values())
    assert stats.tcp_connections == 24
    assert 1 < stats.max_concurrent <= 4


# --------------------------------------------------------------------------- certificates


def test_a_certificate_is_reported_with_the_expiry_date_it_was_issued_with(fleet) -> None:
    cert = fleet.http(fleet.host("expiring")).certs["expiring.fleet.test"]
    assert cert.verified is True
    assert cert.not_after == fleet.expiry
    assert cert.issuer == "Fleetboard Demo CA"
    assert cert.subject == "expiring.fleet.test"
    assert cert.observed_at is not None
    assert (cert.not_after - cert.observed_at).days == 44  # issued 45 days ahead


def test_an_expired_certificate_is_a_tls_failure_whose_dates_are_still_read(fleet) -> None:
    facts = fleet.http(fleet.host("expired"))
    exchange = facts.exchanges[("expired.fleet.test", "/healthz")]
    assert exchange.error is not None and exchange.error.reason is Reason.TLS
    assert exchange.error.detail == "certificate has expired"
    cert = facts.certs["expired.fleet.test"]
    assert (cert.verified, cert.error) == (False, "certificate has expired")
    assert cert.not_after is not None and cert.observed_at is not None
    assert cert.not_after < cert.observed_at


def test_a_certificate_from_an_untrusted_ca_is_a_tls_failure_naming_its_issuer(fleet) -> None:
    facts = fleet.http(fleet.host("stranger"))
    exchange = facts.exchanges[("stranger.fleet.test", "/healthz")]
    assert exchange.status_code is None
    assert exchange.error is not None and exchange.error.reason is Reason.TLS
    assert "issuer" in exchange.error.detail  # "unable to get local issuer certificate"
    cert = facts.certs["stranger.fleet.test"]
    assert (cert.verified, cert.issuer, cert.subject) == (
        False,
        "Stranger CA",
        "stranger.fleet.test",
    )
    assert cert.not_after is not None


def test_a_certificate_for_another_name_is_a_hostname_mismatch(fleet) -> None:
    facts = fleet.http(fleet.host("mismatch"))
    error = facts.exchanges[("mismatch.fleet.test", "/healthz")].error
    assert error is not None and error.reason is Reason.TLS
    assert error.detail.startswith("Hostname mismatch")
    cert = facts.certs["mismatch.fleet.test"]
    assert (cert.verified, cert.subject) == (False, "not-mismatch.fleet.test")


# --------------------------------------------------------------------------- failures


def test_a_502_is_an_answer_with_its_status_after_one_retry(fleet) -> None:
    before = fleet.server.stats().requests.get(("gateway.fleet.test", "/healthz"), 0)
    exchange = fleet.http(fleet.host("gateway")).exchanges[("gateway.fleet.test", "/healthz")]
    assert (exchange.status_code, exchange.body, exchange.error) == (502, "bad gateway", None)
    assert exchange.attempts == 2
    assert fleet.server.stats().requests[("gateway.fleet.test", "/healthz")] - before == 2


def test_a_black_holed_host_times_out_once_without_a_retry(fleet, black_hole: BlackHole) -> None:
    host = fleet.host("audit", ("/healthz", "/readyz"), address=black_hole.address)
    facts = fleet.http(host, settings=fleet.settings(connect_timeout_s=0.2))
    for path in ("/healthz", "/readyz"):  # one timeout for the host, not one per path
        exchange = facts.exchanges[("audit.fleet.test", path)]
        assert exchange.error is not None and exchange.error.reason is Reason.TIMEOUT
        assert exchange.attempts == 1
    assert "timed out" in facts.exchanges[("audit.fleet.test", "/healthz")].error.detail
    assert "audit.fleet.test" not in facts.certs


def test_a_refused_port_is_a_connect_failure_after_one_retry(fleet) -> None:
    host = fleet.host("audit", address=Address("127.0.0.1", refused_port()))
    exchange = fleet.http(host).exchanges[("audit.fleet.test", "/healthz")]
    assert exchange.error is not None
    assert (exchange.error.reason, exchange.error.detail) == (Reason.CONNECT, "connection refused")
    assert exchange.attempts == 2


def test_an_optional_host_missing_from_the_zone_is_an_nxdomain_not_retried(fleet) -> None:
    host = fleet.host("classify", address=None, optional=True)
    exchange = fleet.http(host).exchanges[("classify.fleet.test", "/healthz")]
    assert exchange.error is not None and exchange.error.reason is Reason.DNS
    assert "NXDOMAIN" in exchange.error.detail
    assert exchange.attempts == 1


@pytest.mark.parametrize("path", ["/chunked", "/length"], ids=["chunked", "content-length"])
def test_a_5mb_body_is_cut_at_the_body_cap_and_marked_truncated(fleet, path: str) -> None:
    facts = fleet.http(fleet.host("huge", (path,)), settings=fleet.settings(body_cap_bytes=65536))
    exchange = facts.exchanges[("huge.fleet.test", path)]
    assert exchange.status_code == 200
    assert exchange.body_truncated is True
    assert len(exchange.body) == 65536


def test_a_small_body_is_not_marked_truncated(fleet) -> None:
    exchange = fleet.http(fleet.host("audit")).exchanges[("audit.fleet.test", "/healthz")]
    assert exchange.body_truncated is False


# --------------------------------------------------------------------------- what is probed


def test_a_stopped_environment_is_skipped_and_not_probed(fleet) -> None:
    before = fleet.server.stats().connections.get("audit.fleet.test", 0)
    facts = fleet.http(fleet.host("audit"), aws=aws_with("stopped"))
    assert facts.exchanges == {}
    assert facts.skipped == {"audit.fleet.test": "environment test-1 is stopped"}
    assert fleet.server.stats().connections.get("audit.fleet.test", 0) == before


@pytest.mark.parametrize(
    "aws",
    [aws_with("running"), SourceFailure("aws", "AccessDenied"), None],
    ids=["running", "aws-failed", "aws-absent"],
)
def test_without_aws_saying_stopped_every_host_is_probed(fleet, aws: object) -> None:
    facts = fleet.http(fleet.host("audit"), aws=aws)
    assert facts.exchanges[("audit.fleet.test", "/healthz")].status_code == 200
    assert facts.skipped == {}


def test_a_host_marked_skip_is_listed_as_skipped_with_the_reason(fleet) -> None:
    facts = fleet.http(fleet.host("audit"), fleet.host("cred", skip=True))
    assert set(facts.exchanges) == {("audit.fleet.test", "/healthz")}
    assert facts.skipped == {"cred.fleet.test": "marked skip in the inventory"}


def test_a_host_named_in_two_environments_is_probed_once(fleet) -> None:
    inventory = fleet.inventory(
        ("test-1", [fleet.host("audit")]), ("test-2", [fleet.host("audit")])
    )
    before = fleet.server.stats().connections.get("audit.fleet.test", 0)
    facts = probe_sequentially(inventory, fleet.context())
    assert list(facts.exchanges) == [("audit.fleet.test", "/healthz")]
    assert fleet.server.stats().connections["audit.fleet.test"] - before == 1


# --------------------------------------------------------------------------- the deadline


def test_a_pass_already_out_of_time_reports_deadline_without_connecting(fleet) -> None:
    before = fleet.server.stats().tcp_connections
    facts = fleet.http(fleet.broker(), fleet.host("audit"), deadline_s=-1)
    assert len(facts.exchanges) == 4
    for exchange in facts.exchanges.values():
        assert exchange.error is not None and exchange.error.reason is Reason.DEADLINE
        assert exchange.attempts == 0
    assert fleet.server.stats().tcp_connections == before


def test_a_deadline_reached_mid_probe_is_reported_as_deadline_not_a_hang(
    fleet, black_hole: BlackHole
) -> None:
    host = fleet.host("audit", ("/healthz", "/readyz"), address=black_hole.address)
    settings = fleet.settings(connect_timeout_s=600, read_timeout_s=600)
    facts = fleet.http(host, settings=settings, deadline_s=0.3)
    for exchange in facts.exchanges.values():
        assert exchange.error is not None and exchange.error.reason is Reason.DEADLINE


def test_the_sequential_baseline_sees_what_the_concurrent_pass_sees(fleet) -> None:
    inventory = fleet.inventory(
        ("test-1", [fleet.broker(), fleet.host("audit"), fleet.host("gateway")])
    )
    concurrent = fleet.http(fleet.broker(), fleet.host("audit"), fleet.host("gateway"))
    one_by_one = probe_sequentially(inventory, fleet.context())
    assert {k: v.status_code for k, v in one_by_one.exchanges.items()} == {
        k: v.status_code for k, v in concurrent.exchanges.items()
    }


# --------------------------------------------------------------------------- not waiting for AWS


def test_probes_do_not_wait_for_aws_to_answer(fleet) -> None:
    inventory = fleet.inventory(("test-1", [fleet.host("audit")]))
    never = Future[object]()  # AWS has not answered, and will not during this pass
    facts = HttpSource().collect(inventory, fleet.context(pending={"aws": never}))
    assert facts.exchanges[("audit.fleet.test", "/healthz")].status_code == 200


def test_a_stopped_slot_still_being_probed_is_dropped_when_aws_answers(
    fleet, black_hole: BlackHole
) -> None:
    # The stopped slot's EIP black-holes: without the drop, this probe would wait out its
    # 30 s timeout and come back as a timeout.
    hole = fleet.host("audit", address=black_hole.address)
    inventory = fleet.inventory(("test-1", [hole]))
    inventory = replace(
        inventory, probe=fleet.settings(connect_timeout_s=30.0, read_timeout_s=30.0)
    )
    aws = Future[object]()
    threading.Timer(0.1, aws.set_result, [aws_with("stopped")]).start()
    facts = HttpSource().collect(inventory, fleet.context(deadline_s=60, pending={"aws": aws}))
    assert facts.exchanges == {}
    assert facts.skipped == {"audit.fleet.test": "environment test-1 is stopped"}
