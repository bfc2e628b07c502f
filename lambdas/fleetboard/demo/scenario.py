"""The demo fleet: prod and four test slots shaped like the real one, showing every status.

One description drives both simulated parts (the moto world and the HTTPS hosts) and the
fleet.toml the demo collects with, so the three can never disagree. Bodies are shaped as in
docs/fleet.md#health; what goes wrong, and where, is listed in `DEMO_STORY` for the README.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from fleetboard.demo.aws_extras import Agent, Event, Host
from fleetboard.demo.aws_world import EnvSpec, Load, World, WorldSpec, deploy_comment
from fleetboard.demo.github import demo_run_id
from fleetboard.demo.hosts import CertKind, Reply, SimHost, json_reply, text_reply
from fleetboard.inventory import Address, service_host

ZONE = "litentry.org"
ACCOUNT = "429071895007"
SERVICES = ("signer", "mcp")
WORKERS = ("audit", "email", "cred", "memory", "config", "classify", "channel", "weixin")
OPTIONAL = ("mcp", "weixin")
BUCKET_OF = {"cred": "vault", "memory": "memory", "config": "config", "channel": "channel"}

#: What the demo shows, in the words an operator would use. The README quotes it.
DEMO_STORY = (
    "prod: every service green, but its paymaster deposit is below the floor (red with the "
    "chain: an environment's status includes its wallets)",
    "test (slot 1): broker /readyz degraded (test slots run unsponsored), so amber; its "
    "optional weixin-test host has no A record (grey, not red); its env file's EIP is stale",
    "test-2: audit-test-2 answers 502 (red); email-test-2's certificate expires in 5 days; "
    "cred-test-2's A record points at prod's EIP; the broker's issuer names slot 1; "
    "memory-test-2 reports slot 1's bucket",
    "test-3: instance stopped by the idle stop (grey, not probed)",
    "prod: EC2 scheduled its instance's retirement for next week (amber, with the date and "
    "what to do before it)",
    "test (slot 1): its SSM agent lost its connection 7 hours ago, so CI cannot deploy to it "
    "(red: a test slot exists to be deployed to)",
    "test-2: its instance status check fails (red: the OS does not answer EC2), and a runaway "
    "process spent its CPU credits (amber: throttled to its baseline)",
    "test-4: healthy, but started 9 hours ago with no CI run holding or waiting for it "
    "since: amber idle, with what it costs a day and the command that stops it",
    "an EIP tagged agentkeys-broker-eip-test-5 that fleet.toml does not declare",
    # What the board remembers (demo/past.py replays it through the real rules at start).
    "history: 90 days, replayed when the demo starts, so the first board already remembers",
    "last week (6 days ago, 14:00-19:30 UTC) audit-test-2 answered 502 for 5 h 30 min: "
    "test-2 red, and its uptime shows it",
    "4 days ago the collector stopped after its 01:00 UTC pass and ran again at 07:00: the "
    "time no pass covers (4 h 30 min: a pass covers the next 3 periods) is a gap, never green",
    "3 hours ago test-2 was redeployed from slot 1's config: its cross-wiring, its 502 and "
    "its deployer's drop below the floor (1.6 HEI to 0.4) date from then",
    "from 50 to 8 minutes before the start, slot 1's classify worker flapped (503 every other "
    "2 minutes): the first board marks it flapping",
    "slot 1's deployer pays 0.25 HEI a day for CI, topped up by 2 HEI every 8 days: its "
    "runway says it runs dry in about 6 days; prod's paymaster deposit sank 0.02 HEI a day "
    "and crossed its floor 2.5 days ago",
    "while the board is served: a couple of passes in, prod's email worker answers 502 for "
    "about 3 minutes, then recovers, so since-times and recent changes move as you watch",
    "alerts: a webhook receiver on 127.0.0.1 prints every message; the first serving pass "
    "tops up prod's deposit, so its incident pages once and recovers once",
)


@dataclass(frozen=True, slots=True)
class DemoEnv:
    name: str
    broker_host: str
    suffix: str
    stopped: bool = False
    #: label ("broker", "audit", ...) -> path -> reply, replacing the healthy answer
    faults: Mapping[str, Mapping[str, Reply]] = field(default_factory=dict)
    expiring: tuple[str, ...] = ()  # services whose certificate is 5 days from expiry
    unresolved: tuple[str, ...] = ()  # services with no A record and no address override
    records_to: Mapping[str, str] = field(default_factory=dict)  # service -> other env's EIP
    hostnames: Mapping[str, str] = field(default_factory=dict)  # known naming exceptions
    eip_in_file: str | None = None  # a stale EIP= in the env file
    deploys: tuple[str, ...] = ()  # SSM command comments, oldest first (the deploy trail)
    #: The machine as EC2 and SSM see it: its status checks, a retirement EC2 scheduled
    #: (days from the start), and its SSM agent's ping.
    instance_check: str = "ok"
    retire_in_days: int | None = None
    agent: str = "Online"
    #: Hours before the start EC2 says its instance was started; None: when the demo made it.
    launched_hours_ago: float | None = None
    #: Its CloudWatch figures: CPU around this, credits (t3: burstable), memory and disk
    #: where the CloudWatch agent publishes them.
    load: Load = field(default_factory=lambda: Load(cpu=9.0, credits=576.0))

    def host(self, now: datetime) -> Host:
        """What EC2's status checks and SSM say of its instance at `now`."""
        events: tuple[Event, ...] = ()
        if self.retire_in_days is not None:
            at = (now + timedelta(days=self.retire_in_days)).replace(
                hour=9, minute=0, second=0, microsecond=0
            )
            events = (Event("instance-retirement", at, not_after=at + timedelta(hours=2)),)
        last_ping = None if self.agent == "Online" else now - timedelta(hours=7, minutes=12)
        return Host(
            instance=self.instance_check,
            ebs="ok",
            events=events,
            agent=Agent(self.agent, last_ping),
            launched=None
            if self.launched_hours_ago is None
            else now - timedelta(hours=self.launched_hours_ago),
        )

    def hostname(self, service: str) -> str:
        if service == "broker":
            return self.broker_host
        return self.hostnames.get(service) or service_host(service, self.suffix, ZONE)


