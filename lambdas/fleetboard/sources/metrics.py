"""The metrics source: each running instance's CPU over the last 3 hours, its CPU credit
balance (burstable types), and its memory and root-disk use where the CloudWatch agent
publishes them, from `cloudwatch:GetMetricData`.

One request carries up to 500 queries (4 an instance: 125 instances), and CloudWatch bills
$0.01 per 1,000 metrics asked for, so figures are read at most every
`[aws] metrics_every_s` (15 minutes by default: EC2's basic monitoring has one point per
5 minutes anyway) and kept in the state store between reads. A pass that keeps them costs
no request; a new instance, or the kept figures growing old, makes the next pass read.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar

from fleetboard import stored
from fleetboard.inventory import Inventory
from fleetboard.model import InstanceFacts, Metrics, MetricsFacts, SourceFailure
from fleetboard.sources import PassContext
from fleetboard.sources.awsapi import Clients, InstancesSource, expect, read
from fleetboard.sources.kept import keep, when_read

#: The call, as IAM spells it (messages and the role's policy use it).
GET_METRIC_DATA = "cloudwatch:GetMetricData"

#: What the card draws: 3 hours of 5-minute steps.
WINDOW = timedelta(hours=3)
STEP_S = 300
STEPS = int(WINDOW.total_seconds()) // STEP_S

#: GetMetricData's most queries a request.
QUERIES_PER_REQUEST = 500

#: Where the figures are kept between reads, and the largest such object read back.
STATE_NAME = "metrics"

#: Burstable families (t2, t3, t3a, t4g): the ones with a CPU credit balance.
_BURSTABLE = re.compile(r"^t\d[a-z]*\.", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class _Query:
    """One figure of one instance: its query id names both (`cpu0`, `mem3`)."""

    field: str  # Metrics' field: cpu, credits, memory, disk
    namespace: str
    metric: str


#: What is asked of every running instance; credits of burstable ones only. The agent's
#: figures need `append_dimensions = {InstanceId = "${aws:InstanceId}"}` and an
#: aggregation on InstanceId alone in its configuration (docs/fleet.md#metrics).
_CPU = _Query("cpu", "AWS/EC2", "CPUUtilization")
_CREDITS = _Query("credits", "AWS/EC2", "CPUCreditBalance")
_MEMORY = _Query("memory", "CWAgent", "mem_used_percent")
_DISK = _Query("disk", "CWAgent", "disk_used_percent")


class MetricsSource(InstancesSource[MetricsFacts]):
    """CloudWatch's figures for the instances the aws source found running."""

    name: ClassVar[str] = "metrics"

    def collect_about(
        self, instances: Mapping[str, InstanceFacts], inventory: Inventory, ctx: PassContext
    ) -> MetricsFacts | SourceFailure:
        running = {i: f.instance_type for i, f in sorted(instances.items()) if f.state == "running"}
        now = ctx.now()
        kept = _kept(ctx, inventory.aws.metrics_every_s, now, set(running))
        if kept is not None:
            return kept
        if not running:
            return MetricsFacts({}, now, 0)
        queries = list(_queries(running))
        # CloudWatch's 5-minute points start on the 5-minute grid: a window ending on it has
        # whole steps. It ends with the step under way, so the newest figures are in it
        # (that step's CPU is missing until CloudWatch publishes it: a gap, never a guess).
        end = _on_grid(now) + timedelta(seconds=STEP_S)
        got = read(self.name, GET_METRIC_DATA, inventory, ctx, lambda c: _ask(c, queries, end))
        if isinstance(got, SourceFailure):
            return got
        values, requests = got
        facts = MetricsFacts(_figures(running, values, end, now), now, requests)
        _keep(ctx, facts)
        return facts


def _queries(running: Mapping[str, str]) -> Iterator[tuple[str, str, _Query]]:
    """(query id, instance id, what) for every figure asked."""
    for index, (instance_id, instance_type) in enumerate(running.items()):
        asked = [_CPU, _MEMORY, _DISK]
        if _BURSTABLE.match(instance_type):
            asked.append(_CREDITS)
        for query in asked:
            yield f"{query.field}{index}", instance_id, query


def _on_grid(now: datetime) -> datetime:
    """`now` rounded down to the 5-minute grid CloudWatch's points start on."""
    start_of_day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    steps = (now - start_of_day) // timedelta(seconds=STEP_S)
    return start_of_day + steps * timedelta(seconds=STEP_S)


