"""What a result is: the statuses, the facts sources observe, and the board a pass produces.

Everything here is a frozen dataclass or a string enum, so a pass is plain data from the
sources' observations to the snapshot JSON. No I/O, no clock.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar, Generic, TypeVar

T = TypeVar("T")


class Status(StrEnum):
    """Health of one check or a rollup. Unknown is never shown as green."""

    GREEN = "green"
    AMBER = "amber"
    RED = "red"
    UNKNOWN = "unknown"


#: Rollup order: the first of these present wins (docs/design.md#status-rules).
SEVERITY: tuple[Status, ...] = (Status.RED, Status.AMBER, Status.UNKNOWN, Status.GREEN)


class Lifecycle(StrEnum):
    """Whether an environment is meant to be up, separate from whether it is healthy."""

    RUNNING = "running"
    STOPPED = "stopped"  # parked (idle stop): grey, never red
    MISSING = "missing"  # declared, but no EIP or instance found
    RETIRED = "retired"  # declared retired in fleet.toml: not probed
    UNKNOWN = "unknown"  # the aws source could not tell

    @property
    def parked(self) -> bool:
        """Meant to be down (stopped, retired): its health says nothing, so its checks
        make no issues, it is never red for being down, and it is counted by lifecycle."""
        return self in (Lifecycle.STOPPED, Lifecycle.RETIRED)

    @property
    def grey(self) -> bool:
        """Shown by its lifecycle, grey, with its checks hidden: parked, or missing (no
        instance to look at). Wider than `parked`: a missing environment is still
        watched, so its issues count and the summary lists it."""
        return self.parked or self is Lifecycle.MISSING


class Reason(StrEnum):
    """Why a probe failed, by layer: the first word of every failed check's reason."""

    DNS = "dns"
    CONNECT = "connect"
    TIMEOUT = "timeout"
    TLS = "tls"
    CERT = "cert"  # the certificate verified but is expiring, expired or undated
    HTTP = "http"  # rendered as "http 502"
    BODY = "body"
    DEADLINE = "deadline"  # the pass ran out of time before this probe
    SOURCE = "source"  # the source that would observe it failed
    COLLECTOR = "collector"  # the collector could not see (no DNS, no route): not the fleet's
    INTERNAL = "internal"  # a bug in the collector, caught around the source

    @classmethod
    def of(cls, reason: str) -> Reason | None:
        """The layer a check's reason names by its first word ("http 502", "tls: ..."),
        or None when the word is not a failure layer ("slow: ...", "optional: ...")."""
        word = _FIRST_WORD.match(reason)
        try:
            return cls(word.group(0)) if word else None
        except ValueError:
            return None


_FIRST_WORD = re.compile(r"[a-z]+")


class CheckKind(StrEnum):
    """What a check looks at: the first part of its id."""

    HTTP = "http"
    TLS = "tls"
    MACHINE = "machine"
    DRIFT = "drift"
    #: A check of a source registered without rules of its own (registry.SourceKind.checks):
    #: its `source` field names which.
    SOURCE = "source"


class DriftKind(StrEnum):
    """What differs from what fleet.toml and the env files declare."""

    EIP_MISSING = "eip_missing"  # no EIP carries the environment's tag
    EIP_TAG = "eip_tag"  # the tagged EIP is not the declared one
    BROKER_A_RECORD = "broker_a_record"  # the broker's name points elsewhere
    WORKER_A_RECORD = "worker_a_record"  # a worker's name is not the broker's (#201)
    ISSUER = "issuer"  # the broker serves another slot's issuer
    BUCKET = "bucket"  # a worker reports another slot's bucket
    UNDECLARED_SLOT = "undeclared_slot"  # an EIP tagged like a slot fleet.toml lacks


class SlotBasis(StrEnum):
    """How a run's slot is known, best first."""

    MARKER = "marker"  # a job ran the `test-fleet slot N` step
    ANNOTATION = "annotation"  # the slot-claim job said `slot-claim slot=N group=G`
    COMPUTED = "computed"  # neither yet: PR# % N + 1, shown as "(computed)"


