"""Realistic boards for tests: a small demo-like fleet, a hostile one, and a big one.

Every board is built from the real `model` dataclasses; `document(board)` turns it into a
snapshot dict through `snapshot.to_document` and checks it with `snapshot.validate`, so a
test renders exactly what the collector would publish.

    from tests.boards import NOW, demo_board, document
    doc = document(demo_board())
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from fleetboard import chain as evm
from fleetboard import snapshot
from fleetboard.inventory import ChainSettings
from fleetboard.model import (
    AccountFacts,
    Board,
    CallFacts,
    CertSummary,
    ChainFacts,
    ChainSummary,
    ChainView,
    Check,
    CheckKind,
    CiSummary,
    CollectorInfo,
    DeployView,
    Drift,
    DriftKind,
    EnvironmentView,
    EnvKind,
    Issue,
    Lifecycle,
    Machine,
    RunView,
    SlotBasis,
    SlotCi,
    SourceFailure,
    SourceRun,
    Status,
    Summary,
    WalletView,
)
from fleetboard.rules.chain import chain_summary as rules_chain_summary
from fleetboard.rules.chain import deposit_view, nonce_key, wallet_view
from fleetboard.rules.ci import ci_summary as rules_ci_summary
from fleetboard.rules.summary import env_status, rank_issues

NOW = datetime(2026, 11, 23, 8, 0, 3, tzinfo=UTC)
ZONE = "litentry.org"
XSS = "<script>alert(1)</script>"
WORKERS = ("audit", "email", "cred", "memory", "config", "classify", "channel", "weixin")
SEVERITY = {Status.RED: 0, Status.AMBER: 1, Status.UNKNOWN: 2, Status.GREEN: 3}


def document(board: Board) -> dict[str, Any]:
    """The snapshot dict the collector would publish for `board` (validated)."""
    doc = snapshot.to_document(board)
    snapshot.validate(doc)
    return doc


# --------------------------------------------------------------------------- checks


def _host(label: str, suffix: str) -> str:
    """Host names by the fleet's suffix rule (docs/fleet.md#hosts), slot 1's exceptions included."""
    if label == "broker":
        return {"": "broker", "-test": "test-broker"}.get(suffix, f"broker{suffix}") + f".{ZONE}"
    if label == "mcp" and suffix == "-test":
        return f"test-mcp.{ZONE}"
    return f"{label}{suffix}.{ZONE}"


def http_check(
    label: str,
    host: str,
    path: str = "/healthz",
    *,
    status: Status = Status.GREEN,
    reason: str = "",
    summary: str | None = None,
    latency_ms: float | None = 38.0,
    optional: bool = False,
    at: datetime = NOW,
) -> Check:
    name = label if path == "/healthz" else {"/readyz": "readyz"}.get(path, "openid")
    if summary is None:
        summary = f"HTTP 200 in {latency_ms:.0f} ms" if latency_ms is not None else "no answer"
    return Check(
        id=f"http:{host}{path}",
        name=name,
        kind=CheckKind.HTTP,
        status=status,
        reason=reason,
        summary=summary,
        source="http",
        observed_at=at - timedelta(seconds=2),
        host=host,
        latency_ms=latency_ms,
        optional=optional,
    )


def tls_check(
    label: str, host: str, days_left: int = 71, *, optional: bool = False, at: datetime = NOW
) -> Check:
    status = Status.GREEN if days_left > 14 else Status.AMBER if days_left > 3 else Status.RED
    return Check(
        id=f"tls:{host}",
        name=f"tls:{label.removeprefix('worker:')}",
        kind=CheckKind.TLS,
        status=status,
        reason="" if status == Status.GREEN else f"cert expires in {days_left} days",
        summary=f"certificate expires in {days_left} days",
        source="tls",
        observed_at=at - timedelta(seconds=2),
        host=host,
        optional=optional,
        cert=CertSummary(
            not_after=(at + timedelta(days=days_left)).replace(hour=23, minute=59, second=59),
            days_left=days_left,
            issuer="Let's Encrypt",
        ),
    )


def machine_check(env: str, state: str, at: datetime = NOW) -> Check:
    running = state == "running"
    return Check(
        id=f"machine:{env}",
        name="machine",
        kind=CheckKind.MACHINE,
        status=Status.GREEN if running else Status.UNKNOWN,
        reason="" if running else f"stopped: instance is {state}",
        summary=f"instance {state}",
        source="aws",
        observed_at=at - timedelta(seconds=3),
    )


def stack_checks(
    suffix: str, *, days_left: int = 71, latency_ms: float = 38.0, at: datetime = NOW
) -> list[Check]:
    """A healthy stack: broker (healthz, readyz, openid), signer, workers, optional mcp."""
    labels = ["broker", "signer", *(f"worker:{w}" for w in WORKERS), "mcp"]
    checks: list[Check] = []
    for i, label in enumerate(labels):
        host = _host(label.removeprefix("worker:"), suffix)
        optional = label == "mcp"
        lat = latency_ms + 7 * i
        checks.append(http_check(label, host, latency_ms=lat, optional=optional, at=at))
        if label == "broker":
            checks.append(http_check(label, host, "/readyz", latency_ms=lat + 3, at=at))
            summary = f"issuer https://{host} as expected"
            checks.append(
                http_check(
                    label,
                    host,
                    "/.well-known/openid-configuration",
                    latency_ms=lat + 5,
                    summary=summary,
                    at=at,
                )
            )
    for label in labels:
        host = _host(label.removeprefix("worker:"), suffix)
        checks.append(tls_check(label, host, days_left, optional=label == "mcp", at=at))
    checks.extend(drift_check(kind, DRIFT_OK[kind], at=at) for kind in DRIFT_OK)
    return checks


#: The drift checks every running environment gets, with their green summaries.
DRIFT_OK = {
    "worker_a_record": "every worker A record = broker A",
    "eip_tag": "EIP by tag = EIP in fleet.toml",
    "issuer": "deployed issuer = expected issuer",
    "bucket": "worker bucket names match the slot",
    "deployed_ref": "deployed ref = origin/main",
}


def drift_check(
    kind: str, summary: str, status: Status = Status.GREEN, *, at: datetime = NOW
) -> Check:
    return Check(
        id=f"drift:{kind}",
        name=f"drift:{kind}",
        kind=CheckKind.DRIFT,
        status=status,
        reason="" if status == Status.GREEN else f"drift {kind}",
        summary=summary,
        source="rules",
        observed_at=at - timedelta(seconds=1),
    )


def _replace_check(checks: list[Check], check_id: str, **changes: Any) -> None:
    for i, c in enumerate(checks):
        if c.id == check_id:
            checks[i] = replace(c, **changes)
            return
    raise KeyError(check_id)


# --------------------------------------------------------------------------- environments


def env_view(
    name: str,
    kind: EnvKind,
    slot: int | None,
    suffix: str,
    *,
    instance_id: str,
    eip: str,
    checks: list[Check],
    lifecycle: Lifecycle = Lifecycle.RUNNING,
    drift: tuple[Drift, ...] = (),
    eip_declared: str | None = None,
    launched_days_ago: float = 12.3,
    at: datetime = NOW,
) -> EnvironmentView:
    state = "running" if lifecycle == Lifecycle.RUNNING else "stopped"
    checks = [machine_check(name, state, at), *checks]
    for d in drift:  # the drift check of that kind says the same as the drift item
        _replace_check(
            checks, f"drift:{d.kind}", status=d.status, reason=f"drift {d.kind}", summary=d.text
        )
    counted = [c.status for c in checks if not c.optional] + [d.status for d in drift]
    status = min(counted, key=SEVERITY.__getitem__, default=Status.GREEN)
    eip_tag = "agentkeys-broker-eip" + suffix
    return EnvironmentView(
        name=name,
        kind=kind,
        slot=slot,
        lifecycle=lifecycle,
        status=Status.UNKNOWN if lifecycle != Lifecycle.RUNNING else status,
        broker_host=_host("broker", suffix),
        machine=Machine(
            instance_id=instance_id,
            state=state,
            instance_type="t3.medium",
            launched_at=(at - timedelta(days=launched_days_ago)).replace(microsecond=0),
            eip=eip,
            eip_tag=eip_tag,
            eip_declared=eip if eip_declared is None else eip_declared,
        ),
        checks=tuple(checks),
        drift=drift,
    )


def _issues(envs: list[EnvironmentView], fleet_drift: tuple[Drift, ...]) -> tuple[Issue, ...]:
    """Issues as rules.py words them: "<env> <check> <status>: <detail>", red first."""
    found: list[Issue] = []
    for env in envs:
        if env.lifecycle != Lifecycle.RUNNING:
            continue
        for c in env.checks:
            if c.status != Status.GREEN and not c.optional and c.kind is not CheckKind.DRIFT:
                found.append(Issue.of(c.status, env.name, c.name, c.summary))
        for d in env.drift:
            found.append(Issue.of(d.status, env.name, f"drift:{d.kind}", d.text))
    for d in fleet_drift:
        found.append(Issue.of(d.status, "fleet", f"drift:{d.kind}", d.text))
    found.extend(_ci_issues(envs))
    found.extend(_chain_issues(envs))
    return tuple(sorted(found, key=_severity))


def _ci_issues(envs: list[EnvironmentView]) -> list[Issue]:
    """CI and deploy issues as rules/ci.py words them: two confirmed holders on one slot
    (red), a holder on a red slot (amber), a deploy behind main (amber)."""
    found: list[Issue] = []

    def issue(status: Status, env: str, check: str, detail: str) -> None:
        found.append(Issue.of(status, env, check, detail))

    def label(run: RunView) -> str:
        return f"run #{run.number}" + (f" (PR #{run.pr})" if run.pr else "")

    for env in envs:
        if env.ci is not None:
            confirmed = [r for r in env.ci.holders if r.mapped_by is not SlotBasis.COMPUTED]
            if len(confirmed) > 1:
                who = " and ".join(label(r) for r in confirmed)
                issue(
                    Status.RED,
                    env.name,
                    "ci",
                    f"{who} both hold slot {env.slot}: they share one deployer's nonce and one "
                    "stack",
                )
            holder = env.ci.holder
            if holder is not None and env.status == Status.RED:
                issue(
                    Status.AMBER,
                    env.name,
                    "ci",
                    f"{label(holder)} runs on a red slot: its failures may be the slot's, "
                    "not the change's",
                )
        if env.deploy is not None and env.deploy.stale:
            issue(Status.AMBER, env.name, "deploy", f"stale binary: {env.deploy.text}")
    return found


def _chain_issues(envs: list[EnvironmentView]) -> list[Issue]:
    """Chain issues as rules/chain.py words them: a wallet below its floor (red), an
    operator master not registered (amber)."""
    found: list[Issue] = []
    for env in envs:
        if env.chain is None:
            continue
        for w in env.chain.wallets:
            if w.status == Status.RED:
                check = f"wallet:{w.role.replace(' ', '-')}"
                found.append(Issue.of(Status.RED, env.name, check, f"{w.address} {w.text}"))
        if env.chain.master_registered is False:
            detail = f"{env.chain.master_text} (omni {env.chain.omni})"
            found.append(Issue.of(Status.AMBER, env.name, "chain:master", detail))
    return found


def _own(envs: list[EnvironmentView], issues: tuple[Issue, ...]) -> list[EnvironmentView]:
    """Each environment with its own issues, and its status their rollup, as the rules
    compute it (an environment is as bad as everything that is its own: wallets and
    deposits, stale binary and CI included)."""
    found = []
    for env in envs:
        own = tuple(i for i in issues if i.env == env.name)
        env = replace(env, issues=own)
        if env.lifecycle == Lifecycle.RUNNING:
            env = replace(env, status=env_status(env, own))
        found.append(env)
    return found


def _severity(issue: Issue) -> int:
    return SEVERITY[issue.status]


def _summary(envs: list[EnvironmentView], issues: tuple[Issue, ...], next_action: str) -> Summary:
    counts = {"red": 0, "amber": 0, "unknown": 0, "green": 0}
    for env in envs:
        key = str(env.status) if env.lifecycle == Lifecycle.RUNNING else str(env.lifecycle)
        counts[key] = counts.get(key, 0) + 1
    status = min((i.status for i in issues), key=SEVERITY.__getitem__, default=Status.GREEN)
    parts = [f"{n} {k}" for k, n in counts.items() if n]
    noun = "environment" if len(envs) == 1 else "environments"
    message = (
        f"All {len(envs)} {noun} healthy"
        if status == Status.GREEN
        else f"{len(envs)} {noun}: " + ", ".join(parts)
    )
    return Summary(
        status=status,
        message=message,
        suggested_next_action=next_action,
        issues=issues,
        counts=counts,
    )


GITHUB_ERROR = "timeout: api.github.com did not answer in 3 s"


def _collector(
    n_envs: int, probes: int, github: SourceRun | None, chain: SourceRun | None = None
) -> CollectorInfo:
    sources = {
        "aws": SourceRun(ok=True, duration_s=0.318),
        "http": SourceRun(ok=True, duration_s=1.204),
        "tls": SourceRun(ok=True, duration_s=0.012),
    }
    if github is not None:  # no [github] in fleet.toml: the source does not run
        sources["github"] = github
    if chain is not None:  # no [chain] in fleet.toml: the source does not run
        sources["chain"] = chain
    return CollectorInfo(
        version="0.1.0", duration_s=1.412, aws_requests=4, probes=probes, sources=sources
    )


def _board(
    envs: list[EnvironmentView],
    fleet_drift: tuple[Drift, ...],
    next_action: str,
    at: datetime,
    issues: tuple[Issue, ...] | None = None,
    ci: CiSummary | None = None,
    chain: ChainSummary | None = None,
) -> Board:
    if issues is None:
        issues = _issues(envs, fleet_drift)
    issues = tuple(rank_issues(issues, envs))
    envs = _own(envs, issues)
    probes = sum(1 for e in envs for c in e.checks if c.kind == "http")
    if ci is None:
        github = None
    elif ci.status == Status.UNKNOWN:
        github = SourceRun(ok=False, duration_s=3.0, error=ci.error)
    else:
        github = SourceRun(ok=True, duration_s=0.236)
    chain_run = None
    if chain is not None:
        ok = chain.error is None
        chain_run = SourceRun(ok=ok, duration_s=0.187 if ok else 8.0, error=chain.error)
    return Board(
        generated_at=at,
        fleet="agentkeys",
        zone=ZONE,
        region="us-east-1",
        summary=_summary(envs, issues, next_action),
        environments=tuple(envs),
        fleet_drift=fleet_drift,
        collector=_collector(len(envs), probes, github, chain_run),
        ci=ci,
        chain=chain,
    )


# --------------------------------------------------------------------------- CI and deploys
# GitHub Actions as docs/fleet.md#ci describes it: one workflow, slot-bound jobs in one
# concurrency group per slot, a marker step or the slot-claim annotation naming the slot.

REPO = "litentry/agentKeys"
MAIN_SHA = "5e1f0c2a9b7d4e6f8a0b1c2d3e4f5a6b7c8d9e0f"
#: DeployView texts as rules/ci.py words them.
CURRENT = "current: deployed main after its last commit"
BEHIND = f"behind main: main has a newer commit ({MAIN_SHA[:7]}) than this deploy"
MAIN_UNKNOWN = "unknown: main's last commit time is not known (GitHub not read)"
NO_DEPLOY = DeployView(None, None, None, None, None, "no CI deploy on record")
WORKFLOW = ".github/workflows/harness-ci.yml"
JOB_RUST = "cargo fmt + clippy + test"
JOB_DEPLOY = "deploy broker to test EC2 (path-conditional)"
JOB_E2E = "harness/v2-stage*-demo.sh on Heima mainnet (test deployer)"

#: Which variant of the demo's CI part to build (see `demo_board`).
CiKind = Literal["demo", "two-holders", "computed", "none", "unknown"]


def run_url(run_id: int) -> str:
    return f"https://github.com/{REPO}/actions/runs/{run_id}"


def slot_group(slot: int) -> str:
    return "heima-test-deployer-nonce" if slot == 1 else f"heima-test-slot-{slot}"


def run_view(
    run_id: int,
    number: int,
    *,
    title: str,
    created_at: datetime,
    status: str = "in_progress",
    event: str = "pull_request",
    pr: int | None = None,
    branch: str | None = None,
    actor: str | None = "mira-k",
    started_at: datetime | None = None,
    job: str | None = None,
    slot: int | None = None,
    mapped_by: SlotBasis | None = None,
    url: str | None = None,
) -> RunView:
    return RunView(
        run_id=run_id,
        number=number,
        url=run_url(run_id) if url is None else url,
        workflow=WORKFLOW,
        status=status,
        event=event,
        pr=pr,
        title=title,
        branch=branch,
        actor=actor,
        created_at=created_at,
        started_at=started_at,
        job=job,
        slot=slot,
        mapped_by=mapped_by,
        group=slot_group(slot)
        if slot is not None and mapped_by is not SlotBasis.COMPUTED
        else None,
    )


def ci_summary(
    runs: list[RunView],
    *,
    rate_remaining: int = 4771,
    requests: int = 6,
    not_modified: int = 4,
    notes: tuple[str, ...] = (),
    main_sha: str | None = MAIN_SHA,
    floor: int = 100,
) -> CiSummary:
    """The CI line as rules/ci.py words it: amber below the rate floor or with notes."""
    in_progress = sum(1 for r in runs if r.status == "in_progress")
    queued = len(runs) - in_progress
    text = (
        f"{in_progress} run{'s' * (in_progress != 1)} in progress, {queued} queued; "
        f"GitHub API budget {rate_remaining:,} of 5,000 left; "
        f"{requests} requests this pass, {not_modified} answered 304"
    )
    return CiSummary(
        configured=True,
        status=Status.AMBER if rate_remaining < floor or notes else Status.GREEN,
        text=text,
        in_progress=in_progress,
        queued=queued,
        rate_remaining=rate_remaining,
        rate_limit=5000,
        requests=requests,
        not_modified=not_modified,
        notes=notes,
        error=None,
        runs=tuple(runs),
        main_sha=main_sha,
    )


def ci_unknown(error: str = GITHUB_ERROR) -> CiSummary:
    """GitHub could not be read this pass, as rules/ci.py says it."""
    line = rules_ci_summary(SourceFailure("github", error), [], 0)
    assert line is not None
    return line


def with_slot_ci(envs: list[EnvironmentView], runs: list[RunView]) -> list[EnvironmentView]:
    """Every test slot with the runs that hold it (in progress) and wait for it."""
    out = []
    for env in envs:
        if env.kind != EnvKind.TEST_SLOT:
            out.append(env)
            continue
        mine = [r for r in runs if r.slot is not None and r.slot == env.slot]
        holders = tuple(r for r in mine if r.status == "in_progress")
        queued = tuple(r for r in mine if r.status != "in_progress")
        out.append(replace(env, ci=SlotCi(holders=holders, queued=queued)))
    return out


def deploy_view(
    ref: str,
    at: datetime,
    run_id: int,
    *,
    stale: bool | None = None,
    text: str | None = None,
    status: str = "Success",
) -> DeployView:
    if text is None:
        text = f"unknown: deployed branch {ref}, not comparable with main"
    return DeployView(at=at, run_id=run_id, ref=ref, status=status, stale=stale, text=text)


# --------------------------------------------------------------------------- chain identity
# Heima as docs/fleet.md#chain describes it: HEI with 18 decimals; deployer, sponsor and bundler
# red below 1 HEI, the paymaster's deposit red below 0.2 HEI; addresses on the explorer.

CHAIN_ID = 212013
EXPLORER = "https://explorer.heima.network"
HEI = 10**18
DEPLOY_MIN = HEI
DEPOSIT_MIN = 2 * 10**17
BLOCK = 4_812_331
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
RPC_ERROR = "timeout: the RPC did not answer in 8 s"
NOT_REGISTERED = "operator master not registered (the registry answers the zero address)"

#: Which variant of the demo's chain part to build (see `demo_board`).
ChainKind = Literal["demo", "none", "unknown"]


SETTINGS = ChainSettings(chain_id=CHAIN_ID, explorer_url=EXPLORER)  # 1 HEI and 0.2 HEI floors


def hei(wei: int) -> str:
    """1_250_000_000_000_000_000 -> "1.25 HEI", as the board says it."""
    return evm.format_amount(wei, SETTINGS.decimals, SETTINGS.token)


def omni(deployer: str) -> str:
    """The operator omni of a deployer."""
    return evm.operator_omni(deployer)


def wallet(
    role: str,
    address: str,
    balance_wei: int | None,
    *,
    nonce: int | None = None,
    moved: bool | None = None,
    why: str = RPC_ERROR,
    url: str | None = None,
) -> WalletView:
    """A wallet (or, with role "paymaster deposit", the deposit) judged by rules/chain.py
    from facts with this balance and nonce; `moved` sets the previous snapshot's nonce."""
    key = address.lower()
    facts = ChainFacts(CHAIN_ID, BLOCK, NOW, {}, {}, {}, requests=1)
    if role == "paymaster deposit":
        if balance_wei is not None:
            word = "0x" + hex(balance_wei)[2:].rjust(64, "0")
            facts.deposits[(PROD_ENTRYPOINT.lower(), key)] = CallFacts(PROD_ENTRYPOINT, word)
        view = deposit_view(PROD_ENTRYPOINT, address, facts, SETTINGS, why)
    else:
        if balance_wei is not None:
            facts.accounts[key] = AccountFacts(key, balance_wei, nonce)
        previous = {}
        if nonce is not None and moved is not None:
            previous[nonce_key(None, address)] = nonce - 1 if moved else nonce
        view = wallet_view(role, address, facts, SETTINGS, previous, why)
    return view if url is None else replace(view, url=url)


