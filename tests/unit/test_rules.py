"""The status rules as tables: observations in, statuses, issues and the next action out."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from tests.observed import (
    NOW,
    SMALL_EIPS,
    SMALL_FLEET,
    Observed,
    all_running,
    exchange,
    ready_body,
)

from fleetboard import render, rules, snapshot
from fleetboard.inventory import ISSUER_PATH, READY_PATH
from fleetboard.model import (
    SEVERITY,
    CertFacts,
    HttpExchange,
    Lifecycle,
    ProbeError,
    Reason,
    SourceFailure,
    Status,
)

SLOW_MS = 2000.0

#: Probes that got no answer, by the layer they failed at.
TIMEOUT = ProbeError(Reason.TIMEOUT, "no answer in 4.0 s")
REFUSED = ProbeError(Reason.CONNECT, "connection refused")
UNREACHABLE = ProbeError(Reason.CONNECT, "Network is unreachable")
NXDOMAIN = ProbeError(Reason.DNS, "NXDOMAIN: x.litentry.org does not resolve")
DNS_HANGS = ProbeError(Reason.TIMEOUT, "DNS lookup of x.litentry.org timed out after 3 s")
EXPIRED = ProbeError(Reason.TLS, "certificate has expired")
LATE = ProbeError(Reason.DEADLINE, "pass deadline reached before this request")


# --------------------------------------------------------------------------- /healthz

HEALTH_CASES = [
    ("plain ok text", exchange("ok\n"), Status.GREEN, ""),
    ("ok text in other case", exchange("OK"), Status.GREEN, ""),
    ("json ok true", exchange('{"ok":true,"vault_bucket":"b","version":"0.1"}'), Status.GREEN, ""),
    ("json ok false", exchange('{"ok": false}'), Status.RED, "body"),
    ("json without ok", exchange('{"status":"fine"}'), Status.RED, "body"),
    ("text that is not ok", exchange("<html>maintenance</html>"), Status.RED, "body"),
    ("empty body", exchange(""), Status.RED, "body"),
    (
        "bundler not ready is amber",
        exchange('{"ok":true,"ready":false,"missing":["x"]}'),
        Status.AMBER,
        "body",
    ),
    ("bundler ready", exchange('{"ok":true,"ready":true}'), Status.GREEN, ""),
    ("502 from nginx", exchange("Bad Gateway", 502), Status.RED, "http 502"),
    ("503 before a cert exists", exchange("TLS cert not yet issued", 503), Status.RED, "http 503"),
    ("a body over the cap", exchange('{"ok":true' + "x" * 100, truncated=True), Status.RED, "body"),
    ("slow but ok", exchange(ms=2500), Status.AMBER, "slow"),
    ("timeout", exchange(error=TIMEOUT), Status.RED, "timeout"),
    ("refused", exchange(error=REFUSED), Status.RED, "connect"),
    ("nxdomain", exchange(error=NXDOMAIN), Status.RED, "dns"),
    ("bad certificate", exchange(error=EXPIRED), Status.RED, "tls"),
    ("pass deadline", exchange(error=LATE), Status.UNKNOWN, "deadline"),
]


@pytest.mark.parametrize(
    ("answer", "status", "reason"),
    [c[1:] for c in HEALTH_CASES],
    ids=[c[0] for c in HEALTH_CASES],
)
def test_health_answers_get_the_status_an_operator_expects(
    answer: HttpExchange, status: Status, reason: str
) -> None:
    got_status, got_reason, summary = rules.classify_health(answer, SLOW_MS)
    assert got_status is status
    assert got_reason.startswith(reason)
    assert summary


def test_a_502_summary_says_the_code_and_the_time() -> None:
    assert rules.classify_health(exchange(code=502, ms=41), SLOW_MS) == (
        Status.RED,
        "http 502",
        "HTTP 502 in 41 ms",
    )


DEGRADED = ready_body("degraded", "tier2/paymaster")

READYZ_CASES = [
    ("ready", exchange(ready_body(), path=READY_PATH), Status.GREEN),
    ("degraded is amber, not red", exchange(DEGRADED, path=READY_PATH), Status.AMBER),
    (
        "unready 503 is red",
        exchange(ready_body("unready", "tier2/paymaster"), 503, path=READY_PATH),
        Status.RED,
    ),
    ("no readyz on an old build", exchange("not found", 404, path=READY_PATH), Status.AMBER),
    ("garbage", exchange("ok", path=READY_PATH), Status.RED),
    ("a 502", exchange("", 502, path=READY_PATH), Status.RED),
]


@pytest.mark.parametrize(
    ("answer", "status"), [c[1:] for c in READYZ_CASES], ids=[c[0] for c in READYZ_CASES]
)
def test_broker_readiness(answer: HttpExchange, status: Status) -> None:
    assert rules.classify_readyz(answer, SLOW_MS)[0] is status


def test_degraded_readyz_names_the_failing_check() -> None:
    degraded = exchange(DEGRADED, path=READY_PATH)
    assert rules.classify_readyz(degraded, SLOW_MS)[2] == "degraded: tier2/paymaster"


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


def env_view(b: rules.Board, name: str) -> rules.EnvironmentView:
    return next(e for e in b.environments if e.name == name)


def test_a_healthy_fleet_is_green_with_nothing_to_do() -> None:
    seen = all_running()
    for env in seen.inventory.environments:  # each cred worker names its own slot's bucket
        bucket = f"agentkeys-vault{env.suffix}-429071895007"
        seen.answers(
            f"cred{env.suffix}.litentry.org", body=f'{{"ok":true,"vault_bucket":"{bucket}"}}'
        )
    b = seen.board()
    assert b.summary.status is Status.GREEN
    assert b.summary.issues == ()
    assert b.summary.suggested_next_action.startswith("Nothing to do")
    assert {e.status for e in b.environments} == {Status.GREEN}


def test_a_stopped_slot_is_grey_stopped_not_red() -> None:
    b = all_running(stopped=("test-3",)).board()
    view = env_view(b, "test-3")
    assert view.lifecycle is Lifecycle.STOPPED
    assert view.status is Status.UNKNOWN
    assert [c.kind for c in view.checks] == ["machine"]  # its services are not probed
    # launched_at is its last start: a stopped machine has no uptime to show.
    assert view.checks[0].summary.endswith("stopped, t3.medium")
    assert ", up 3 d" in env_view(b, "test-2").checks[0].summary
    assert b.summary.status is Status.GREEN
    assert b.summary.counts["stopped"] == 1
    assert "1 parked" in b.summary.message


def test_a_worker_502_makes_its_slot_red_with_a_sentence_and_a_next_action() -> None:
    seen = all_running()
    seen.answers("audit-test-2.litentry.org", code=502, body="", ms=41)
    b = seen.board()
    assert env_view(b, "test-2").status is Status.RED
    assert b.summary.status is Status.RED
    first = b.summary.issues[0]
    assert first.text == "test-2 worker:audit red: audit-test-2.litentry.org HTTP 502 in 41 ms"
    assert b.summary.suggested_next_action.startswith("test-2: audit-test-2.litentry.org HTTP 502")
    assert "systemd" in b.summary.suggested_next_action


def test_degraded_broker_makes_the_slot_amber() -> None:
    seen = all_running()
    seen.answers("test-broker.litentry.org", READY_PATH, body=DEGRADED)
    b = seen.board()
    assert env_view(b, "test").status is Status.AMBER
    assert b.summary.status is Status.AMBER
    assert b.summary.suggested_next_action.startswith("Nothing is down. Next, test:")


def test_optional_endpoint_that_does_not_resolve_is_grey_and_harmless() -> None:
    seen = all_running()
    seen.does_not_resolve("weixin-test.litentry.org")
    b = seen.board()
    view = env_view(b, "test")
    weixin = next(c for c in view.checks if c.name == "worker:weixin")
    assert (weixin.status, weixin.optional) == (Status.UNKNOWN, True)
    assert view.status is Status.GREEN
    assert b.summary.issues == ()


def test_certificate_five_days_from_expiry_is_a_red_issue() -> None:
    seen = all_running()
    assert "cred-test-2.litentry.org" in {h.hostname for _, h in seen.inventory.hosts()}
    seen.cert("cred-test-2.litentry.org", 5)
    b = seen.board()
    red = [i for i in b.summary.issues if i.status is Status.RED]
    assert [i.check for i in red] == ["tls:cred"]
    assert "certificate expires in 5 days" in red[0].text
    assert "certbot" in b.summary.suggested_next_action


def test_worker_a_record_pointing_away_from_its_broker_is_red_drift() -> None:
    seen = all_running()
    seen.a_record("cred-test-2.litentry.org", SMALL_EIPS["prod"])
    b = seen.board()
    drift = env_view(b, "test-2").drift
    assert [d.kind for d in drift] == ["worker_a_record"]
    assert "prod's EIP" in drift[0].text
    assert b.summary.status is Status.RED
    assert b.summary.suggested_next_action.startswith("Fix DNS for test-2")


def test_issuer_naming_another_slot_is_red_drift() -> None:
    seen = all_running()
    issuer = '{"issuer":"https://test-broker.litentry.org"}'
    seen.answers("broker-test-2.litentry.org", ISSUER_PATH, body=issuer)
    b = seen.board()
    drift = env_view(b, "test-2").drift
    assert [d.kind for d in drift] == ["issuer"]
    assert "(the issuer of test)" in drift[0].text
    assert "cross-wired" in b.summary.suggested_next_action


def test_worker_bucket_of_another_slot_is_red_drift() -> None:
    seen = all_running()
    body = '{"ok":true,"vault_bucket":"agentkeys-vault-test-2-429071895007"}'
    seen.answers("cred-test.litentry.org", body=body)
    b = seen.board()
    drift = env_view(b, "test").drift
    assert [d.kind for d in drift] == ["bucket"]
    assert "test-2's" in drift[0].text


def test_eip_by_tag_differing_from_the_env_file_is_amber_drift() -> None:
    b = all_running(SMALL_FLEET.replace('eip = "54.164.117.252"', 'eip = "1.2.3.4"')).board()
    assert [(d.kind, d.status) for d in env_view(b, "prod").drift] == [("eip_tag", Status.AMBER)]


def test_undeclared_tagged_slot_and_declared_slot_without_eip_are_drift() -> None:
    seen = all_running()
    seen.eip_tagged("agentkeys-broker-eip-test-4", "9.9.9.9")
    seen.untagged("test-3")
    b = seen.board()
    assert [d.kind for d in b.fleet_drift] == ["undeclared_slot"]
    assert "agentkeys-broker-eip-test-4" in b.fleet_drift[0].text
    missing = env_view(b, "test-3")
    assert missing.lifecycle is Lifecycle.MISSING
    assert [d.kind for d in missing.drift] == ["eip_missing"]


def test_aws_failure_is_unknown_never_green_and_never_an_outage() -> None:
    seen = all_running()
    seen.fails("aws", "ec2:DescribeAddresses denied (UnauthorizedOperation)")
    b = seen.board()
    assert {e.lifecycle for e in b.environments} == {Lifecycle.UNKNOWN}
    assert b.summary.status is Status.UNKNOWN
    assert [i.check for i in b.summary.issues] == ["source:aws"]
    assert "cannot see aws" in b.summary.suggested_next_action


def test_http_source_failure_is_one_issue_not_one_per_check() -> None:
    seen = all_running()
    seen.fails("http", "internal error (KeyError)")
    b = seen.board()
    assert b.summary.status is Status.UNKNOWN
    assert [i.check for i in b.summary.issues] == ["source:http"]
    assert all(
        c.status is Status.UNKNOWN for e in b.environments for c in e.checks if c.kind == "http"
    )


def test_issues_are_sorted_red_first() -> None:
    seen = all_running()
    seen.answers("test-broker.litentry.org", READY_PATH, body=DEGRADED)
    seen.answers("audit-test-2.litentry.org", code=502, body="")
    b = seen.board()
    statuses = [i.status for i in b.summary.issues]
    assert statuses == sorted(statuses, key=[Status.RED, Status.AMBER, Status.UNKNOWN].index)
    assert statuses[0] is Status.RED
    assert Status.AMBER in statuses  # the degraded broker, listed after the red


def test_prod_red_comes_before_everything_else() -> None:
    seen = all_running()
    seen.answers("audit-test-2.litentry.org", code=502, body="")
    seen.probed(exchange(error=TIMEOUT, host="signer.litentry.org"))
    b = seen.board()
    assert b.summary.suggested_next_action.startswith("Prod first: signer.litentry.org")
    assert env_view(b, "test-2").status is Status.RED  # prod first, though not the only red


def test_worst_of_nothing_is_unknown() -> None:
    assert rules.worst([]) is Status.UNKNOWN
    assert rules.worst([Status.GREEN, Status.UNKNOWN]) is Status.UNKNOWN
    assert rules.worst([Status.AMBER, Status.RED]) is Status.RED


# ------------------------------------------------- an environment is as bad as all its own

HEI = 10**18
PROD_DEPLOYER = "0x" + "d1" * 20
TEST_DEPLOYER = "0x" + "d2" * 20
ENTRYPOINT = "0x" + "e1" * 20
PAYMASTER = "0x" + "fa" * 20
REGISTRY = "0x" + "cc" * 20
MAIN = "5e1f0c2a9b7d4e6f8a0b1c2d3e4f5a6b7c8d9e0f"

#: SMALL_FLEET with a chain identity for prod (deployer and paymaster deposit) and test
#: (deployer, registry), and GitHub for the deploy trail's main head. Its own string: the
#: CI tests build on SMALL_FLEET as it is.
CHAIN_FLEET = (
    SMALL_FLEET
    + f"""
