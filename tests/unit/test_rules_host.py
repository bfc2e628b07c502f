"""The machine under an environment as tables: EC2's status checks and scheduled events
(the host source), the SSM agent CI deploys through (the agent source), and what CI is told
about a slot it cannot deploy to. Facts in; statuses, sentences and issues out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TypeVar

import pytest
from tests.observed import NOW, SMALL_EIPS, SMALL_FLEET, Observed, all_running

from fleetboard import config, memory, rules
from fleetboard.inventory import Environment
from fleetboard.model import (
    AgentFacts,
    AgentInfo,
    Board,
    Check,
    EnvironmentView,
    HostEvent,
    HostFacts,
    HostStatus,
    Issue,
    Machine,
    Status,
)
from fleetboard.rules.checks import Judging
from fleetboard.rules.ci import red_slot_issue
from fleetboard.rules.host import (
    agent_checks,
    events_verdict,
    host_checks,
    pending_events,
    status_verdict,
)

GITHUB = '\n[github]\nrepo = "litentry/agentKeys"\nworkflows = ["harness-ci.yml"]\n'
#: SMALL_FLEET with a base and an environment of no known kind, for the agent's severity.
KINDS_FLEET = (
    SMALL_FLEET
    + '\n[environments.base]\nbroker_host = "broker-base.litentry.org"\n'
    + '\n[environments.staging]\nbroker_host = "broker-staging.litentry.org"\n'
)
INVENTORY = config.loads(KINDS_FLEET).inventory
INSTANCE = "i-0d1e2f3a4b5c6d7e8"
#: When the listings were read: two seconds before the pass's clock.
SEEN = NOW - timedelta(seconds=2)
CHECKS = ("system", "instance", "ebs")
#: Each check as the board words it (the EC2 console's names).
LABELS = {"system": "system", "instance": "instance", "ebs": "attached EBS"}


def env(name: str) -> Environment:
    return INVENTORY.environment(name)


def machine(env_name: str = "test", instance_id: str | None = INSTANCE) -> Machine:
    """What the aws source found behind the environment: a running instance (or, with no
    id, an EIP with nothing behind it)."""
    return Machine(
        instance_id=instance_id,
        state="running" if instance_id else None,
        instance_type="t3.medium" if instance_id else None,
        launched_at=NOW - timedelta(days=3) if instance_id else None,
        eip=SMALL_EIPS.get(env_name, "44.1.1.9"),
        eip_tag=env(env_name).eip_tag,
        eip_declared=None,
    )


def judging(found: Machine | None = None, *, env_name: str = "test") -> Judging:
    return Judging(NOW, INVENTORY.thresholds, None, found or machine(env_name))


def status(
    system: str | None = "ok",
    instance: str | None = "ok",
    ebs: str | None = "ok",
    *,
    since: dict[str, datetime] | None = None,
    events: tuple[HostEvent, ...] = (),
    instance_id: str = INSTANCE,
) -> HostStatus:
    """EC2's status of one running instance: each check's word (None: EC2 said nothing)."""
    return HostStatus(instance_id, "running", system, instance, ebs, since or {}, events)


def host_facts(*found: HostStatus, complete: bool = True) -> HostFacts:
    return HostFacts({s.instance_id: s for s in found}, SEEN, 1, complete)


def event(code: str, in_: timedelta | None, description: str = "") -> HostEvent:
    """An event EC2 scheduled `in_` from now (None: no date given)."""
    at = NOW + in_ if in_ is not None else None
    return HostEvent(code, description or f"The instance is scheduled for {code}", at)


def agent(
    ping: str = "Online",
    *,
    last_seen_ago: timedelta | None = None,
    version: str | None = "3.3.1802.0",
    latest: bool | None = True,
    instance_id: str = INSTANCE,
) -> AgentInfo:
    last = NOW - last_seen_ago if last_seen_ago is not None else None
    return AgentInfo(instance_id, ping, last, version, latest)


def agent_facts(*found: AgentInfo, complete: bool = True) -> AgentFacts:
    return AgentFacts({a.instance_id: a for a in found}, SEEN, 1, complete)


def one(checks: Sequence[Check]) -> Check:
    assert len(checks) == 1, checks
    return checks[0]


# --------------------------------------------------------------------------- status checks


def _word_case(field: str, word: str | None) -> tuple[Status, tuple[str, ...], tuple[str, ...]]:
    """What one check's word makes of the host check, the other two passing: its status,
    words its summary must carry, and words it must not."""
    label = LABELS[field]
    # What to do, by check: the console's advice for each kind of failure.
    advice = {"system": "stop and start", "instance": "reboot", "ebs": "volume"}[field]
    if word == "ok":
        return Status.GREEN, ("system", "instance", "attached EBS", "passed"), ("failed",)
    if word == "impaired":
        return Status.RED, (f"{label} status check failed", advice), ("passed",)
    if word == "initializing":
        return Status.UNKNOWN, ("not observed", "still running its first status checks"), ()
    if word == "insufficient-data":
        return Status.UNKNOWN, ("not observed", "not have enough data"), ()
    # not-applicable, or no word at all: that check is not claimed, the others still pass.
    others = [LABELS[f] for f in CHECKS if f != field]
    return Status.GREEN, (*others, "passed"), (label,)


WORDS = ("ok", "impaired", "initializing", "insufficient-data", "not-applicable", None)


@pytest.mark.parametrize(
    ("field", "word"),
    [(f, w) for f in CHECKS for w in WORDS],
    ids=[f"{f}-{w or 'missing'}" for f in CHECKS for w in WORDS],
)
def test_each_status_word_of_each_check(field: str, word: str | None) -> None:
    words = {"system": "ok", "instance": "ok", "ebs": "ok", field: word}
    expected, says, never = _word_case(field, word)
    found = status(words["system"], words["instance"], words["ebs"])
    got, reason, summary = status_verdict(found, NOW)
    assert got is expected, summary
    for part in says:
        assert part in summary, (part, summary)
    for part in never:
        assert part not in summary, (part, summary)
    if expected is Status.GREEN:
        assert reason == ""
    else:  # the short reason names the check that is not passing
        assert field.replace("ebs", "EBS") in reason


@pytest.mark.parametrize(
    ("words", "expected", "says"),
    [
        # A failure outranks a check with nothing to say yet: red needs only one failure.
        (("initializing", "impaired", "ok"), Status.RED, "instance status check failed"),
        (("impaired", "impaired", "impaired"), Status.RED, "system status check failed"),
        # A stopped instance: EC2 runs no check, and no check is never a pass.
        ((None, None, None), Status.UNKNOWN, "EC2 ran no status check"),
        (("not-applicable",) * 3, Status.UNKNOWN, "EC2 ran no status check"),
        (("ok", "insufficient-data", None), Status.UNKNOWN, "enough data"),
    ],
    ids=["impaired-beats-initializing", "all-impaired", "none-ran", "none-applicable", "mixed"],
)
def test_several_words_at_once(
    words: tuple[str | None, str | None, str | None], expected: Status, says: str
) -> None:
    got, _, summary = status_verdict(status(*words), NOW)
    assert got is expected
    assert says in summary


@pytest.mark.parametrize(
    ("failing_for", "shown"),
    [
        (timedelta(hours=2, minutes=5), "failed for 2 h 5 min:"),
        (timedelta(days=3, hours=4), "failed for 3 days:"),
        (timedelta(seconds=40), "failed for under 1 min:"),
        (None, "failed:"),  # EC2 gave no time: no duration is made up
    ],
    ids=["hours", "days", "just-now", "no-time"],
)
def test_impaired_since_is_shown_as_how_long(failing_for: timedelta | None, shown: str) -> None:
    since = {"instance": NOW - failing_for} if failing_for is not None else {}
    _, _, summary = status_verdict(status(instance="impaired", since=since), NOW)
    assert f"instance status check {shown}" in summary


def test_an_impaired_since_of_another_check_is_not_lent_to_the_failing_one() -> None:
    since = {"system": NOW - timedelta(hours=5)}
    _, _, summary = status_verdict(status(instance="impaired", since=since), NOW)
    assert "instance status check failed:" in summary and "5 h" not in summary


# --------------------------------------------------------------------------- the host check


def test_a_healthy_host_is_one_green_check_with_a_stable_id() -> None:
    check = one(host_checks(env("test-2"), host_facts(status()), judging(env_name="test-2")))
    assert (check.id, check.source, check.status) == ("source:host:test-2", "host", Status.GREEN)
    assert check.observed_at == SEEN  # when EC2 was read, not when the rules ran


@pytest.mark.parametrize("complete", [True, False], ids=["complete-listing", "cut-listing"])
def test_an_instance_ec2_did_not_list_is_unknown_never_green(complete: bool) -> None:
    other = status(instance_id="i-0ffffffffffffffff")
    check = one(host_checks(env("test"), host_facts(other, complete=complete), judging()))
    assert check.status is Status.UNKNOWN
    assert INSTANCE in check.summary and "not observed" in check.summary


@pytest.mark.parametrize("rule", [host_checks, agent_checks], ids=["host", "agent"])
@pytest.mark.parametrize(
    "found",
    [None, machine(instance_id=None)],
    ids=["no-machine", "eip-without-instance"],
)
def test_no_instance_behind_the_environment_is_unknown(
    rule: rules.SourceRule, found: Machine | None
) -> None:
    facts = host_facts(status()) if rule is host_checks else agent_facts(agent())
    check = one(list(rule(env("test"), facts, Judging(NOW, INVENTORY.thresholds, None, found))))
    assert check.status is Status.UNKNOWN
    assert "no instance" in check.summary


def test_a_rule_given_another_sources_facts_judges_nothing() -> None:
    assert host_checks(env("test"), agent_facts(agent()), judging()) == []
    assert agent_checks(env("test"), host_facts(status()), judging()) == []


# --------------------------------------------------------------------------- scheduled events


@pytest.mark.parametrize(
    ("code", "advice"),
    [
        ("instance-retirement", "stop and start it before then"),
        ("instance-stop", "stop and start it before then"),
        ("instance-reboot", "reboot it yourself before then"),
        ("system-reboot", "reboot it yourself before then"),
        ("system-maintenance", "nothing to do"),
        ("instance-hibernate", "read the event in the EC2 console"),  # a code we do not know
    ],
    ids=["retirement", "stop", "instance-reboot", "system-reboot", "maintenance", "unknown"],
)
def test_each_event_code_says_what_to_do_before_it(code: str, advice: str) -> None:
    got, reason, summary = events_verdict([event(code, timedelta(days=7))], NOW)
    assert got is Status.AMBER
    assert code in reason and summary.startswith(code)
    assert advice in summary


def test_a_scheduled_retirement_is_an_amber_check_beside_the_status_one() -> None:
    found = status(events=(event("instance-retirement", timedelta(days=7)),))
    checks = host_checks(env("prod"), host_facts(found), judging(env_name="prod"))
    by_id = {c.id: c for c in checks}
    assert set(by_id) == {"source:host:prod", "source:host:prod:events"}
    assert by_id["source:host:prod"].status is Status.GREEN  # the checks still pass
    retirement = by_id["source:host:prod:events"]
    assert retirement.status is Status.AMBER and retirement.source == "host"
    # The date (NOW is Mon 23 Nov 08:00 UTC) and how far off it is.
    assert "30 Nov 08:00 UTC" in retirement.summary and "in 7 days" in retirement.summary


@pytest.mark.parametrize("over", ["[Completed]", "[Canceled]"])
def test_completed_and_cancelled_events_are_not_pending(over: str) -> None:
    done = event("instance-reboot", timedelta(days=-1), f"{over} The instance is scheduled")
    found = status(events=(done,))
    assert pending_events(found) == []
    check = one(host_checks(env("test"), host_facts(found), judging()))
    assert check.id == "source:host:test" and check.status is Status.GREEN


def test_events_come_soonest_first_with_an_undated_one_last() -> None:
    later = event("system-maintenance", timedelta(days=9))
    undated = event("instance-stop", None)
    soon = event("instance-reboot", timedelta(days=2))
    done = event("instance-retirement", timedelta(hours=1), "[Completed] retired")
    pending = pending_events(status(events=(later, undated, done, soon)))
    assert [e.code for e in pending] == ["instance-reboot", "system-maintenance", "instance-stop"]
    _, reason, summary = events_verdict(pending, NOW)
    # The soonest one is the one named; the rest are counted.
    assert "instance-reboot" in reason and "in 2 days" in summary
    assert "(and 2 more)" in summary


def test_a_single_event_says_no_more() -> None:
    _, _, summary = events_verdict([event("instance-reboot", timedelta(days=2))], NOW)
    assert "more" not in summary


@pytest.mark.parametrize(
    ("in_", "says", "never"),
    [
        (timedelta(hours=-3), "due since", " in "),
        (timedelta(0), "due since", " in "),
        (timedelta(hours=5), "(in 5 h)", "due since"),
        (None, "date not given", "due since"),
    ],
    ids=["past", "now", "future", "undated"],
)
def test_when_an_event_is_due(in_: timedelta | None, says: str, never: str) -> None:
    _, _, summary = events_verdict([event("system-reboot", in_)], NOW)
    assert says in summary and never not in summary


# --------------------------------------------------------------------------- the SSM agent


@pytest.mark.parametrize(
    ("seen", "says", "never"),
    [
        (agent(), ("SSM agent online", "3.3.1802.0"), ("update",)),
        (agent(latest=False), ("SSM agent online", "3.3.1802.0", "update is available"), ()),
        (agent(latest=None), ("SSM agent online", "3.3.1802.0"), ("update",)),
        (agent(version=None, latest=None), ("SSM agent online",), ("(agent",)),
    ],
    ids=["latest", "update-available", "latest-not-said", "no-version"],
)
def test_an_online_agent_is_green_with_its_version(
    seen: AgentInfo, says: tuple[str, ...], never: tuple[str, ...]
) -> None:
    check = one(agent_checks(env("test"), agent_facts(seen), judging()))
    assert (check.id, check.source, check.status) == ("source:agent:test", "agent", Status.GREEN)
    assert all(part in check.summary for part in says), check.summary
    assert not any(part in check.summary for part in never), check.summary


@pytest.mark.parametrize(
    ("seen", "says"),
    [
        (
            agent("ConnectionLost", last_seen_ago=timedelta(hours=7, minutes=12)),
            ("SSM agent ConnectionLost", "last seen 7 h 12 min ago", "restart amazon-ssm-agent"),
        ),
        (
            agent("Inactive", last_seen_ago=timedelta(days=4)),
            ("SSM agent Inactive", "last seen 4 days ago"),
        ),
        (agent("ConnectionLost"), ("SSM agent ConnectionLost:",)),  # no last ping: no guess
        (None, (f"{INSTANCE} is not registered with SSM", "instance profile")),
    ],
    ids=["connection-lost", "inactive", "lost-never-seen", "not-registered"],
)
def test_an_agent_ci_cannot_reach_blocks_a_test_slot(
    seen: AgentInfo | None, says: tuple[str, ...]
) -> None:
    facts = agent_facts(seen) if seen else agent_facts(agent(instance_id="i-0ffffffffffffffff"))
    check = one(agent_checks(env("test"), facts, judging()))
    assert check.status is Status.RED
    assert all(part in check.summary for part in says), check.summary
    # What it means for the operator: CI's deploys to the slot will not get through.
    assert "test cannot be deployed to" in check.summary
    assert "send-command" in check.summary


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("test", Status.RED),
        ("test-3", Status.RED),
        ("prod", Status.AMBER),
        ("base", Status.AMBER),
        ("staging", Status.AMBER),
    ],
)
def test_an_unreachable_agent_is_red_only_where_ci_deploys(name: str, expected: Status) -> None:
    # A test slot exists for CI to deploy to; elsewhere the services run on and only the
    # next deploy is blocked.
    lost = agent("ConnectionLost", last_seen_ago=timedelta(hours=1))
    check = one(agent_checks(env(name), agent_facts(lost), judging(env_name=name)))
    assert check.status is expected
    assert f"{name} cannot be deployed to" in check.summary


def test_an_agent_missing_from_a_cut_listing_is_unknown_not_unregistered() -> None:
    others = agent_facts(agent(instance_id="i-0ffffffffffffffff"), complete=False)
    check = one(agent_checks(env("test"), others, judging()))
    assert check.status is Status.UNKNOWN
    assert INSTANCE in check.summary and "registered" not in check.summary


def test_an_agent_found_in_a_cut_listing_is_judged() -> None:
    check = one(agent_checks(env("test"), agent_facts(agent(), complete=False), judging()))
    assert check.status is Status.GREEN


# --------------------------------------------------------------------------- on the board


def board(
    seen: Observed,
    hosts: dict[str, HostStatus | None] | None = None,
    agents: dict[str, AgentInfo | None] | None = None,
) -> Board:
    """The real rules' board of `seen`, with the host and agent sources' facts of its
    machines: `hosts`/`agents` by environment (healthy for one not named; None: not
    listed). A failure `seen.fails` gave a source stands instead of its facts."""
    ids = {name: m.instance_id for name, m in seen.machines.items()}
    said, heard = hosts or {}, agents or {}
    listed = [_as(said.get(n, status()), i) for n, i in ids.items()]
    seen.reads("host", host_facts(*(s for s in listed if s is not None)))
    online = [_as(heard.get(n, agent()), i) for n, i in ids.items()]
    seen.reads("agent", agent_facts(*(a for a in online if a is not None)))
    return seen.board()


T = TypeVar("T", HostStatus, AgentInfo)


def _as(found: T | None, instance_id: str) -> T | None:
    """`found` as the listing's item for this instance."""
    return replace(found, instance_id=instance_id) if found is not None else None


