"""Realistic boards for page tests, each one the real rules' verdict on observations.

No board here is written by hand: a fleet.toml text (`demo_fleet`, `big_fleet`) and what
the sources saw (tests/observed.py) go through `collect.observations` and `rules.evaluate`,
so every page test renders a board the collector could publish. `document(board)` is its
snapshot dict, validated as the collector validates it.

    from tests.boards import NOW, demo_board, document
    doc = document(demo_board())
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, ParamSpec

from tests.observed import Observed, ready_body

from fleetboard import chain as evm
from fleetboard import memory, snapshot
from fleetboard.inventory import READY_PATH
from fleetboard.memory import Timeline
from fleetboard.memory.timeline import Held
from fleetboard.model import (
    AgentFacts,
    AgentInfo,
    BillingFacts,
    Board,
    HostEvent,
    HostFacts,
    HostStatus,
    LogEntry,
    LogFacts,
    LogTail,
    Metrics,
    MetricsFacts,
    PriceFacts,
    ServiceLines,
)

NOW = datetime(2026, 11, 23, 8, 0, 3, tzinfo=UTC)
ZONE = "litentry.org"
XSS = "<script>alert(1)</script>"
WORKERS = ("audit", "email", "cred", "memory", "config", "classify", "channel", "weixin")

REPO = "litentry/agentKeys"
MAIN_SHA = "5e1f0c2a9b7d4e6f8a0b1c2d3e4f5a6b7c8d9e0f"
GITHUB_ERROR = "timeout: api.github.com did not answer in 3 s"
JOB_RUST = "cargo fmt + clippy + test"
JOB_DEPLOY = "deploy broker to test EC2 (path-conditional)"
JOB_E2E = "harness/v2-stage*-demo.sh on Heima mainnet (test deployer)"

EXPLORER = "https://explorer.heima.network"
HEI = 10**18
PROD_DEPLOYER = "0xdE644936D5B7d5d42032fd08bbA42Fbbfd6663Bc"
PROD_SPONSOR = "0x3f1C7bD24a0e9A5b6E8c2D4F90a1B3c5d7E9f20A"
PROD_PAYMASTER = "0x8e4A1c2B3d5F6a7B8c9D0e1F2a3B4c5D6e7F8091"
PROD_REGISTRY = "0x5D2b9e0C4a7F1e3B6c8D0a2E4f6A8b0C2d4E6f81"
PROD_ENTRYPOINT = "0x0000000071727De22E5E9d8BAf0edAc6f37da032"
PROD_MASTER = "0x6a1f3c5e7b9d2f4a6c8e0b2d4f6a8c0e2b4d6f8a"
TEST_DEPLOYER = "0x9FE9e6c208e9e75D2A19a5c2683127c33896F259"
SLOT2_DEPLOYER = "0xC32A69BE66d6dA6Bc0d6732b471F5461ADAFf77A"
TEST_REGISTRY = "0x2C4e6A8b0D2f4A6c8E0b2D4f6A8c0E2b4D6f8A0c"
SLOT2_MASTER = "0x1b3d5f7a9c2e4b6d8f0a1c3e5b7d9f2a4c6e8b0d"
BASE_DEPLOYER = "0x4B2d6F8a0C2e4A6b8D0f2A4c6E8b0D2f4A6c8E0b"
RPC_ERROR = "timeout: the RPC did not answer in 8 s"

#: Which variant of the demo's CI part to observe (see `demo`).
CiKind = Literal["demo", "two-holders", "computed", "parked", "idle", "none", "unknown"]
#: Which variant of the demo's chain part to observe (see `demo`).
ChainKind = Literal["demo", "networks", "none", "unknown"]


def document(board: Board) -> dict[str, Any]:
    """The snapshot dict the collector would publish for `board` (validated)."""
    doc = snapshot.to_document(board)
    snapshot.validate(doc)
    return doc


def omni(deployer: str) -> str:
    """The operator omni of a deployer (what the master registration is asked for)."""
    return evm.operator_omni(deployer)


# --------------------------------------------------------------------------- fleet.toml

FLEET = f"""
[fleet]
name = "agentkeys"
zone = "{ZONE}"
zone_id = "Z09723983CFJOHAE3VC65"
region = "us-east-1"
eip_tag_pattern = "agentkeys-broker-eip*"
services = ["signer", "mcp"]
workers = [{", ".join(f'"{w}"' for w in WORKERS)}]
optional = ["mcp"]
period_s = 60
"""
GITHUB = f"""
[github]
repo = "{REPO}"
workflows = ["harness-ci.yml"]
"""
CHAIN = f"""
[chain]
chain_id = 212013
explorer_url = "{EXPLORER}"
"""


#: The demo fleet's [environments.<name>] tables, and their [environments.<name>.chain].
DEMO_ENVS: dict[str, dict[str, str]] = {
    "prod": {
        "broker_host": f"broker.{ZONE}",
        "instance_id": "i-0c0b739bd35643fd3",
        "eip": "54.164.117.252",
    },
    "base": {"broker_host": f"broker-base.{ZONE}", "eip": "100.56.43.4"},
    "test": {
        "broker_host": f"test-broker.{ZONE}",
        "eip": "3.214.219.209",
        "hosts.mcp.hostname": f"test-mcp.{ZONE}",
    },
    "test-2": {"broker_host": f"broker-test-2.{ZONE}", "eip": "54.145.185.156"},
    "test-3": {"broker_host": f"broker-test-3.{ZONE}", "eip": "44.211.90.17"},
}
DEMO_WALLETS: dict[str, dict[str, str]] = {
    "prod": {
        "deployer": PROD_DEPLOYER,
        "sponsor": PROD_SPONSOR,
        "registry": PROD_REGISTRY,
        "entrypoint": PROD_ENTRYPOINT,
        "paymaster": PROD_PAYMASTER,
    },
    "test": {"deployer": TEST_DEPLOYER, "registry": TEST_REGISTRY},
    "test-2": {"deployer": SLOT2_DEPLOYER, "registry": TEST_REGISTRY},
}


def table(name: str, keys: dict[str, Any]) -> str:
    """One TOML table: `[name]` and its keys, strings quoted."""
    return f"\n[{name}]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in keys.items())


#: With the machines: the optional parts on, Cost Explorer's month and the log tails.
MACHINE_EXTRAS = table("aws", {"cost_explorer": True}) + table("logs", {})


def demo_fleet(*, github: bool = True, chain: ChainKind = "demo") -> str:
    """The demo fleet's fleet.toml: prod, base and test slots 1 to 3; [github] and [chain]
    when asked, and with chain="networks" a second chain ("base") for the base stack."""
    text = FLEET + (GITHUB if github else "")
    wallets = {} if chain == "none" else dict(DEMO_WALLETS)
    if chain != "none":
        text += CHAIN
    if chain == "networks":
        text += table("chain.networks.base", {"chain_id": 8453})
        wallets["base"] = {"network": "base", "deployer": BASE_DEPLOYER}
    for name, keys in DEMO_ENVS.items():
        text += table(f"environments.{name}", keys)
        if name in wallets:
            text += table(f"environments.{name}.chain", wallets[name])
    return text


# --------------------------------------------------------------------------- the demo


#: The demo's running machines: instance, EIP, days since launch, its first host's answer
#: time (each next host 7 ms slower) and the days left on its certificates.
DEMO_MACHINES = {
    "prod": ("i-0c0b739bd35643fd3", "54.164.117.252", 41.2, 38.0, 62),
    "base": ("i-07e1c2b0d9a4f3e21", "100.56.43.4", 20.7, 44.0, 80),
    "test": ("i-0135a8b2c53d14941", "3.214.219.209", 3.1, 51.0, 55),
    "test-2": ("i-0a5c74cdbb3e5be84", "54.145.185.156", 0.4, 40.0, 47),
}


def demo(
    at: datetime = NOW,
    *,
    hostile: bool = False,
    ci: CiKind = "demo",
    chain: ChainKind = "demo",
    machines: bool = False,
) -> Observed:
    """What the sources see of the demo fleet.

    prod and base: every host answers. test (slot 1): its broker's /readyz says degraded
    (tier2/paymaster: slots run unsponsored), signer-test's certificate has 12 days left,
    test-mcp does not resolve (optional, not deployed). test-2: audit-test-2 answers 502 and
    its A record is test's EIP. test-3: stopped. An EIP tagged agentkeys-broker-eip-test-4
    that fleet.toml does not declare. The deploy trail, CI (`_demo_ci`) and wallets
    (`_demo_chain`) are as those say.

    With `hostile=True` the observed text carries XSS: email-test-2's /healthz body, a run
    title, a GitHub note, a deployed ref, a wallet's and a master's read error; and a run's
    URL is `javascript:`. With `machines=True`, the host, agent, metrics and prices sources
    read the machines too, and with Cost Explorer and [logs] on, the month so far and the
    error lines (`_demo_machines`).
    """
    extras = MACHINE_EXTRAS if machines else ""
    seen = Observed(demo_fleet(github=ci != "none", chain=chain) + extras, at)
    for name, (iid, eip, days_up, ms, cert_days) in DEMO_MACHINES.items():
        seen.running(name, iid, eip, launched_days_ago=days_up, latency_ms=ms, cert_days=cert_days)
    seen.stopped("test-3", "i-0f3e9d1c2b4a59687", "44.211.90.17", launched_days_ago=9.8)
    seen.eip_tagged("agentkeys-broker-eip-test-4", "98.84.12.201")

    seen.answers(f"test-broker.{ZONE}", READY_PATH, body=ready_body("degraded", "tier2/paymaster"))
    seen.cert(f"signer-test.{ZONE}", 12)
    seen.does_not_resolve(f"test-mcp.{ZONE}")
    bad_gateway = "<html><center>502 Bad Gateway</center></html>"
    seen.answers(f"audit-test-2.{ZONE}", code=502, body=bad_gateway, ms=41)
    seen.a_record(f"audit-test-2.{ZONE}", "3.214.219.209")
    if hostile:
        seen.answers(f"email-test-2.{ZONE}", body=XSS)

    seen.deployed("prod", "main", timedelta(days=2, hours=5, minutes=12), 19398812440)
    seen.deployed("test", "feat/x", timedelta(minutes=10, seconds=32), 19433108775)
    seen.deployed("test-2", "main", timedelta(days=3, hours=2), 19371230917)
    ref = XSS if hostile else "feat/wallet-export"
    seen.deployed("test-3", ref, timedelta(days=9, hours=19), 19290017723)

    _demo_ci(seen, ci, hostile)
    _demo_chain(seen, chain, hostile)
    if machines:
        _demo_machines(seen, hostile)
    return seen


P = ParamSpec("P")


def _board_of(observe: Callable[P, Observed]) -> Callable[P, Board]:
    """`observe` made to return the board the rules make of what it observed."""

    def board(*args: P.args, **kwargs: P.kwargs) -> Board:
        return observe(*args, **kwargs).board()

    return board


#: The board the rules make of `demo(...)`, whatever it is asked.
demo_board = _board_of(demo)


def _demo_machines(seen: Observed, hostile: bool = False) -> None:
    """EC2, SSM and CloudWatch on the demo's machines: prod's hardware retires in a week,
    test's SSM agent is lost (CI cannot deploy to it), test-2's instance check fails and its
    CPU credits are spent, and no run has used it since it started (idle); CPU lines for all,
    memory and disk published by prod only; every machine's list price."""
    ids = {name: m.instance_id for name, m in seen.machines.items() if m.state == "running"}
    retire = (seen.at + timedelta(days=7)).replace(hour=9, minute=0, second=0, microsecond=0)
    statuses = {
        iid: HostStatus(
            iid,
            "running",
            "ok",
            "impaired" if name == "test-2" else "ok",
            "ok",
            impaired_since={"instance": seen.at - timedelta(minutes=42)}
            if name == "test-2"
            else {},
            events=(
                (
                    HostEvent(
                        "instance-retirement",
                        "The instance is running on degraded hardware",
                        retire,
                    ),
                )
                if name == "prod"
                else ()
            ),
        )
        for name, iid in ids.items()
    }
    seen.reads("host", HostFacts(statuses, seen.at, 1))
    agents = {
        iid: AgentInfo(
            iid,
            "ConnectionLost" if name == "test" else "Online",
            seen.at - (timedelta(hours=7) if name == "test" else timedelta(seconds=40)),
            "3.3.1142.0",
            True,
        )
        for name, iid in ids.items()
    }
    seen.reads("agent", AgentFacts(agents, seen.at, 1))
    loads = {"prod": (31.0, 412.0, 63.0, 71.0), "test-2": (96.0, 1.5, None, None)}
    figures = {}
    for name, iid in ids.items():
        cpu, credits, memory, disk = loads.get(name, (9.0, 576.0, None, None))
        # A gentle wave around the average; the newest step not yet published.
        line = tuple(round(min(100.0, cpu * (1 + 0.3 * math.sin(i / 3))), 1) for i in range(35))
        figures[iid] = Metrics((*line, None), credits, memory, disk, seen.at)
    seen.reads("metrics", MetricsFacts(figures, seen.at, 1))
    # The Price List's t3.medium: every card's cost line; test-2 has had no run on it since
    # it started 9.6 h ago, so it is idle, its daily cost said with the command to stop it.
    listed = f"AWS Price List, read {seen.at:%Y-%m-%d} 06:00 UTC"
    seen.reads("prices", PriceFacts({"t3.medium": 0.0416}, seen.at, 1, basis=listed))
    # Cost Explorer's month so far by the Name tag (each environment's own name here), read
    # at 06:00; and the log tails: prod's broker and audit logged errors, test-2's group
    # was refused, test's turn has not come, the others logged none.
    month = {"prod": 25.75, "base": 20.4, "test": 14.2, "test-2": 9.1, "test-3": 3.52}
    read = seen.at.replace(hour=6, minute=0, second=0)
    seen.reads(
        "billing",
        BillingFacts(month, read, 0, tag="Name", start="2026-11-01", end="2026-11-24"),
    )
    said = XSS if hostile else "ERROR upstream timed out after 8 s (paymaster RPC)"
    lines = {
        "prod": (
            ServiceLines("broker", (LogEntry(seen.at - timedelta(minutes=9), said),)),
            ServiceLines(
                "audit",
                tuple(
                    LogEntry(seen.at - timedelta(minutes=m), f"ERROR write failed: {m} retries")
                    for m in (41, 30)
                ),
            ),
        ),
    }
    tails = {
        name: LogTail(f"/fleet/{name}", seen.at - timedelta(minutes=1), lines.get(name, ()))
        for name in ("prod", "base", "test-3")
    }
    tails["test"] = LogTail("/fleet/test", None)
    tails["test-2"] = LogTail(
        "/fleet/test-2",
        seen.at - timedelta(minutes=2),
        error="logs:FilterLogEvents denied (AccessDeniedException): allow logs:FilterLogEvents "
        "for the collector's role",
        tried_at=seen.at - timedelta(minutes=2),
    )
    seen.reads("logs", LogFacts(tails, seen.at, 1))