class EnvKind(StrEnum):
    PROD = "prod"
    BASE = "base"
    TEST_SLOT = "test-slot"
    OTHER = "other"


# --------------------------------------------------------------------------- observations
# Raw facts, as sources see them. Rules turn these into checks.


@dataclass(frozen=True, slots=True)
class SourceFailure:
    """A source that could not observe anything; its part of the board becomes unknown."""

    source: str
    reason: str  # one line a person can act on; never a secret
    #: True when the cause is on the collector's side (no credentials, no DNS at all, no
    #: route out): the source saw nothing of the fleet, which says nothing about the fleet.
    blind: bool = False
    #: True when the far end refused the collector's access (a denial, rejected
    #: credentials): the collector's to fix, where a 500 or a throttle is retried next pass.
    access: bool = False
    #: True for a source whose facts are information, not health (billing): its failure
    #: shows where its part shows and in the footer, never as an issue of the fleet.
    information: bool = False
    #: The requests an AWS source sent before it failed (retries included), so the footer's
    #: count is what the pass paid; None where a source does not count them.
    requests: int | None = None


@dataclass(frozen=True, slots=True)
class CertFacts:
    """The leaf certificate a host presented, and whether it verified."""

    host: str
    not_after: datetime | None
    issuer: str  # organisation or common name of the issuer, e.g. "Let's Encrypt"
    subject: str
    verified: bool
    error: str | None = None  # e.g. "certificate has expired", "hostname mismatch"
    observed_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ProbeError:
    """A probe that got no HTTP answer: the layer it failed at and the detail."""

    reason: Reason  # DNS, CONNECT, TIMEOUT, TLS, DEADLINE
    detail: str


@dataclass(frozen=True, slots=True)
class HttpExchange:
    """One GET against one host and path, after at most one retry."""

    host: str
    path: str
    observed_at: datetime
    attempts: int
    status_code: int | None = None  # None when error is set
    body: str = ""  # decoded, capped at the configured body cap
    body_truncated: bool = False
    latency_ms: float | None = None
    error: ProbeError | None = None


@dataclass(frozen=True, slots=True)
class HttpFacts:
    """Everything the http source saw in one pass, keyed by (host, path)."""

    exchanges: dict[tuple[str, str], HttpExchange]
    certs: dict[str, CertFacts]  # handshakes the probes made, for the tls source to reuse
    skipped: dict[str, str] = field(default_factory=dict)  # host -> why it was not probed


@dataclass(frozen=True, slots=True)
class TlsFacts:
    certs: dict[str, CertFacts | ProbeError]  # host -> certificate, or why none was seen
    reused: int = 0  # handshakes taken from the http probes rather than made again


@dataclass(frozen=True, slots=True)
class AddressFacts:
    """One Elastic IP found by its Name tag."""

    public_ip: str
    tag: str
    allocation_id: str | None
    instance_id: str | None


@dataclass(frozen=True, slots=True)
class InstanceFacts:
    instance_id: str
    state: str  # EC2 state name: pending, running, stopping, stopped, ...
    instance_type: str
    launched_at: datetime | None
    name: str | None = None


@dataclass(frozen=True, slots=True)
class DeployFacts:
    """The last CI deploy to one instance, from the SSM command comment
    `gh-ci deploy <run id> ref=<ref>` (docs/fleet.md#ci): a read-only deploy trail."""

    instance_id: str
    run_id: int | None
    ref: str  # a branch name, or a sha when the deploy named one
    requested_at: datetime
    status: str  # SSM command status: Success, Failed, InProgress, ...
    comment: str


@dataclass(frozen=True, slots=True)
class AwsFacts:
    addresses: tuple[AddressFacts, ...]
    instances: dict[str, InstanceFacts]
    a_records: dict[str, tuple[str, ...]]  # lower-case host name, no trailing dot -> IPs
    requests: int  # AWS API requests this pass made, pagination pages included
    #: instance id -> its newest `gh-ci deploy` command; None when the trail was not read
    #: (the SSM call failed: its reason is in deploy_error).
    deploys: dict[str, DeployFacts] | None = None
    deploy_error: str | None = None