def view(b: Board, name: str) -> EnvironmentView:
    return next(e for e in b.environments if e.name == name)


def check_of(b: Board, name: str, source: str) -> Check:
    return next(c for c in view(b, name).checks if c.id == f"source:{source}:{name}")


def issues(b: Board, name: str, check: str) -> list[Issue]:
    return [i for i in b.summary.issues if i.env == name and i.check == check]


def test_a_healthy_fleet_shows_both_checks_green_on_every_running_environment() -> None:
    b = board(all_running(stopped=("test-3",)))
    for name in ("prod", "test", "test-2"):
        assert check_of(b, name, "host").status is Status.GREEN
        assert check_of(b, name, "agent").status is Status.GREEN
    # A stopped slot is not judged: its agent is ConnectionLost by nature while it rests.
    assert not [c for c in view(b, "test-3").checks if c.source in ("host", "agent")]
    assert b.summary.status is Status.GREEN


def test_a_stopped_slots_lost_agent_is_no_issue() -> None:
    lost = agent("ConnectionLost", last_seen_ago=timedelta(days=2))
    b = board(all_running(stopped=("test-3",)), agents={"test-3": lost})
    assert not issues(b, "test-3", "agent")
    assert b.summary.status is Status.GREEN


def test_a_retirement_makes_prod_amber_with_the_date_in_its_issue() -> None:
    found = status(events=(event("instance-retirement", timedelta(days=7)),))
    b = board(all_running(), hosts={"prod": found})
    assert view(b, "prod").status is Status.AMBER
    (issue,) = issues(b, "prod", "scheduled event")
    assert issue.status is Status.AMBER
    assert "instance-retirement" in issue.text and "30 Nov" in issue.text