def _demo_ci(seen: Observed, kind: CiKind, hostile: bool) -> None:
    """Run #1287 holds slot 1 (its marker step), #1289 waits for it (its slot-claim
    annotation), a push to main runs its first job (no slot). Variants: "two-holders"
    (#1288, a dispatch with slot_override=1, holds slot 1 too by its marker), "computed"
    (below the rate floor: no jobs read, so slots are guessed from PR numbers), "parked" (a
    run holds the stopped slot 3), "idle" (no run in flight), "none" (no [github] in
    fleet.toml) and "unknown" (GitHub did not answer)."""
    if kind == "none":
        return
    if kind == "unknown":
        seen.fails("github", GITHUB_ERROR)
        return
    computed = kind == "computed"
    notes: tuple[str, ...] = ()
    if computed:
        notes = (
            "jobs of 3 runs not read: 87 requests left, below the rate floor of 100; "
            "their slots are computed from the PR number (a guess)",
        )
    if hostile:
        notes = (*notes, f"annotation not read: {XSS}")
    seen.reads_github(
        main_sha=MAIN_SHA,
        main_committed_ago=timedelta(days=2, hours=6),
        rate_remaining=87 if computed else 4771,
        requests=3 if computed else 6,
        not_modified=2 if computed else 4,
        notes=notes,
    )
    if kind == "idle":
        return
    hold_slot_1(seen, hostile=hostile, jobs_read=not computed)
    if kind == "two-holders":
        seen.run(
            19433391006,
            1288,
            event="workflow_dispatch",
            title="harness CI (no LLM)",
            branch="feat/y-nonce",
            actor="dlee",
            created_ago=timedelta(minutes=8, seconds=23),
            started_ago=timedelta(minutes=8, seconds=16),
            job=JOB_DEPLOY,
            marker=1,
        )
    if kind == "parked":
        seen.run(
            19433280412,
            1291,
            pr=417,
            title="signer: cache the JWKS for 5 minutes",
            branch="feat/jwks-cache",
            actor="s-okafor",
            created_ago=timedelta(minutes=6),
            started_ago=timedelta(minutes=5, seconds=30),
            job=JOB_DEPLOY,
            marker=3,
        )
    wait_for_slot_1(seen, hostile=hostile, jobs_read=not computed)
    _push_to_main(
        seen,
        19433561870,
        1290,
        timedelta(minutes=1, seconds=51),
        timedelta(minutes=1, seconds=48),
        jobs_read=not computed,
    )


