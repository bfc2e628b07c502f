"""The status rules as tables: observations in, statuses, issues and the next action out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from fleetboard import config, rules
from fleetboard.inventory import HEALTH_PATH, ISSUER_PATH, READY_PATH, Inventory
from fleetboard.model import (
    AddressFacts,
    AwsFacts,
    CertFacts,
    CollectorInfo,
    HttpExchange,
    HttpFacts,
    InstanceFacts,
    Lifecycle,
    ProbeError,
    Reason,
    SourceFailure,
    Status,
    TlsFacts,
)

NOW = datetime(2026, 11, 23, 8, 0, 3, tzinfo=UTC)
SLOW_MS = 2000.0


def ex(
    code: int | None = 200,
    body: str = "ok",
    *,
    path: str = HEALTH_PATH,
    host: str = "audit-test-2.litentry.org",
    ms: float = 12.0,
    error: ProbeError | None = None,
    truncated: bool = False,
) -> HttpExchange:
    return HttpExchange(
        host=host,
        path=path,
        observed_at=NOW,
        attempts=1,
        status_code=None if error else code,
        body=body,
        body_truncated=truncated,
        latency_ms=None if error else ms,
        error=error,
    )


# --------------------------------------------------------------------------- /healthz

HEALTH_CASES = [
    ("plain ok text", ex(body="ok\n"), Status.GREEN, ""),
    ("ok text in other case", ex(body="OK"), Status.GREEN, ""),
    ("json ok true", ex(body='{"ok":true,"vault_bucket":"b","version":"0.1.0"}'), Status.GREEN, ""),
    ("json ok false", ex(body='{"ok": false}'), Status.RED, "body"),
    ("json without ok", ex(body='{"status":"fine"}'), Status.RED, "body"),
    ("text that is not ok", ex(body="<html>maintenance</html>"), Status.RED, "body"),
    ("empty body", ex(body=""), Status.RED, "body"),
    (
        "bundler not ready is amber",
        ex(body='{"ok":true,"ready":false,"missing":["x"]}'),
        Status.AMBER,
        "body",
    ),
    ("bundler ready", ex(body='{"ok":true,"ready":true}'), Status.GREEN, ""),
    ("502 from nginx", ex(502, "Bad Gateway"), Status.RED, "http 502"),
    ("503 before a cert exists", ex(503, "TLS cert not yet issued"), Status.RED, "http 503"),
    ("a body over the cap", ex(body='{"ok":true' + "x" * 100, truncated=True), Status.RED, "body"),
    ("slow but ok", ex(ms=2500), Status.AMBER, "slow"),
    ("timeout", ex(error=ProbeError(Reason.TIMEOUT, "no answer in 4.0 s")), Status.RED, "timeout"),
    ("refused", ex(error=ProbeError(Reason.CONNECT, "connection refused")), Status.RED, "connect"),
    ("nxdomain", ex(error=ProbeError(Reason.DNS, "NXDOMAIN")), Status.RED, "dns"),
    (
        "bad certificate",
        ex(error=ProbeError(Reason.TLS, "certificate has expired")),
        Status.RED,
        "tls",
    ),
    (
        "pass deadline",
        ex(error=ProbeError(Reason.DEADLINE, "pass deadline")),
        Status.UNKNOWN,
        "deadline",
    ),
]


@pytest.mark.parametrize(
    ("exchange", "status", "reason"),
    [c[1:] for c in HEALTH_CASES],
    ids=[c[0] for c in HEALTH_CASES],
)
def test_health_answers_get_the_status_an_operator_expects(
    exchange: HttpExchange, status: Status, reason: str
) -> None:
    got_status, got_reason, summary = rules.classify_health(exchange, SLOW_MS)
    assert got_status is status
    assert got_reason.startswith(reason)
    assert summary


def test_a_502_summary_says_the_code_and_the_time() -> None:
    assert rules.classify_health(ex(502, ms=41), SLOW_MS) == (
        Status.RED,
        "http 502",
        "HTTP 502 in 41 ms",
    )


READYZ = '{{"status":"{s}","degraded":{d},"checks":[{{"name":"tier2/paymaster","status":"{c}","reason":"unsponsored"}}],"ready":["tier2/ses"]}}'

READYZ_CASES = [
    ("ready", ex(body=READYZ.format(s="ready", d="false", c="ok"), path=READY_PATH), Status.GREEN),
    (
        "degraded is amber, not red",
        ex(body=READYZ.format(s="degraded", d="true", c="degraded"), path=READY_PATH),
        Status.AMBER,
    ),
    (
        "unready 503 is red",
        ex(503, READYZ.format(s="unready", d="false", c="fail"), path=READY_PATH),
        Status.RED,
    ),
    ("no readyz on an old build", ex(404, "not found", path=READY_PATH), Status.AMBER),
    ("garbage", ex(body="ok", path=READY_PATH), Status.RED),
    ("a 502", ex(502, "", path=READY_PATH), Status.RED),
]


@pytest.mark.parametrize(
    ("exchange", "status"), [c[1:] for c in READYZ_CASES], ids=[c[0] for c in READYZ_CASES]
)
def test_broker_readiness(exchange: HttpExchange, status: Status) -> None:
    assert rules.classify_readyz(exchange, SLOW_MS)[0] is status


def test_degraded_readyz_names_the_failing_check() -> None:
    exchange = ex(body=READYZ.format(s="degraded", d="true", c="degraded"), path=READY_PATH)
    assert rules.classify_readyz(exchange, SLOW_MS)[2] == "degraded: tier2/paymaster"


# --------------------------------------------------------------------------- certificates

CERT_CASES = [
    ("90 days left", 90, True, Status.GREEN),
    ("21 days left", 21, True, Status.GREEN),
    ("20 days left is amber", 20, True, Status.AMBER),
    ("8 days left", 8, True, Status.AMBER),
    ("7 days left is red", 7, True, Status.RED),
    ("5 days left", 5, True, Status.RED),
    ("expired", -1, True, Status.RED),
    ("does not verify", 60, False, Status.RED),
]


@pytest.mark.parametrize(
    ("days", "verified", "status"), [c[1:] for c in CERT_CASES], ids=[c[0] for c in CERT_CASES]
)
def test_certificate_days_left_against_thresholds(
    days: int, verified: bool, status: Status
) -> None:
    cert = CertFacts(
        host="h",
        not_after=NOW + timedelta(days=days, hours=1),
        issuer="Let's Encrypt",
        subject="h",
        verified=verified,
        error=None if verified else "certificate verify failed: unable to get local issuer",
    )
    assert rules.classify_cert(cert, NOW, amber_days=20, red_days=7)[0] is status


def test_five_days_from_expiry_reads_as_such() -> None:
    cert = CertFacts("h", NOW + timedelta(days=5, hours=3), "Let's Encrypt", "h", True)
    assert rules.classify_cert(cert, NOW, 20, 7) == (
        Status.RED,
        "cert: expiring",
        "certificate expires in 5 days",
    )


@pytest.mark.parametrize(
    ("verdict", "status"),
    [
        ((Status.RED, "dns: NXDOMAIN", "does not resolve"), Status.UNKNOWN),
        ((Status.RED, "http 502", "HTTP 502"), Status.AMBER),
        ((Status.GREEN, "", "ok"), Status.GREEN),
    ],
    ids=["absent optional is grey", "broken optional is amber", "healthy optional is green"],
)
def test_optional_endpoints_never_turn_red(verdict: rules.Verdict, status: Status) -> None:
    assert rules.optional_verdict(verdict)[0] is status


# --------------------------------------------------------------------------- whole passes

FLEET = """
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