def test_an_impaired_instance_check_makes_its_slot_red() -> None:
    b = board(all_running(), hosts={"test-2": status(instance="impaired")})
    assert view(b, "test-2").status is Status.RED
    (issue,) = issues(b, "test-2", "host")
    assert issue.status is Status.RED and "instance status check failed" in issue.text


def test_an_environment_with_no_instance_has_its_host_and_agent_unknown() -> None:
    seen = all_running()
    seen.untagged("test-2")
    b = board(seen)
    for source in ("host", "agent"):
        check = check_of(b, "test-2", source)
        assert check.status is Status.UNKNOWN and "no instance" in check.summary


# --------------------------------------------------------------------------- CI and the agent


def slot_one_runs() -> Observed:
    """Run #41 of PR #481 holds slot 1 (its marker step); run #42 of PR #482 waits for it."""
    seen = all_running(SMALL_FLEET + GITHUB)
    created, title = timedelta(minutes=20), "feat: vault rotation"
    started = timedelta(minutes=19)
    seen.run(
        9041,
        41,
        title=title,
        created_ago=created,
        started_ago=started,
        pr=481,
        job="deploy",
        marker=1,
    )
    seen.run(9042, 42, title=title, created_ago=created, pr=482, claim=(1, None))
    return seen


def ci_texts(b: Board, name: str) -> list[str]:
    return [i.text for i in issues(b, name, "ci")]