def hold_slot_1(seen: Observed, *, hostile: bool = False, jobs_read: bool = True) -> None:
    """The demo's run #1287 of PR #411, in flight on slot 1 (its marker step); with
    `hostile`, its title carries XSS."""
    seen.run(
        19433108775,
        1287,
        pr=411,  # 411 % 3 + 1 = 1: the guess agrees with the marker
        title=f"broker: {XSS}" if hostile else "broker: rotate the OIDC signing key on deploy",
        branch="feat/x",
        actor="mira-k",
        created_ago=timedelta(minutes=16, seconds=1),
        started_ago=timedelta(minutes=15, seconds=10),
        job=JOB_E2E,
        marker=1,
        jobs_read=jobs_read,
    )


def wait_for_slot_1(seen: Observed, *, hostile: bool = False, jobs_read: bool = True) -> None:
    """The demo's run #1289 of PR #415, queued for slot 1 (its slot-claim annotation); with
    `hostile`, its URL is `javascript:`."""
    seen.run(
        19433502114,
        1289,
        pr=415,  # 415 % 3 + 1 = 2: the guess is wrong
        title="workers: retry audit uploads on 503",
        branch="fix/audit-retry",
        actor="dlee",
        created_ago=timedelta(minutes=3, seconds=23),
        claim=(1, "heima-test-deployer-nonce"),
        jobs_read=jobs_read,
        url="javascript:alert(1)" if hostile else None,
    )


