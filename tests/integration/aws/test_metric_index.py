"""The demo's indexed GetMetricData (demo/metric_index.py) answers exactly as moto's own
scanning one does, on the same stored points: same ids, labels, values and timestamps, in
the same order, for every kind of query the collector and a curious operator send."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from tests.integration.fixtures.aws import moto_client

from fleetboard.demo import metric_index

ACCOUNT, REGION = "123456789012", "us-east-1"
NOW = datetime.now(UTC).replace(second=0, microsecond=0)


def _backend() -> Any:
    from moto.cloudwatch.models import cloudwatch_backends

    return cloudwatch_backends[ACCOUNT][REGION]


#: The window as moto's own response hands it to the backend: naive UTC, as it keeps points.
START, END = (
    t.replace(tzinfo=None) for t in (NOW - timedelta(hours=3), NOW + timedelta(minutes=5))
)


def _scanning(*args: Any) -> list[dict[str, Any]]:
    from moto.cloudwatch.models import CloudWatchBackend

    metric_index.install()
    return list(getattr(CloudWatchBackend, metric_index._ORIGINAL)(_backend(), *args))


def _stat(key: str, metric: str, instance: str | None, stat: str = "Average", **more: Any) -> Any:
    namespace = "CWAgent" if metric.endswith("_percent") else "AWS/EC2"
    dims = [] if instance is None else [{"Name": "InstanceId", "Value": instance}]
    query = {
        "Id": key,
        "MetricStat": {
            "Metric": {"Namespace": namespace, "MetricName": metric, "Dimensions": dims},
            "Period": more.pop("period", 300),
            "Stat": stat,
        },
    }
    return {**query, **more}


@pytest.fixture
def stored(moto_url: str) -> None:
    """Three instances' points over 3 hours, two to a step for one of them (an average of
    two), a metric published by one only, and a point outside the window."""
    cloudwatch = moto_client("cloudwatch", moto_url)
    data = []
    for n, instance in enumerate(("i-a", "i-b", "i-c")):
        dims = [{"Name": "InstanceId", "Value": instance}]
        for step in range(36):
            at = NOW - timedelta(minutes=1 + 5 * step)
            data.append(
                {
                    "MetricName": "CPUUtilization",
                    "Dimensions": dims,
                    "Timestamp": at,
                    "Value": float(n * 10 + step % 7),
                }
            )
            if instance == "i-b":
                data.append(
                    {
                        "MetricName": "CPUUtilization",
                        "Dimensions": dims,
                        "Timestamp": at - timedelta(seconds=30),
                        "Value": 90.0,
                    }
                )
        data.append(
            {
                "MetricName": "CPUCreditBalance",
                "Dimensions": dims,
                "Timestamp": NOW - timedelta(minutes=1),
                "Value": 500.0 - n,
            }
        )
        data.append(
            {
                "MetricName": "CPUUtilization",
                "Dimensions": dims,
                "Timestamp": NOW - timedelta(hours=9),
                "Value": 1.0,
            }
        )
    cloudwatch.put_metric_data(Namespace="AWS/EC2", MetricData=data)
    cloudwatch.put_metric_data(
        Namespace="CWAgent",
        MetricData=[
            {
                "MetricName": "mem_used_percent",
                "Timestamp": NOW - timedelta(minutes=2),
                "Dimensions": [{"Name": "InstanceId", "Value": "i-a"}],
                "Value": 63.0,
            }
        ],
    )
    cloudwatch.close()


QUERIES = [
    [_stat(f"cpu{i}", "CPUUtilization", iid) for i, iid in enumerate(("i-a", "i-b", "i-c"))],
    [
        _stat("credits", "CPUCreditBalance", "i-b"),
        _stat("mem", "mem_used_percent", "i-a"),
        _stat("nomem", "mem_used_percent", "i-c"),
        _stat("gone", "CPUUtilization", "i-zzz"),
    ],
    [
        _stat("max", "CPUUtilization", "i-b", "Maximum", period=900),
        _stat("n", "CPUUtilization", "i-b", "SampleCount", Label="samples"),
        _stat("sum", "CPUUtilization", "i-a", "Sum", ReturnData=False),
        _stat("min", "CPUUtilization", "i-c", "Minimum", period=60),
    ],
    [_stat("all", "CPUUtilization", None)],  # no dimensions: every instance's points
]


@pytest.mark.parametrize("scan_by", ["TimestampAscending", "TimestampDescending"])
@pytest.mark.parametrize("queries", QUERIES, ids=["cpu", "sparse", "stats", "undimensioned"])
def test_the_index_answers_as_moto_s_scan_does(
    stored: None, queries: list[dict[str, Any]], scan_by: str
) -> None:
    expected = _scanning(queries, START, END, scan_by)
    got = metric_index.indexed(_backend().get_all_metrics(), queries, START, END, scan_by)

    assert got == expected
    assert any(r["values"] for r in got) or queries is QUERIES[1]


def test_over_http_the_installed_index_gives_moto_s_answer(stored: None, moto_url: str) -> None:
    start, end = NOW - timedelta(hours=3), NOW + timedelta(minutes=5)
    queries = QUERIES[0] + QUERIES[1]
    expected = _scanning(queries, START, END, "TimestampAscending")
    cloudwatch = moto_client("cloudwatch", moto_url)

    answer = cloudwatch.get_metric_data(
        MetricDataQueries=queries, StartTime=start, EndTime=end, ScanBy="TimestampAscending"
    )
    cloudwatch.close()

    got = [
        (r["Id"], r["Values"], [t.astimezone(UTC).replace(tzinfo=None) for t in r["Timestamps"]])
        for r in answer["MetricDataResults"]
    ]
    assert got == [(r["id"], r["values"], r["timestamps"]) for r in expected]
    assert {i: len(v) for i, v, _ in got}["cpu1"] == 36


def test_a_query_it_does_not_cover_is_moto_s_own(stored: None, moto_url: str) -> None:
    """Metric math goes to moto's own method: the index never guesses an expression."""
    start, end = NOW - timedelta(hours=3), NOW + timedelta(minutes=5)
    queries = [
        _stat("a", "CPUUtilization", "i-a", ReturnData=False),
        {"Id": "double", "Expression": "a * 2"},
    ]
    cloudwatch = moto_client("cloudwatch", moto_url)

    answer = cloudwatch.get_metric_data(MetricDataQueries=queries, StartTime=start, EndTime=end)
    cloudwatch.close()

    (double,) = answer["MetricDataResults"]
    assert double["Id"] == "double"
    expected = _scanning(queries, START, END, "TimestampDescending")
    assert double["Values"] == expected[0]["values"]