EIPS = {
    "prod": "54.164.117.252",
    "test": "3.214.219.209",
    "test-2": "54.145.185.156",
    "test-3": "44.1.1.3",
}


def inventory() -> Inventory:
    return config.loads(FLEET).inventory


def aws_facts(
    inv: Inventory,
    *,
    stopped: tuple[str, ...] = (),
    records: dict | None = None,
    extra_tags: tuple[str, ...] = (),
    untagged: tuple[str, ...] = (),
) -> AwsFacts:
    addresses, instances, a_records = [], {}, {}
    for env in inv.environments:
        if env.name in untagged:
            continue
        iid = f"i-{abs(hash(env.name)) % 10**12:012x}"
        ip = EIPS[env.name]
        addresses.append(AddressFacts(ip, env.eip_tag, f"eipalloc-{env.name}", iid))
        state = "stopped" if env.name in stopped else "running"
        instances[iid] = InstanceFacts(iid, state, "t3.medium", NOW - timedelta(days=3))
        for host in env.hosts:
            a_records[host.hostname] = (ip,)
    for tag in extra_tags:
        addresses.append(AddressFacts("9.9.9.9", tag, "eipalloc-x", None))
    a_records.update(records or {})
    return AwsFacts(tuple(addresses), instances, a_records, requests=3)