[environments.prod.chain]
deployer = "{PROD_DEPLOYER}"
entrypoint = "{ENTRYPOINT}"
paymaster = "{PAYMASTER}"

[environments.test.chain]
deployer = "{TEST_DEPLOYER}"
registry = "{REGISTRY}"

[chain]
chain_id = 212013

[github]
repo = "litentry/agentKeys"
workflows = ["e2e-ci.yml"]
"""
)


def chain_seen(
    *,
    prod: int = 5 * HEI,
    test: int = 5 * HEI,
    deposit: int = HEI,
    master: str | None = "0x" + "ab" * 20,
    unread: tuple[str, ...] = (),
    stopped: tuple[str, ...] = (),
    stale: tuple[str, ...] = (),
    fleet: str = CHAIN_FLEET,
) -> Observed:
    """CHAIN_FLEET seen: the deployers hold `prod` and `test` wei (`unread`: the chain could
    not tell), the paymaster's deposit is `deposit`, test's master is `master` (None: not
    registered); every environment runs main's head, deployed an hour ago (`stale`: an
    older sha)."""
    seen = all_running(fleet, stopped=stopped)
    seen.reads_github(
        main_sha=MAIN,
        main_committed_ago=timedelta(hours=2),
        rate_remaining=4000,
        requests=2,
        not_modified=0,
    )
    for env in seen.inventory.environments:
        ref = "0123456789ab" if env.name in stale else MAIN
        seen.deployed(env.name, ref, timedelta(hours=1), 1)
    for deployer, wei in ((PROD_DEPLOYER, prod), (TEST_DEPLOYER, test)):
        if deployer in unread:
            seen.balance_unread(deployer, "malformed: no balance")
        else:
            seen.balance(deployer, wei, nonce=1)
    seen.master(REGISTRY, TEST_DEPLOYER, master)
    seen.deposit(ENTRYPOINT, PAYMASTER, deposit)
    return seen


def assert_one_account(b: rules.Board) -> None:
    """Card, latest.json, summary and metrics read one computation: each environment's own
    issues are exactly the summary's issues for it, its status is their worst (with what no
    issue repeats), and every red or amber environment has an issue that says why."""
    for view in b.environments:
        listed = [i for i in b.summary.issues if i.env == view.name]
        assert sorted(listed, key=repr) == sorted(view.issues, key=repr), view.name
        if view.status in (Status.RED, Status.AMBER):
            assert view.status in {i.status for i in view.issues}, view.name
        for issue in view.issues:  # nothing of its own is better than it
            assert SEVERITY.index(view.status) <= SEVERITY.index(issue.status), issue.text
    running = [v for v in b.environments if v.lifecycle is not Lifecycle.STOPPED]
    running = [v for v in running if v.lifecycle is not Lifecycle.RETIRED]
    counted = {s.value: sum(1 for v in running if v.status is s) for s in SEVERITY}
    assert {k: b.summary.counts[k] for k in counted} == counted


OWN_CASES = [
    # (id, chain_seen kwargs, env, expected status, the issue that says why)
    ("healthy", {}, "prod", Status.GREEN, None),
    (
        "paymaster deposit below its floor",
        {"deposit": HEI // 20},
        "prod",
        Status.RED,
        "prod wallet:paymaster-deposit red",
    ),
    (
        "deployer below its floor",
        {"test": HEI // 25},
        "test",
        Status.RED,
        "test wallet:deployer red",
    ),
    (
        "operator master not registered",
        {"master": None},
        "test",
        Status.AMBER,
        "test chain:master amber",
    ),
    (
        "a wallet the chain could not tell",
        {"unread": (TEST_DEPLOYER,)},
        "test",
        Status.UNKNOWN,
        "test wallet:deployer unknown",
    ),
    ("stale binary", {"stale": ("test-2",)}, "test-2", Status.AMBER, "test-2 deploy amber"),
    (
        "eip drift",
        {"fleet": CHAIN_FLEET.replace('eip = "54.164.117.252"', 'eip = "1.2.3.4"')},
        "prod",
        Status.AMBER,
        "prod drift:eip_tag amber",
    ),
    (
        "a stopped slot keeps its wallets: funds are on chain, and CI starts it on demand",
        {"test": HEI // 25, "stopped": ("test",)},
        "test",
        Status.RED,
        "test wallet:deployer red",
    ),
    (
        "a stopped slot's stale binary means nothing: CI redeploys it when it starts it",
        {"stale": ("test-3",), "stopped": ("test-3",)},
        "test-3",
        Status.UNKNOWN,
        None,
    ),
]


@pytest.mark.parametrize(
    ("kwargs", "env", "status", "issue"),
    [c[1:] for c in OWN_CASES],
    ids=[c[0] for c in OWN_CASES],
)
def test_an_environment_is_as_bad_as_everything_that_is_its_own(
    kwargs: dict[str, Any], env: str, status: Status, issue: str | None
) -> None:
    b = chain_seen(**kwargs).board()
    view = env_view(b, env)
    assert view.status is status
    texts = [i.text for i in view.issues]
    if issue is None:
        assert texts == []
    else:
        assert any(t.startswith(issue) for t in texts), texts
    assert_one_account(b)
    doc = snapshot.to_document(b)
    snapshot.validate(doc)
    # latest.json says the same as the board, and the page counts the same issues.
    assert next(e for e in doc["environments"] if e["name"] == env)["status"] == status.value
    mine = render.words.issues_by_env(doc).get(env, [])
    assert [i["text"] for i in mine] == [i.text for i in b.summary.issues if i.env == env]


def test_prod_with_an_empty_deposit_is_red_everywhere_and_first() -> None:
    """The issue as seen: prod green on its card while the summary lists its deposit red,
    and the next action on a test slot."""
    seen = chain_seen(deposit=HEI // 20)
    seen.answers("audit-test-2.litentry.org", code=502, body="", ms=41)
    b = seen.board()
    assert env_view(b, "prod").status is Status.RED
    assert b.summary.status is Status.RED
    assert b.summary.issues[0].text.startswith("prod wallet:paymaster-deposit red")
    assert b.summary.suggested_next_action.startswith("Prod first: Fund prod's paymaster deposit")
    assert "prod red" in b.summary.message and "test-2 red" in b.summary.message
    assert_one_account(b)


def test_a_card_counts_exactly_its_issues() -> None:
    """test-2 with a 502, a stale binary and a misrouted worker: its card counts what the
    summary lists for it, not its checks."""
    seen = chain_seen(stale=("test-2",))
    seen.answers("audit-test-2.litentry.org", code=502, body="", ms=41)
    seen.a_record("cred-test-2.litentry.org", SMALL_EIPS["prod"])
    b = seen.board()
    view = env_view(b, "test-2")
    assert [(i.status, i.check) for i in view.issues] == [
        (Status.RED, "worker:audit"),
        (Status.RED, "drift:worker_a_record"),
        (Status.AMBER, "deploy"),
    ]
    doc = snapshot.to_document(b)
    assert render.words.issue_tally(render.words.issues_by_env(doc)["test-2"]) == [
        ("red", 2),
        ("amber", 1),
    ]
    assert_one_account(b)


# ------------------------------------------------------- prod, then base, then test slots

#: Test slots declared before prod and base: the rank is by kind, not by inventory order.
RANKED_FLEET = """
[fleet]
zone = "litentry.org"
zone_id = "Z1"
region = "us-east-1"
workers = ["audit"]