def chain_view(
    wallets: list[WalletView],
    deployer: str,
    registry: str | None,
    *,
    master: str | None = None,
    registered: bool | None = None,
    why: str = RPC_ERROR,
) -> ChainView:
    """An environment's chain identity: `registered` True (with `master`), False (the
    registry answers the zero address) or None (not read: `why`)."""
    if registry is None:
        text, status = "no registry or deployer configured", None
    elif registered is None:
        text, status = f"master unknown: {why}", Status.UNKNOWN
    elif registered:
        text, status = f"operator master registered: {master}", Status.GREEN
    else:
        text, status = NOT_REGISTERED, Status.AMBER
    counted = [w.status for w in wallets] + ([status] if status else [])
    return ChainView(
        status=min(counted, key=SEVERITY.__getitem__, default=Status.UNKNOWN),
        omni=omni(deployer),
        registry=registry,
        master=master if registered else None,
        master_registered=registered,
        master_text=text,
        wallets=tuple(wallets),
    )


def chain_summary(block_age_s: float = 9.4, requests: int = 1) -> ChainSummary:
    """The chain line as rules/chain.py says it: reachable, on the expected chain."""
    at = NOW - timedelta(seconds=block_age_s)
    facts = ChainFacts(CHAIN_ID, BLOCK, at, {}, {}, {}, requests=requests)
    line = rules_chain_summary(facts, SETTINGS, NOW)
    assert line is not None
    return line