def readyz(status: str, degraded: list[dict[str, str]] | None = None) -> Reply:
    checks = [{"name": "tier1/db", "status": "ok", "docs": "docs/ops/broker.md#db"}]
    checks += degraded or []
    code = 503 if status == "unready" else 200
    body = {
        "status": status,
        "degraded": status == "degraded",
        "checks": checks,
        "ready": ["tier1/db", "tier2/ses"],
    }
    return json_reply(body, code)


DEMO_ENVS = (
    # Deployed main after its last commit (47 minutes ago in the demo's GitHub): current.
    DemoEnv(
        "prod",
        "broker.litentry.org",
        "",
        launched_hours_ago=24 * 41,  # up since its last retirement move
        deploys=(deploy_comment(demo_run_id(300), "main"),),
        retire_in_days=7,  # EC2 retires its hardware next week
        # The only one with the CloudWatch agent: its memory and disk are published.
        load=Load(cpu=31.0, credits=412.0, memory=63.0, disk=71.0),
    ),
    DemoEnv(
        "test",
        "test-broker.litentry.org",
        "-test",
        launched_hours_ago=24 * 6,  # started for the week
        faults={
            "broker": {
                "/readyz": readyz(
                    "degraded",
                    [
                        {
                            "name": "tier2/paymaster",
                            "status": "degraded",
                            "reason": "PAYMASTER_ADDRESS_HEIMA is empty: unsponsored",
                        }
                    ],
                )
            }
        },
        unresolved=("weixin",),
        hostnames={"mcp": "test-mcp.litentry.org"},  # slot 1's grandfathered prefix style
        eip_in_file="3.214.219.209",
        agent="ConnectionLost",  # CI cannot deploy to it until the agent is back
        # A branch name only: whether it is behind main cannot be told, and says so.
        deploys=(
            deploy_comment(demo_run_id(299), "main"),
            deploy_comment(demo_run_id(362), "fix/oidc-issuer"),
        ),
    ),
    DemoEnv(
        "test-2",
        "broker-test-2.litentry.org",
        "-test-2",
        launched_hours_ago=24 * 2,  # started two days ago (redeployed since)
        faults={
            "audit": {"/healthz": text_reply("<html><center>502 Bad Gateway</center></html>", 502)},
            "broker": {
                "/.well-known/openid-configuration": json_reply(
                    {
                        "issuer": "https://test-broker.litentry.org",
                        "jwks_uri": "https://test-broker.litentry.org/.well-known/jwks.json",
                    }
                )
            },
            "memory": {
                "/healthz": json_reply(
                    {
                        "ok": True,
                        "memory_bucket": f"agentkeys-memory-test-{ACCOUNT}",
                        "chain_profile": "heima",
                        "version": "0.1.0",
                    }
                )
            },
        },
        expiring=("email",),
        records_to={"cred": "prod"},
        instance_check="impaired",  # the OS stopped answering EC2's reachability check
        # A runaway process spent its CPU credits: held to its baseline.
        load=Load(cpu=96.0, credits=1.5),
        # A sha that is not main's head: a stale binary.
        deploys=(deploy_comment(demo_run_id(201), "0f3c2a9b1d7e"),),
    ),
    DemoEnv(
        "test-3",
        "broker-test-3.litentry.org",
        "-test-3",
        stopped=True,
        launched_hours_ago=24 * 10,  # stopped by the idle stop since; LaunchTime stays
    ),
    # Healthy, started 9 hours ago and never deployed to since, and no CI run holds or waits
    # for it: idle, costing its instance and its public IPv4 by the hour.
    DemoEnv("test-4", "broker-test-4.litentry.org", "-test-4", launched_hours_ago=9.25),
)

