"""What a machine costs, and a test slot left running with nothing to do, as tables: the
machine, the prices and the clock in; the board's `EnvironmentView.cost`, the amber "idle"
issue with its stop command, and the card's cost line out.

The prices here are the Price List's as a test states them (USD an hour), not the source's
built-in table, so each figure below is worked out from the numbers in this file.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest
from tests.boards import DEMO_MACHINES, demo, document, hold_slot_1, wait_for_slot_1
from tests.html import card, parse
from tests.observed import NOW, SMALL_EIPS, SMALL_FLEET, Observed, all_running

from fleetboard import render
from fleetboard.model import (
    Board,
    EnvironmentView,
    EnvKind,
    HostFacts,
    Issue,
    Lifecycle,
    Machine,
    Maintenance,
    PriceFacts,
    SourceFailure,
    Status,
)
from fleetboard.render.machine import cost_text
from fleetboard.rules.cost import idle_issue, machine_cost

GITHUB = '\n[github]\nrepo = "litentry/agentKeys"\nworkflows = ["harness-ci.yml"]\n'
#: SMALL_FLEET (prod, test, test-2, test-3) with CI read from GitHub.
FLEET = SMALL_FLEET + GITHUB
INSTANCE = "i-0d1e2f3a4b5c6d7e8"
EIP = SMALL_EIPS["test"]

#: A t3.medium's on-demand hour and the public IPv4 hour, as AWS lists them.
T3_MEDIUM = 0.0416
IPV4 = 0.005
#: (0.0416 + 0.005) * 24 = 1.1184: a running t3.medium with its Elastic IP, a day.
RUNNING_PER_DAY = 1.12
#: 0.005 * 24: a stopped machine's Elastic IP alone, a day.
STOPPED_PER_DAY = 0.12
LISTED = "AWS Price List, read 2026-11-23 06:00 UTC"
PRICES = PriceFacts({"t3.medium": T3_MEDIUM}, NOW - timedelta(hours=2), 1, basis=LISTED)
TABLE_BASIS = "built-in list prices of 2024-02"

#: fleet.toml's [thresholds] idle_hours by default.
IDLE_HOURS = 6.0


def machine(
    *,
    state: str | None = "running",
    instance_type: str | None = "t3.medium",
    launched_at: datetime | None = NOW - timedelta(days=3),
    eip: str | None = EIP,
    instance_id: str | None = INSTANCE,
) -> Machine:
    """What the aws source found behind slot 1: by default a t3.medium running 3 days."""
    return Machine(
        instance_id=instance_id,
        state=state,
        instance_type=instance_type,
        launched_at=launched_at,
        eip=eip,
        eip_tag="agentkeys-broker-eip-test",
        eip_declared=None,
    )


# --------------------------------------------------------------------------- what it costs


@pytest.mark.parametrize(
    ("lifecycle", "found", "per_day", "instance_hourly", "ipv4_hourly"),
    [
        (Lifecycle.RUNNING, machine(), RUNNING_PER_DAY, T3_MEDIUM, IPV4),
        # Stopped: EC2 bills no instance hours, but the Elastic IP's IPv4 is billed idle.
        (Lifecycle.STOPPED, machine(state="stopped"), STOPPED_PER_DAY, None, IPV4),
        (Lifecycle.STOPPED, machine(state="stopped", eip=None), 0.0, None, 0.0),
        # 0.0416 * 24 = 0.9984: the instance alone.
        (Lifecycle.RUNNING, machine(eip=None), 1.0, T3_MEDIUM, 0.0),
        # An Elastic IP with nothing behind it still pays for its address.
        (
            Lifecycle.MISSING,
            machine(state=None, instance_type=None, launched_at=None, instance_id=None),
            STOPPED_PER_DAY,
            None,
            IPV4,
        ),
        # A type the prices do not list: no figure is made up, the address is still said.
        (Lifecycle.RUNNING, machine(instance_type="x2iedn.32xlarge"), None, None, IPV4),
        (Lifecycle.RUNNING, machine(instance_type=None), None, None, IPV4),
    ],
    ids=[
        "running-with-eip",
        "stopped-with-eip",
        "stopped-without-eip",
        "running-without-eip",
        "eip-without-instance",
        "running-type-not-priced",
        "running-type-not-known",
    ],
)
def test_a_machine_costs_its_instance_while_running_and_its_eip_always(
    lifecycle: Lifecycle,
    found: Machine,
    per_day: float | None,
    instance_hourly: float | None,
    ipv4_hourly: float,
) -> None:
    cost = machine_cost(lifecycle, found, PRICES, NOW)

    assert cost is not None
    assert cost.per_day == (None if per_day is None else pytest.approx(per_day))
    assert cost.instance_hourly == instance_hourly
    assert cost.ipv4_hourly == ipv4_hourly
    assert cost.basis == LISTED  # where the figure comes from travels with it


@pytest.mark.parametrize(
    ("lifecycle", "found", "prices"),
    [
        (Lifecycle.RUNNING, machine(), None),
        (Lifecycle.RUNNING, machine(), SourceFailure("prices", "not read: no instances")),
        (Lifecycle.RUNNING, machine(), HostFacts({}, NOW, 1)),
        # AWS could not be read: whether it runs is not known, so neither is what it costs.
        (Lifecycle.UNKNOWN, machine(), PRICES),
        (Lifecycle.RETIRED, machine(), PRICES),
        (
            Lifecycle.MISSING,
            machine(state=None, instance_type=None, launched_at=None, eip=None, instance_id=None),
            PRICES,
        ),
    ],
    ids=[
        "no-prices",
        "prices-failed",
        "another-source-s-facts",
        "lifecycle-unknown",
        "retired",
        "no-machine-at-all",
    ],
)
def test_no_cost_is_said_without_prices_or_a_machine_known_to_be_there(
    lifecycle: Lifecycle, found: Machine, prices: object
) -> None:
    assert machine_cost(lifecycle, found, prices, NOW) is None


@pytest.mark.parametrize(
    ("lifecycle", "found", "hours"),
    [
        # NOW is 08:00:03 UTC.
        (Lifecycle.RUNNING, machine(launched_at=NOW - timedelta(hours=3, minutes=30)), 3.5),
        # Started before today: today's hours are counted from 00:00 UTC.
        (
            Lifecycle.RUNNING,
            machine(launched_at=datetime(2026, 11, 22, 22, 0, tzinfo=NOW.tzinfo)),
            8.0,
        ),
        (Lifecycle.RUNNING, machine(launched_at=NOW.replace(hour=0, minute=0, second=0)), 8.0),
        (Lifecycle.RUNNING, machine(launched_at=None), 8.0),
        # A launch time ahead of the collector's clock (skew) is no negative hours.
        (Lifecycle.RUNNING, machine(launched_at=NOW + timedelta(minutes=3)), 0.0),
        (Lifecycle.STOPPED, machine(state="stopped", launched_at=NOW - timedelta(hours=2)), 0.0),
    ],
    ids=[
        "started-today",
        "started-yesterday",
        "started-at-midnight",
        "launch-time-not-known",
        "launch-time-ahead",
        "stopped",
    ],
)
def test_hours_running_today_count_from_the_last_start_or_utc_midnight(
    lifecycle: Lifecycle, found: Machine, hours: float
) -> None:
    cost = machine_cost(lifecycle, found, PRICES, NOW)
    assert cost is not None and cost.running_today_h == hours


# --------------------------------------------------------------------------- idle: the rule


def board(seen: Observed) -> Board:
    return seen.board()


def view(b: Board, name: str) -> EnvironmentView:
    return next(e for e in b.environments if e.name == name)


def idle_of(b: Board) -> list[Issue]:
    return [i for i in b.summary.issues if i.check == "idle"]


def slot_seen(
    *,
    fleet: str = FLEET,
    deployed_ago: timedelta | None = timedelta(hours=7),
    launched_ago: timedelta = timedelta(days=3),
    prices: PriceFacts | None = PRICES,
) -> Observed:
    """prod and slot 1 running (slot 1 deployed to `deployed_ago`, started `launched_ago`),
    slots 2 and 3 stopped; GitHub read with no run in flight; the prices source's facts."""
    seen = all_running(fleet, stopped=("test-2", "test-3"))
    iid = seen.machines["test"].instance_id
    seen.running("test", iid, EIP, launched_days_ago=launched_ago / timedelta(days=1))
    if deployed_ago is not None:
        seen.deployed("test", "feat/x", deployed_ago, 19433108775)
    if prices is not None:
        seen.reads("prices", prices)
    return seen