@dataclass(frozen=True, slots=True)
class HostEvent:
    """An event EC2 scheduled on an instance: a retirement, a reboot, maintenance."""

    code: str  # instance-retirement, instance-stop, instance-reboot, system-reboot, ...
    description: str  # EC2 prefixes "[Completed]" or "[Canceled]" once it is over
    not_before: datetime | None
    not_after: datetime | None = None


@dataclass(frozen=True, slots=True)
class HostStatus:
    """EC2's status checks of one instance, each ok, impaired, initializing,
    insufficient-data or not-applicable; None where EC2 said nothing (a stopped instance,
    or no EBS check on an older instance type)."""

    instance_id: str
    state: str
    system: str | None
    instance: str | None
    ebs: str | None
    #: When each impaired check ("system", "instance", "ebs") started failing, if EC2 says.
    impaired_since: dict[str, datetime] = field(default_factory=dict)
    events: tuple[HostEvent, ...] = ()


@dataclass(frozen=True, slots=True)
class RegionFacts(Generic[T]):
    """What an AWS-backed source found for the region's instances, by instance id: one
    listing (sources/awsapi.Listing), or CloudWatch's figures."""

    items: dict[str, T]
    observed_at: datetime
    requests: int
    complete: bool = True  # False: more pages than the cap (an id not listed is unknown)


class HostFacts(RegionFacts[HostStatus]):
    """The host source's answer: EC2's status of every instance in the region."""


@dataclass(frozen=True, slots=True)
class Metrics:
    """One instance's CloudWatch figures over the last hours: what its card draws."""

    #: CPUUtilization (%), one average per 5 minutes, oldest first; None where CloudWatch
    #: has no figure for that step (the instance was stopped or just started).
    cpu: tuple[float | None, ...]
    #: The latest CPUCreditBalance; None: not a burstable type, or nothing published.
    credits: float | None = None
    #: The latest memory and root-disk use (%), from the CloudWatch agent; None: the
    #: instance does not publish them (never a guess).
    memory: float | None = None
    disk: float | None = None
    #: When CloudWatch was read (figures are kept between reads: sources/metrics.py).
    observed_at: datetime | None = None


class MetricsFacts(RegionFacts[Metrics]):
    """The metrics source's answer: the running instances' figures."""


@dataclass(frozen=True, slots=True)
class PriceFacts(RegionFacts[float]):
    """The prices source's answer: on-demand USD an hour by instance type (`items`), the
    public IPv4 charge, and where the prices come from."""

    ipv4_hourly: float = 0.005
    basis: str = ""  # "AWS Price List, read 2026-12-04 06:00 UTC", or the built-in table's date
    note: str | None = None  # why the Price List was not used; None when it was


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One error line a service logged: masked (text.mask), one line, capped."""

    at: datetime  # the event's own time
    text: str


@dataclass(frozen=True, slots=True)
class ServiceLines:
    """A service's last error lines, oldest first; the service is named by the log stream
    they came from (one of the environment's services or hosts, else the stream's name)."""

    service: str
    lines: tuple[LogEntry, ...]


@dataclass(frozen=True, slots=True)
class LogTail:
    """One environment's log group as the logs source last read it (it reads one group a
    pass and keeps the others' tails: sources/logs.py)."""

    group: str
    #: When the lines were read; None: never (its turn has not come yet).
    read_at: datetime | None
    services: tuple[ServiceLines, ...] = ()
    #: False: more lines matched than one read takes, so the newest may be missing.
    complete: bool = True
    #: Why the latest read of the group failed (its lines are then not shown); None: it
    #: was read.
    error: str | None = None
    tried_at: datetime | None = None  # the latest read, whether it failed or not


class LogFacts(RegionFacts[LogTail]):
    """The logs source's answer: every watched environment's tail, by environment name
    (one of them read this pass, the others as kept)."""