UNDECLARED_TAGS = ("agentkeys-broker-eip-test-5",)


def eip_tag(env: DemoEnv) -> str:
    return f"agentkeys-broker-eip{env.suffix}"


def healthy_routes(env: DemoEnv, service: str) -> dict[str, Reply]:
    """What one of `env`'s hosts answers on each path when nothing is wrong with it."""
    if service == "broker":
        issuer = f"https://{env.broker_host}"
        return {
            "/healthz": text_reply("ok"),
            "/readyz": readyz("ready"),
            "/.well-known/openid-configuration": json_reply(
                {"issuer": issuer, "jwks_uri": f"{issuer}/.well-known/jwks.json"}
            ),
        }
    if service in BUCKET_OF:
        kind = BUCKET_OF[service]
        body: dict[str, object] = {
            "ok": True,
            f"{kind}_bucket": f"agentkeys-{kind}{env.suffix}-{ACCOUNT}",
            "chain_profile": "heima",
            "version": "0.1.0",
        }
        if service == "channel":
            body["max_poll_seconds"] = 25
        return {"/healthz": json_reply(body)}
    if service == "classify":
        return {
            "/healthz": json_reply(
                {"ok": True, "catalog_version": 7, "chain_profile": "heima", "version": "0.1.0"}
            )
        }
    if service == "weixin":
        return {
            "/healthz": json_reply(
                {
                    "ok": True,
                    "transport": "ilink",
                    "bound_contacts": 3,
                    "outbound_enabled": True,
                    "version": "0.1.0",
                }
            )
        }
    if service == "mcp":
        return {"/healthz": json_reply({"ok": True, "name": "agentkeys-mcp-server"})}
    return {"/healthz": text_reply("ok")}


def services_of(env: DemoEnv) -> tuple[str, ...]:
    return ("broker", *SERVICES, *WORKERS)