@pytest.mark.parametrize(
    ("lost", "why"),
    [
        (agent("ConnectionLost", last_seen_ago=timedelta(hours=7)), "ssm agent ConnectionLost"),
        (None, "not registered with SSM"),
    ],
    ids=["connection-lost", "not-registered"],
)
def test_each_run_on_a_slot_ci_cannot_deploy_to_is_told_it_will_fail(
    lost: AgentInfo | None, why: str
) -> None:
    b = board(slot_one_runs(), agents={"test": lost})
    test = view(b, "test")
    assert test.status is Status.RED
    assert check_of(b, "test", "agent").status is Status.RED
    texts = ci_texts(b, "test")
    assert len(texts) == 2, texts
    holder, waiter = texts
    assert "run #41 (PR #481) holds test" in holder
    assert "run #42 (PR #482) waits for test" in waiter
    for text in texts:
        assert f"which CI cannot deploy to ({why})" in text
        assert "fail at its deploy step" in text
        assert "red slot" not in text  # the reason is known: not the vague sentence
    # Amber: a run's trouble never outranks the slot's own red.
    assert {i.status for i in issues(b, "test", "ci")} == {Status.AMBER}


def test_a_red_slot_with_its_agent_online_keeps_the_red_slot_sentence() -> None:
    b = board(slot_one_runs(), hosts={"test": status(system="impaired")})
    assert view(b, "test").status is Status.RED
    assert check_of(b, "test", "agent").status is Status.GREEN
    (text,) = ci_texts(b, "test")  # the holder only: a waiting run is not on the slot yet
    assert "run #41 (PR #481) runs on a red slot" in text
    assert "cannot deploy" not in text