@dataclass(frozen=True, slots=True)
class BillingFacts(RegionFacts[float]):
    """The billing source's answer: what the account has cost this month so far, as Cost
    Explorer bills it (UnblendedCost), by the value of one cost allocation tag (`items`:
    value -> amount; "" is spend without the tag), read at `observed_at`; or why it could
    not be read (`error`: every environment's month figure is unknown, nothing else is)."""

    tag: str = "Name"  # the tag key grouped by
    unit: str = "USD"
    start: str = ""  # the month's first day (UTC), YYYY-MM-DD
    end: str = ""  # the day after the read (Cost Explorer's end is exclusive)
    estimated: bool = True  # Cost Explorer's figures for a month not yet closed are
    error: str | None = None  # why Cost Explorer was not read; None when it was


@dataclass(frozen=True, slots=True)
class AgentInfo:
    """One managed node's SSM agent, as Systems Manager last heard from it."""

    instance_id: str
    ping: str  # Online, ConnectionLost, Inactive
    last_ping: datetime | None
    version: str | None
    latest: bool | None  # IsLatestVersion; None when SSM did not say


class AgentFacts(RegionFacts[AgentInfo]):
    """The agent source's answer: the region's managed nodes' agents."""


@dataclass(frozen=True, slots=True)
class AccountFacts:
    """An address's balance and nonce at the newest block, or why they are not known."""

    address: str  # lower case, 0x-prefixed
    balance_wei: int | None
    nonce: int | None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class CallFacts:
    """The result of one read-only contract call (eth_call), or why there is none."""

    contract: str
    result: str | None  # the raw 0x-hex return data
    error: str | None = None  # "reverted: ...", "JSON-RPC error -32000: ...", "malformed: ..."


@dataclass(frozen=True, slots=True)
class ChainFacts:
    """Everything one JSON-RPC batch told: chain id, newest block, accounts, calls."""

    chain_id: int
    block_number: int | None
    block_time: datetime | None
    accounts: dict[str, AccountFacts]  # by lower-case address
    #: (registry, omni hex) -> operatorMasterWallet(omni); (entrypoint, paymaster) ->
    #: EntryPoint.balanceOf(paymaster), the paymaster's deposit.
    masters: dict[tuple[str, str], CallFacts]
    deposits: dict[tuple[str, str], CallFacts]
    requests: int  # HTTP round trips this pass: one, whatever the fleet size


@dataclass(frozen=True, slots=True)
class CiJob:
    """One job of a workflow run, with the names of its steps (the marker step's name
    `test-fleet slot N` says which slot the run holds)."""

    id: int
    name: str
    status: str  # queued, in_progress, completed, waiting, pending
    started_at: datetime | None
    steps: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CiRun:
    """A workflow run in flight (queued, in progress, waiting, pending)."""

    id: int
    number: int
    url: str  # html_url: the run's page
    workflow: str  # the workflow file's path, e.g. ".github/workflows/harness-ci.yml"
    status: str
    event: str  # pull_request, push, workflow_dispatch
    branch: str | None
    head_sha: str
    title: str  # display_title: the PR title for pull_request runs
    actor: str | None
    pr: int | None
    created_at: datetime | None
    started_at: datetime | None
    #: None when the jobs were not read (rate floor, or an error: see GithubFacts.notes).
    jobs: tuple[CiJob, ...] | None = None
    #: Messages of the `slot-claim` job's check-run annotations, when they were read.
    annotations: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class GithubFacts:
    runs: tuple[CiRun, ...]  # in flight, oldest first
    main_sha: str | None
    main_committed_at: datetime | None
    rate_remaining: int | None
    rate_limit: int | None
    rate_reset: datetime | None
    requests: int  # HTTP requests this pass made
    not_modified: int  # of which answered 304 from the kept ETags (free of rate limit)
    notes: tuple[str, ...] = ()  # what was skipped or could not be read, as sentences


# --------------------------------------------------------------------------- the board
# What a pass publishes. snapshot.py turns these into JSON, field by field in the order
# written here; the schema file is the contract, and a test holds the two together.
# How a field is written, when not as itself, is said on the field with `as_json(...)`.

#: The schedule period when fleet.toml names none; the page takes the period from the
#: snapshot (collector.period_s), never from a default of its own.
DEFAULT_PERIOD_S = 60