[environments.test-2]
broker_host = "broker-test-2.litentry.org"

[environments.test]
broker_host = "test-broker.litentry.org"

[environments.base]
broker_host = "broker-base.litentry.org"

[environments.prod]
broker_host = "broker.litentry.org"
"""

RANK_EIPS = {"prod": "1.0.0.1", "base": "1.0.0.2", "test": "1.0.0.3", "test-2": "1.0.0.4"}


def ranked_board(
    broken: tuple[str, ...], *, code: int = 502, body: str = "", ms: float = 41
) -> rules.Board:
    """RANKED_FLEET with the audit worker of each `broken` environment answering `code`
    with `body` in `ms`."""
    seen = all_running(RANKED_FLEET, RANK_EIPS)
    for env in seen.inventory.environments:
        if env.name in broken:
            seen.answers(f"audit{env.suffix}.litentry.org", code=code, body=body, ms=ms)
    return seen.board()


@pytest.mark.parametrize(
    ("broken", "first"),
    [
        (("test-2", "test", "base", "prod"), "prod"),
        (("test-2", "test", "base"), "base"),
        (("test-2", "test"), "test"),
        (("test-2",), "test-2"),
    ],
    ids=["prod first", "base before test slots", "slot 1 before slot 2", "the only one"],
)
def test_equal_reds_rank_prod_then_base_then_test_slots(
    broken: tuple[str, ...], first: str
) -> None:
    b = ranked_board(broken)
    reds = [i.env for i in b.summary.issues if i.status is Status.RED]
    order = ["prod", "base", "test", "test-2"]
    assert reds == [e for e in order if e in broken]
    action = b.summary.suggested_next_action
    if first == "prod":
        assert action.startswith("Prod first: audit.litentry.org")
    else:
        assert action.startswith(f"{first}: audit")


def test_equal_ambers_rank_prod_first_too() -> None:
    b = ranked_board(("test", "prod"), code=200, body="ok", ms=2500)  # slow
    ambers = [i.env for i in b.summary.issues if i.status is Status.AMBER]
    assert ambers == ["prod", "test"]
    assert b.summary.suggested_next_action.startswith("Nothing is down. Next, prod:")


# --------------------------------------------------------------- the collector is blind

NO_CREDENTIALS = SourceFailure(
    "aws",
    "ec2:DescribeAddresses not sent: no usable AWS credentials (NoCredentialsError)",
    blind=True,
)


BLIND_CASES = [
    # (id, aws, probe error, only these envs fail, blind?, words in the next action)
    ("no credentials, probes fine", NO_CREDENTIALS, None, (), True, "AWS credentials"),
    ("no DNS at all", NO_CREDENTIALS, NXDOMAIN, (), True, "has no DNS"),
    ("every lookup hangs", "aws", DNS_HANGS, (), True, "has no DNS"),
    ("every connect refused", "aws", REFUSED, (), True, "cannot connect out"),
    ("no route out", "aws", UNREACHABLE, (), True, "cannot connect out"),
    ("a real outage: one slot refuses", "aws", REFUSED, ("test-2",), False, "test-2"),
    ("a real outage: two slots gone", "aws", NXDOMAIN, ("test-2", "test-3"), False, "test-2"),
]


@pytest.mark.parametrize(
    ("aws", "error", "only", "blind", "action"),
    [c[1:] for c in BLIND_CASES],
    ids=[c[0] for c in BLIND_CASES],
)
def test_a_blind_collector_says_so_and_never_calls_the_fleet_red(
    aws: object, error: ProbeError | None, only: tuple[str, ...], blind: bool, action: str
) -> None:
    seen = all_running()
    if isinstance(aws, SourceFailure):
        seen.fails(aws.source, aws.reason, blind=aws.blind)
    if error is not None:
        seen.probes_fail(error, *only)
    b = seen.board()
    first = b.summary.issues[0]
    assert action in b.summary.suggested_next_action
    if not blind:
        assert b.summary.blind is None
        assert b.summary.status is Status.RED
        assert all(i.check != "collector" for i in b.summary.issues)
        return
    assert b.summary.blind
    assert (first.env, first.check, first.status) == ("fleet", "collector", Status.UNKNOWN)
    assert b.summary.status is Status.UNKNOWN
    assert not [i for i in b.summary.issues if i.status is Status.RED]
    assert all(e.status is not Status.RED for e in b.environments)
    assert b.summary.message.startswith("Fleet status unknown: the collector ")
    assert " running " not in b.summary.message
    if error is not None:  # the probes it could not make are unknown with its cause
        probed = [c for e in b.environments for c in e.checks if c.kind in ("http", "tls")]
        assert probed and all(c.status is Status.UNKNOWN for c in probed)
        assert all(c.reason.startswith("collector: the collector") for c in probed)
        assert len(b.summary.issues) <= 2  # not one issue per check
    if aws is NO_CREDENTIALS:
        assert {e.lifecycle for e in b.environments} == {Lifecycle.UNKNOWN}
        assert "source:aws" not in [i.check for i in b.summary.issues]  # said once, first
    doc = snapshot.to_document(b)
    snapshot.validate(doc)
    assert doc["summary"]["blind"] == b.summary.blind
    assert_one_account(b)


def test_no_dns_and_no_credentials_fixes_the_network_first() -> None:
    seen = all_running()
    seen.fails("aws", NO_CREDENTIALS.reason, blind=True)
    seen.probes_fail(NXDOMAIN)
    b = seen.board()
    action = b.summary.suggested_next_action
    assert action.startswith("The collector has no DNS: check its network")
    assert "Also give the collector AWS credentials" in action
    assert "no usable AWS credentials" in b.summary.issues[0].text
    assert "no DNS" in b.summary.issues[0].text


def test_names_route_53_does_not_have_are_missing_records_not_a_blind_collector() -> None:
    seen = all_running()
    seen.zone_holds_only("elsewhere.litentry.org", "9.9.9.9")
    seen.probes_fail(NXDOMAIN)
    b = seen.board()
    assert b.summary.blind is None and b.summary.status is Status.RED


def test_one_machine_failing_alone_is_its_outage_not_blindness() -> None:
    """Every other environment parked: the one left refusing is down, not the collector."""
    seen = all_running(stopped=("test", "test-2", "test-3"))
    seen.probes_fail(REFUSED, "prod")
    b = seen.board()
    assert b.summary.blind is None
    assert env_view(b, "prod").status is Status.RED
    assert b.summary.suggested_next_action.startswith("Prod first:")


def test_probes_the_deadline_stopped_do_not_hide_blindness() -> None:
    seen = all_running()
    seen.probes_fail(NXDOMAIN)
    _, first = seen.inventory.hosts()[0]
    seen.probed(exchange(error=LATE, host=first.hostname, path=first.paths[0]))
    b = seen.board()
    assert b.summary.blind is not None and b.summary.status is Status.UNKNOWN


def test_no_credentials_alone_leaves_what_the_probes_saw() -> None:
    """Probes that answered are the fleet's own word: a 502 stays red, and the collector
    still comes first in the issues."""
    seen = all_running()
    seen.fails("aws", NO_CREDENTIALS.reason, blind=True)
    seen.answers("audit-test-2.litentry.org", code=502, body="", ms=41)
    b = seen.board()
    assert b.summary.status is Status.RED
    assert b.summary.issues[0].check == "collector"
    assert b.summary.message.startswith("The collector is partly blind")
    assert "test-2 red (lifecycle unknown)" in b.summary.message
    assert "AWS credentials" in b.summary.suggested_next_action


@pytest.mark.parametrize(
    ("failure", "short", "action"),
    [
        (NO_CREDENTIALS, "has no AWS credentials", "Give the collector AWS credentials"),
        (
            SourceFailure("github", "could not resolve api.github.com", blind=True),
            "cannot resolve github's endpoint",
            "The collector cannot resolve github's endpoint: check its network",
        ),
        (
            SourceFailure("chain", "the RPC at https://rpc.x: Network is unreachable", blind=True),
            "cannot connect out",
            "The collector cannot connect out",
        ),
    ],
    ids=["credentials", "a name it cannot resolve", "no route"],
)
def test_a_source_blind_on_the_collector_side_names_what_to_fix(
    failure: SourceFailure, short: str, action: str
) -> None:
    seen = all_running()
    seen.fails(failure.source, failure.reason, blind=failure.blind)
    b = seen.board()
    assert b.summary.issues[0].check == "collector"
    assert failure.reason in b.summary.issues[0].text
    assert f"the collector {short}" in b.summary.message
    assert " 0 of " not in b.summary.message  # no "0 of 4 environments not fully observed"
    assert action in b.summary.suggested_next_action
    assert f"source:{failure.source}" not in [i.check for i in b.summary.issues]


@pytest.mark.parametrize(
    ("reason", "hint"),
    [
        ("http 502", "check its systemd unit"),
        ("http 429", "rate limiting the collector"),
        ("http 404", "client error"),
        ("timeout: no complete answer within 4 s", "the host or nginx is down"),
        ("connect: connection refused", "the host or nginx is down"),
        ("dns: NXDOMAIN: x.litentry.org does not resolve", "run dns-upsert-workers.sh"),
        ("dns: lookup of x.litentry.org got no answer within 3 s", "name servers"),
        ("tls: certificate has expired", "certbot"),
        ("tls: hostname mismatch, certificate is not valid for 'x'", "certbot"),
        ("tls: [SSL: WRONG_VERSION_NUMBER] wrong version number", "listen 443 ssl"),
        ("tls: [SSL: EXCESSIVE_MESSAGE_SIZE] excessive message size", "listen 443 ssl"),
        ("body: not ok", "read its /healthz answer"),
        ("cert: expired", "certbot"),
        ("http 302", "look at it"),
        ("optional: dns: NXDOMAIN: x.litentry.org does not resolve", "look at it"),
    ],
)
def test_the_next_action_fits_the_layer_that_failed(reason: str, hint: str) -> None:
    from fleetboard.model import Check, CheckKind
    from fleetboard.rules.summary import _hint

    check = Check(
        "http:x/healthz", "worker:x", CheckKind.HTTP, Status.RED, reason, "", "http", None
    )
    assert hint in _hint(check)


@pytest.mark.parametrize(
    ("reason", "layer"),
    [
        ("http 502", Reason.HTTP),
        ("tls: certificate has expired", Reason.TLS),
        ("cert: expiring", Reason.CERT),
        ("source: http failed: no route", Reason.SOURCE),
        ("slow: over the slow_ms threshold", None),
        ("optional: dns: NXDOMAIN", None),
        ("", None),
    ],
)
def test_a_reason_names_its_layer_by_its_first_word(reason: str, layer: Reason | None) -> None:
    assert Reason.of(reason) is layer


def test_parked_is_stopped_or_retired_and_grey_adds_missing() -> None:
    assert {lc for lc in Lifecycle if lc.parked} == {Lifecycle.STOPPED, Lifecycle.RETIRED}
    assert {lc for lc in Lifecycle if lc.grey} == {
        Lifecycle.STOPPED,
        Lifecycle.RETIRED,
        Lifecycle.MISSING,
    }


def test_an_issue_keeps_its_detail_so_no_one_parses_its_text() -> None:
    from fleetboard.model import Issue

    issue = Issue.of(Status.RED, "test-2", "ci", "run #7: both hold slot 2")
    assert issue.text == "test-2 ci red: run #7: both hold slot 2"
    assert issue.detail == "run #7: both hold slot 2"


def test_many_endpoints_that_do_not_resolve_are_one_missing_dns() -> None:
    from fleetboard.rules import blind

    found = [
        blind.source_blindness(SourceFailure("github", "cannot resolve api.github.com", True)),
        blind.source_blindness(SourceFailure("chain", "cannot resolve the RPC's host", True)),
        blind.source_blindness(SourceFailure("aws", "no AWS credentials on this machine", True)),
    ]
    assert blind.short_text(found) == "the collector has no DNS and has no AWS credentials"
    action = blind.next_action(found)
    assert action.startswith("The collector has no DNS: check its network")
    assert "github's endpoint" not in action and "Also give the collector AWS credentials" in action
    # Each endpoint is still named in the collector issue's text.
    assert "api.github.com" in blind.summary_text(found) and "RPC" in blind.summary_text(found)
    # One endpoint alone may be a typo in fleet.toml, not a machine without DNS.
    assert blind.short_text(found[:1]) == "the collector cannot resolve github's endpoint"