def _push_to_main(
    seen: Observed,
    run_id: int,
    number: int,
    created_ago: timedelta,
    started_ago: timedelta,
    *,
    jobs_read: bool = True,
) -> None:
    """The merge of PR #409 to main, running its first job (a push holds no slot)."""
    seen.run(
        run_id,
        number,
        event="push",
        title="Merge pull request #409 from litentry/docs/fleet-facts",
        branch="main",
        actor="wli",
        created_ago=created_ago,
        started_ago=started_ago,
        job=JOB_RUST,
        jobs_read=jobs_read,
    )


def _demo_chain(seen: Observed, kind: ChainKind, hostile: bool) -> None:
    """prod: a funded deployer whose nonce moved, a sponsor whose nonce did not, the
    paymaster's deposit at 0.05 HEI and its master registered. test: its deployer at 0.04
    HEI, nonce moved, and the registry answers the zero address. test-2: 2 HEI, no previous
    nonce to compare, master registered. Variants: "networks" (base's wallet lives on a
    second chain, whose RPC answers HTTP 500), "none" (no [chain]), "unknown" (the RPC did
    not answer)."""
    if kind == "none":
        return
    if kind == "unknown":
        seen.fails("chain", RPC_ERROR)
        return
    if kind == "networks":
        seen.fails("chain:base", "HTTP 500")
    seen.balance(PROD_DEPLOYER, 12_500_000_000_000_000_000, nonce=4812, before=4811)
    seen.balance(PROD_SPONSOR, 3_200_000_000_000_000_000, nonce=977, before=977)
    seen.deposit(PROD_ENTRYPOINT, PROD_PAYMASTER, 50_000_000_000_000_000)
    seen.master(PROD_REGISTRY, PROD_DEPLOYER, PROD_MASTER)
    seen.balance(TEST_DEPLOYER, 40_000_000_000_000_000, nonce=1204, before=1203)
    seen.master(TEST_REGISTRY, TEST_DEPLOYER, None)
    if hostile:
        seen.balance_unread(SLOT2_DEPLOYER, XSS)
        seen.master_unread(TEST_REGISTRY, SLOT2_DEPLOYER, XSS)
    else:
        seen.balance(SLOT2_DEPLOYER, 2 * HEI, nonce=88)
        seen.master(TEST_REGISTRY, SLOT2_DEPLOYER, SLOT2_MASTER)