def as_json(
    *,
    key: str | None = None,
    digits: int | None = None,
    string: bool = False,
    omit: bool = False,
) -> Mapping[str, Any]:
    """Field metadata for the snapshot: `key` names it in the JSON (a dotted key nests it,
    `fleet.name`), `digits` rounds a float, `string` writes an int as a decimal string
    (money: JSON numbers lose precision past 2**53), `omit` leaves it out."""
    return {"json": {"key": key, "digits": digits, "string": string, "omit": omit}}


@dataclass(frozen=True, slots=True)
class Maintenance:
    """The maintenance window (fleet.toml [[maintenance]]) an environment or a check is in
    this pass: what it is for, and when this occurrence of it opened and closes."""

    reason: str
    starts: datetime
    ends: datetime


@dataclass(frozen=True, slots=True)
class CertSummary:
    not_after: datetime | None
    days_left: int | None
    issuer: str


@dataclass(frozen=True, slots=True)
class Check:
    """One observed fact with a verdict, e.g. the audit worker's /healthz."""

    id: str  # stable: "<kind>:<host><path>", e.g. "http:audit-test-2.litentry.org/healthz"
    name: str  # short label for people: "broker", "worker:audit", "readyz", "tls:audit"
    kind: CheckKind
    status: Status
    reason: str  # "" when green; else starts with a Reason value: "http 502", "timeout"
    summary: str  # one line: "HTTP 502 in 41 ms", "certificate expires in 5 days"
    source: str  # the source that observed it: "aws", "http", "tls", "rules"
    observed_at: datetime | None
    host: str | None = None
    latency_ms: float | None = field(default=None, metadata=as_json(digits=1))
    optional: bool = False  # an optional endpoint never makes its environment worse
    cert: CertSummary | None = None
    #: Since when it has had this status, as far as the board remembers (memory/): None
    #: until the pass's timeline is applied.
    since: datetime | None = None
    #: How many times it changed status in the last `thresholds.flap_passes` passes, when
    #: that is more than `flap_changes` (it is flapping); None when it is not.
    flapping: int | None = None
    #: The check-level maintenance window it is in (rules/maintenance.py): its status is
    #: still what was seen, but a red or amber one does not colour its environment.
    maintenance: Maintenance | None = None


@dataclass(frozen=True, slots=True)
class Drift:
    kind: DriftKind
    status: Status
    text: str


@dataclass(frozen=True, slots=True)
class Machine:
    instance_id: str | None
    state: str | None
    instance_type: str | None = field(metadata=as_json(key="type"))
    launched_at: datetime | None
    eip: str | None
    eip_tag: str
    eip_declared: str | None  # EIP= in the env file / fleet.toml, for the drift check


@dataclass(frozen=True, slots=True)
class Issue:
    status: Status
    env: str  # "fleet" for issues that belong to no single environment
    check: str
    text: str  # "<env> <check> <status>: <detail>"
    #: The part after the colon, kept so no reader parses `text` back (not in the snapshot).
    detail: str = field(metadata=as_json(omit=True))
    since: datetime | None = None  # since when it has stood at this status (memory/)

    @classmethod
    def of(cls, status: Status, env: str, check: str, detail: str) -> Issue:
        """The issue with its one-line text: `<env> <check> <status>: <detail>`."""
        return cls(status, env, check, f"{env} {check} {status.value}: {detail}", detail)


@dataclass(frozen=True, slots=True)
class RunView:
    """A run in flight as the board shows it, with the slot it holds or waits for."""

    run_id: int
    number: int
    url: str
    workflow: str
    status: str
    event: str
    pr: int | None
    title: str
    branch: str | None
    actor: str | None
    created_at: datetime | None
    started_at: datetime | None
    job: str | None  # the job running now
    slot: int | None
    mapped_by: SlotBasis | None  # COMPUTED is a guess: PR number % N + 1
    group: str | None  # the concurrency group the slot-claim annotation names


@dataclass(frozen=True, slots=True)
class SlotCi:
    """CI on one test slot: who holds it, and who waits."""

    #: Properties the snapshot writes too, before the fields.
    JSON_PROPERTIES: ClassVar[tuple[str, ...]] = ("holder",)

    holders: tuple[RunView, ...]  # runs in progress on it; more than one is an issue
    queued: tuple[RunView, ...]

    @property
    def holder(self) -> RunView | None:
        return self.holders[0] if self.holders else None


