"""The machine's load as a table: CloudWatch's figures of an instance (CPU over 3 hours,
CPU credits, memory and disk) in; the metrics check's status and sentence out, and the
board's `EnvironmentView.metrics`, which the card draws."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta

import pytest
from tests.observed import NOW, SMALL_EIPS, SMALL_FLEET, Observed, all_running

from fleetboard import config
from fleetboard.inventory import Environment, Thresholds
from fleetboard.model import (
    AgentFacts,
    Board,
    Check,
    EnvironmentView,
    Machine,
    Metrics,
    MetricsFacts,
    Status,
)
from fleetboard.rules.checks import Judging
from fleetboard.rules.host import metrics_checks, metrics_verdict

INVENTORY = config.loads(SMALL_FLEET).inventory
DEFAULTS = Thresholds()
INSTANCE = "i-0d1e2f3a4b5c6d7e8"
#: When CloudWatch was read: a few minutes before the pass (kept figures are reused).
READ_AT = NOW - timedelta(minutes=7)
#: Three hours of 5-minute steps ending at 31 % after a 40 % peak: what the green
#: sentence's "now" and "at most" are read from.
CPU = (12.0,) * 30 + (25.0, 40.0, 38.5, 33.0, 30.0, 31.0)


def figures(
    *,
    cpu: tuple[float | None, ...] = CPU,
    credits: float | None = 412.0,
    memory: float | None = 63.0,
    disk: float | None = 71.0,
) -> Metrics:
    return Metrics(cpu=cpu, credits=credits, memory=memory, disk=disk, observed_at=READ_AT)


def facts(*items: tuple[str, Metrics]) -> MetricsFacts:
    return MetricsFacts(dict(items), READ_AT, 1)


def env(name: str = "test") -> Environment:
    return INVENTORY.environment(name)


def machine(instance_id: str | None = INSTANCE) -> Machine:
    """What the aws source found behind slot 1: a running t3 (or, with no id, an EIP with
    nothing behind it)."""
    return Machine(
        instance_id=instance_id,
        state="running" if instance_id else None,
        instance_type="t3.medium" if instance_id else None,
        launched_at=NOW - timedelta(days=3) if instance_id else None,
        eip=SMALL_EIPS["test"],
        eip_tag=env().eip_tag,
        eip_declared=None,
    )


def judging(found: Machine | None = None, thresholds: Thresholds = DEFAULTS) -> Judging:
    return Judging(NOW, thresholds, None, found or machine())


def one(checks: Sequence[Check]) -> Check:
    assert len(checks) == 1, checks
    return checks[0]


# --------------------------------------------------------------------------- the verdict


@pytest.mark.parametrize(
    ("found", "expected", "says", "never"),
    [
        # CPU credits: amber strictly under the floor (10 by default).
        (
            figures(credits=9.9),
            Status.AMBER,
            ("CPU credits 9.9 (floor 10)", "throttled to its baseline", "surplus credits"),
            ("CPU 31% now",),
        ),
        (figures(credits=0.0), Status.AMBER, ("CPU credits 0 (floor 10)",), ()),
        (figures(credits=10.0), Status.GREEN, ("10 CPU credits",), ("floor",)),
        (figures(credits=412.0), Status.GREEN, ("412 CPU credits",), ("floor",)),
        # Not a burstable type (m5, c6i): no credits at all, and none claimed.
        (figures(credits=None), Status.GREEN, ("CPU 31% now",), ("credits",)),
        # Memory: amber at or over 90 %.
        (figures(memory=89.9), Status.GREEN, ("memory 89.9% used",), ("nearly",)),
        (figures(memory=90.0), Status.AMBER, ("memory 90% used",), ("CPU 31% now",)),
        (figures(memory=97.5), Status.AMBER, ("memory 97.5% used",), ()),
        # Root disk: amber at or over 85 %.
        (figures(disk=84.9), Status.GREEN, ("disk 84.9% used",), ()),
        (figures(disk=85.0), Status.AMBER, ("root disk 85% used",), ()),
        (figures(disk=99.0), Status.AMBER, ("root disk 99% used",), ()),
        # No CloudWatch agent: memory and disk are said to be unknown, never guessed.
        (
            figures(memory=None, disk=None),
            Status.GREEN,
            ("memory not published", "disk not published"),
            ("% used",),
        ),
        (figures(memory=None, disk=99.0), Status.AMBER, ("root disk 99% used",), ("memory",)),
    ],
    ids=[
        "credits-under-floor",
        "credits-none-left",
        "credits-at-floor",
        "credits-plenty",
        "not-burstable",
        "memory-under",
        "memory-at",
        "memory-over",
        "disk-under",
        "disk-at",
        "disk-over",
        "agent-not-installed",
        "disk-full-without-memory",
    ],
)
def test_each_figure_against_its_threshold(
    found: Metrics, expected: Status, says: tuple[str, ...], never: tuple[str, ...]
) -> None:
    status, reason, summary = metrics_verdict(found, DEFAULTS)
    assert status is expected, summary
    assert all(part in summary for part in says), summary
    assert not any(part in summary for part in never), summary
    # The short reason is empty when green, and names the trouble when not.
    assert (reason == "") is (expected is Status.GREEN), reason


@pytest.mark.parametrize(
    ("found", "expected", "reason"),
    [
        (figures(credits=40.0), Status.AMBER, "host: cpu credits low"),
        (figures(memory=75.0), Status.AMBER, "host: memory nearly full"),
        (figures(disk=65.0), Status.AMBER, "host: disk nearly full"),
        (figures(credits=60.0, memory=69.0, disk=59.0), Status.GREEN, ""),
    ],
    ids=["credits-floor-50", "memory-70pct", "disk-60pct", "all-just-under"],
)
def test_fleet_toml_s_own_thresholds_are_the_ones_applied(
    found: Metrics, expected: Status, reason: str
) -> None:
    # Each figure is fine by the defaults; fleet.toml's [thresholds] make it amber.
    strict = replace(DEFAULTS, cpu_credits_floor=50.0, memory_pct=70.0, disk_pct=60.0)
    assert metrics_verdict(found, DEFAULTS)[0] is Status.GREEN
    status, why, summary = metrics_verdict(found, strict)
    assert (status, why) == (expected, reason), summary
    if status is Status.AMBER and "credits" in reason:
        assert "(floor 50)" in summary


def test_every_problem_is_said_at_once_the_first_is_the_reason() -> None:
    found = figures(credits=1.5, memory=93.0, disk=88.0)

    status, reason, summary = metrics_verdict(found, DEFAULTS)

    assert status is Status.AMBER
    assert reason == "host: cpu credits low"
    parts = summary.split("; ")
    assert len(parts) == 3, summary
    assert parts[0].startswith("CPU credits 1.5 (floor 10)")
    assert parts[1:] == ["memory 93% used", "root disk 88% used"]


@pytest.mark.parametrize(
    ("cpu", "now", "peak"),
    [
        (CPU, "31", "40"),
        # The newest steps empty (CloudWatch lags, or the instance just rebooted): "now" is
        # the newest figure there is, not a made-up zero.
        ((None, 5.0, 77.5, 60.0, None, None), "60", "77.5"),
        ((None,) * 35 + (3.2,), "3.2", "3.2"),
    ],
    ids=["full-window", "gaps-at-the-end", "one-figure"],
)
def test_a_green_sentence_gives_cpu_now_and_its_peak(
    cpu: tuple[float | None, ...], now: str, peak: str
) -> None:
    status, _, summary = metrics_verdict(figures(cpu=cpu), DEFAULTS)
    assert status is Status.GREEN
    assert summary.startswith(f"CPU {now}% now, at most {peak}% in 3 h; "), summary
    assert summary.endswith("412 CPU credits; memory 63% used; disk 71% used"), summary


# --------------------------------------------------------------------------- the check


def test_a_read_instance_is_one_check_with_the_registry_s_id_and_label() -> None:
    check = one(metrics_checks(env("test"), facts((INSTANCE, figures())), judging()))
    assert (check.id, check.name, check.source) == ("source:metrics:test", "metrics", "metrics")
    assert check.status is Status.GREEN
    # When CloudWatch was read (kept figures keep their read time), not when rules ran.
    assert check.observed_at == READ_AT


@pytest.mark.parametrize(
    ("seen", "says"),
    [
        # EC2 publishes CPU for every running instance: none yet is "not seen", never green.
        (facts((INSTANCE, figures(cpu=(None,) * 36))), "CloudWatch has no CPU figures"),
        # Even with figures that would be amber: without CPU nothing is judged.
        (
            facts((INSTANCE, figures(cpu=(None,) * 36, credits=0.5, memory=99.0))),
            "CloudWatch has no CPU figures",
        ),
        (facts(("i-0ffffffffffffffff", figures())), "CloudWatch has no CPU figures"),
        (facts(), "CloudWatch has no CPU figures"),
    ],
    ids=["no-cpu", "no-cpu-but-credits-low", "another-instance-only", "nothing-read"],
)
def test_an_instance_without_cpu_figures_is_unknown(seen: MetricsFacts, says: str) -> None:
    check = one(metrics_checks(env("test"), seen, judging()))
    assert check.id == "source:metrics:test"
    assert check.status is Status.UNKNOWN
    assert says in check.summary and INSTANCE in check.summary
    assert check.summary.startswith("not observed")


@pytest.mark.parametrize(
    "found", [None, machine(instance_id=None)], ids=["no-machine", "eip-without-instance"]
)
def test_no_instance_behind_the_environment_is_unknown(found: Machine | None) -> None:
    seen = facts((INSTANCE, figures()))
    check = one(metrics_checks(env("test"), seen, Judging(NOW, DEFAULTS, None, found)))
    assert check.status is Status.UNKNOWN and "no instance" in check.summary


def test_another_source_s_facts_are_not_judged() -> None:
    assert metrics_checks(env("test"), AgentFacts({}, READ_AT, 1), judging()) == []


# --------------------------------------------------------------------------- on the board


def board(seen: Observed, loads: dict[str, Metrics] | None = None) -> Board:
    """The real rules' board of `seen` with the metrics source's facts: `loads` by
    environment name, for the running machines only, as the source reads them (a stopped
    instance is never asked about). A failure `seen.fails` gave the source stands instead."""
    ids = {n: m.instance_id for n, m in seen.machines.items() if m.state == "running"}
    seen.reads("metrics", facts(*((ids[n], m) for n, m in (loads or {}).items())))
    return seen.board()


def view(b: Board, name: str) -> EnvironmentView:
    return next(e for e in b.environments if e.name == name)


def metrics_check(b: Board, name: str) -> Check:
    return next(c for c in view(b, name).checks if c.id == f"source:metrics:{name}")


def test_each_environment_carries_its_own_instance_s_figures() -> None:
    # The demo's load: prod busy and fine, slot 1 idle, slot 2 out of credits; slot 3 rests.
    loads = {
        "prod": figures(credits=412.0, memory=63.0, disk=71.0),
        "test": figures(cpu=(9.0,) * 36, credits=576.0, memory=None, disk=None),
        "test-2": figures(cpu=(96.0,) * 36, credits=1.5, memory=None, disk=None),
    }

    b = board(all_running(stopped=("test-3",)), loads)

    for name, found in loads.items():
        assert view(b, name).metrics == found
    assert metrics_check(b, "prod").status is Status.GREEN
    assert metrics_check(b, "test").status is Status.GREEN
    assert metrics_check(b, "test-2").status is Status.AMBER
    assert view(b, "test-2").status is Status.AMBER
    (issue,) = [i for i in b.summary.issues if i.env == "test-2"]
    assert issue.status is Status.AMBER
    assert issue.text.startswith("test-2 metrics amber: CPU credits 1.5 (floor 10)")
    # A stopped slot has no figures and no metrics check: it is not judged while it rests.
    parked = view(b, "test-3")
    assert parked.metrics is None
    assert not [c for c in parked.checks if c.source == "metrics"]


def test_a_running_environment_the_source_has_no_figures_for_shows_none() -> None:
    b = board(all_running(), {"prod": figures()})
    assert view(b, "test").metrics is None
    assert metrics_check(b, "test").status is Status.UNKNOWN


def test_a_failed_metrics_source_shows_each_running_check_unknown_and_no_figures() -> None:
    seen = all_running(stopped=("test-3",))
    seen.fails("metrics", "cloudwatch:GetMetricData throttled after 3 attempts (Throttling)")

    b = board(seen)

    for name in ("prod", "test", "test-2"):
        check = metrics_check(b, name)  # the id a read gives it: one history
        assert check.status is Status.UNKNOWN
        assert "cloudwatch:GetMetricData throttled" in check.summary
        assert view(b, name).metrics is None
    assert not [c for c in view(b, "test-3").checks if c.source == "metrics"]
