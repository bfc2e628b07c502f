"""The simulated hosts and zone themselves: what the demo, the benchmark and the tests rely on."""

from __future__ import annotations

import socket
import ssl
import time

import pytest

from fleetboard.demo.dns import ZoneResolver
from fleetboard.demo.hosts import HostServerProcess, SimHost, json_reply, text_reply
from fleetboard.inventory import Host, ProbeSettings
from fleetboard.sources import PassContext
from fleetboard.sources.net import probe_hosts


def test_the_zone_answers_its_names_whatever_their_case_or_trailing_dot() -> None:
    resolve = ZoneResolver({"Broker-Test-2.example.org": ["127.0.0.1"]})
    assert resolve("broker-test-2.example.org.", 443) == ["127.0.0.1"]


def test_a_name_outside_the_zone_is_an_nxdomain_like_getaddrinfo_raises() -> None:
    resolve = ZoneResolver({"broker.example.org": ["127.0.0.1"]})
    with pytest.raises(socket.gaierror) as raised:
        resolve("classify-test.example.org", 443)
    assert raised.value.errno == socket.EAI_NONAME


def test_the_hosts_can_run_in_a_child_process_and_report_their_port_and_ca(tmp_path) -> None:
    spec = [SimHost("audit.fleet.test", {"/healthz": text_reply("ok")}),
            SimHost("cred.fleet.test", {"/healthz": json_reply({"ok": True})})]  # fmt: skip
    with HostServerProcess(spec) as server:
        bundle = server.write_ca(tmp_path / "ca.pem")
        ssl.create_default_context(cafile=bundle)  # a loadable CA certificate
        hosts = [Host("worker", "worker:x", s.name, address=server.address) for s in spec]
        settings = ProbeSettings(ca_bundle=bundle)
        import asyncio

        probes = asyncio.run(probe_hosts(hosts, settings, PassContext(time.monotonic() + 30)))
        stats = server.stats()
    assert [p.exchanges[0].status_code for p in probes] == [200, 200]
    assert stats.connections == {"audit.fleet.test": 1, "cred.fleet.test": 1}


def test_an_unknown_path_is_a_404(fleet) -> None:
    facts = fleet.http(fleet.host("audit", ("/nope",)))
    assert facts.exchanges[("audit.fleet.test", "/nope")].status_code == 404


def test_an_unknown_host_gets_the_default_certificate_like_nginx_serves_it(fleet) -> None:
    error = fleet.http(fleet.host("nobody")).exchanges[("nobody.fleet.test", "/healthz")].error
    assert error is not None and error.detail.startswith("Hostname mismatch")
