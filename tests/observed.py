"""What the sources saw, said as facts: the tests' one builder of observations.

A test says what each source observed ("this host answered 502 in 41 ms", "this run holds
slot 2 by its marker step", "the deployer holds 0.04 HEI") and gets the board the real
pipeline makes of it: the facts each source returns, by source name, through
`collect.observations` and `rules.evaluate`. Nothing here is a verdict: every status, issue,
rollup and sentence on the board is the rules'.

    seen = Observed(FLEET_TOML, at=NOW)
    seen.running("prod", "i-0c0b739bd35643fd3", "54.164.117.252")
    seen.answers("audit.litentry.org", code=502, ms=41)
    board = seen.board()

By default a running environment's every host answers healthy (its broker ready, with its
own issuer) and presents a valid certificate; a stopped one is not probed, as the http
source skips it (`sources.http.probe_targets`, the source's own rule).

For the rules' unit tests: `exchange(...)`, one HttpExchange for a verdict function alone,
and `all_running()`, the small fleet (`SMALL_FLEET`) with every machine up.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from fleetboard import __version__, collect, config, rules
from fleetboard import chain as evm
from fleetboard.inventory import HEALTH_PATH, ISSUER_PATH, READY_PATH
from fleetboard.model import (
    AccountFacts,
    AddressFacts,
    AwsFacts,
    Board,
    CallFacts,
    CertFacts,
    ChainFacts,
    CiJob,
    CiRun,
    CollectorInfo,
    DeployFacts,
    GithubFacts,
    HttpExchange,
    HttpFacts,
    InstanceFacts,
    ProbeError,
    Reason,
    SourceFailure,
    SourceRun,
    TlsFacts,
)
from fleetboard.rules.chain import ZERO_ADDRESS, nonce_key
from fleetboard.rules.runway import Trail
from fleetboard.sources.http import probe_targets

#: The tests' clock: when the pass ran.
NOW = datetime(2026, 11, 23, 8, 0, 3, tzinfo=UTC)
#: How long each source took, for the footer (a failed one: its budget).
DURATIONS = {"aws": 0.318, "http": 1.204, "tls": 0.012, "github": 0.236, "chain": 0.187}
WORKFLOW = ".github/workflows/harness-ci.yml"
BLOCK = 4_812_331


def ready_body(status: str = "ready", *failing: str) -> str:
    """A broker /readyz body (docs/fleet.md#health) naming its failing checks."""
    checks = [{"name": "tier1/db", "status": "ok"}]
    checks += [{"name": n, "status": status, "reason": "unsponsored"} for n in failing]
    body = {"status": status, "degraded": status == "degraded", "checks": checks}
    return json.dumps({**body, "ready": ["tier1/db", "tier2/ses"]})


def exchange(
    body: str = "ok",
    code: int = 200,
    *,
    host: str = "audit-test-2.litentry.org",
    path: str = HEALTH_PATH,
    ms: float = 12.0,
    error: ProbeError | None = None,
    truncated: bool = False,
    at: datetime = NOW,
) -> HttpExchange:
    """One GET of `host` `path`: answered `code` with `body` in `ms`, or, with `error`, no
    answer at all (no code, body or time)."""
    if error is not None:
        return HttpExchange(host, path, at, 1, error=error)
    return HttpExchange(host, path, at, 1, code, body, truncated, ms)


@dataclass(frozen=True, slots=True)
class _Machine:
    instance_id: str
    eip: str
    state: str
    launched_at: datetime
    instance_type: str
    latency_ms: float  # the first host's answer time; each next host 7 ms slower
    cert_days: int  # days left on every certificate of the stack


@dataclass
class _Chain:
    """One network's answers: accounts, master registrations, deposits."""

    accounts: dict[str, AccountFacts] = field(default_factory=dict)
    masters: dict[tuple[str, str], CallFacts] = field(default_factory=dict)
    deposits: dict[tuple[str, str], CallFacts] = field(default_factory=dict)


class Observed:
    """One pass's observations of a fleet.toml's fleet, at `at`."""

    def __init__(self, fleet_toml: str, at: datetime) -> None:
        self.loaded = config.loads(fleet_toml)
        self.inventory = self.loaded.inventory
        self.at = at
        #: host name -> its environment and its place there
        self.where = {
            h.hostname: (e, i) for e in self.inventory.environments for i, h in enumerate(e.hosts)
        }
        self.machines: dict[str, _Machine] = {}
        self.other_eips: list[AddressFacts] = []
        self.records: dict[str, tuple[str, ...]] = {}
        self.zone_only: dict[str, tuple[str, ...]] | None = None
        self.deploys: dict[str, DeployFacts] = {}
        self.deploy_error: str | None = None
        self.exchanges: dict[tuple[str, str], HttpExchange] = {}
        self.certs: dict[str, CertFacts] = {}
        self.unresolved: set[str] = set()
        self.broken: dict[str, ProbeError] = {}
        self.no_dns: str | None = None
        self.runs: list[CiRun] = []
        self.github: dict[str, Any] = {}
        self.reads_github(main_sha=None, main_committed_ago=None)
        self.chains: dict[str | None, _Chain] = {}
        self.previous_nonces: dict[str, int] = {}
        #: The wallets' balance trails the board kept (memory/wallets.py): the runway.
        self.wallet_trails: dict[str, Trail] = {}
        self.block_age_s = 9.4
        self.failures: dict[str, SourceFailure] = {}
        #: Facts of registered sources without a builder here (host, agent, metrics).
        self.read_facts: dict[str, object] = {}

    # ------------------------------------------------------------------- aws

    def running(
        self,
        env: str,
        instance_id: str,
        eip: str,
        *,
        launched_days_ago: float = 12.3,
        latency_ms: float = 38.0,
        cert_days: int = 71,
        instance_type: str = "t3.medium",
    ) -> None:
        """An instance running behind the EIP tagged for `env`; its hosts answer healthy
        from latency_ms on, with certificates valid `cert_days` more days."""
        launched = (self.at - timedelta(days=launched_days_ago)).replace(microsecond=0)
        self.machines[env] = _Machine(
            instance_id, eip, "running", launched, instance_type, latency_ms, cert_days
        )

    def stopped(self, env: str, instance_id: str, eip: str, *, launched_days_ago: float) -> None:
        """The instance behind `env`'s EIP is stopped (the idle stop)."""
        self.running(env, instance_id, eip, launched_days_ago=launched_days_ago)
        self.machines[env] = replace(self.machines[env], state="stopped")

    def untagged(self, env: str) -> None:
        """No EIP carries `env`'s tag: no address, machine or A record of it is seen."""
        del self.machines[env]

    def eip_tagged(self, tag: str, ip: str) -> None:
        """An EIP with this Name tag and no instance behind it."""
        self.other_eips.append(AddressFacts(ip, tag, f"eipalloc-{ip.replace('.', '')}", None))

    def a_record(self, host: str, *ips: str) -> None:
        """Route 53 has this A record for `host` (else: its environment's EIP)."""
        self.records[host] = ips

    def zone_holds_only(self, host: str, *ips: str) -> None:
        """Route 53 holds this one A record and none of the fleet's names."""
        self.zone_only = {host.lower(): ips}

    def deployed(self, env: str, ref: str, ago: timedelta, run_id: int | None) -> None:
        """The newest `gh-ci deploy <run id> ref=<ref>` SSM command on `env`'s instance."""
        iid = self.machines[env].instance_id
        comment = f"gh-ci deploy {run_id or ''} ref={ref}"
        self.deploys[iid] = DeployFacts(iid, run_id, ref, self.at - ago, "Success", comment)

    def deploys_unread(self, error: str) -> None:
        """The deploy trail (SSM ListCommands) could not be read: `error`."""
        self.deploy_error = error

    # ------------------------------------------------------------------- http and tls

    def answers(
        self,
        host: str,
        path: str = HEALTH_PATH,
        *,
        code: int = 200,
        body: str | None = None,
        ms: float | None = None,
    ) -> None:
        """`host` answered GET `path` with this code and body (else its healthy one), in `ms`
        (else its usual time)."""
        self.probed(self._answer(host, path, code, body, ms))

    def probed(self, probe: HttpExchange) -> None:
        """The GET of probe.host probe.path gave exactly `probe` (an answer or an error),
        whatever else is said of its host."""
        self.exchanges[(probe.host, probe.path)] = probe

    def probes_fail(self, error: ProbeError, *envs: str) -> None:
        """Every probe of these environments' hosts (none named: of every environment's)
        fails with `error`, their TLS handshakes too; Route 53 keeps their records."""
        for env, host in self.inventory.hosts():
            if not envs or env.name in envs:
                self.broken[host.hostname] = error

    def does_not_resolve(self, host: str) -> None:
        """No A record for `host`: every probe of it fails with NXDOMAIN."""
        self.unresolved.add(host)
        self.broken[host] = ProbeError(Reason.DNS, f"NXDOMAIN: {host} does not resolve")

    def nothing_resolves(self, why: str) -> None:
        """Every name lookup of the pass failed (`why`), as on a collector with no DNS."""
        self.no_dns = why

    def cert(self, host: str, days_left: int, issuer: str = "Let's Encrypt") -> None:
        """`host` presents a verified certificate expiring in `days_left` days."""
        self.certs[host] = self._cert_facts(host, days_left, issuer)

    # ------------------------------------------------------------------- github

    def reads_github(
        self,
        *,
        main_sha: str | None,
        main_committed_ago: timedelta | None,
        rate_remaining: int = 4771,
        requests: int = 6,
        not_modified: int = 4,
        notes: tuple[str, ...] = (),
    ) -> None:
        """What the github source read besides the runs: main's head and the API budget."""
        self.github = {
            "main_sha": main_sha,
            "main_committed_at": self.at - main_committed_ago if main_committed_ago else None,
            "rate_remaining": rate_remaining,
            "rate_limit": 5000,
            "rate_reset": self.at + timedelta(minutes=40),
            "requests": requests,
            "not_modified": not_modified,
            "notes": notes,
        }

    def run(
        self,
        run_id: int,
        number: int,
        *,
        title: str,
        created_ago: timedelta,
        started_ago: timedelta | None = None,
        event: str = "pull_request",
        pr: int | None = None,
        branch: str | None = None,
        actor: str | None = "mira-k",
        job: str | None = None,
        marker: int | None = None,
        claim: tuple[int, str | None] | None = None,
        jobs_read: bool = True,
        url: str | None = None,
        repo: str = "litentry/agentKeys",
        status: str | None = None,
    ) -> None:
        """A run in flight: `status` (else in progress once started, else queued). `job` is
        the job running now; `marker` the N of its `test-fleet slot N` step; `claim` the
        (slot, group or None) of the slot-claim job's annotation. `jobs_read=False`: the
        source did not read its jobs."""
        started = self.at - started_ago if started_ago is not None else None
        jobs: list[CiJob] = []
        annotation = None
        if claim is not None:
            jobs.append(CiJob(run_id * 10, "slot-claim", "completed", started, ("claim",)))
            group = f" group={claim[1]}" if claim[1] else ""
            annotation = f"slot-claim slot={claim[0]}{group}"
        if job is not None:
            steps = ("Set up job", *([f"test-fleet slot {marker}"] if marker else []), "Run")
            jobs.append(CiJob(run_id * 10 + 1, job, "in_progress", started, steps))
        self.runs.append(
            CiRun(
                id=run_id,
                number=number,
                url=url if url is not None else f"https://github.com/{repo}/actions/runs/{run_id}",
                workflow=WORKFLOW,
                status=status or ("in_progress" if started else "queued"),
                event=event,
                branch=branch,
                head_sha=f"{run_id:040x}",
                title=title,
                actor=actor,
                pr=pr,
                created_at=self.at - created_ago,
                started_at=started,
                jobs=tuple(jobs) if jobs_read else None,
                # The annotations are the slot-claim job's: not read without its jobs.
                annotations=(annotation,) if annotation and jobs_read else (),
            )
        )

    # ------------------------------------------------------------------- chain

    def balance(
        self,
        address: str,
        wei: int,
        *,
        nonce: int,
        before: int | None = None,
        network: str | None = None,
    ) -> None:
        """The chain says `address` holds `wei` at nonce `nonce`; `before`: the nonce the
        previous snapshot showed."""
        key = address.lower()
        self._chain(network).accounts[key] = AccountFacts(key, wei, nonce)
        if before is not None:
            self.previous_nonces[nonce_key(network, address)] = before

    def balance_unread(self, address: str, error: str, network: str | None = None) -> None:
        key = address.lower()
        self._chain(network).accounts[key] = AccountFacts(key, None, None, error)

    def deposit(self, entrypoint: str, paymaster: str, wei: int) -> None:
        """EntryPoint.balanceOf(paymaster) answers `wei`."""
        word = "0x" + f"{wei:064x}"
        self._chain(None).deposits[(entrypoint.lower(), paymaster.lower())] = CallFacts(
            entrypoint, word
        )

    def master(self, registry: str, deployer: str, master: str | None) -> None:
        """The registry's operatorMasterWallet(omni of `deployer`); None: the zero address."""
        word = "0x" + "0" * 24 + (master or ZERO_ADDRESS)[2:].lower()
        self._masters(registry, deployer, CallFacts(registry, word))

    def master_unread(self, registry: str, deployer: str, error: str) -> None:
        self._masters(registry, deployer, CallFacts(registry, None, error))

    def _masters(self, registry: str, deployer: str, call: CallFacts) -> None:
        self._chain(None).masters[(registry.lower(), evm.operator_omni(deployer))] = call

    def _chain(self, network: str | None) -> _Chain:
        return self.chains.setdefault(network, _Chain())

    def reads(self, source: str, facts: object) -> None:
        """What a registered source returned this pass (its facts as it builds them)."""
        self.read_facts[source] = facts

    # ------------------------------------------------------------------- failures

    def fails(self, source: str, reason: str, *, blind: bool = False, access: bool = False) -> None:
        """The source (or "chain:<network>") returned a failure instead of facts; `access`:
        the far end refused the collector's access."""
        self.failures[source] = SourceFailure(source, reason, blind, access)

    # ------------------------------------------------------------------- the pass

    def results(self) -> dict[str, object]:
        """What each source returned, by name, as collect.run_sources gives them."""
        inv = self.inventory
        results: dict[str, object] = {"aws": self.failures.get("aws") or self._aws()}
        results["http"] = self.failures.get("http") or self._http(results["aws"])
        results["tls"] = self.failures.get("tls") or self._tls(results["aws"], results["http"])
        if inv.github is not None:
            results["github"] = self.failures.get("github") or self._github()
        if inv.chain is not None:
            results["chain"] = self.failures.get("chain") or self._chain_facts(None)
            used = {e.chain.network for e in inv.environments if e.chain and not e.retired}
            for name in sorted(n for n in inv.chain_networks if n in used):
                key = f"chain:{name}"
                results[key] = self.failures.get(key) or self._chain_facts(name)
        for name, facts in self.read_facts.items():
            results[name] = self.failures.get(name) or facts
        for name, failure in self.failures.items():  # a source fleet.toml does not configure
            results.setdefault(name, failure)
        return results

    def collector(self, results: dict[str, object]) -> CollectorInfo:
        """The collector's own line, as collect.build_board writes it."""
        runs = {}
        for name, outcome in results.items():
            failed = outcome if isinstance(outcome, SourceFailure) else None
            took = DURATIONS.get(name.partition(":")[0], 0.1) * (8 if failed else 1)
            runs[name] = SourceRun(failed is None, took, failed.reason if failed else None)
        aws, http = results.get("aws"), results.get("http")
        return CollectorInfo(
            version=__version__,
            duration_s=1.412,
            aws_requests=aws.requests if isinstance(aws, AwsFacts) else 0,
            probes=len(http.exchanges) if isinstance(http, HttpFacts) else 0,
            sources=runs,
            period_s=self.loaded.period_s,
            flap_passes=self.loaded.inventory.thresholds.flap_passes,
        )

    def board(self) -> Board:
        """The board the real rules make of these observations."""
        results = self.results()
        obs = replace(
            collect.observations(results),
            previous_nonces=dict(self.previous_nonces),
            wallet_trails=dict(self.wallet_trails),
        )
        now = self.at.replace(microsecond=0)
        return rules.evaluate(self.inventory, obs, now, self.collector(results))

    # ------------------------------------------------------------------- the facts

    def _aws(self) -> AwsFacts:
        addresses: list[AddressFacts] = []
        instances: dict[str, InstanceFacts] = {}
        records: dict[str, tuple[str, ...]] = {}
        for name, m in self.machines.items():
            env = self.inventory.environment(name)
            addresses.append(
                AddressFacts(m.eip, env.eip_tag, f"eipalloc{env.suffix}", m.instance_id)
            )
            instances[m.instance_id] = InstanceFacts(
                m.instance_id,
                m.state,
                m.instance_type,
                m.launched_at,
                f"agentkeys-broker{env.suffix}",
            )
            for host in env.hosts:
                if host.hostname not in self.unresolved:
                    records[host.hostname.lower()] = (m.eip,)
        records.update({h.lower(): ips for h, ips in self.records.items()})
        return AwsFacts(
            tuple(addresses + self.other_eips),
            instances,
            records if self.zone_only is None else dict(self.zone_only),
            requests=4,
            deploys=None if self.deploy_error else self.deploys,
            deploy_error=self.deploy_error,
        )

    def _machine_of(self, hostname: str) -> _Machine | None:
        env, _ = self.where[hostname]
        return self.machines.get(env.name)

    def _latency(self, hostname: str, path: str) -> float:
        machine = self._machine_of(hostname)
        base = machine.latency_ms if machine else 40.0
        return base + 7 * self.where[hostname][1] + {READY_PATH: 3, ISSUER_PATH: 5}.get(path, 0)

    def _failure(self, hostname: str) -> ProbeError | None:
        if self.no_dns is not None:
            return ProbeError(Reason.DNS, f"lookup of {hostname} failed: {self.no_dns}")
        return self.broken.get(hostname)

    def _healthy(self, hostname: str, path: str) -> str:
        if path == READY_PATH:
            return ready_body()
        if path == ISSUER_PATH:
            issuer = self.where[hostname][0].expected_issuer
            return json.dumps({"issuer": issuer, "jwks_uri": f"{issuer}/.well-known/jwks.json"})
        return "ok"

    def _answer(
        self,
        host: str,
        path: str,
        code: int = 200,
        body: str | None = None,
        ms: float | None = None,
    ) -> HttpExchange:
        return exchange(
            self._healthy(host, path) if body is None else body,
            code,
            host=host,
            path=path,
            ms=ms if ms is not None else self._latency(host, path),
            at=self.at - timedelta(seconds=2),
        )

    def _cert_facts(self, host: str, days_left: int, issuer: str = "Let's Encrypt") -> CertFacts:
        not_after = self.at + timedelta(days=days_left, hours=3, minutes=20)
        seen = self.at - timedelta(seconds=2)
        return CertFacts(host, not_after, issuer, host, True, observed_at=seen)

    def _cert(self, hostname: str) -> CertFacts | ProbeError:
        failure = self._failure(hostname)
        if failure is not None:
            return failure
        if hostname in self.certs:
            return self.certs[hostname]
        machine = self._machine_of(hostname)
        return self._cert_facts(hostname, machine.cert_days if machine else 60)

    def _http(self, aws: object) -> HttpFacts:
        hosts, skipped = probe_targets(self.inventory, aws)
        exchanges: dict[tuple[str, str], HttpExchange] = {}
        certs: dict[str, CertFacts] = {}
        at = self.at - timedelta(seconds=2)
        for host in hosts:
            failure = self._failure(host.hostname)
            for path in host.paths:
                key = (host.hostname, path)
                if key in self.exchanges:
                    exchanges[key] = self.exchanges[key]
                elif failure is not None:
                    exchanges[key] = exchange(host=host.hostname, path=path, error=failure, at=at)
                else:
                    exchanges[key] = self._answer(host.hostname, path)
            cert = self._cert(host.hostname)
            if isinstance(cert, CertFacts):
                certs[host.hostname] = cert
        return HttpFacts(exchanges=exchanges, certs=certs, skipped=skipped)

    def _tls(self, aws: object, http: object) -> TlsFacts:
        hosts, _ = probe_targets(self.inventory, aws)
        if isinstance(http, HttpFacts):
            hosts = [h for h in hosts if h.hostname not in http.skipped]
        certs = {h.hostname: self._cert(h.hostname) for h in hosts}
        reused = len(http.certs) if isinstance(http, HttpFacts) else 0
        return TlsFacts(certs=certs, reused=reused)

    def _github(self) -> GithubFacts:
        return GithubFacts(runs=tuple(self.runs), **self.github)

    def _chain_facts(self, network: str | None) -> ChainFacts:
        settings = self.inventory.chain_settings(network)
        assert settings is not None
        seen = self._chain(network)
        return ChainFacts(
            chain_id=settings.chain_id,
            block_number=BLOCK,
            block_time=self.at - timedelta(seconds=self.block_age_s),
            accounts=dict(seen.accounts),
            masters=dict(seen.masters),
            deposits=dict(seen.deposits),
            requests=1,
        )


# --------------------------------------------------------------------------- a small fleet

#: The rules' unit tests' fleet: prod (its EIP declared), test, test-2 and test-3; the
#: signer service, workers audit and cred, and weixin, optional.
SMALL_FLEET = """
[fleet]
name = "agentkeys"
zone = "litentry.org"
zone_id = "Z09723983CFJOHAE3VC65"
region = "us-east-1"
services = ["signer"]
workers = ["audit", "cred", "weixin"]
optional = ["weixin"]

[environments.prod]
broker_host = "broker.litentry.org"
eip = "54.164.117.252"

[environments.test]
broker_host = "test-broker.litentry.org"

[environments.test-2]
broker_host = "broker-test-2.litentry.org"

[environments.test-3]
broker_host = "broker-test-3.litentry.org"
"""

#: The EIP tagged for each environment of SMALL_FLEET.
SMALL_EIPS = {
    "prod": "54.164.117.252",
    "test": "3.214.219.209",
    "test-2": "54.145.185.156",
    "test-3": "44.1.1.3",
}


def all_running(
    fleet_toml: str = SMALL_FLEET,
    eips: Mapping[str, str] = SMALL_EIPS,
    *,
    stopped: tuple[str, ...] = (),
    at: datetime = NOW,
) -> Observed:
    """`fleet_toml`'s fleet with a machine behind each environment's EIP of `eips`,
    launched 3 days ago: running, or stopped for those in `stopped`."""
    seen = Observed(fleet_toml, at)
    for i, (name, eip) in enumerate(eips.items()):
        machine = seen.stopped if name in stopped else seen.running
        machine(name, f"i-0{i:016x}", eip, launched_days_ago=3)
    return seen