# --------------------------------------------------------------------------- the demo, remembered

#: When the remembered demo's memory begins (its first pass): 64 minutes before NOW.
REMEMBERED_FROM = NOW - timedelta(minutes=64)
#: When audit-test-2 starts answering 502 (and, hostile, email-test-2 its script body).
FAILS_AT = REMEMBERED_FROM + timedelta(minutes=50)
#: When test slot 1 stops.
STOPS_AT = REMEMBERED_FROM + timedelta(minutes=55)


def remembered(*boards: Board, start: Timeline | None = None) -> tuple[Board, Timeline]:
    """The boards as consecutive passes through the real memory: the last board as shown,
    and the timeline after it."""
    timeline = start
    shown = boards[0]
    for board in boards:
        shown, timeline = memory.remember(timeline, board)
    assert timeline is not None
    return shown, timeline


def remembered_demo_board(
    at: datetime = NOW, *, hostile: bool = False, start: Timeline | None = None
) -> Board:
    """The demo as the board remembers it at `at` (NOW: 64 minutes of memory), each pass the
    rules' board of `demo(...)`: at REMEMBERED_FROM every worker of test-2 answers (test-2
    is red for its A record alone); at FAILS_AT audit-test-2 answers 502 (and, hostile,
    email-test-2 answers its script body); at STOPS_AT test slot 1 stops, with its run
    still holding it. So audit is red for 14 min, test stopped for 9 min, and the fleet
    red for at least 1 h 4 min (since its memory began)."""

    def observed(when: datetime) -> Board:
        seen = demo(when, hostile=hostile)
        if when < FAILS_AT:
            seen.answers(f"audit-test-2.{ZONE}")
            seen.answers(f"email-test-2.{ZONE}")
        if when >= STOPS_AT:
            seen.stopped("test", "i-0135a8b2c53d14941", "3.214.219.209", launched_days_ago=3.1)
        return seen.board()

    passes = [when for when in (REMEMBERED_FROM, FAILS_AT, STOPS_AT) if when < at]
    shown, _ = remembered(*(observed(when) for when in [*passes, at]), start=start)
    return shown