def http_facts(inv: Inventory, overrides: dict | None = None, skip_envs: tuple = ()) -> HttpFacts:
    exchanges, certs = {}, {}
    for env in inv.environments:
        if env.name in skip_envs:
            continue
        for host in env.hosts:
            certs[host.hostname] = CertFacts(
                host.hostname,
                NOW + timedelta(days=60),
                "Let's Encrypt",
                host.hostname,
                True,
                observed_at=NOW,
            )
            for path in host.paths:
                body = "ok"
                if path == READY_PATH:
                    body = READYZ.format(s="ready", d="false", c="ok")
                elif path == ISSUER_PATH:
                    body = f'{{"issuer":"{env.expected_issuer}"}}'
                elif host.label == "worker:cred":
                    body = (
                        f'{{"ok":true,"vault_bucket":"agentkeys-vault{env.suffix}-429071895007"}}'
                    )
                exchanges[(host.hostname, path)] = ex(body=body, path=path, host=host.hostname)
    for key, value in (overrides or {}).items():
        if isinstance(value, CertFacts):
            certs[key] = value
        else:
            exchanges[key] = value
    return HttpFacts(exchanges=exchanges, certs=certs)


def board(inv: Inventory, aws: object, http: object, tls: object | None = None) -> rules.Board:
    if tls is None and isinstance(http, HttpFacts):
        tls = TlsFacts(certs=dict(http.certs))
    obs = rules.Observations(aws=aws, http=http, tls=tls)  # type: ignore[arg-type]
    info = CollectorInfo(version="t", duration_s=0.1, sources={})
    return rules.evaluate(inv, obs, NOW, info)


def env_view(b: rules.Board, name: str) -> rules.EnvironmentView:
    return next(e for e in b.environments if e.name == name)


def test_a_healthy_fleet_is_green_with_nothing_to_do() -> None:
    inv = inventory()
    b = board(inv, aws_facts(inv), http_facts(inv))
    assert b.summary.status is Status.GREEN
    assert b.summary.issues == ()
    assert b.summary.suggested_next_action.startswith("Nothing to do")
    assert {e.status for e in b.environments} == {Status.GREEN}


def test_a_stopped_slot_is_grey_stopped_not_red() -> None:
    inv = inventory()
    b = board(inv, aws_facts(inv, stopped=("test-3",)), http_facts(inv, skip_envs=("test-3",)))
    view = env_view(b, "test-3")
    assert view.lifecycle is Lifecycle.STOPPED
    assert view.status is Status.UNKNOWN
    assert [c.kind for c in view.checks] == ["machine"]  # its services are not probed
    assert b.summary.status is Status.GREEN
    assert b.summary.counts["stopped"] == 1
    assert "1 parked" in b.summary.message