def chain_unknown(error: str = RPC_ERROR) -> ChainSummary:
    """The RPC could not be read this pass."""
    line = rules_chain_summary(SourceFailure("chain", error), SETTINGS, NOW)
    assert line is not None
    return line


def _demo_chain(
    envs: list[EnvironmentView], kind: ChainKind, hostile: bool
) -> tuple[list[EnvironmentView], ChainSummary | None]:
    """prod: a funded deployer whose nonce moved, a sponsor, the paymaster's deposit below
    its floor (red) and its master registered; test (slot 1): its deployer below the floor
    (red) and no master registered (amber); test-2: funded, no previous nonce to compare.
    base and test-3 have no chain identity."""
    if kind == "none":
        return envs, None
    known = kind == "demo"

    def bal(wei: int) -> int | None:
        return wei if known else None

    sponsor_url = "javascript:alert(1)" if hostile else None
    views = {
        "prod": chain_view(
            [
                wallet(
                    "deployer",
                    PROD_DEPLOYER,
                    bal(12_500_000_000_000_000_000),
                    nonce=4812 if known else None,
                    moved=True if known else None,
                ),
                wallet(
                    "sponsor",
                    PROD_SPONSOR,
                    bal(3_200_000_000_000_000_000),
                    nonce=977 if known else None,
                    moved=False if known else None,
                    url=sponsor_url,
                ),
                wallet("paymaster deposit", PROD_PAYMASTER, bal(50_000_000_000_000_000)),
            ],
            PROD_DEPLOYER,
            PROD_REGISTRY,
            master=PROD_MASTER,
            registered=True if known else None,
        ),
        "test": chain_view(
            [
                wallet(
                    "deployer",
                    TEST_DEPLOYER,
                    bal(40_000_000_000_000_000),
                    nonce=1204 if known else None,
                    moved=True if known else None,
                ),
            ],
            TEST_DEPLOYER,
            TEST_REGISTRY,
            registered=False if known else None,
        ),
        "test-2": chain_view(
            [
                wallet(
                    "deployer",
                    SLOT2_DEPLOYER,
                    None if hostile else bal(2 * HEI),
                    nonce=88 if known else None,
                    why=XSS if hostile else RPC_ERROR,
                ),
            ],
            SLOT2_DEPLOYER,
            TEST_REGISTRY,
            master=SLOT2_MASTER,
            registered=None if hostile else True if known else None,
            why=XSS if hostile else RPC_ERROR,
        ),
    }
    envs = [replace(e, chain=views.get(e.name)) for e in envs]
    return envs, chain_summary() if known else chain_unknown()