@dataclass(frozen=True, slots=True)
class DeployView:
    """The last CI deploy to an environment, and whether it is behind the main branch."""

    at: datetime | None
    run_id: int | None
    ref: str | None
    status: str | None
    stale: bool | None  # None: cannot tell, and `text` says why
    text: str


@dataclass(frozen=True, slots=True)
class CiSummary:
    """The fleet's CI line: runs in flight, the API budget, what could not be read."""

    configured: bool
    status: Status  # unknown when GitHub could not be read
    text: str
    in_progress: int
    queued: int
    rate_remaining: int | None
    rate_limit: int | None
    requests: int
    not_modified: int
    notes: tuple[str, ...]
    error: str | None
    runs: tuple[RunView, ...]
    main_sha: str | None


@dataclass(frozen=True, slots=True)
class WalletView:
    """One wallet, or the paymaster's deposit, against its funding floor."""

    role: str  # "deployer", "sponsor", "bundler", "paymaster deposit"
    address: str
    balance_wei: int | None = field(metadata=as_json(string=True))
    balance: str  # for people: "1.25 HEI"; "unknown" when not read
    floor_wei: int = field(metadata=as_json(string=True))
    nonce: int | None  # None for a deposit
    nonce_moved: bool | None  # since the previous snapshot; None when there is none to compare
    status: Status
    text: str
    url: str | None  # the address on the chain explorer
    #: Its runway (rules/runway.py), from the balance history the board keeps: the burn per
    #: day (None: not enough history; 0: not burning), the same in the token, the days
    #: until the floor at that rate (0 at or below it), and the sentence. All None when
    #: the balance was not read.
    burn_per_day_wei: int | None = field(default=None, metadata=as_json(string=True))
    burn_per_day: str | None = None  # exact, like `balance`: "0.1 HEI"
    days_left: float | None = field(default=None, metadata=as_json(digits=1))
    runway: str | None = None  # "burns 0.1 HEI/day: runs dry in about 6 days"


@dataclass(frozen=True, slots=True)
class ChainView:
    """An environment's chain identity: its wallets and its operator master registration."""

    status: Status
    omni: str | None
    registry: str | None
    master: str | None  # the master wallet's address when registered
    master_registered: bool | None  # None: not read (no registry configured, or an error)
    master_text: str
    wallets: tuple[WalletView, ...]
    network: str | None = None  # a [chain.networks] name; None: the [chain] network


@dataclass(frozen=True, slots=True)
class ChainSummary:
    """The fleet's chain line: the RPC answers, on the expected chain, with a fresh block."""

    status: Status
    text: str
    chain_id: int | None
    expected_chain_id: int
    block_number: int | None
    block_age_s: float | None = field(metadata=as_json(digits=1))
    requests: int
    error: str | None
    network: str | None = None  # a [chain.networks] name; None: the [chain] network
    name: str = "heima"  # the chain's name, for people


@dataclass(frozen=True, slots=True)
class Uptime:
    """How an environment spent one window ("24h", "7d", "30d", "90d"), in seconds.

    Unknown, parked and maintenance time are apart and never count as up or down; `gap`
    is time inside the window, since the board's memory began, that no pass accounted for
    (the collector was not running). `available` = (up + degraded) / (up + degraded +
    down); None when none of the window was rated."""

    window: str
    up_s: float = field(metadata=as_json(digits=0))
    degraded_s: float = field(metadata=as_json(digits=0))
    down_s: float = field(metadata=as_json(digits=0))
    unknown_s: float = field(metadata=as_json(digits=0))
    parked_s: float = field(metadata=as_json(digits=0))
    #: Time inside a maintenance window of the environment: neither up nor down.
    maintenance_s: float = field(metadata=as_json(digits=0))
    gap_s: float = field(metadata=as_json(digits=0))
    available: float | None = field(metadata=as_json(digits=5))