def _ask(
    clients: Clients, queries: Sequence[tuple[str, str, _Query]], end: datetime
) -> dict[str, list[tuple[datetime, float]]]:
    """Every query's (time, value) points, oldest first, by query id."""
    cloudwatch = clients("cloudwatch")
    paginator = cloudwatch.get_paginator("get_metric_data")
    found: dict[str, list[tuple[datetime, float]]] = {}
    for start in range(0, len(queries), QUERIES_PER_REQUEST):
        chunk = queries[start : start + QUERIES_PER_REQUEST]
        pages = paginator.paginate(
            MetricDataQueries=[_stat(key, instance_id, q) for key, instance_id, q in chunk],
            StartTime=end - WINDOW,
            EndTime=end,
            ScanBy="TimestampAscending",
        )
        for page in pages:
            expect(page, "MetricDataResults")
            for result in page.get("MetricDataResults", []):
                points = zip(result.get("Timestamps", []), result.get("Values", []), strict=False)
                found.setdefault(str(result.get("Id")), []).extend(points)
    return found


def _stat(key: str, instance_id: str, query: _Query) -> dict[str, Any]:
    return {
        "Id": key,
        "MetricStat": {
            "Metric": {
                "Namespace": query.namespace,
                "MetricName": query.metric,
                "Dimensions": [{"Name": "InstanceId", "Value": instance_id}],
            },
            "Period": STEP_S,
            "Stat": "Average",
        },
        "ReturnData": True,
    }


def _figures(
    running: Mapping[str, str],
    values: Mapping[str, list[tuple[datetime, float]]],
    end: datetime,
    now: datetime,
) -> dict[str, Metrics]:
    figures: dict[str, Metrics] = {}
    start = end - WINDOW
    for index, instance_id in enumerate(running):
        steps: list[float | None] = [None] * STEPS
        for at, value in values.get(f"cpu{index}", []):
            step = (at - start) // timedelta(seconds=STEP_S)
            if 0 <= step < STEPS:
                steps[step] = round(float(value), 1)
        figures[instance_id] = Metrics(
            cpu=tuple(steps),
            credits=_latest(values.get(f"credits{index}")),
            memory=_latest(values.get(f"memory{index}")),
            disk=_latest(values.get(f"disk{index}")),
            observed_at=now,
        )
    return figures


def _latest(points: list[tuple[datetime, float]] | None) -> float | None:
    if not points:
        return None
    return round(float(max(points)[1]), 1)


# --------------------------------------------------------------------------- kept figures


def _kept(ctx: PassContext, every_s: int, now: datetime, running: set[str]) -> MetricsFacts | None:
    """The figures kept from an earlier read, when they are recent enough and cover every
    running instance; None: read CloudWatch now."""
    if every_s <= 0:
        return None
    found = KEEPING.load(ctx.state)
    if found is None:
        return None
    read_at, figures = found
    age_s = (now - read_at).total_seconds()
    if not 0 <= age_s < every_s or not running <= figures.keys():
        return None
    return MetricsFacts({i: figures[i] for i in sorted(running)}, read_at, 0)


def _decode(doc: dict[str, Any]) -> tuple[datetime, dict[str, Metrics]]:
    read_at = when_read(doc)
    figures = {
        str(i): _metrics(stored.mapping(m), read_at)
        for i, m in stored.mapping(doc["instances"]).items()
    }
    return read_at, figures


KEEPING = stored.Keeping(
    STATE_NAME, 1, 4 << 20, _decode, what="CloudWatch figures", instead="reading CloudWatch"
)


def _metrics(doc: Mapping[str, Any], read_at: datetime) -> Metrics:
    cpu = doc["cpu"]
    if not isinstance(cpu, list) or len(cpu) != STEPS:
        raise ValueError("cpu is not a list of one figure a step")
    return Metrics(
        cpu=tuple(_number(v) for v in cpu),
        credits=_number(doc.get("credits")),
        memory=_number(doc.get("memory")),
        disk=_number(doc.get("disk")),
        observed_at=read_at,
    )


def _number(value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError("not a number")
    return float(value)


def _keep(ctx: PassContext, facts: MetricsFacts) -> None:
    instances = {
        i: {"cpu": list(m.cpu), "credits": m.credits, "memory": m.memory, "disk": m.disk}
        for i, m in facts.items.items()
    }
    keep(KEEPING, ctx, facts.observed_at, {"instances": instances})