# --------------------------------------------------------------------------- boards

DEMO_NEXT_ACTION = (
    "test-2: the audit worker answers 502 behind nginx. Check "
    "`systemctl status agentkeys-worker-audit` on i-0a5c74cdbb3e5be84 over SSM, "
    "then redeploy the slot if it does not restart."
)


def _demo_runs(at: datetime, kind: CiKind, hostile: bool) -> list[RunView]:
    """Slot 1 held by run #1287 (its marker step read), #1289 queued behind it (its
    slot-claim annotation read), and a push to main still in its first job (no slot yet)."""
    computed = kind == "computed"  # below the rate floor: no jobs read, slots guessed
    holder = run_view(
        19433108775,
        1287,
        pr=411,
        title=f"broker: {XSS}" if hostile else "broker: rotate the OIDC signing key on deploy",
        branch="feat/x",
        actor="mira-k",
        created_at=at - timedelta(minutes=16, seconds=1),
        started_at=at - timedelta(minutes=15, seconds=10),
        job=None if computed else JOB_E2E,
        slot=1,  # PR 411 % 3 + 1 = 1: the guess agrees with the marker here
        mapped_by=SlotBasis.COMPUTED if computed else SlotBasis.MARKER,
    )
    queued = run_view(
        19433502114,
        1289,
        status="queued",
        pr=415,
        title="workers: retry audit uploads on 503",
        branch="fix/audit-retry",
        actor="dlee",
        created_at=at - timedelta(minutes=3, seconds=23),
        slot=2 if computed else 1,  # PR 415 % 3 + 1 = 2: the guess is wrong
        mapped_by=SlotBasis.COMPUTED if computed else SlotBasis.ANNOTATION,
        url="javascript:alert(1)" if hostile else None,
    )
    push = run_view(
        19433561870,
        1290,
        event="push",
        title="Merge pull request #409 from litentry/docs/fleet-facts",
        branch="main",
        actor="wli",
        created_at=at - timedelta(minutes=1, seconds=51),
        started_at=at - timedelta(minutes=1, seconds=48),
        job=None if computed else JOB_RUST,
    )
    runs = [holder, queued, push]
    if kind == "two-holders":  # a dispatch with slot_override=1 while #1287 holds slot 1
        second = run_view(
            19433391006,
            1288,
            event="workflow_dispatch",
            title="harness CI (no LLM)",
            branch="feat/y-nonce",
            actor="dlee",
            created_at=at - timedelta(minutes=8, seconds=23),
            started_at=at - timedelta(minutes=8, seconds=16),
            job=JOB_DEPLOY,
            slot=1,
            mapped_by=SlotBasis.MARKER,
        )
        runs.insert(1, second)
    return runs