@dataclass(frozen=True, slots=True)
class Days:
    """An environment's last UTC days (at most 90), oldest first, for the history page's
    bars: whole seconds of each class of time (memory/uptime.py's CLASSES) in each day, one
    list per class, and `gap`, the time after the memory began that no pass accounted for.
    Each list has one entry per day from `first` to the snapshot's own day; a class no day
    has any of is left out, so a quiet environment's 90 days are one list."""

    first: datetime  # midnight UTC of the oldest day
    seconds: dict[str, tuple[int, ...]]


#: The issue a test slot running with nothing to do gets (rules/cost.py); its card shows it
#: beside the cost line, since it is about the bill, not a check.
IDLE_ISSUE = "idle"


@dataclass(frozen=True, slots=True)
class Cost:
    """What an environment's machine costs at list prices as it stands: its instance while
    running, and its Elastic IP's public IPv4 charge, running or not."""

    #: USD a day at this state; None when the instance type's price is not known.
    per_day: float | None = field(metadata=as_json(digits=2))
    instance_hourly: float | None  # None: stopped (no charge), or the price is not known
    ipv4_hourly: float  # 0 without an Elastic IP
    running_today_h: float = field(metadata=as_json(digits=1))  # since 00:00 UTC
    basis: str  # where the prices come from


@dataclass(frozen=True, slots=True)
class LogsView:
    """An environment's last error lines per service, as of the read that found them.
    Never a status: a line in a log says something happened, not that anything is down."""

    group: str  # the CloudWatch Logs group they are read from
    #: When the lines shown were read (one group is read a pass); None: unknown.
    as_of: datetime | None
    window_minutes: int  # how far back each read looks
    services: tuple[ServiceLines, ...]  # the services with lines, the latest line first
    complete: bool  # False: more lines matched than one read takes
    #: Why the tail is unknown (the latest read failed, or it has not been read yet);
    #: None when it is known.
    unknown: str | None
    tried_at: datetime | None  # the latest read, failed or not


@dataclass(frozen=True, slots=True)
class MonthCost:
    """What an environment has cost this month so far, as Cost Explorer bills it: the spend
    tagged with its values of the cost allocation tag. Information, never health: it
    colours nothing. Cost Explorer lags up to a day, so it is as of `read_at`, not now."""

    #: In `unit`, from the month's first day to the read; None when not known (`reason`).
    amount: float | None = field(metadata=as_json(digits=2))
    unit: str  # "USD"
    since: str  # the month's first day (UTC), YYYY-MM-DD
    read_at: datetime | None  # when Cost Explorer was read (or last tried)
    tag: str  # the tag key: "Name"
    #: The tag's values counted as this environment's (its EIP's and instance's names,
    #: or its own name), those Cost Explorer had spend for.
    values: tuple[str, ...]
    complete: bool  # False: more pages than were read, so it may be more
    reason: str | None = None  # why `amount` is not known; None when it is


@dataclass(frozen=True, slots=True)
class EnvironmentView:
    name: str
    kind: EnvKind
    slot: int | None
    lifecycle: Lifecycle
    status: Status
    broker_host: str
    machine: Machine
    checks: tuple[Check, ...]
    drift: tuple[Drift, ...]
    ci: SlotCi | None = None  # test slots only
    deploy: DeployView | None = None
    chain: ChainView | None = None  # environments with a [environments.X.chain] identity
    #: Everything of its own that needs a look (checks, certificates, drift, wallets and
    #: deposits, master registration, stale binary, its CI), red first: the one list its
    #: status, its card's counts and the summary's issues all come from. Not in the
    #: snapshot: the summary's issues carry them, each with its env.
    issues: tuple[Issue, ...] = field(default=(), metadata=as_json(omit=True))
    #: Since when it has shown its word (its status, or its lifecycle when grey).
    since: datetime | None = None
    #: Its uptime over 24 h, 7, 30 and 90 days (memory/uptime.py); empty until remembered.
    uptime: tuple[Uptime, ...] = ()
    #: The maintenance window it is in (rules/maintenance.py): shown as "maintenance" with
    #: the reason and the end; like a parked one, its checks do not make it or the fleet red.
    maintenance: Maintenance | None = None
    #: Its last 90 days by class of time (days.py), for the history page; None until
    #: remembered.
    days: Days | None = None
    #: Its machine's CloudWatch figures (sources/metrics.py), for the card's CPU line;
    #: None when they were not read.
    metrics: Metrics | None = None
    #: What its machine costs a day at list prices (rules/cost.py); None without prices.
    cost: Cost | None = None
    #: What it has cost this month so far, from Cost Explorer (rules/billing.py); None
    #: when [aws] cost_explorer is off.
    month_cost: MonthCost | None = None
    #: Its services' last error lines from CloudWatch Logs (rules/logs.py): information,
    #: never health. None without [logs].
    logs: LogsView | None = None