@pytest.fixture(scope="module")
def idle() -> EnvironmentView:
    """Slot 1 as the rules see it: running, nothing holding it, deployed to 7 hours ago."""
    return view(board(slot_seen()), "test")


@pytest.fixture(scope="module")
def held() -> EnvironmentView:
    seen = slot_seen()
    hold_slot_1(seen)
    return view(board(seen), "test")


@pytest.fixture(scope="module")
def waited_for() -> EnvironmentView:
    seen = slot_seen()
    wait_for_slot_1(seen)
    return view(board(seen), "test")


def test_the_idle_slot_fixture_is_idle(idle: EnvironmentView) -> None:
    # The control for the table below: as it stands, slot 1 is idle.
    (issue,) = idle_issue(idle, True, IDLE_HOURS, "us-east-1", NOW)
    assert (issue.status, issue.env, issue.check) == (Status.AMBER, "test", "idle")


Flip = Callable[
    [EnvironmentView, EnvironmentView, EnvironmentView], tuple[EnvironmentView, bool, float]
]

#: Each condition of an idle slot, flipped on its own: (view, CI read this pass, idle_hours).
FLIPS: dict[str, Flip] = {
    "idle-hours-0-never": lambda v, h, w: (v, True, 0.0),
    "prod": lambda v, h, w: (replace(v, kind=EnvKind.PROD, slot=None), True, IDLE_HOURS),
    "base": lambda v, h, w: (replace(v, kind=EnvKind.BASE, slot=None), True, IDLE_HOURS),
    "other-kind": lambda v, h, w: (replace(v, kind=EnvKind.OTHER, slot=None), True, IDLE_HOURS),
    "stopped": lambda v, h, w: (replace(v, lifecycle=Lifecycle.STOPPED), True, IDLE_HOURS),
    "in-maintenance": lambda v, h, w: (
        replace(
            v, maintenance=Maintenance("resize", NOW - timedelta(hours=1), NOW + timedelta(hours=1))
        ),
        True,
        IDLE_HOURS,
    ),
    # No runs seen is not no runs: GitHub was not read this pass.
    "ci-not-read": lambda v, h, w: (v, False, IDLE_HOURS),
    "no-ci-part": lambda v, h, w: (replace(v, ci=None), True, IDLE_HOURS),
    "a-run-holds-it": lambda v, h, w: (replace(v, ci=h.ci), True, IDLE_HOURS),
    "a-run-waits-for-it": lambda v, h, w: (replace(v, ci=w.ci), True, IDLE_HOURS),
    "cost-not-known": lambda v, h, w: (replace(v, cost=None), True, IDLE_HOURS),
    "price-not-known": lambda v, h, w: (
        replace(v, cost=replace(v.cost, per_day=None)) if v.cost else v,
        True,
        IDLE_HOURS,
    ),
    "no-instance": lambda v, h, w: (
        replace(v, machine=replace(v.machine, instance_id=None)),
        True,
        IDLE_HOURS,
    ),
    "deployed-just-under-idle-hours": lambda v, h, w: (
        replace(v, deploy=replace(v.deploy, at=NOW - timedelta(hours=5, minutes=59, seconds=59)))
        if v.deploy
        else v,
        True,
        IDLE_HOURS,
    ),
    # Deployed to 7 hours ago, but stopped and started again an hour ago.
    "started-again-an-hour-ago": lambda v, h, w: (
        replace(v, machine=replace(v.machine, launched_at=NOW - timedelta(hours=1))),
        True,
        IDLE_HOURS,
    ),
    "neither-deploy-nor-start-known": lambda v, h, w: (
        replace(v, deploy=None, machine=replace(v.machine, launched_at=None)),
        True,
        IDLE_HOURS,
    ),
}