def _demo_deploys(at: datetime, kind: CiKind, hostile: bool) -> dict[str, DeployView]:
    """prod on main (current), test on the holder's branch, test-2 on an old main (behind),
    test-3 on a branch, base with no CI deploy on record."""
    main_known = kind not in ("none", "unknown")
    return {
        "prod": deploy_view(
            "main",
            at - timedelta(days=2, hours=5, minutes=12),
            19398812440,
            stale=False if main_known else None,
            text=CURRENT if main_known else MAIN_UNKNOWN,
        ),
        "base": NO_DEPLOY,
        "test": deploy_view("feat/x", at - timedelta(minutes=10, seconds=32), 19433108775),
        "test-2": deploy_view(
            "main",
            at - timedelta(days=3, hours=2),
            19371230917,
            stale=True if main_known else None,
            text=BEHIND if main_known else MAIN_UNKNOWN,
        ),
        "test-3": deploy_view(
            "feat/wallet-export",
            at - timedelta(days=9, hours=19),
            19290017723,
            text=f"unknown: deployed branch {XSS}" if hostile else None,
        ),
    }


def _demo_ci(
    envs: list[EnvironmentView], at: datetime, kind: CiKind, hostile: bool
) -> tuple[list[EnvironmentView], CiSummary | None]:
    deploys = _demo_deploys(at, kind, hostile)
    envs = [replace(e, deploy=deploys.get(e.name)) for e in envs]
    if kind == "none":
        return envs, None
    if kind == "unknown":  # rules/ci.py still gives each slot its (empty) SlotCi
        return with_slot_ci(envs, []), ci_unknown()
    runs = _demo_runs(at, kind, hostile)
    notes: tuple[str, ...] = ()
    if kind == "computed":
        notes = (
            "jobs of 3 runs not read: 87 requests left, below the rate floor of 100; "
            "their slots are computed from the PR number (a guess)",
        )
    if hostile:
        notes = (*notes, f"annotation not read: {XSS}")
    ci = (
        ci_summary(runs, rate_remaining=87, requests=3, not_modified=2, notes=notes)
        if kind == "computed"
        else ci_summary(runs, notes=notes)
    )
    return with_slot_ci(envs, runs), ci