def test_a_worker_502_makes_its_slot_red_with_a_sentence_and_a_next_action() -> None:
    inv = inventory()
    http = http_facts(inv, {("audit-test-2.litentry.org", HEALTH_PATH): ex(502, "", ms=41)})
    b = board(inv, aws_facts(inv), http)
    assert env_view(b, "test-2").status is Status.RED
    assert b.summary.status is Status.RED
    first = b.summary.issues[0]
    assert first.text == "test-2 worker:audit red: audit-test-2.litentry.org HTTP 502 in 41 ms"
    assert b.summary.suggested_next_action.startswith("test-2: audit-test-2.litentry.org HTTP 502")
    assert "systemd" in b.summary.suggested_next_action


def test_degraded_broker_makes_the_slot_amber() -> None:
    inv = inventory()
    degraded = ex(
        body=READYZ.format(s="degraded", d="true", c="degraded"),
        path=READY_PATH,
        host="test-broker.litentry.org",
    )
    b = board(
        inv, aws_facts(inv), http_facts(inv, {("test-broker.litentry.org", READY_PATH): degraded})
    )
    assert env_view(b, "test").status is Status.AMBER
    assert b.summary.status is Status.AMBER
    assert b.summary.suggested_next_action.startswith("Nothing is down. Next, test:")


def test_optional_endpoint_that_does_not_resolve_is_grey_and_harmless() -> None:
    inv = inventory()
    nx = ex(error=ProbeError(Reason.DNS, "NXDOMAIN"), host="weixin-test.litentry.org")
    http = http_facts(inv, {("weixin-test.litentry.org", HEALTH_PATH): nx})
    tls = TlsFacts(
        certs={**http.certs, "weixin-test.litentry.org": ProbeError(Reason.DNS, "NXDOMAIN")}
    )
    b = board(inv, aws_facts(inv), http, tls)
    view = env_view(b, "test")
    weixin = next(c for c in view.checks if c.name == "worker:weixin")
    assert (weixin.status, weixin.optional) == (Status.UNKNOWN, True)
    assert view.status is Status.GREEN
    assert b.summary.issues == ()


def test_certificate_five_days_from_expiry_is_a_red_issue() -> None:
    inv = inventory()
    cert = CertFacts(
        "email-test-2.litentry.org",
        NOW + timedelta(days=5, hours=1),
        "Let's Encrypt",
        "email-test-2.litentry.org",
        True,
        observed_at=NOW,
    )
    inv_hosts = {h.hostname for _, h in inv.hosts()}
    assert "cred-test-2.litentry.org" in inv_hosts
    http = http_facts(inv, {"cred-test-2.litentry.org": cert})
    b = board(inv, aws_facts(inv), http)
    red = [i for i in b.summary.issues if i.status is Status.RED]
    assert [i.check for i in red] == ["tls:cred"]
    assert "certificate expires in 5 days" in red[0].text
    assert "certbot" in b.summary.suggested_next_action


def test_worker_a_record_pointing_away_from_its_broker_is_red_drift() -> None:
    inv = inventory()
    aws = aws_facts(inv, records={"cred-test-2.litentry.org": (EIPS["prod"],)})
    b = board(inv, aws, http_facts(inv))
    drift = env_view(b, "test-2").drift
    assert [d.kind for d in drift] == ["worker_a_record"]
    assert "prod's EIP" in drift[0].text
    assert b.summary.status is Status.RED
    assert b.summary.suggested_next_action.startswith("Fix DNS for test-2")


def test_issuer_naming_another_slot_is_red_drift() -> None:
    inv = inventory()
    wrong = ex(
        body='{"issuer":"https://test-broker.litentry.org"}',
        path=ISSUER_PATH,
        host="broker-test-2.litentry.org",
    )
    b = board(
        inv, aws_facts(inv), http_facts(inv, {("broker-test-2.litentry.org", ISSUER_PATH): wrong})
    )
    drift = env_view(b, "test-2").drift
    assert [d.kind for d in drift] == ["issuer"]
    assert "(the issuer of test)" in drift[0].text
    assert "cross-wired" in b.summary.suggested_next_action