def before_memory(doc: dict[str, Any]) -> dict[str, Any]:
    """`doc` as a collector from before the board's memory published it: no recent changes,
    no memory_from or memory_reset, and no `since` on the summary, an environment, a check or
    an issue. Changes `doc` and returns it."""
    del doc["recent"]
    for key in ("memory_from", "memory_reset"):
        del doc["collector"][key]
    del doc["summary"]["since"]
    for e in doc["environments"]:
        del e["since"]
        for c in e["checks"]:
            del c["since"]
    for i in doc["summary"]["issues"]:
        del i["since"]
    return doc


# --------------------------------------------------------------------------- a blind collector

NO_AWS_CREDENTIALS = (
    "ec2:DescribeAddresses not sent: no AWS credentials on this machine (NoCredentialsError)"
)


def blind_board(why: str = "Temporary failure in name resolution", at: datetime = NOW) -> Board:
    """The demo fleet as a collector with no DNS and no AWS credentials sees it: every name
    lookup fails (`why`), AWS is not asked, GitHub and the RPC cannot be resolved."""
    seen = Observed(demo_fleet(), at)
    seen.fails("aws", NO_AWS_CREDENTIALS, blind=True)
    seen.nothing_resolves(why)
    seen.fails("github", "cannot resolve api.github.com", blind=True)
    seen.fails("chain", "cannot resolve the RPC endpoint's name", blind=True)
    return seen.board()