def demo_board(
    at: datetime = NOW, *, hostile: bool = False, ci: CiKind = "demo", chain: ChainKind = "demo"
) -> Board:
    """The demo fleet: prod green, base green, test amber (degraded readyz, a cert 5 days
    from expiry, optional mcp NXDOMAIN), test-2 red (audit worker 502, A-record drift),
    test-3 stopped, and a fleet-level undeclared slot.

    CI (`ci="demo"`): slot 1 held by run #1287 (mapped by its marker step) with #1289
    queued behind it, test-2 and test-3 free, a push to main not on a slot yet. Deploys:
    prod on main (current), test on feat/x (stale unknown), test-2 on an old main
    (stale: an amber issue), test-3 on a branch, base with no CI deploy on record. Variants: "two-holders" (#1288 holds slot 1
    too), "computed" (below the rate floor: slots guessed from PR numbers), "none"
    (no [github]: `ci` is None) and "unknown" (GitHub did not answer).

    Chain (`chain="demo"`, see `_demo_chain`): wallets on prod, test and test-2, a red
    deposit on prod, a red deployer and an unregistered master on test. Variants: "none"
    (no [chain]: no chain line, no wallets) and "unknown" (the RPC did not answer).

    With `hostile=True`, an issue text, a check summary, a host name, a run title, a CI
    note, a deploy text, a wallet's reason and a master line carry XSS, and a run's and a
    wallet's URL are `javascript:`.
    """
    prod = env_view(
        "prod",
        EnvKind.PROD,
        None,
        "",
        instance_id="i-0c0b739bd35643fd3",
        eip="54.164.117.252",
        checks=stack_checks("", days_left=62, at=at),
        launched_days_ago=41.2,
        at=at,
    )
    base = env_view(
        "base",
        EnvKind.BASE,
        None,
        "-base",
        instance_id="i-07e1c2b0d9a4f3e21",
        eip="100.56.43.4",
        checks=stack_checks("-base", days_left=80, latency_ms=44, at=at),
        launched_days_ago=20.7,
        at=at,
    )

    test_checks = stack_checks("-test", days_left=55, latency_ms=51, at=at)
    _replace_check(
        test_checks,
        f"http:test-broker.{ZONE}/readyz",
        status=Status.AMBER,
        reason="body degraded",
        summary="degraded: tier2/paymaster not configured (expected on unsponsored slots)",
    )
    _replace_check(
        test_checks,
        f"tls:signer-test.{ZONE}",
        status=Status.AMBER,
        reason="cert expires in 5 days",
        summary="certificate expires in 5 days",
        cert=CertSummary(
            not_after=(at + timedelta(days=5)).replace(hour=11, minute=20, second=0),
            days_left=5,
            issuer="Let's Encrypt",
        ),
    )
    _replace_check(
        test_checks,
        f"http:test-mcp.{ZONE}/healthz",
        status=Status.RED,
        reason="dns NXDOMAIN",
        summary=f"test-mcp.{ZONE}: NXDOMAIN (optional endpoint, not deployed)",
        latency_ms=None,
    )
    _replace_check(
        test_checks,
        f"tls:test-mcp.{ZONE}",
        status=Status.UNKNOWN,
        reason="dns NXDOMAIN",
        summary="no certificate: host does not resolve",
        cert=None,
    )
    test1 = env_view(
        "test",
        EnvKind.TEST_SLOT,
        1,
        "-test",
        instance_id="i-0135a8b2c53d14941",
        eip="3.214.219.209",
        checks=test_checks,
        launched_days_ago=3.1,
        at=at,
    )

    t2_checks = stack_checks("-test-2", days_left=47, latency_ms=40, at=at)
    audit_host = f"audit-test-2.{ZONE}"
    _replace_check(
        t2_checks,
        f"http:{audit_host}/healthz",
        status=Status.RED,
        reason="http 502",
        summary="HTTP 502 in 41 ms (nginx: upstream agentkeys-worker-audit not answering)",
        latency_ms=41.0,
    )
    t2_drift = (
        Drift(
            kind=DriftKind.WORKER_A_RECORD,
            status=Status.AMBER,
            text=f"{audit_host} A 3.214.219.209 ≠ broker A 54.145.185.156",
        ),
    )
    test2 = env_view(
        "test-2",
        EnvKind.TEST_SLOT,
        2,
        "-test-2",
        instance_id="i-0a5c74cdbb3e5be84",
        eip="54.145.185.156",
        checks=t2_checks,
        drift=t2_drift,
        launched_days_ago=0.4,
        at=at,
    )

    t3_checks = [
        replace(
            c,
            status=Status.UNKNOWN,
            reason="stopped",
            summary="not probed: instance stopped",
            latency_ms=None,
        )
        for c in stack_checks("-test-3", at=at)
    ]
    test3 = env_view(
        "test-3",
        EnvKind.TEST_SLOT,
        3,
        "-test-3",
        instance_id="i-0f3e9d1c2b4a59687",
        eip="44.211.90.17",
        checks=t3_checks,
        lifecycle=Lifecycle.STOPPED,
        launched_days_ago=9.8,
        at=at,
    )

    fleet_drift = (
        Drift(
            kind=DriftKind.UNDECLARED_SLOT,
            status=Status.AMBER,
            text="EIP tagged agentkeys-broker-eip-test-4 (98.84.12.201) is not in fleet.toml",
        ),
    )
    envs, ci_part = _demo_ci([prod, base, test1, test2, test3], at, ci, hostile)
    envs, chain_part = _demo_chain(envs, chain, hostile)
    if hostile:
        hostile_host = f"{XSS}.{ZONE}"
        t2_checks_h = list(envs[3].checks)
        _replace_check(
            t2_checks_h,
            f"http:{audit_host}/healthz",
            summary=f"HTTP 502 body: {XSS}",
            host=hostile_host,
        )
        envs[3] = replace(envs[3], checks=tuple(t2_checks_h))
    issues = None
    if hostile:
        issues = tuple(
            replace(i, text=f"{i.text} {XSS}") if i.status == Status.RED else i
            for i in _issues(envs, fleet_drift)
        )
    return _board(envs, fleet_drift, DEMO_NEXT_ACTION, at, issues, ci_part, chain_part)


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