def test_a_slot_ci_can_reach_tells_its_runs_nothing() -> None:
    b = board(slot_one_runs())
    assert view(b, "test").status is Status.GREEN
    assert ci_texts(b, "test") == []


def test_red_slot_issue_speaks_only_of_a_red_slot_with_runs() -> None:
    lost = agent("ConnectionLost", last_seen_ago=timedelta(hours=7))
    b = board(slot_one_runs(), agents={"test": lost})
    test = view(b, "test")
    assert len(red_slot_issue(test, Status.RED)) == 2
    # Told the slot is not red, it says nothing: the slot's own issues carry it.
    assert red_slot_issue(test, Status.AMBER) == []
    # prod has no CI part: nothing to link.
    assert red_slot_issue(view(b, "prod"), Status.RED) == []
    idle = board(all_running(SMALL_FLEET + GITHUB), agents={"test": lost})
    assert red_slot_issue(view(idle, "test"), Status.RED) == []


# --------------------------------------------------------------------------- ids across a failure


@pytest.mark.parametrize("source", ["host", "agent"])
def test_a_failed_source_shows_the_same_check_unknown(source: str) -> None:
    seen = all_running()
    seen.fails(source, "ec2:DescribeInstanceStatus throttled (Throttling)")
    b = board(seen)
    for name in ("prod", "test", "test-2", "test-3"):
        check = check_of(b, name, source)  # the id the healthy source gives it
        assert check.status is Status.UNKNOWN
        assert "throttled" in check.summary