# --------------------------------------------------------------------------- a big fleet

#: (PR title, branch) of the big board's runs.
PULLS = (
    ("broker: rotate the OIDC signing key on deploy", "feat/oidc-rotate"),
    ("workers: retry audit uploads on 503", "fix/audit-retry"),
    ("signer: cache the JWKS for 5 minutes", "feat/jwks-cache"),
    ("harness: stage 4 checks the memory worker", "test/stage-4-memory"),
    ("config: read the slot count from the repo variable", "chore/slot-count"),
    ("channel: weixin webhook signature v2", "feat/weixin-sig-v2"),
    ("classify: raise the model timeout to 20 s", "fix/classify-timeout"),
    ("email: a DKIM selector per slot", "feat/dkim-per-slot"),
)
ACTORS = ("mira-k", "dlee", "wli", "s-okafor", "jpark")


def _big_env(i: int) -> tuple[str, str, str]:
    """(name, broker host, declared EIP) of the big fleet's i-th environment."""
    if i == 0:
        return "prod", f"broker.{ZONE}", "10.0.0.1"
    name = "test" if i == 1 else f"test-{i}"
    broker = f"test-broker.{ZONE}" if i == 1 else f"broker-test-{i}.{ZONE}"
    return name, broker, f"10.0.{i // 250}.{i % 250 + 1}"


def big_wallet(i: int, role: int) -> str:
    """The address of the big fleet's i-th environment's wallet number `role` (1: its
    deployer, 2: its sponsor)."""
    return f"0x{role:02x}{i:038x}"


def big_fleet(n_envs: int, *, wallets: bool = False) -> str:
    """fleet.toml of prod plus `n_envs - 1` test slots, with [github]; with `wallets`,
    [chain] and a deployer and a sponsor on every environment."""
    text = FLEET + GITHUB + (CHAIN if wallets else "")
    for i in range(n_envs):
        name, broker, eip = _big_env(i)
        text += table(f"environments.{name}", {"broker_host": broker, "eip": eip})
        if wallets:
            chain = {"deployer": big_wallet(i, 1), "sponsor": big_wallet(i, 2)}
            text += table(f"environments.{name}.chain", chain)
    return text