def _big_ci(envs: list[EnvironmentView], at: datetime) -> tuple[list[EnvironmentView], CiSummary]:
    """A busy CI day: every 4th running slot held (a few of them by a computed guess), every
    12th with a run queued behind, one push to main before its slot; a deploy on every
    environment (main on prod and on the slots that drifted behind it, else a branch)."""
    runs: list[RunView] = []
    deploys: dict[str, DeployView] = {}
    for i, env in enumerate(envs):
        title, branch = PULLS[i % len(PULLS)]
        pr = 300 + i
        if i == 0 or i % 10 == 0:
            behind = i != 0
            deploys[env.name] = deploy_view(
                "main",
                at - timedelta(days=1 + i % 5, minutes=i),
                19_000_000_000 + i,
                stale=behind,
                text=BEHIND if behind else CURRENT,
            )
            continue
        deployed = (at - timedelta(hours=1 + i % 48, minutes=i), 19_100_000_000 + i)
        if i % 4 == 1 and env.lifecycle == Lifecycle.RUNNING:
            computed = i % 20 == 9
            started = at - timedelta(minutes=5 + i % 25)
            if not computed:  # its deploy job has run: the slot runs its branch
                deployed = (started + timedelta(minutes=3), 19_433_000_000 + 1000 * i)
            runs.append(
                run_view(
                    19_433_000_000 + 1000 * i,
                    1000 + 2 * i,
                    pr=pr,
                    title=title,
                    branch=branch,
                    actor=ACTORS[i % len(ACTORS)],
                    created_at=started - timedelta(seconds=40),
                    started_at=started,
                    job=None if computed else JOB_E2E,
                    slot=env.slot,
                    mapped_by=SlotBasis.COMPUTED if computed else SlotBasis.MARKER,
                )
            )
            if i % 12 == 1:
                next_title, next_branch = PULLS[(i + 3) % len(PULLS)]
                runs.append(
                    run_view(
                        19_433_000_000 + 1000 * i + 1,
                        1000 + 2 * i + 1,
                        status="queued",
                        pr=pr + 200,
                        title=next_title,
                        branch=next_branch,
                        actor=ACTORS[(i + 2) % len(ACTORS)],
                        created_at=at - timedelta(minutes=i % 4 + 1),
                        slot=env.slot,
                        mapped_by=SlotBasis.ANNOTATION,
                    )
                )
        deploys[env.name] = deploy_view(branch, *deployed)
    runs.append(
        run_view(
            19_434_000_000,
            1999,
            event="push",
            title="Merge pull request #409 from litentry/docs/fleet-facts",
            branch="main",
            actor="wli",
            created_at=at - timedelta(minutes=2),
            started_at=at - timedelta(minutes=1, seconds=50),
            job=JOB_RUST,
        )
    )
    envs = [replace(e, deploy=deploys.get(e.name)) for e in envs]
    requests = 3 + len(runs)
    return with_slot_ci(envs, runs), ci_summary(
        runs, requests=requests, not_modified=requests - 4, rate_remaining=3904
    )


