"""What the fleet is meant to be: environments, their hosts, and how to probe them.

fleetboard.config builds an Inventory from fleet.toml; every source reads one. Host names
follow the fleet's suffix rule (docs/fleet.md#hosts) unless a host override names them. Each
settings type here owns its defaults; [deploy]'s (read by `cdk deploy`, not by a pass) are
here too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, time
from pathlib import Path

from fleetboard.chain import parse_amount
from fleetboard.model import EnvKind

#: Paths probed on every host, and the broker's extra ones.
HEALTH_PATH = "/healthz"
READY_PATH = "/readyz"
ISSUER_PATH = "/.well-known/openid-configuration"
BROKER_PATHS = (HEALTH_PATH, READY_PATH, ISSUER_PATH)


@dataclass(frozen=True, slots=True)
class Address:
    """Where to connect instead of resolving the host name (curl's --connect-to).

    The real host name is still used for SNI, the Host header and the certificate check.
    """

    host: str  # an IP address or a name to resolve in its place
    port: int = 443

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


@dataclass(frozen=True, slots=True)
class Host:
    """One public host name of an environment and what to ask it."""

    role: str  # "broker", "signer", "worker", "service"
    label: str  # check name: "broker", "signer", "worker:audit", "mcp"
    hostname: str
    paths: tuple[str, ...] = (HEALTH_PATH,)
    address: Address | None = None
    optional: bool = False
    skip: bool = False  # declared but deliberately not probed


#: The check of an environment's machine (its EC2 instance), by the name the board shows.
MACHINE_CHECK = "machine"


def http_check_name(host: Host, path: str) -> str:
    """The name the board shows for one probed path: `broker`, `broker:readyz`,
    `worker:audit`. Here, with the hosts, so a maintenance window can name a check in
    fleet.toml and `validate` can tell whether that check exists."""
    if path == HEALTH_PATH:
        return host.label
    return f"{host.label}:{'readyz' if path == READY_PATH else 'issuer'}"


def tls_check_name(host: Host) -> str:
    """The name of a host's certificate check: `tls:broker`, `tls:audit`."""
    return f"tls:{host.label.removeprefix('worker:')}"


@dataclass(frozen=True, slots=True)
class Environment:
    name: str
    kind: EnvKind
    slot: int | None
    suffix: str  # "", "-test", "-test-2", "-base": the fleet's naming suffix
    broker_host: str
    eip_tag: str
    expected_issuer: str
    hosts: tuple[Host, ...]
    instance_id: str | None = None
    eip: str | None = None  # as declared (env file), compared with the EIP found by tag
    retired: bool = False
    chain: ChainIdentity | None = None

    @property
    def broker(self) -> Host:
        return self.hosts[0]

    def check_names(self) -> tuple[str, ...]:
        """The names of the checks the board makes of it (a registered source's checks
        aside: those are named by the source): its machine, each probed path, each
        certificate."""
        probed = [h for h in self.hosts if not h.skip]
        paths = [http_check_name(h, p) for h in probed for p in h.paths]
        return (MACHINE_CHECK, *paths, *(tls_check_name(h) for h in probed))


@dataclass(frozen=True, slots=True)
class AwsSettings:
    region: str
    zone: str
    zone_id: str
    eip_tag_pattern: str
    endpoint_url: str | None = None
    connect_timeout_s: float = 3.0
    read_timeout_s: float = 5.0
    #: How often CloudWatch's figures are read (sources/metrics.py); kept between reads.
    #: 0: every pass. GetMetricData bills per metric asked for, so not every minute.
    metrics_every_s: int = 900
    #: Month-to-date cost per environment from Cost Explorer (sources/billing.py): off
    #: unless asked for, since every GetCostAndUsage request is billed ($0.01).
    cost_explorer: bool = False
    #: The cost allocation tag Cost Explorer groups by: `Name`, the tag the fleet names
    #: each environment's EIP (and instance) with; it must be activated in Billing.
    cost_tag: str = "Name"


@dataclass(frozen=True, slots=True)
class ProbeSettings:
    connect_timeout_s: float = 3.0
    read_timeout_s: float = 4.0
    retry_delay_s: float = 0.15
    concurrency: int = 200
    body_cap_bytes: int = 65536
    pass_deadline_s: float = 40.0
    ca_bundle: Path | None = None  # extra CAs to trust (the demo's); system CAs otherwise
    #: Processes probing at once (sources/workers.py): 1 probes in the collector's own
    #: process. More pays only with as many cores (a Lambda of 1,769 MB has two) and a fleet
    #: of WORKER_MIN_HOSTS hosts a worker or more; `concurrency` is shared among them.
    workers: int = 1


@dataclass(frozen=True, slots=True)
class Thresholds:
    tls_amber_days: int = 20
    tls_red_days: int = 7
    slow_ms: float = 2000.0  # a green answer slower than this is amber
    #: A check that changed status more than `flap_changes` times in its last
    #: `flap_passes` passes is flapping: marked with its count, its changes one line.
    flap_changes: int = 3
    flap_passes: int = 20
    #: A burstable instance with fewer CPU credits than this is amber: it is about to be
    #: held to its baseline (standard mode) or billed for surplus credits (unlimited).
    cpu_credits_floor: float = 10.0
    #: Memory and root-disk use (%) at or over which an instance is amber (where the
    #: CloudWatch agent publishes them).
    memory_pct: float = 90.0
    disk_pct: float = 85.0
    #: A test slot running this long with no CI run holding, waiting for or deploying to
    #: it is amber "idle", with what it costs a day (0: never).
    idle_hours: float = 6.0


@dataclass(frozen=True, slots=True)
class GithubSettings:
    """[github]: where CI runs and how to read it. The token is a secret: on a laptop it
    comes from the `token_env` variable, on Lambda from Secrets Manager."""

    repo: str  # "owner/name"
    workflows: tuple[str, ...]  # workflow file names; a renamed file is one more entry
    api_url: str = "https://api.github.com"
    token_env: str = "GITHUB_TOKEN"  # noqa: S105 - the variable's name, not a token
    main_branch: str = "main"
    rate_floor: int = 100  # below this many requests left, skip what is not essential
    queue_limit: int = 1  # more runs than this waiting for one slot is an issue
    slot_count: int | None = None  # AGENTKEYS_TEST_SLOT_COUNT; default: declared test slots
    timeout_s: float = 5.0


#: [chain]'s wallet floors when it names none, in whole tokens: the chain's decimals scale
#: them to wei (ChainSettings' own defaults are these at its default 18 decimals).
DEFAULT_DEPLOY_MIN = "1"
DEFAULT_PAYMASTER_MIN_DEPOSIT = "0.2"
_DECIMALS = 18


@dataclass(frozen=True, slots=True)
class ChainSettings:
    """[chain]: the EVM chain the fleet's wallets live on (docs/fleet.md#chain).

    The RPC URL is a secret (it may carry an API key): the `rpc_url` secret on Lambda, the
    `rpc_env` variable on a laptop; `rpc_url` here only for a public, keyless endpoint.
    Amounts are exact integers of the smallest unit (wei), never floats.
    """

    chain_id: int
    name: str = "heima"
    token: str = "HEI"  # noqa: S105 - the token symbol, not a credential
    decimals: int = _DECIMALS
    rpc_env: str = "FLEETBOARD_RPC_URL"
    rpc_url: str | None = None
    explorer_url: str | None = None  # e.g. "https://explorer.heima.network"
    #: deployer, sponsor and bundler wallets: red below this
    deploy_min_wei: int = parse_amount(DEFAULT_DEPLOY_MIN, _DECIMALS)
    #: EntryPoint.balanceOf(paymaster): red below this
    paymaster_min_deposit_wei: int = parse_amount(DEFAULT_PAYMASTER_MIN_DEPOSIT, _DECIMALS)
    timeout_s: float = 8.0
    max_block_age_s: int = 300  # a newest block older than this: the RPC node lags
    #: a wallet or deposit that runs dry (reaches its floor) sooner than this many days at
    #: its burn rate is amber (rules/runway.py); 0: never
    runway_days: int = 7


@dataclass(frozen=True, slots=True)
class ChainIdentity:
    """One environment's wallets and contracts; prod and test slots use different sets."""

    network: str | None = None  # a [chain.networks] name; None: the [chain] network
    deployer: str | None = None  # DEPLOYER_ADDR_<CHAIN> (or HEIMA_DEPLOYER_ADDR_<CHAIN>)
    registry: str | None = None  # SidecarRegistry: operatorMasterWallet(omni)
    entrypoint: str | None = None  # EntryPoint: balanceOf(paymaster) is the deposit
    paymaster: str | None = None  # empty on test slots: they run unsponsored
    sponsor: str | None = None  # BROKER_SPONSOR_SIGNER_ADDRESS_<CHAIN>
    bundler: str | None = None  # AGENTKEYS_BUNDLER_SIGNER_ADDRESS_<CHAIN>


#: Days a recurring maintenance window may name, Monday first (`date.weekday()`).
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@dataclass(frozen=True, slots=True)
class CheckSelector:
    """`test-2/worker:audit`: a check of one environment, by the name the board shows; a
    name ending in `*` takes every check whose name starts so (`test-2/broker*`)."""

    env: str
    name: str

    def matches(self, env: str, check: str) -> bool:
        if env != self.env:
            return False
        if self.name.endswith("*"):
            return check.startswith(self.name[:-1])
        return check == self.name

    def __str__(self) -> str:
        return f"{self.env}/{self.name}"


@dataclass(frozen=True, slots=True)
class OneOff:
    """A window from `start` to `end` (UTC), once."""

    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class Recurring:
    """A window every day, or every week on one day, at a wall-clock time in a time zone
    (so it follows that zone's clock changes), lasting `minutes` real minutes."""

    every: str  # "day" or one of WEEKDAYS
    at: time  # wall-clock time in `timezone`
    minutes: int
    timezone: str  # an IANA name, read with zoneinfo ("Europe/Berlin", "UTC")


@dataclass(frozen=True, slots=True)
class MaintenanceWindow:
    """[[maintenance]]: while it is open, its environments show "maintenance" (their
    checks still show what they saw, but do not colour them or the fleet), its checks do
    not colour their environment, and the time is counted as maintenance, not up or down
    (rules/maintenance.py)."""

    reason: str
    when: OneOff | Recurring
    environments: tuple[str, ...] = ()
    checks: tuple[CheckSelector, ...] = ()


#: What [logs] stands for in a group name: the environment's name.
LOG_GROUP_ENV = "{env}"
#: CloudWatch Logs' filter syntax: a line with any of these terms (`?` is "or").
DEFAULT_LOG_FILTER = "?ERROR ?Error ?error ?FATAL ?panic ?Traceback"


@dataclass(frozen=True, slots=True)
class LogSettings:
    """[logs]: each environment's service logs in CloudWatch Logs, a log group per
    environment, from which its card shows the last error lines per service
    (sources/logs.py). Information, never health: no check depends on them."""

    #: The group of an environment: `{env}` is its name ("/fleet/{env}").
    group: str = "/fleet/" + LOG_GROUP_ENV
    #: Which lines are error lines, in CloudWatch Logs' filter pattern syntax.
    filter: str = DEFAULT_LOG_FILTER
    lines: int = 3  # the last lines kept and shown per service
    window_minutes: int = 60  # how far back a read looks
    #: The most events one read takes (FilterLogEvents' `limit`): one page, bounded.
    max_events: int = 500
    #: Each environment's group by name, `group` filled in or its own `log_group`.
    groups: dict[str, str] = field(default_factory=dict)

    def group_of(self, env: str) -> str:
        return self.groups.get(env) or self.group.replace(LOG_GROUP_ENV, env)


#: The kinds of alert channel: the stack's SNS topic (e-mail subscriptions), an incoming
#: webhook that takes Slack's JSON, and one that takes the generic JSON
#: (schema/alert.schema.json).
CHANNEL_KINDS = ("sns", "slack", "webhook")
#: The levels an alert can be raised at, worst first.
ALERT_LEVELS = ("red", "amber")


@dataclass(frozen=True, slots=True)
class AlertChannel:
    """[[alerts.channels]]: one place messages go, limited to some environments and levels.

    A webhook's URL is a secret, never in fleet.toml: on Lambda the key `name` of the
    stack's webhook secret (a JSON object of name -> URL), on a laptop the environment
    variable `url_env`."""

    name: str  # "oncall-slack": how the page, the log and `alerts test` name it
    kind: str  # one of CHANNEL_KINDS
    url_env: str | None = None  # slack, webhook: the variable holding the URL on a laptop
    environments: tuple[str, ...] = ()  # empty: every environment (and the fleet's own)
    levels: tuple[str, ...] = ALERT_LEVELS  # the levels it hears; recoveries follow them

    def hears(self, env: str, level: str) -> bool:
        """Whether an alert about `env` at `level` goes to this channel."""
        return (not self.environments or env in self.environments) and level in self.levels


@dataclass(frozen=True, slots=True)
class Hold:
    """[alerts.levels.<level>] or [alerts.environments.<name>]: how many passes a failure
    (or a recovery) must hold before it is said, for one level or one environment, where
    it is not [alerts]' own (prod may page after one pass; amber may wait for five)."""

    fail_passes: int | None = None
    recover_passes: int | None = None


@dataclass(frozen=True, slots=True)
class AlertSettings:
    """[alerts]: when the board sends a message, and where (alerts/decide.py)."""

    channels: tuple[AlertChannel, ...]
    amber: bool = False  # alert when an environment goes amber, not only red
    fail_passes: int = 2  # a failure must hold this many passes before it alerts
    recover_passes: int = 2  # and a recovery this many before it is said
    #: By level ("red", "amber") and by environment: their own holds, the environment's
    #: before the level's before [alerts]' own.
    levels: dict[str, Hold] = field(default_factory=dict)
    environments: dict[str, Hold] = field(default_factory=dict)
    remind_minutes: int = 60  # while it stays red, again this often; 0: never
    digest_over: int = 5  # more alerts than this due in one pass: one message lists them
    forecasts: bool = True  # a wallet running dry, a certificate near its line: once a day
    board_url: str | None = None  # the board's address, for links ("https://board.example")

    def passes(self, env: str, level: str) -> tuple[int, int]:
        """(fail_passes, recover_passes) for `env` at `level`: its environment's hold, else
        its level's, else [alerts]' own, each number on its own."""
        own, at = self.environments.get(env, Hold()), self.levels.get(level, Hold())
        fail = own.fail_passes or at.fail_passes or self.fail_passes
        recover = own.recover_passes or at.recover_passes or self.recover_passes
        return fail, recover

    def longest(self) -> int:
        """The most passes any hold waits: how far a watch needs to count."""
        holds = [*self.levels.values(), *self.environments.values()]
        found = [h.fail_passes or 0 for h in holds] + [h.recover_passes or 0 for h in holds]
        return max(self.fail_passes, self.recover_passes, *found)


@dataclass(frozen=True, slots=True)
class Inventory:
    source: str  # the config file it came from, for messages
    fleet: str
    aws: AwsSettings
    probe: ProbeSettings
    thresholds: Thresholds
    environments: tuple[Environment, ...]
    bucket_pattern: str
    github: GithubSettings | None = None  # no [github]: the CI part says "not configured"
    chain: ChainSettings | None = None  # no [chain]: the chain part says "not configured"
    #: [chain.networks.<name>]: other chains some environments' wallets live on.
    chain_networks: dict[str, ChainSettings] = field(default_factory=dict)
    #: [[maintenance]]: windows in which environments or checks are worked on.
    maintenance: tuple[MaintenanceWindow, ...] = ()
    #: [alerts]: None, no messages (the board is still published).
    alerts: AlertSettings | None = None
    #: [logs]: None, no log tails (the default: nothing is read).
    logs: LogSettings | None = None

    def chain_settings(self, network: str | None) -> ChainSettings | None:
        """The settings of a network by name; None (or the [chain] name) is [chain]'s."""
        if network is None or self.chain is None:
            return self.chain
        return self.chain_networks.get(network)

    def test_slots(self) -> int:
        """How many test slots CI spreads over: [github] slot_count, or the declared ones."""
        if self.github is not None and self.github.slot_count is not None:
            return self.github.slot_count
        return sum(1 for e in self.environments if e.slot is not None and not e.retired)

    def environment(self, name: str) -> Environment:
        for env in self.environments:
            if env.name == name:
                return env
        raise KeyError(name)

    def hosts(self) -> list[tuple[Environment, Host]]:
        """Every probed host of every environment not retired, in inventory order."""
        return [(env, h) for env in self.environments if not env.retired for h in env.hosts]


#: The Cognito group whose members see the board, unless [deploy.auth] group names another.
DEFAULT_AUTH_GROUP = "fleetboard-viewers"


@dataclass(frozen=True, slots=True)
class AuthSettings:
    """[deploy.auth]: sign-in in front of the board (docs/decisions/0009).

    Stage 1 sets `domain_prefix` (the pool, its group, hosted UI and app client are built);
    stage 2 adds the pool's and client's ids from the fleetboard-auth stack's outputs, and
    the edge function that checks every request is built with them.
    """

    domain_prefix: str  # <prefix>.auth.<region>.amazoncognito.com
    group: str = DEFAULT_AUTH_GROUP
    callback_host: str | None = None  # default: domain_name, and the *.cloudfront.net host
    user_pool_id: str | None = None  # stage 2, with client_id
    client_id: str | None = None

    @property
    def ready(self) -> bool:
        """Both ids are known: the edge function can be built (stage 2)."""
        return bool(self.user_pool_id and self.client_id)


@dataclass(frozen=True, slots=True)
class DeploySettings:
    """[deploy]: how `cdk deploy` builds the scheduled board. Not read by a pass."""

    alarm_email: str | None = None
    memory_mb: int = 512
    shards: int = 1  # >1: a Step Functions pass of this many collector shards and a merge
    log_retention_days: int = 30
    history_days: int = 30  # history/ objects expire after this many days
    domain_name: str | None = None
    certificate_arn: str | None = None  # ACM, us-east-1; with domain_name
    tracing: bool = False  # X-Ray: off, so the collector's role writes nothing but its logs
    auth: AuthSettings | None = None  # none: the board answers every request with 403


# --------------------------------------------------------------------------- naming rules

_BROKER_LABEL = re.compile(r"^(?:(?P<pre>[a-z0-9-]+)-broker|broker(?P<post>-[a-z0-9-]+)?)$")


def suffix_from_broker(broker_host: str) -> str | None:
    """The fleet's host suffix from the broker's first DNS label, or None if it has no rule.

    >>> [suffix_from_broker(h) for h in ("broker.x.org", "test-broker.x.org",
    ...                                   "broker-test-2.x.org", "broker-base.x.org")]
    ['', '-test', '-test-2', '-base']
    """
    first = broker_host.split(".", 1)[0].lower()
    m = _BROKER_LABEL.match(first)
    if m is None:
        return None
    if m.group("pre"):
        return "-" + m.group("pre")
    return m.group("post") or ""


def service_host(service: str, suffix: str, zone: str) -> str:
    """`https://{worker}{suffix}.{zone}`, byte-identical with the fleet's worker-url.sh."""
    return f"{service}{suffix}.{zone}"


def eip_tag_for(base: str, suffix: str) -> str:
    """EIP Name tag of an environment: `agentkeys-broker-eip` + `-test-2`."""
    return f"{base}{suffix}"
