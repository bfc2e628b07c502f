"""The metrics source (cloudwatch:GetMetricData) against the shared moto server, whose
CloudWatch holds what `build_world` published for each running instance (EnvSpec.load) or
what a test put there itself, with the counting proxy as the witness of what was sent.

The source reads the instances the aws source found running, and keeps its figures in the
state store for `[aws] metrics_every_s`: these tests give it an in-memory store and a clock
of their own (PassContext.now), so "15 minutes later" is a value, not a wait. What it does
with a kept object that cannot be used, how a failed read shows, and a pass: as every source
that keeps what it read (test_kept_state.py).
"""

from __future__ import annotations

import math
from contextlib import closing
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import pytest
from tests.integration.aws.fleet import BuildFleet, CountingProxy, env_names, spec
from tests.integration.aws.helpers import MemoryState, ids_of, read_after_aws, read_aws, utc
from tests.integration.aws.keepers import METRICS, PROD_LOAD, Readers, whole_second_after
from tests.integration.fixtures.aws import moto_client

from fleetboard.demo.aws_world import Load
from fleetboard.inventory import Inventory
from fleetboard.model import MetricsFacts
from fleetboard.sources import metrics as metrics_module
from fleetboard.sources.metrics import GET_METRIC_DATA, STEPS, MetricsSource

#: GetMetricData as the proxy names it: as IAM does (its signing name is "monitoring").
CALL = GET_METRIC_DATA
#: The figures' step, as CloudWatch's basic monitoring publishes EC2's CPU.
STEP = timedelta(minutes=5)
#: [aws] metrics_every_s by default.
EVERY_S = 900


# --------------------------------------------------------------------------- helpers


#: One run of the metrics source given the aws source's answer, at `now`.
read_metrics = partial(read_after_aws, MetricsSource())


def facts_of(result: object) -> MetricsFacts:
    """The source's facts; fails the test, showing the failure, if it failed."""
    assert isinstance(result, MetricsFacts), result
    return result


def every(inv: Inventory, seconds: int) -> Inventory:
    """`inv` with `[aws] metrics_every_s = seconds`."""
    return replace(inv, aws=replace(inv.aws, metrics_every_s=seconds))


def asked(proxy: CountingProxy) -> list[list[dict[str, Any]]]:
    """The queries of each GetMetricData request that reached the proxy."""
    return [body["MetricDataQueries"] for call, body in proxy.json_bodies if call == CALL]


def asked_about(proxy: CountingProxy) -> dict[str, set[str]]:
    """Instance id -> the metric names asked of it, over every request."""
    found: dict[str, set[str]] = {}
    for queries in asked(proxy):
        for query in queries:
            metric = query["MetricStat"]["Metric"]
            (dimension,) = metric["Dimensions"]
            found.setdefault(dimension["Value"], set()).add(metric["MetricName"])
    return found


def put(
    moto_url: str, instance_id: str, namespace: str, metric: str, points: dict[datetime, float]
) -> None:
    """Publish `points` (time -> value) of one metric of one instance into moto's CloudWatch."""
    with closing(moto_client("cloudwatch", moto_url)) as cloudwatch:
        cloudwatch.put_metric_data(
            Namespace=namespace,
            MetricData=[
                {
                    "MetricName": metric,
                    "Dimensions": [{"Name": "InstanceId", "Value": instance_id}],
                    "Timestamp": at,
                    "Value": value,
                }
                for at, value in points.items()
            ],
        )


def started(moto_url: str, instance_id: str) -> None:
    with closing(moto_client("ec2", moto_url)) as ec2:
        ec2.start_instances(InstanceIds=[instance_id])


def stopped(moto_url: str, instance_id: str) -> None:
    with closing(moto_client("ec2", moto_url)) as ec2:
        ec2.stop_instances(InstanceIds=[instance_id])


# --------------------------------------------------------------------------- what is read


#: A 3-hour CPU series of slot 1's own, one distinct value a step (step i: 50 + i / 2) so
#: a figure in the wrong step shows, with step 25 left unpublished (CloudWatch has gaps).
GAP_STEP = 25


def window_start(now: datetime) -> datetime:
    """Where the source's 3 hours begin at `now`: they end with the 5-minute step `now` is
    in (CloudWatch's steps start on the clock's 5-minute marks), so the figures land in the
    same steps wherever in its step `now` falls."""
    step_began = now.replace(minute=now.minute - now.minute % 5, second=0, microsecond=0)
    return step_began + STEP - STEPS * STEP


def series(now: datetime) -> dict[datetime, float]:
    """Slot 1's CPU points: each 4 minutes into its step of the source's window at `now`
    (the newest may be a little ahead of `now`: moto keeps it all the same)."""
    start = window_start(now)
    return {
        start + i * STEP + timedelta(minutes=4): 50 + i / 2 for i in range(STEPS) if i != GAP_STEP
    }