def test_worker_bucket_of_another_slot_is_red_drift() -> None:
    inv = inventory()
    body = '{"ok":true,"vault_bucket":"agentkeys-vault-test-2-429071895007"}'
    b = board(
        inv,
        aws_facts(inv),
        http_facts(
            inv,
            {("cred-test.litentry.org", HEALTH_PATH): ex(body=body, host="cred-test.litentry.org")},
        ),
    )
    drift = env_view(b, "test").drift
    assert [d.kind for d in drift] == ["bucket"]
    assert "test-2's" in drift[0].text


def test_eip_by_tag_differing_from_the_env_file_is_amber_drift() -> None:
    inv = config.loads(FLEET.replace('eip = "54.164.117.252"', 'eip = "1.2.3.4"')).inventory
    b = board(inv, aws_facts(inv), http_facts(inv))
    assert [(d.kind, d.status) for d in env_view(b, "prod").drift] == [("eip_tag", Status.AMBER)]


def test_undeclared_tagged_slot_and_declared_slot_without_eip_are_drift() -> None:
    inv = inventory()
    aws = aws_facts(inv, extra_tags=("agentkeys-broker-eip-test-4",), untagged=("test-3",))
    b = board(inv, aws, http_facts(inv))
    assert [d.kind for d in b.fleet_drift] == ["undeclared_slot"]
    assert "agentkeys-broker-eip-test-4" in b.fleet_drift[0].text
    missing = env_view(b, "test-3")
    assert missing.lifecycle is Lifecycle.MISSING
    assert [d.kind for d in missing.drift] == ["eip_missing"]


def test_aws_failure_is_unknown_never_green_and_never_an_outage() -> None:
    inv = inventory()
    failure = SourceFailure("aws", "ec2:DescribeAddresses denied (UnauthorizedOperation)")
    b = board(inv, failure, http_facts(inv))
    assert {e.lifecycle for e in b.environments} == {Lifecycle.UNKNOWN}
    assert b.summary.status is Status.UNKNOWN
    assert [i.check for i in b.summary.issues] == ["source:aws"]
    assert "cannot see aws" in b.summary.suggested_next_action


def test_http_source_failure_is_one_issue_not_one_per_check() -> None:
    inv = inventory()
    tls = TlsFacts(certs=dict(http_facts(inv).certs))
    b = board(inv, aws_facts(inv), SourceFailure("http", "internal error (KeyError)"), tls)
    assert b.summary.status is Status.UNKNOWN
    assert [i.check for i in b.summary.issues] == ["source:http"]
    assert all(
        c.status is Status.UNKNOWN for e in b.environments for c in e.checks if c.kind == "http"
    )


def test_issues_are_sorted_red_first() -> None:
    inv = inventory()
    degraded = ex(body=READYZ.format(s="degraded", d="true", c="degraded"), path=READY_PATH)
    http = http_facts(
        inv,
        {
            ("test-broker.litentry.org", READY_PATH): degraded,
            ("audit-test-2.litentry.org", HEALTH_PATH): ex(502, ""),
        },
    )
    b = board(inv, aws_facts(inv), http)
    statuses = [i.status for i in b.summary.issues]
    assert statuses == sorted(statuses, key=[Status.RED, Status.AMBER, Status.UNKNOWN].index)
    assert statuses[0] is Status.RED


def test_prod_red_comes_before_everything_else() -> None:
    inv = inventory()
    http = http_facts(
        inv,
        {
            ("audit-test-2.litentry.org", HEALTH_PATH): ex(502, ""),
            ("signer.litentry.org", HEALTH_PATH): ex(
                error=ProbeError(Reason.TIMEOUT, "no answer in 4.0 s")
            ),
        },
    )
    b = board(inv, aws_facts(inv), http)
    assert b.summary.suggested_next_action.startswith("Prod first: signer.litentry.org")


def test_worst_of_nothing_is_unknown() -> None:
    assert rules.worst([]) is Status.UNKNOWN
    assert rules.worst([Status.GREEN, Status.UNKNOWN]) is Status.UNKNOWN
    assert rules.worst([Status.AMBER, Status.RED]) is Status.RED
