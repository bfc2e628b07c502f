"""A small, whole fleet on loopback for the fault matrix and the secret grep.

Every source is real and healthy by default, on the servers tests/integration/conftest.py
starts once for the whole session: AWS is the moto server, the hosts are the HTTPS HostServer
(broker and audit) plus one host, `faulty.fleet.test`, served by a TLS FaultServer, GitHub is
the fake (its answers checked against GitHub's OpenAPI description; a cell also looks by hand),
and the chain is anvil with the registry and EntryPoint deployed.

A cell points ONE source at a FaultServer (or a refused port, or a name that does not
resolve) and runs a whole pass, in a thread, with an 8 s deadline: `Rig.run`. A source that
is one AWS call among the others on the same endpoint (host: ec2:DescribeInstanceStatus,
agent: ssm:DescribeInstanceInformation, metrics: cloudwatch:GetMetricData) is broken by a
`SplitRelay` in front of moto, which sends that call alone to the FaultServer
(`Wiring.split_call`).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import closing
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from tests.integration.faults.servers import FaultServer, SplitRelay
from tests.integration.fixtures.aws import moto_client
from tests.integration.fixtures.chain import CHAIN_ID, Contracts
from tests.integration.github.openapi import OpenApiCheck

from fleetboard import chain as evm
from fleetboard import collect
from fleetboard.config import DEADLINE_GRACE_S, LoadedConfig, load
from fleetboard.demo import chain as local
from fleetboard.demo.aws_extras import Host
from fleetboard.demo.aws_world import (
    EnvSpec,
    Load,
    World,
    WorldSpec,
    build_world,
    deploy_comment,
    reset_moto,
)
from fleetboard.demo.dns import ZoneResolver
from fleetboard.demo.github import GithubServer, demo_world
from fleetboard.demo.hosts import HostServer
from fleetboard.publish import LocalPublisher
from fleetboard.secrets import Secret
from fleetboard.sources.awsapi import StaticCredentials, make_aws_client_factory

ZONE = "fleet.test"
BROKER = f"broker.{ZONE}"  # served by the shared HostServer: /healthz, /readyz, issuer
AUDIT = f"audit.{ZONE}"  # served by the shared HostServer: "ok"
FAULTY = f"faulty.{ZONE}"  # served by the TLS FaultServer: the host a cell breaks
HOSTS = (BROKER, AUDIT, FAULTY)

#: The matrix's pass deadline: small, so a cell that waits for it costs little, yet beyond a
#: connection tried twice (2 x 3 s), so a busy machine cannot turn a timeout into "deadline".
DEADLINE_S = 8.0
#: Per-call timeouts. A loopback connect is instant, but its TLS handshake runs in Python on
#: both ends: on a busy 2-core CI machine a 1 s budget was seen to run out (a healthy host
#: "timed out" beside a 48 MB flood), and 2 s once too since a pass also asks AWS for its
#: machines' status, agents, figures and prices (five AWS sources at once against the
#: in-process moto). 3 s keeps the cells honest and cheap.
CONNECT_S = 3
READ_S = 3
#: What the thread running the pass may take beyond deadline + grace: rendering, writing,
#: and a busy 2-core machine. An overrun fails the cell.
SLACK_S = 3.0

#: Fake but well-formed credentials; the secret grep plants its own.
DUMMY = StaticCredentials(access_key_id="testing", secret_access_key="testing")
GITHUB_TOKEN = "ghp_FaultMatrixDummyToken0000000000000000"

HEI = 10**18
DEPLOYER = "0x" + "d1" * 20
PAYMASTER = "0x" + "9a" * 20
MASTER = "0x" + "3e" * 20

#: prod's CloudWatch Logs group with [logs] (the default "/fleet/{env}"), and the one error
#: line the rig puts in it (a secret in it, which only the masked form may show).
LOG_GROUP = "/fleet/prod"
LOG_STREAM = "i-0prod/broker"
LOG_LINE = "ERROR payment failed: upstream said 502 (token=fm-log-secret-0001)"
SHOWN_LOG_LINE = "ERROR payment failed: upstream said 502 (token=***"

#: What CloudWatch holds for prod's instance (a burstable t3): every figure the card shows,
#: each well inside its threshold, so the healthy board's metrics check is green.
PROD_LOAD = Load(cpu=31.0, credits=412.0, memory=63.0, disk=71.0)


@dataclass(frozen=True, slots=True)
class Wiring:
    """Where each source looks in one pass; a cell changes one of them."""

    aws_url: str
    github_url: str
    rpc_url: str
    faulty_address: str | None  # None: resolve faulty.fleet.test (it has no record)
    credentials: StaticCredentials = DUMMY
    github_token: str = GITHUB_TOKEN
    webhook: str | None = None  # a secret no source uses: it must stay unused and unshown
    dns_hangs: bool = False  # looking up faulty.fleet.test never returns (until hung up)
    #: A region `validate` would refuse ("us-east-1\n"), put in after loading: what the
    #: source does with a config that slipped through (it once quoted the signed headers).
    region: str | None = None
    #: The one AWS call ("ec2:DescribeInstanceStatus") the rig's SplitRelay sends to the
    #: plain FaultServer, every other call going on to moto; aws_url is then the relay's.
    split_call: str | None = None
    #: Cost Explorer's own endpoint (the billing source, [aws] cost_explorer = true): every
    #: other AWS call still goes to aws_url. None: the billing source is off.
    ce_url: str | None = None
    #: [logs] on: prod's CloudWatch Logs group (LOG_GROUP, one error line) is read. Off in
    #: every cell but the logs source's own, so theirs are the baseline's boards.
    logs: bool = False


@dataclass
class Outcome:
    """One pass of a cell: what it returned, what it published, how long it took."""

    result: collect.PassResult | None
    error: BaseException | None
    elapsed_s: float
    out: Path
    records: list[logging.LogRecord] = field(default_factory=list)

    @property
    def doc(self) -> dict[str, Any]:
        return dict(json.loads((self.out / "latest.json").read_text()))


@dataclass
class Rig:
    """The healthy fleet and the fault servers; `run` does one pass."""

    world: World
    hosts: HostServer
    github: GithubServer
    openapi: OpenApiCheck
    rpc_url: str
    plain: FaultServer  # stands in for AWS, GitHub or the RPC, or for one AWS call
    tls: FaultServer  # stands in for faulty.fleet.test
    relay: SplitRelay  # in front of moto: sends Wiring.split_call to `plain`
    ca_bundle: Path
    workdir: Path
    contracts: Contracts
    released: threading.Event = field(default_factory=threading.Event)

    def healthy(self) -> Wiring:
        return Wiring(
            aws_url=self.world.endpoint_url,
            github_url=self.github.url,
            rpc_url=self.rpc_url,
            faulty_address=self.tls.address,
        )

    def fleet_toml(self, wiring: Wiring) -> str:
        created = self.world.environments["prod"]
        q = json.dumps
        address = self.hosts.address
        lines = [
            "[fleet]",
            'name = "fault matrix"',
            f"zone = {q(ZONE)}",
            f"zone_id = {q(self.world.zone_id)}",
            f"region = {q(self.world.region)}",
            'eip_tag_pattern = "agentkeys-broker-eip*"',
            "services = []",
            'workers = ["audit", "faulty"]',
            "period_s = 60",
            "",
            "[aws]",
            f"endpoint_url = {q(wiring.aws_url)}",
            f"connect_timeout_s = {CONNECT_S}",
            f"read_timeout_s = {READ_S}",
            *(["cost_explorer = true"] if wiring.ce_url is not None else []),
            "",
            "[probe]",
            f"ca_bundle = {q(str(self.ca_bundle))}",
            f"connect_timeout_s = {CONNECT_S}",
            f"read_timeout_s = {READ_S}",
            "retry_delay_s = 0.05",
            f"pass_deadline_s = {DEADLINE_S:g}",
            "",
            "[thresholds]",
            "slow_ms = 60000  # a loaded test machine must not make a host amber",
            "",
            "[github]",
            f"repo = {q(self.github.world.repo)}",
            f"workflows = {q(list(self.github.world.workflows))}",
            f"api_url = {q(wiring.github_url)}",
            'token_env = "FLEETBOARD_FAULTS_UNSET_TOKEN"',
            f"timeout_s = {READ_S}",
            "slot_count = 1",
            "",
            "[chain]",
            f"chain_id = {CHAIN_ID}",
            'rpc_env = "FLEETBOARD_FAULTS_UNSET_RPC"',
            f"registry = {q(self.contracts.registry)}",
            f"entrypoint = {q(self.contracts.entrypoint)}",
            f"paymaster = {q(PAYMASTER)}",
            f"timeout_s = {READ_S}",
            "max_block_age_s = 86400  # anvil mines only when sent a transaction",
            "",
            "[environments.prod]",
            f"broker_host = {q(BROKER)}",
            f"instance_id = {q(created.instance_id)}",
            f"eip = {q(created.eip)}",
            f"hosts.broker.address = {q(str(address))}",
            f"hosts.audit.address = {q(str(address))}",
        ]
        if wiring.faulty_address is not None:
            lines.append(f"hosts.faulty.address = {q(wiring.faulty_address)}")
        lines += ["", "[environments.prod.chain]", f"deployer = {q(DEPLOYER)}"]
        if wiring.logs:
            lines += ["", "[logs]"]  # the defaults: "/fleet/{env}", the last hour
        return "\n".join(lines) + "\n"

    def load(self, wiring: Wiring, name: str = "fleet.toml") -> LoadedConfig:
        path = self.workdir / name
        path.write_text(self.fleet_toml(wiring))
        return load(path)

    def run(
        self,
        wiring: Wiring,
        out: Path,
        *,
        deadline_s: float = DEADLINE_S,
        state: LocalPublisher | None = None,
    ) -> Outcome:
        """One whole pass into `out`, in a thread joined at deadline + grace + slack: a pass
        that is still running then fails the test (and is left to the fault servers'
        hang-up, which the caller does next)."""
        loaded = self.load(wiring)
        self.relay.split(wiring.split_call, self.plain.address)
        if wiring.region is not None:
            aws = replace(loaded.inventory.aws, region=wiring.region)
            loaded = replace(loaded, inventory=replace(loaded.inventory, aws=aws))
        factory = make_aws_client_factory(loaded.inventory.aws, credentials=wiring.credentials)
        # Cost Explorer at an endpoint of its own (as ce.us-east-1.amazonaws.com is), every
        # other service where the rest of the pass looks.
        ce = (
            make_aws_client_factory(
                replace(loaded.inventory.aws, endpoint_url=wiring.ce_url),
                credentials=wiring.credentials,
            )
            if wiring.ce_url is not None
            else None
        )

        def clients(service: str) -> Any:
            return (ce if ce is not None and service == "ce" else factory)(service)

        secrets = {
            "github_token": Secret(wiring.github_token),
            "rpc_url": Secret(wiring.rpc_url),
        }
        if wiring.webhook is not None:
            secrets["webhook"] = Secret(wiring.webhook)
        box: dict[str, Any] = {}
        handler = _Collect()
        logger = logging.getLogger()
        logger.addHandler(handler)

        def one_pass() -> None:
            try:
                ctx = collect.laptop_context(
                    loaded,
                    resolver=self._resolver(wiring),
                    aws_client=clients,
                    secrets=secrets,
                )
                box["result"] = collect.run_pass(loaded, ctx, state or LocalPublisher(out))
            except BaseException as exc:  # reported by the test, not lost in the thread
                box["error"] = exc

        started = time.monotonic()
        thread = threading.Thread(target=one_pass, name="fault-matrix-pass", daemon=True)
        thread.start()
        thread.join(timeout=deadline_s + DEADLINE_GRACE_S + SLACK_S)
        elapsed = time.monotonic() - started
        logger.removeHandler(handler)
        if thread.is_alive():
            self.hang_up()
            thread.join(timeout=10)
            factory.close()
            if ce is not None:
                ce.close()
            pytest.fail(
                f"the pass did not return within deadline {deadline_s:g} s + grace "
                f"{DEADLINE_GRACE_S:g} s + slack {SLACK_S:g} s"
            )
        factory.close()
        if ce is not None:
            ce.close()
        return Outcome(box.get("result"), box.get("error"), elapsed, out, handler.records)

    def _resolver(self, wiring: Wiring) -> Callable[[str, int], list[str]]:
        """No names at all (every host has an address, but the DNS cells' one); or, for
        `dns_hangs`, a lookup of faulty.fleet.test that waits until the cell hangs up."""
        zone = ZoneResolver({})
        released = self.released

        def hanging(host: str, port: int) -> list[str]:
            if host.rstrip(".").lower() == FAULTY:
                released.wait(timeout=60)
            return zone(host, port)

        return hanging if wiring.dns_hangs else zone

    def hang_up(self) -> None:
        """Let go of every client a cell left waiting (its abandoned source thread ends)."""
        self.plain.hang_up()
        self.tls.hang_up()
        self.relay.hang_up()
        self.released.set()
        self.released = threading.Event()


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture(scope="session")
def fault_servers() -> Iterator[tuple[FaultServer, FaultServer]]:
    with FaultServer() as plain, FaultServer(tls_names=[FAULTY]) as tls:
        yield plain, tls


@pytest.fixture(scope="session")
def split_relay(moto_server: str) -> Iterator[SplitRelay]:
    with SplitRelay(moto_server) as relay:
        yield relay


@pytest.fixture(scope="module")
def rig(
    moto_server: str,
    hosts: HostServer,
    github_server: GithubServer,
    openapi: OpenApiCheck,
    node: local.LocalChain,
    contracts: Contracts,
    fault_servers: tuple[FaultServer, FaultServer],
    split_relay: SplitRelay,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Rig]:
    plain, tls = fault_servers
    workdir = tmp_path_factory.mktemp("faults")
    # AWS: one running environment, its tagged EIP, the hosts' A records, one deploy of main;
    # its instance passes EC2's three status checks, nothing scheduled, its SSM agent online,
    # and CloudWatch holds its last 3 hours of CPU, its credits, memory and disk.
    reset_moto(moto_server)
    world = build_world(
        WorldSpec(
            environments=(
                EnvSpec(
                    "prod",
                    "agentkeys-broker-eip",
                    hosts=HOSTS,
                    instance_name="agentkeys-broker",
                    deploys=(deploy_comment(15_800_300_01, "main"),),
                    host=Host(system="ok", instance="ok", ebs="ok"),
                    load=PROD_LOAD,
                ),
            ),
            zone=ZONE,
        ),
        moto_server,
        credentials=DUMMY,
    )
    # CloudWatch Logs: prod's group, one error line a minute old (read with [logs] only).
    with closing(moto_client("logs", moto_server)) as logs:
        logs.create_log_group(logGroupName=LOG_GROUP)
        logs.create_log_stream(logGroupName=LOG_GROUP, logStreamName=LOG_STREAM)
        stamp = int((datetime.now(UTC) - timedelta(minutes=1)).timestamp() * 1000)
        logs.put_log_events(
            logGroupName=LOG_GROUP,
            logStreamName=LOG_STREAM,
            logEvents=[{"timestamp": stamp, "message": LOG_LINE}],
        )
    # GitHub: nothing in flight, main committed before the deploy: CI green, free.
    now = datetime.now(UTC)
    github_server.load(
        replace(demo_world(now), runs=(), main_committed_at=now - timedelta(hours=3))
    )
    # Chain: a funded deployer whose operator master is registered, a deposit over its floor.
    node.set_balance(DEPLOYER, 5 * HEI)
    node.register_master(contracts.registry, evm.operator_omni(DEPLOYER), MASTER)
    node.deposit(contracts.entrypoint, PAYMASTER, HEI)
    ca_bundle = workdir / "ca.pem"
    ca_bundle.write_bytes(hosts.ca_pem + tls.ca_pem())
    from fleetboard.sources.chain import warm_up

    warm_up()  # web3's import is paid here, not inside the first cell's deadline
    rig = Rig(
        world=world,
        hosts=hosts,
        github=github_server,
        openapi=openapi,
        rpc_url=node.url,
        plain=plain,
        tls=tls,
        relay=split_relay,
        ca_bundle=ca_bundle,
        workdir=workdir,
        contracts=contracts,
    )
    yield rig
    split_relay.split(None)
    rig.hang_up()
    # Whatever a pass abandoned has had its EOF: it must end, and not write anywhere later.
    leftovers = [t for t in threading.enumerate() if t.name.startswith(("source", "fault-matrix"))]
    for thread in leftovers:
        thread.join(timeout=10)
    alive = [t.name for t in leftovers if t.is_alive()]
    assert not alive, f"threads of abandoned sources still running: {alive}"


def statuses(doc: Mapping[str, Any]) -> dict[str, tuple[str, str]]:
    """check id -> (status, reason) of every check of every environment."""
    return {c["id"]: (c["status"], c["reason"]) for e in doc["environments"] for c in e["checks"]}