@pytest.mark.parametrize("flip", FLIPS.values(), ids=FLIPS.keys())
def test_each_condition_of_idle_flipped_alone_stops_the_issue(
    idle: EnvironmentView, held: EnvironmentView, waited_for: EnvironmentView, flip: Flip
) -> None:
    changed, runs_read, idle_hours = flip(idle, held, waited_for)
    assert (changed, runs_read, idle_hours) != (idle, True, IDLE_HOURS)  # something flipped
    assert idle_issue(changed, runs_read, idle_hours, "us-east-1", NOW) == []


@pytest.mark.parametrize(
    ("quiet_for", "said"),
    [
        (timedelta(hours=6), "idle for 6 h "),
        (timedelta(hours=6, seconds=1), "idle for 6 h "),
        (timedelta(hours=30, minutes=5), "idle for 1 day 6 h "),
    ],
    ids=["exactly-idle-hours", "a-second-over", "over-a-day"],
)
def test_idle_from_idle_hours_on_and_the_duration_said(
    idle: EnvironmentView, quiet_for: timedelta, said: str
) -> None:
    assert idle.deploy is not None
    quiet = replace(idle, deploy=replace(idle.deploy, at=NOW - quiet_for))
    (issue,) = idle_issue(quiet, True, IDLE_HOURS, "us-east-1", NOW)
    assert issue.detail.startswith(said), issue.detail