def test_each_running_instance_s_figures_are_read_as_cloudwatch_holds_them(
    moto_url: str, build_fleet: BuildFleet, proxy: CountingProxy, far_from_utc: None
) -> None:
    world, inv, factory = build_fleet(
        spec("prod", load=PROD_LOAD),
        # Built stopped, so CloudWatch has only what this test puts there once it runs.
        spec("test", stopped=True),
        # Not burstable: CloudWatch may hold a credit balance, it is neither asked nor shown.
        spec("test-2", instance_type="m5.large", load=Load(cpu=50.0, credits=100.0, memory=40.0)),
        spec("test-3", stopped=True, load=Load(cpu=80.0, credits=5.0)),
    )
    ids = ids_of(world)
    started(moto_url, ids["test"])
    now = whole_second_after(datetime.now(UTC))
    put(moto_url, ids["test"], "AWS/EC2", "CPUUtilization", series(now))
    # Two credit balances and two memory figures an hour apart: the newest is "latest".
    hour_ago, minute_ago = now - timedelta(minutes=61), now - timedelta(minutes=1)
    put(moto_url, ids["test"], "AWS/EC2", "CPUCreditBalance", {hour_ago: 300.0, minute_ago: 250.0})
    put(moto_url, ids["test"], "CWAgent", "mem_used_percent", {hour_ago: 20.0, minute_ago: 63.5})
    aws = read_aws(inv, factory)
    proxy.calls.clear()

    facts = facts_of(read_metrics(inv, factory, aws, now=now))

    # The running instances only: a stopped one is neither asked about nor shown.
    assert set(facts.items) == {ids["prod"], ids["test"], ids["test-2"]}
    assert ids["test-3"] not in asked_about(proxy)
    slot_1 = facts.items[ids["test"]]
    published = series(now)
    start = window_start(now)
    assert len(slot_1.cpu) == STEPS
    for i, figure in enumerate(slot_1.cpu):
        expected = published.get(start + i * STEP + timedelta(minutes=4))
        assert figure == expected, (i, figure, expected)
    assert slot_1.cpu[GAP_STEP] is None  # a step CloudWatch has nothing for stays empty
    assert (slot_1.credits, slot_1.memory) == (250.0, 63.5)
    assert slot_1.disk is None  # the agent publishes memory only: disk is "not published"

    prod = facts.items[ids["prod"]]
    assert (prod.credits, prod.memory, prod.disk) == (412.0, 63.0, 71.0)
    # build_world's points: one a step for 3 hours, around the load's average (the newest
    # step empty only if a 5-minute mark passed since the world was built).
    shown = [v for v in prod.cpu if v is not None]
    assert len(shown) >= STEPS - 1 and all(0.6 * 31 <= v <= 1.4 * 31 for v in shown), prod.cpu

    slot_2 = facts.items[ids["test-2"]]
    assert slot_2.credits is None and "CPUCreditBalance" not in asked_about(proxy)[ids["test-2"]]
    assert (slot_2.memory, slot_2.disk) == (40.0, None)
    assert sum(v is not None for v in slot_2.cpu) >= STEPS - 1

    assert facts.observed_at == now and utc(facts.observed_at)
    assert all(m.observed_at == now for m in facts.items.values())
    assert proxy.calls == [CALL]  # 3 instances, 11 queries: one request
    assert facts.requests == 1


def test_a_clock_between_seconds_still_puts_each_figure_in_its_step(
    moto_url: str, build_fleet: BuildFleet
) -> None:
    world, inv, factory = build_fleet(spec("test", stopped=True))
    instance_id = ids_of(world)["test"]
    started(moto_url, instance_id)
    on_the_second = whole_second_after(datetime.now(UTC))
    put(moto_url, instance_id, "AWS/EC2", "CPUUtilization", series(on_the_second))
    aws = read_aws(inv, factory)
    # A real clock is almost never on the second: a quarter of a second past it.
    now = on_the_second + timedelta(milliseconds=250)

    cpu = facts_of(read_metrics(inv, factory, aws, now=now)).items[instance_id].cpu

    start = window_start(on_the_second)
    published = series(on_the_second)
    assert list(cpu) == [
        published.get(start + i * STEP + timedelta(minutes=4)) for i in range(STEPS)
    ]


# --------------------------------------------------------------------------- requests


@pytest.mark.parametrize(
    ("count", "per_request"),
    [(3, 500), (12, 10), (12, 48), (12, 47)],
    ids=["few-instances", "many-instances", "exactly-one-request-full", "one-query-over"],
)
def test_queries_go_up_to_500_a_request(
    build_fleet: BuildFleet,
    proxy: CountingProxy,
    monkeypatch: pytest.MonkeyPatch,
    count: int,
    per_request: int,
) -> None:
    # 500 queries a request is 125 burstable instances (4 queries each): building that many
    # in moto costs minutes. The split is the same at any size, so a smaller cap stands for
    # it: 12 instances at 10 a request is what 1,500 instances would be at 500.
    monkeypatch.setattr(metrics_module, "QUERIES_PER_REQUEST", per_request)
    world, inv, factory = build_fleet(*(spec(n) for n in env_names(count)))
    aws = read_aws(inv, factory)
    proxy.calls.clear()

    facts = facts_of(read_metrics(inv, factory, aws, now=whole_second_after(datetime.now(UTC))))

    requests = math.ceil(4 * count / per_request)  # t3s: CPU, credits, memory and disk
    assert proxy.calls == [CALL] * requests
    assert facts.requests == requests
    sent = asked(proxy)
    assert all(len(queries) <= per_request for queries in sent)
    ids = [q["Id"] for queries in sent for q in queries]
    assert len(ids) == len(set(ids)) == 4 * count  # each figure asked once
    # Split across requests or not, every instance's figures are whole (all its steps, but
    # the newest when a 5-minute mark passed since the world was built), and alike.
    assert set(facts.items) == set(ids_of(world).values())
    shown = {i: [v is not None for v in f.cpu] for i, f in facts.items.items()}
    assert all(sum(steps) >= STEPS - 1 for steps in shown.values())
    assert len({tuple(steps) for steps in shown.values()}) == 1