def sim_hosts(now: datetime, envs: tuple[DemoEnv, ...] = DEMO_ENVS) -> list[SimHost]:
    """Every host the demo serves over HTTPS (a stopped slot serves nothing)."""
    hosts = []
    for env in envs:
        if env.stopped:
            continue
        for service in services_of(env):
            if service in env.unresolved:
                continue
            routes = {**healthy_routes(env, service), **env.faults.get(service, {})}
            not_after = now + timedelta(days=5, hours=6) if service in env.expiring else None
            hosts.append(SimHost(env.hostname(service), routes, CertKind.VALID, not_after))
    return hosts


def world_spec(now: datetime, envs: tuple[DemoEnv, ...] = DEMO_ENVS) -> WorldSpec:
    """The AWS side: instances, tagged EIPs, and an A record for every resolvable host."""
    specs = []
    for env in envs:
        names = tuple(env.hostname(s) for s in services_of(env) if s not in env.unresolved)
        records_to = {env.hostname(s): other for s, other in env.records_to.items()}
        specs.append(
            EnvSpec(
                env.name,
                eip_tag(env),
                hosts=names,
                stopped=env.stopped,
                instance_name=f"agentkeys-broker{env.suffix}",
                records_to=records_to,
                deploys=env.deploys,
                host=env.host(now),
                load=env.load,
            )
        )
    return WorldSpec(environments=tuple(specs), zone=ZONE, extra_eip_tags=UNDECLARED_TAGS)


def fleet_toml(
    world: World,
    address: Address,
    ca_file: str,
    github_url: str,
    envs: tuple[DemoEnv, ...] = DEMO_ENVS,
) -> str:
    """The fleet.toml the demo collects with: a real config, as an operator would write it."""
    q = '"{}"'.format
    lines = [
        "# fleet.toml written by `fleetboard demo` for its simulated fleet.",
        "# AWS is a moto server and every host a real HTTPS server on 127.0.0.1.",
        "",
        "[fleet]",
        'name = "agentkeys (demo)"',
        f"zone = {q(world.zone)}",
        f"zone_id = {q(world.zone_id)}",
        f"region = {q(world.region)}",
        'eip_tag_pattern = "agentkeys-broker-eip*"',
        f"services = [{', '.join(map(q, SERVICES))}]",
        f"workers = [{', '.join(map(q, WORKERS))}]",
        f"optional = [{', '.join(map(q, OPTIONAL))}]",
        "period_s = 60",
        "",
        "[aws]",
        f"endpoint_url = {q(world.endpoint_url)}",
        "",
        "[github]",
        'repo = "litentry/agentKeys"',
        'workflows = ["harness-ci.yml", "e2e-ci.yml"]  # renamed in July: both are read',
        f"api_url = {q(github_url)}  # the demo's own GitHub API server",
        'token_env = "FLEETBOARD_DEMO_GITHUB_TOKEN"  # never your real GITHUB_TOKEN',
        "slot_count = 4  # AGENTKEYS_TEST_SLOT_COUNT",
        "",
        "[probe]",
        f"ca_bundle = {q(ca_file)}  # the demo's own CA; production trusts the system CAs",
        "connect_timeout_s = 2",
        "read_timeout_s = 3",
        "pass_deadline_s = 20",
    ]
    for env in envs:
        created = world.environments[env.name]
        lines += ["", f"[environments.{env.name}]", f"broker_host = {q(env.broker_host)}"]
        if created.instance_id:
            lines.append(f"instance_id = {q(created.instance_id)}")
        eip = env.eip_in_file or created.eip
        if eip:
            note = "  # stale: the env file was not updated" if env.eip_in_file else ""
            lines.append(f"eip = {q(eip)}{note}")
        for service, hostname in env.hostnames.items():
            lines.append(f"hosts.{service}.hostname = {q(hostname)}")
        if not env.stopped:
            lines.append(
                "# Every host answers on one loopback port, like nginx vhosts behind an EIP:"
            )
            lines.append("# the probe connects there and still sends the real name (SNI, Host).")
            for service in services_of(env):
                if service in env.unresolved:
                    lines.append(f"# {env.hostname(service)}: no override and no A record.")
                    continue
                lines.append(f"hosts.{service}.address = {q(str(address))}")
    return "\n".join(lines) + "\n"