def test_the_sentence_says_how_long_what_it_costs_and_how_to_stop_it(
    idle: EnvironmentView,
) -> None:
    (issue,) = idle_issue(idle, True, IDLE_HOURS, "eu-west-1", NOW)

    iid = idle.machine.instance_id
    assert issue.text.startswith("test idle amber: idle for 7 h "), issue.text
    assert "no CI run holds or waits for it" in issue.text
    assert "its last deploy was then" in issue.text
    assert f"about ${RUNNING_PER_DAY:.2f}/day" in issue.text
    # A command the operator can paste: the fleet's region and this slot's instance.
    assert issue.text.endswith(
        f"stop it with `aws ec2 stop-instances --region eu-west-1 --instance-ids {iid}`"
    ), issue.text


@pytest.mark.parametrize(
    ("deployed_ago", "launched_ago", "said"),
    [
        (
            timedelta(hours=7),
            timedelta(days=3),
            "idle for 7 h (no CI run holds or waits for it; its last deploy was then)",
        ),
        # Stopped and started again since its last deploy: idle since that start.
        (
            timedelta(days=3),
            timedelta(hours=9),
            "idle for 9 h (no CI run holds or waits for it; its last start was then)",
        ),
        # Never deployed to (as the deploy trail reaches back).
        (
            None,
            timedelta(days=2, hours=1),
            "idle for 2 days (no CI run holds or waits for it; its last start was then)",
        ),
    ],
    ids=["deployed-since-start", "started-since-deploy", "never-deployed"],
)
def test_idle_counts_from_the_later_of_the_last_deploy_and_the_last_start(
    deployed_ago: timedelta | None, launched_ago: timedelta, said: str
) -> None:
    b = board(slot_seen(deployed_ago=deployed_ago, launched_ago=launched_ago))
    (issue,) = idle_of(b)
    assert issue.detail.startswith(said), issue.detail


# --------------------------------------------------------------------------- idle: on the board


def test_an_idle_slot_turns_amber_and_its_issue_is_in_the_summary() -> None:
    priced = board(slot_seen())
    unpriced = board(slot_seen(prices=None))

    # Without prices the same slot is green: the idle issue is what turns it amber.
    assert view(unpriced, "test").status is Status.GREEN
    assert idle_of(unpriced) == []
    assert view(priced, "test").status is Status.AMBER
    (issue,) = idle_of(priced)
    assert issue.env == "test" and issue.status is Status.AMBER
    assert issue in view(priced, "test").issues
    # prod has had no deploy for days and runs on: it is never called idle.
    assert view(priced, "prod").status is Status.GREEN


def test_a_slot_held_or_waited_for_by_a_run_is_not_idle() -> None:
    for occupy in (hold_slot_1, wait_for_slot_1):
        seen = slot_seen()
        occupy(seen)
        b = board(seen)
        assert idle_of(b) == [], occupy.__name__
        assert view(b, "test").cost is not None  # its cost is known: CI is what clears it


def test_a_slot_whose_github_read_failed_is_never_called_idle() -> None:
    seen = slot_seen()
    seen.fails("github", "timeout: api.github.com did not answer in 3 s")

    b = board(seen)

    assert idle_of(b) == []
    assert not [i for i in view(b, "test").issues if i.check == "idle"]
    cost = view(b, "test").cost
    assert cost is not None and cost.per_day == pytest.approx(RUNNING_PER_DAY)


def test_a_fleet_without_github_never_calls_a_slot_idle() -> None:
    assert idle_of(board(slot_seen(fleet=SMALL_FLEET))) == []


@pytest.mark.parametrize(
    ("thresholds", "deployed_ago", "idle"),
    [
        ("", timedelta(hours=3), False),
        ("idle_hours = 2\n", timedelta(hours=3), True),
        ("idle_hours = 0\n", timedelta(days=20), False),
    ],
    ids=["default-6-hours", "fleet-toml-2-hours", "fleet-toml-0-never"],
)
def test_fleet_toml_s_idle_hours_is_the_one_applied(
    thresholds: str, deployed_ago: timedelta, idle: bool
) -> None:
    fleet = FLEET + (f"\n[thresholds]\n{thresholds}" if thresholds else "")
    b = board(slot_seen(fleet=fleet, deployed_ago=deployed_ago))
    assert bool(idle_of(b)) is idle
    assert view(b, "test").status is (Status.AMBER if idle else Status.GREEN)