# --------------------------------------------------------------------------- kept figures


def test_a_pass_within_metrics_every_s_keeps_the_figures_and_asks_nothing(
    reader: Readers, proxy: CountingProxy
) -> None:
    prod_and_slot = reader(METRICS)
    state = MemoryState()
    first_at = METRICS.now()
    first = facts_of(prod_and_slot.read(first_at, state))
    proxy.calls.clear()

    later = facts_of(prod_and_slot.read(first_at + timedelta(minutes=14), state))

    assert proxy.calls == []
    assert later.requests == 0
    assert later.items == first.items  # figures, and when they were read
    assert later.observed_at == first_at
    assert {m.observed_at for m in later.items.values()} == {first_at}
    assert state.saves == 1  # kept as they were: nothing to write back


@pytest.mark.parametrize(
    ("every_s", "after_s", "reads"),
    [
        (EVERY_S, EVERY_S - 1, False),
        (EVERY_S, EVERY_S, True),
        (EVERY_S, 3 * EVERY_S, True),
        (EVERY_S, -60, True),  # the clock went back: figures "from the future" are not kept
        (60, 61, True),
        (0, 0, True),  # 0: every pass reads, even at the same instant
    ],
    ids=[
        "just-young-enough",
        "exactly-old",
        "long-stale",
        "clock-behind",
        "every-minute",
        "every-pass",
    ],
)
def test_figures_as_old_as_metrics_every_s_are_read_again(
    reader: Readers,
    proxy: CountingProxy,
    every_s: int,
    after_s: int,
    reads: bool,
) -> None:
    prod_and_slot = reader(METRICS)
    run = replace(prod_and_slot, inv=every(prod_and_slot.inv, every_s))
    state = MemoryState()
    first_at = METRICS.now()
    facts_of(run.read(first_at, state))
    proxy.calls.clear()
    second_at = first_at + timedelta(seconds=after_s)

    second = facts_of(run.read(second_at, state))

    assert proxy.calls == ([CALL] if reads else [])
    assert second.requests == len(proxy.calls)
    assert second.observed_at == (second_at if reads else first_at)
    assert set(second.items) == set(ids_of(run.world).values())


def test_a_newly_started_instance_makes_the_next_pass_read(
    moto_url: str, build_fleet: BuildFleet, proxy: CountingProxy
) -> None:
    world, inv, factory = build_fleet(spec("prod", load=PROD_LOAD), spec("test", stopped=True))
    ids = ids_of(world)
    state = MemoryState()
    first_at = whole_second_after(datetime.now(UTC))
    first = facts_of(read_metrics(inv, factory, read_aws(inv, factory), now=first_at, state=state))
    assert set(first.items) == {ids["prod"]}
    started(moto_url, ids["test"])  # CI claims slot 1 and starts it
    proxy.calls.clear()

    second = facts_of(
        read_metrics(
            inv, factory, read_aws(inv, factory), now=first_at + timedelta(minutes=5), state=state
        )
    )

    # The kept figures do not cover slot 1: all are read again, not only the new one's.
    assert proxy.calls.count(CALL) == 1 and second.requests == 1
    assert set(second.items) == {ids["prod"], ids["test"]}
    # Just started: EC2 has published no CPU for it yet (the rules say unknown, not green).
    assert all(v is None for v in second.items[ids["test"]].cpu)
    assert second.items[ids["prod"]].observed_at == first_at + timedelta(minutes=5)


def test_an_instance_stopped_since_the_read_drops_out_of_the_kept_figures(
    moto_url: str, reader: Readers, proxy: CountingProxy
) -> None:
    prod_and_slot = reader(METRICS)
    ids = ids_of(prod_and_slot.world)
    state = MemoryState()
    first_at = METRICS.now()
    first = facts_of(prod_and_slot.read(first_at, state))
    stopped(moto_url, ids["test"])  # the idle stop parks slot 1
    stopped_since = prod_and_slot.again()
    proxy.calls.clear()

    second = facts_of(stopped_since.read(first_at + timedelta(minutes=5), state))

    assert proxy.calls == []  # what is kept still covers every running instance
    assert second.items == {ids["prod"]: first.items[ids["prod"]]}