@dataclass(frozen=True, slots=True)
class Summary:
    status: Status
    message: str
    suggested_next_action: str
    issues: tuple[Issue, ...]
    counts: dict[str, int]  # environments by status, plus "stopped"/"retired"/"missing"
    #: The collector's own cause when it could not see (no credentials, no DNS, no route
    #: out): said at the top of the board; None when it could see.
    blind: str | None = None
    since: datetime | None = None  # since when the fleet has had this status (memory/)


@dataclass(frozen=True, slots=True)
class SourceRun:
    ok: bool
    duration_s: float = field(metadata=as_json(digits=3))
    error: str | None = None
    #: Requests the source sent this pass (pages and retries included), where its facts
    #: count them (AWS, GitHub, the chain); None for the probes and a failed source.
    requests: int | None = None


@dataclass(frozen=True, slots=True)
class CollectorInfo:
    version: str
    duration_s: float = field(metadata=as_json(digits=3))
    aws_requests: int = 0
    probes: int = 0
    sources: dict[str, SourceRun] = field(kw_only=True)
    #: The schedule period, so the page and its script call a board stale by the
    #: collector's own schedule.
    period_s: int = field(default=DEFAULT_PERIOD_S, kw_only=True)
    #: When the board's memory begins: every `since` is at or after it, and one equal to it
    #: means "at least since then". None before the timeline is applied.
    memory_from: datetime | None = field(default=None, kw_only=True)
    #: Why the memory began again at `memory_from` (its saved state was lost or
    #: unreadable), said on the page; None when it is whole.
    memory_reset: str | None = field(default=None, kw_only=True)
    #: Over how many passes a check's changes are counted for flapping (thresholds), so
    #: the page says "5 changes in 20 passes"; None when the pass did not say.
    flap_passes: int | None = field(default=None, kw_only=True)
    #: The alerting, for the footer: the last message sent and where, and any channel the
    #: last pass could not reach (alerts/saved.footer); None without [alerts] or before any.
    alerts: str | None = field(default=None, kw_only=True)


@dataclass(frozen=True, slots=True)
class Transition:
    """One change the board saw: an environment's word or a check's status."""

    at: datetime
    env: str
    check: str | None  # None: the environment itself
    #: The words the board showed: a status, or an environment's lifecycle while it is grey.
    before: str = field(metadata=as_json(key="from"))
    after: str = field(metadata=as_json(key="to"))
    reason: str  # what it is now, in a line: the check's summary or the top issue's text
    #: The changes this line stands for: a flapping check's changes are one line, from
    #: the first one's `from` to the last one's `to`.
    times: int = 1


@dataclass(frozen=True, slots=True)
class Board:
    """Everything one pass decided: the contents of a snapshot."""

    generated_at: datetime
    fleet: str = field(metadata=as_json(key="fleet.name"))
    zone: str = field(metadata=as_json(key="fleet.zone"))
    region: str = field(metadata=as_json(key="fleet.region"))
    collector: CollectorInfo
    summary: Summary
    environments: tuple[EnvironmentView, ...]
    #: Drift that belongs to no declared environment.
    fleet_drift: tuple[Drift, ...] = field(metadata=as_json(key="drift"))
    ci: CiSummary | None = None
    chain: ChainSummary | None = None
    chain_networks: tuple[ChainSummary, ...] = ()  # one line per [chain.networks] in use
    #: Changes of the last 24 hours, newest first (memory/).
    recent: tuple[Transition, ...] = ()