def big_board(n_envs: int, at: datetime = NOW) -> Board:
    """prod plus `n_envs - 1` test slots of ~30 checks each; some amber, red or stopped;
    CI on every 4th slot and a deploy on every environment (see `_big_ci`)."""
    envs: list[EnvironmentView] = []
    for i in range(n_envs):
        slot = i if i else None
        suffix = "" if i == 0 else "-test" if i == 1 else f"-test-{i}"
        name = "prod" if i == 0 else "test" if i == 1 else f"test-{i}"
        checks = stack_checks(suffix, days_left=30 + i % 50, latency_ms=30 + i % 40, at=at)
        drift: tuple[Drift, ...] = ()
        lifecycle = Lifecycle.RUNNING
        if i and i % 17 == 0:
            host = _host(WORKERS[i % len(WORKERS)], suffix)
            _replace_check(
                checks,
                f"http:{host}/healthz",
                status=Status.RED,
                reason="http 502",
                summary="HTTP 502 in 12 ms",
                latency_ms=12.0,
            )
        elif i and i % 10 == 0:
            _replace_check(
                checks,
                f"http:{_host('broker', suffix)}/readyz",
                status=Status.AMBER,
                reason="body degraded",
                summary="degraded: tier2/paymaster not configured",
            )
            drift = (
                Drift(
                    kind=DriftKind.EIP_TAG,
                    status=Status.AMBER,
                    text="EIP by tag is 203.0.113.9, but the env file says 203.0.113.10",
                ),
            )
        elif i and i % 7 == 0:
            lifecycle = Lifecycle.STOPPED
            checks = [
                replace(c, status=Status.UNKNOWN, reason="stopped", summary="not probed")
                for c in checks
            ]
        envs.append(
            env_view(
                name,
                EnvKind.PROD if i == 0 else EnvKind.TEST_SLOT,
                slot,
                suffix,
                instance_id=f"i-0{i:016x}",
                eip=f"10.0.{i // 250}.{i % 250 + 1}",
                checks=checks,
                drift=drift,
                lifecycle=lifecycle,
                launched_days_ago=1 + i % 30,
                at=at,
            )
        )
    envs, ci = _big_ci(envs, at)
    return _board(envs, (), "Check the red slots first: their workers answer 502.", at, ci=ci)