@pytest.mark.parametrize("source", ["host", "agent"])
def test_memory_follows_one_check_through_a_source_failure_and_back(source: str) -> None:
    t1, t2, t3 = NOW, NOW + timedelta(minutes=5), NOW + timedelta(minutes=10)

    def at(when: datetime, *, fails: bool = False) -> Board:
        seen = Observed(SMALL_FLEET, when)
        for i, (name, eip) in enumerate(SMALL_EIPS.items()):
            seen.running(name, f"i-0{i:016x}", eip, launched_days_ago=3)
        if fails:
            seen.fails(source, "AccessDenied: the role predates the feature")
        return board(seen)

    shown, timeline = memory.remember(None, at(t1))
    for when, fails in ((t2, True), (t3, False)):
        shown, timeline = memory.remember(timeline, at(when, fails=fails))
    # Back to green at t3: one check whose since starts again then, and whose going
    # unknown and coming back are both lines of the day's changes.
    check = check_of(shown, "test", source)
    assert check.status is Status.GREEN and check.since == t3
    test_lines = [(t.at, t.before, t.after) for t in shown.recent if t.env == "test" and t.check]
    assert (t2, "green", "unknown") in test_lines
    assert (t3, "unknown", "green") in test_lines


@pytest.mark.parametrize(
    ("reason", "access", "next_step"),
    [
        (
            "ec2:DescribeInstanceStatus denied (UnauthorizedOperation): not authorized — "
            "allow ec2:DescribeInstanceStatus for the collector's role",
            True,
            "Fix the collector's access",
        ),
        (
            "ec2:DescribeInstanceStatus throttled after 3 attempts (RequestLimitExceeded): "
            "Request limit exceeded.",
            False,
            "The next pass asks again",
        ),
    ],
    ids=["denied", "throttled"],
)
def test_the_next_action_for_a_source_that_failed_says_whose_fix_it_is(
    reason: str, access: bool, next_step: str
) -> None:
    # A denial is the collector's to fix; a throttle or a 500 is AWS's, asked again next pass.
    seen = all_running()
    seen.fails("host", reason, access=access)
    action = board(seen).summary.suggested_next_action
    assert action.startswith("The board cannot see host: ")
    assert f"{next_step}; that part of the board shows unknown, not healthy." in action