def test_the_stop_command_names_the_fleet_s_region() -> None:
    fleet = FLEET.replace('region = "us-east-1"', 'region = "eu-west-1"')
    assert fleet != FLEET
    seen = slot_seen(fleet=fleet)
    iid = seen.machines["test"].instance_id

    (issue,) = idle_of(board(seen))

    assert f"`aws ec2 stop-instances --region eu-west-1 --instance-ids {iid}`" in issue.text


# --------------------------------------------------------------------------- the card's line


#: `environments[].cost` as the snapshot carries it: a running t3.medium. A case changes
#: some of it: dict(COST_JSON, key=value).
COST_JSON: dict[str, Any] = {
    "per_day": RUNNING_PER_DAY,
    "instance_hourly": T3_MEDIUM,
    "ipv4_hourly": IPV4,
    "running_today_h": 9.5,
    "basis": LISTED,
}


@pytest.mark.parametrize(
    ("cost", "text"),
    [
        (COST_JSON, "about $1.12/day · running 9.5 h today"),
        (dict(COST_JSON, running_today_h=8.0), "about $1.12/day · running 8 h today"),
        (
            dict(COST_JSON, per_day=STOPPED_PER_DAY, instance_hourly=None, running_today_h=0.0),
            "about $0.12/day while stopped: its Elastic IP's public IPv4",
        ),
        (
            dict(
                COST_JSON, per_day=0.0, instance_hourly=None, ipv4_hourly=0.0, running_today_h=0.0
            ),
            "nothing while stopped",
        ),
        (
            dict(COST_JSON, per_day=None, instance_hourly=None),
            "price of its instance type not known",
        ),
    ],
    ids=[
        "running",
        "running-whole-hours",
        "stopped-with-eip",
        "stopped-without-eip",
        "unknown-price",
    ],
)
def test_the_cost_in_words(cost: dict[str, Any], text: str) -> None:
    assert cost_text(cost) == text


def cost_line(card_html: str) -> tuple[str, str] | None:
    """The card's cost entry as a reader gets it: its title and its words; None without."""
    found = re.search(r"<dt>cost(.*?)</dl>", card_html, re.S)
    if found is None:
        return None
    tags = parse(found.group(1))
    (dd,) = [attrs for tag, attrs in tags.tags if tag == "dd"]
    return dd.get("title") or "", " ".join("".join(tags.text).split())


def page(prices: PriceFacts | None) -> str:
    """The demo's page with the prices source's facts (None: it did not run); base runs a
    type those prices do not list."""
    seen = demo()
    iid, eip, days_up, ms, cert_days = DEMO_MACHINES["base"]
    seen.running(
        "base",
        iid,
        eip,
        launched_days_ago=days_up,
        latency_ms=ms,
        cert_days=cert_days,
        instance_type="r7iz.large",
    )
    if prices is not None:
        seen.reads("prices", prices)
    return render.render_page(document(seen.board()))


def test_each_card_says_what_its_machine_costs_and_where_the_prices_come_from() -> None:
    html = page(PRICES)

    title = f"source prices · {LISTED} · list prices: EBS and data transfer not counted"
    # prod: running since before today (NOW is 08:00 UTC).
    assert cost_line(card(html, "prod")) == (title, "about $1.12/day · running 8 h today")
    # test-3 is stopped: its Elastic IP alone.
    assert cost_line(card(html, "test-3")) == (
        title,
        "about $0.12/day while stopped: its Elastic IP's public IPv4",
    )
    assert cost_line(card(html, "base")) == (title, "price of its instance type not known")


def test_the_title_says_when_the_built_in_table_stood_in() -> None:
    table = PriceFacts(
        {"t3.medium": T3_MEDIUM},
        NOW,
        0,
        basis=TABLE_BASIS,
        note="pricing:GetProducts denied (AccessDeniedException): …",
    )

    line = cost_line(card(page(table), "prod"))

    assert line is not None
    title, words = line
    assert TABLE_BASIS in title and "AWS Price List" not in title
    assert words == "about $1.12/day · running 8 h today"


def test_no_card_has_a_cost_line_when_the_prices_source_did_not_run() -> None:
    html = page(None)
    for name in ("prod", "base", "test", "test-2", "test-3"):
        assert cost_line(card(html, name)) is None, name