def big_board(n_envs: int, at: datetime = NOW, *, wallets: bool = False) -> Board:
    """prod plus `n_envs - 1` test slots of ~30 checks each. Every 17th slot has a worker
    answering 502; every 10th a degraded broker and an EIP by tag that is not the declared
    one; every 7th is stopped. A busy CI day: every 4th running slot held by a run (a few
    only guessed from their PR number, their jobs not read), every 12th with a run queued
    behind, a push to main before its slot; a deploy on every environment (main on prod
    and, behind it, on every 10th slot; a branch elsewhere). With `wallets`, every
    environment's deployer (3 HEI, its nonce moved; 0.01 HEI, below its floor, on every
    50th) and sponsor (2 HEI)."""
    seen = Observed(big_fleet(n_envs, wallets=wallets), at)
    for i in range(n_envs if wallets else 0):
        low = i % 50 == 3
        seen.balance(big_wallet(i, 1), HEI // 100 if low else 3 * HEI, nonce=100 + i, before=99 + i)
        seen.balance(big_wallet(i, 2), 2 * HEI, nonce=5, before=5)
    slots = n_envs - 1
    runs = 0
    for i in range(n_envs):
        name, broker, eip = _big_env(i)
        suffix = "" if i == 0 else "-test" if i == 1 else f"-test-{i}"
        iid = f"i-0{i:016x}"
        if i and i % 17 == 0:
            seen.running(name, iid, eip, launched_days_ago=1 + i % 30, latency_ms=30 + i % 40)
            seen.answers(f"{WORKERS[i % len(WORKERS)]}{suffix}.{ZONE}", code=502, body="", ms=12)
        elif i and i % 10 == 0:
            tagged = eip.replace("10.0.", "10.1.", 1)
            seen.running(name, iid, tagged, launched_days_ago=1 + i % 30, latency_ms=30 + i % 40)
            seen.answers(broker, READY_PATH, body=ready_body("degraded", "tier2/paymaster"))
        elif i and i % 7 == 0:
            seen.stopped(name, iid, eip, launched_days_ago=1 + i % 30)
        else:
            seen.running(
                name,
                iid,
                eip,
                launched_days_ago=1 + i % 30,
                latency_ms=30 + i % 40,
                cert_days=30 + i % 50,
            )
        title, branch = PULLS[i % len(PULLS)]
        if i % 10 == 0:
            seen.deployed(name, "main", timedelta(days=1 + i % 5, minutes=i), 19_000_000_000 + i)
            continue
        deployed = (timedelta(hours=1 + i % 48, minutes=i), 19_100_000_000 + i)
        if i % 4 == 1 and seen.machines[name].state == "running":
            guessed = i % 20 == 9  # its jobs not read: the slot is PR# % N + 1
            started = timedelta(minutes=5 + i % 25)
            run_id = 19_433_000_000 + 1000 * i
            if not guessed:  # its deploy job has run: the slot runs its branch
                deployed = (started - timedelta(minutes=3), run_id)
            seen.run(
                run_id,
                1000 + 2 * i,
                pr=slots * 10 + i - 1 if guessed else 300 + i,  # a PR that guesses slot i
                title=title,
                branch=branch,
                actor=ACTORS[i % len(ACTORS)],
                created_ago=started + timedelta(seconds=40),
                started_ago=started,
                job=JOB_E2E,
                marker=i,
                jobs_read=not guessed,
            )
            runs += 1
            if i % 12 == 1:
                next_title, next_branch = PULLS[(i + 3) % len(PULLS)]
                seen.run(
                    run_id + 1,
                    1000 + 2 * i + 1,
                    pr=500 + i,
                    title=next_title,
                    branch=next_branch,
                    actor=ACTORS[(i + 2) % len(ACTORS)],
                    created_ago=timedelta(minutes=i % 4 + 1),
                    claim=(i, "heima-test-deployer-nonce" if i == 1 else f"heima-test-slot-{i}"),
                )
                runs += 1
        seen.deployed(name, branch, *deployed)
    _push_to_main(
        seen, 19_434_000_000, 1999, timedelta(minutes=2), timedelta(minutes=1, seconds=50)
    )
    requests = 4 + runs
    seen.reads_github(
        main_sha=MAIN_SHA,
        main_committed_ago=timedelta(days=1, minutes=5),
        rate_remaining=3904,
        requests=requests,
        not_modified=requests - 4,
    )
    return seen.board()


def remembered_big_board(
    n_envs: int, *, began: timedelta = timedelta(days=3), wallets: bool = False
) -> Board:
    """`big_board(n_envs)` as the board remembers it on a bad day: its memory began `began`
    before NOW, and everything that is not green (or parked) now was green until two hours
    ago, when it all went wrong at once (one pass: a line of recent changes for each
    environment and check that changed, an issue and a card with a since of its own)."""
    _, first = memory.remember(None, big_board(n_envs, NOW - began, wallets=wallets))
    calm = {
        key: held if held.word in {"green", "stopped"} else Held("green", held.since)
        for key, held in first.held.items()
    }
    went = big_board(n_envs, NOW - timedelta(hours=2), wallets=wallets)
    now = big_board(n_envs, wallets=wallets)
    shown, _ = remembered(went, now, start=replace(first, held=calm))
    return shown
