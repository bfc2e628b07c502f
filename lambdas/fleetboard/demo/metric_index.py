"""moto's GetMetricData, with its points indexed once per call instead of scanned per step.

moto answers each query by scanning every stored point once per period step: queries ×
steps × points. A fleet of 100 instances (400 queries, 37 five-minute steps, 3,700 points)
took moto 14 s a call, and 500 instances ran past the collector's read timeout, so the
bench measured moto's loop rather than the collector. This replaces only the lookup: the
points are grouped by metric once, each query reads its own group, and every figure is
still computed by moto's own `Statistics` and written by moto's own response, so the
answer is the one moto would give (tests/integration/aws/test_metric_index.py compares
the two on the same data). Queries this does not cover (metric math, Metrics Insights, a
Unit filter) go to moto's own method unchanged.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

_Key = tuple[str | None, str, tuple[tuple[str, str], ...]]
_Method = Callable[..., list[dict[str, Any]]]

_ORIGINAL = "_fleetboard_scanning_get_metric_data"


def install() -> None:
    """Make moto's CloudWatch backend answer GetMetricData from an index (idempotent: a
    second call changes nothing)."""
    from moto.cloudwatch.models import CloudWatchBackend

    if hasattr(CloudWatchBackend, _ORIGINAL):
        return
    original: _Method = CloudWatchBackend.get_metric_data
    setattr(CloudWatchBackend, _ORIGINAL, original)

    def get_metric_data(
        self: Any,
        queries: list[dict[str, Any]],
        start_time: datetime,
        end_time: datetime,
        scan_by: str = "TimestampAscending",
    ) -> list[dict[str, Any]]:
        if not _covered(queries) or start_time.replace(microsecond=0) >= end_time.replace(
            microsecond=0
        ):
            # moto's own answer, errors included.
            return original(self, queries, start_time, end_time, scan_by)
        return indexed(self.get_all_metrics(), queries, start_time, end_time, scan_by)

    CloudWatchBackend.get_metric_data = get_metric_data  # type: ignore[method-assign]


def _covered(queries: Sequence[dict[str, Any]]) -> bool:
    return all("MetricStat" in q and not q["MetricStat"].get("Unit") for q in queries)


def _dimensions(items: Any) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((str(d.name), str(d.value)) for d in items))


def indexed(
    points: Sequence[Any],
    queries: Sequence[dict[str, Any]],
    start_time: datetime,
    end_time: datetime,
    scan_by: str,
) -> list[dict[str, Any]]:
    """What moto's get_metric_data returns for MetricStat queries, read from `points`
    grouped once. Like moto, a query with dimensions matches on its metric name and
    dimensions (whatever the namespace), one without on namespace and name."""
    from moto.cloudwatch.models import Statistics

    start = start_time.replace(microsecond=0)
    end = end_time.replace(microsecond=0)
    by_metric: dict[_Key, list[Any]] = defaultdict(list)
    for point in points:
        if start <= point.timestamp < end:
            by_metric[(None, point.name, _dimensions(point.dimensions))].append(point)
            by_metric[(point.namespace, point.name, ())].append(point)
    results = []
    for query in queries:
        stat = query["MetricStat"]
        metric = stat["Metric"]
        dims = tuple(sorted((d["Name"], d["Value"]) for d in metric.get("Dimensions", [])))
        key: _Key = (
            (None, metric["MetricName"], dims)
            if dims
            else (
                metric["Namespace"],
                metric["MetricName"],
                (),
            )
        )
        step = timedelta(seconds=int(stat["Period"]))
        buckets: dict[int, list[Any]] = defaultdict(list)
        for point in by_metric.get(key, ()):
            buckets[(point.timestamp - start) // step].append(point)
        values, timestamps = [], []
        for index in sorted(buckets):
            stats = Statistics([stat["Stat"]], start + index * step)
            stats.metric_data = buckets[index]
            values.append(stats.get_statistics_for_type(stat["Stat"]))
            timestamps.append(stats.timestamp)
        if scan_by == "TimestampDescending":
            values.reverse()
            timestamps.reverse()
        if query.get("ReturnData", True):
            results.append(
                {
                    "id": query["Id"],
                    "label": query.get("Label") or f"{metric['MetricName']} {stat['Stat']}",
                    "values": values,
                    "timestamps": timestamps,
                    "status_code": "Complete",
                }
            )
    return results
