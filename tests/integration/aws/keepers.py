"""The sources beside the aws source that keep what they read in the state store
(stored.Keeping): metrics, prices and billing, as their tests drive them. One row a source
(`Keeper`): the fleet it is read on and what its far end answers there, its tests' clock, its
kept object, the figures a read shows, the faults of its call and how a failed read shows.
test_kept_state.py runs over the rows what every such source does with what it keeps and
how its failures show; each source's own tests, what is its alone."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.integration.aws.fleet import BuildFleet, CountingProxy, Fleet, spec
from tests.integration.aws.helpers import (
    GARBLED_ENVELOPE,
    Fault,
    Garble,
    MemoryState,
    answers,
    fails,
    ids_of,
    json_call_faults,
    read_after_aws,
    read_aws,
    replaced,
    without,
)
from tests.integration.fixtures import results

from fleetboard.demo.aws_extras import set_prices
from fleetboard.demo.aws_world import Load, World
from fleetboard.inventory import Inventory
from fleetboard.model import AwsFacts, BillingFacts, PriceFacts, RegionFacts
from fleetboard.sources import Source
from fleetboard.sources.awsapi import AwsClientFactory
from fleetboard.sources.billing import GET_COST_AND_USAGE, BillingSource
from fleetboard.sources.metrics import GET_METRIC_DATA, STEPS, MetricsSource
from fleetboard.sources.prices import GET_PRODUCTS, TABLE, TABLE_AS_OF, PricesSource

#: How long before a test's `now` the kept objects it writes were read: young to every
#: source (metrics keeps its figures 15 minutes by default, prices and billing theirs a day).
KEPT_AGE = timedelta(minutes=3)


def kept_object(read_at: datetime, figures: dict[str, Any]) -> dict[str, Any]:
    """A kept object: version 1 of its source's, `figures` read at `read_at`."""
    return {"version": 1, "read_at": read_at.isoformat().replace("+00:00", "Z"), **figures}


def encoded(doc: dict[str, Any]) -> bytes:
    """A kept object as its source writes it."""
    return json.dumps(doc).encode()


@dataclass(frozen=True)
class Keeper:
    """A source that keeps what it read (its state object is named as the source is), and
    what its tests need of it."""

    source: Source
    call: str  # its AWS call, as the proxy names it
    kept_as: str  # what its log lines call what it keeps: "prices", "CloudWatch figures"
    requests: int  # what a read of its fleet costs
    #: (moto's URL, the build_fleet fixture) -> its fleet, its far end answering as below.
    fleet: Callable[[str, BuildFleet], Fleet]
    now: Callable[[], datetime]  # its tests' clock
    kept: Callable[[World, datetime], dict[str, Any]]  # a kept object for the fleet, read at
    figures: Callable[[RegionFacts[Any]], object]  # what these tests compare of its facts
    fresh: Callable[[World], object]  # those figures, read from its far end
    kept_figures: Callable[[World], object]  # those figures, from the kept object
    garbled: dict[str, Garble]  # its kept object, unreadable
    faults: dict[str, Fault]  # its call, failing
    #: (what it answered, the store it was given, how the reason begins) -> the reason and
    #: the requests it counted; checks what it shows instead and that no figures are kept.
    failed: Callable[[object, MemoryState, str], tuple[str, int | None]]

    def holding(self, world: World, at: datetime, write: Garble = encoded) -> MemoryState:
        """A store holding what the source keeps for `world`, read KEPT_AGE before `at`, as
        `write` writes it."""
        return MemoryState({self.source.name: write(self.kept(world, at - KEPT_AGE))})


@dataclass(frozen=True)
class Reader:
    """A keeper's source on its fleet, given the aws source's answer (if it needs it), and
    the counting proxy in front of AWS."""

    keeper: Keeper
    world: World
    inv: Inventory
    factory: AwsClientFactory
    aws: AwsFacts | None
    proxy: CountingProxy

    def read(self, at: datetime, state: MemoryState | None = None) -> object:
        """One run of the source at `at`, with `state`: what it answered."""
        return read_after_aws(
            self.keeper.source, self.inv, self.factory, self.aws, now=at, state=state
        )

    def again(self) -> Reader:
        """The same, given the aws source's answer as it is now (the fleet changed)."""
        return replace(self, aws=read_aws(self.inv, self.factory))

    def assert_read_afresh(self, facts: RegionFacts[Any]) -> None:
        """`facts` are the far end's, read as a read of the fleet always is."""
        keeper = self.keeper
        assert self.proxy.calls == [keeper.call] * keeper.requests
        assert facts.requests == keeper.requests
        assert keeper.figures(facts) == keeper.fresh(self.world)


#: The `reader` fixture (conftest.py): a keeper -> its source on its fleet, the aws source's
#: answer read, the proxy's calls cleared.
Readers = Callable[[Keeper], Reader]


def items(facts: RegionFacts[Any]) -> object:
    return facts.items


# --------------------------------------------------------------------------- metrics

#: The demo's prod (issue 15): a busy t3 with the CloudWatch agent.
PROD_LOAD = Load(cpu=31.0, credits=412.0, memory=63.0, disk=71.0)
#: Slot 1: an idle t3 without the agent.
SLOT_LOAD = Load(cpu=9.0, credits=576.0)


def whole_second_after(at: datetime) -> datetime:
    """The next whole second after `at`. moto cuts GetMetricData's StartTime to the second
    and starts its 5-minute buckets there; a clock on the second keeps the buckets where the
    source asked for them (see test_a_clock_between_seconds_...)."""
    return at.replace(microsecond=0) + timedelta(seconds=1)


def kept_figures(instance_ids: list[str], read_at: datetime) -> dict[str, Any]:
    """A metrics state object as the source writes it, covering `instance_ids`."""
    instances = {
        i: {"cpu": [12.0] * STEPS, "credits": 400.0, "memory": None, "disk": None}
        for i in instance_ids
    }
    return kept_object(read_at, {"instances": instances})


def prod_and_slot(moto_url: str, build: BuildFleet) -> Fleet:
    """prod and slot 1 running, CloudWatch holding their loads' figures."""
    return build(spec("prod", load=PROD_LOAD), spec("test", load=SLOT_LOAD))


def _credits(facts: RegionFacts[Any]) -> object:
    return {i: m.credits for i, m in facts.items.items()}


def _loads_credits(world: World) -> object:
    ids = ids_of(world)
    return {ids["prod"]: PROD_LOAD.credits, ids["test"]: SLOT_LOAD.credits}


def _metrics_failed(result: object, state: MemoryState, said: str) -> tuple[str, int | None]:
    failure = results.failure_of(result, "metrics")
    assert failure.reason.startswith(said), failure.reason
    assert not failure.blind  # AWS's side (or the path to it), not the collector's
    assert state.saved == {}  # nothing read, nothing kept: the next pass asks again
    return failure.reason, failure.requests


METRICS = Keeper(
    MetricsSource(),
    call=GET_METRIC_DATA,
    kept_as="CloudWatch figures",
    requests=1,  # 2 instances, 8 queries: one request
    fleet=prod_and_slot,
    now=lambda: whole_second_after(datetime.now(UTC)),
    kept=lambda world, read_at: kept_figures(sorted(ids_of(world).values()), read_at),
    figures=_credits,
    fresh=_loads_credits,
    kept_figures=lambda world: dict.fromkeys(ids_of(world).values(), 400.0),
    garbled={
        **GARBLED_ENVELOPE,
        "json-not-an-object": lambda doc: b"[1, 2, 3]",
        "instances-a-list": replaced(("instances",), []),
        "cpu-a-string": replaced(("instances", "*", "cpu"), "12,12,12"),
        "cpu-too-short": replaced(("instances", "*", "cpu"), [12.0] * (STEPS - 1)),
        "cpu-figure-a-string": replaced(("instances", "*", "cpu"), ["12"] * STEPS),
        "credits-a-string": replaced(("instances", "*", "credits"), "400"),
        "credits-a-flag": replaced(("instances", "*", "credits"), True),
        "no-cpu": lambda doc: encoded(
            {**doc, "instances": {i: {"credits": 1.0} for i in doc["instances"]}}
        ),
        "oversized": lambda doc: encoded({**doc, "padding": "x" * (4 << 20)}),
    },
    faults={
        **json_call_faults(
            GET_METRIC_DATA,
            internal="InternalServiceFault",
            throttling="Throttling",
            content_type="application/x-amz-json-1.0",
            # A well-formed CloudWatch answer of another call (ListMetrics).
            another_call=encoded({"Metrics": []}),
            missing="MetricDataResults",
        ),
        "not-json": Fault(
            GET_METRIC_DATA,
            answers(
                GET_METRIC_DATA,
                "application/x-amz-json-1.0",
                b'{"MetricDataResults": [{"Id": "cpu0"',
            ),
            f"{GET_METRIC_DATA} answered 200 with a body that is not JSON",
            1,
        ),
    },
    failed=_metrics_failed,
)


# --------------------------------------------------------------------------- prices

#: The Price List's prices in these tests, each unlike the built-in table's for its type.
LISTED = {"t3.medium": 0.0512, "m5.large": 0.1234}
#: The prices kept, unlike both the Price List's and the table's.
KEPT_HOURLY = {"t3.medium": 0.0777, "m5.large": 0.1777}
#: What the board says the prices are when the built-in table stood in.
TABLE_BASIS = f"built-in list prices of {TABLE_AS_OF}"


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def kept_prices(read_at: datetime, hourly: dict[str, Any] = KEPT_HOURLY) -> dict[str, Any]:
    """A prices state object as the source writes it, for us-east-1."""
    return kept_object(
        read_at, {"region": "us-east-1", "asked": sorted(hourly), "hourly": dict(hourly)}
    )


def priced_fleet(moto_url: str, build: BuildFleet) -> Fleet:
    """prod and slot 1 on t3.mediums, slot 2 on an m5.large (stopped: its type is still the
    fleet's); the Price List's prices set apart from the table."""
    set_prices(moto_url, {"us-east-1": LISTED})
    return build(spec("prod"), spec("test"), spec("test-2", instance_type="m5.large", stopped=True))


def _price(value: object) -> Garble:
    return lambda doc: encoded({**doc, "hourly": {**doc["hourly"], "t3.medium": value}})


def _table_stood_in(result: object, state: MemoryState, said: str) -> tuple[str, int | None]:
    # Never a failure of the source: the machines' costs are still shown, at list prices.
    assert isinstance(result, PriceFacts), result
    facts = result
    table = TABLE["us-east-1"]
    assert facts.items == {"t3.medium": table["t3.medium"], "m5.large": table["m5.large"]}
    assert facts.items != LISTED
    # The basis, shown wherever a cost is, says the Price List was not read, and why.
    assert facts.basis.startswith(f"{TABLE_BASIS}; the Price List was not read: {said}")
    assert facts.note is not None and facts.note.startswith(said), facts.note
    assert state.saved == {}  # the table is not kept: the next pass asks again
    return facts.note, facts.requests


PRICES = Keeper(
    PricesSource(),
    call=GET_PRODUCTS,
    kept_as="prices",
    requests=2,  # three instances, two types: one request a type
    fleet=priced_fleet,
    now=now,
    kept=lambda world, read_at: kept_prices(read_at),
    figures=items,
    fresh=lambda world: LISTED,
    kept_figures=lambda world: KEPT_HOURLY,
    garbled={
        **GARBLED_ENVELOPE,
        "json-not-an-object": lambda doc: b'["t3.medium", 0.0416]',
        "no-region": without("region"),
        "region-not-a-string": replaced(("region",), ["us-east-1"]),
        "hourly-a-list": replaced(("hourly",), [0.0416]),
        "price-a-string": _price("0.0416"),
        "price-a-flag": _price(True),
        "price-zero": _price(0),
        "price-negative": _price(-0.0416),
        "oversized": lambda doc: encoded({**doc, "padding": "x" * (300 * 1024)}),
    },
    faults=json_call_faults(
        GET_PRODUCTS,
        internal="InternalErrorException",
        # A well-formed Price List answer of another call (DescribeServices).
        another_call=b'{"Services": []}',
        missing="PriceList",
    ),
    failed=_table_stood_in,
)


# --------------------------------------------------------------------------- billing

#: 3 December, mid-morning UTC: the month so far is 1 December to the 4th (exclusive).
AT = datetime(2026, 12, 3, 9, 30, tzinfo=UTC)
MONTH = {"Start": "2026-12-01", "End": "2026-12-04"}
#: The fleet's spend this month by Name tag: prod's EIP and instance, slot 1's EIP and
#: instance, a bucket of no environment, and spend without the tag.
SPEND = {
    "agentkeys-broker-eip": 3.6,
    "agentkeys-broker": 22.15,
    "agentkeys-broker-eip-test": 3.6,
    "agentkeys-broker-test": 11.05,
    "agentkeys-vault-429071895007": 0.42,
    "": 7.5,
}
#: The month kept.
KEPT_AMOUNTS = {"agentkeys-broker": 1.25}


def page(
    spend: Mapping[str, float],
    *,
    token: str | None = None,
    period: Mapping[str, str] = MONTH,
    tag: str = "Name",
    unit: str = "USD",
) -> dict[str, Any]:
    """One GetCostAndUsage answer as Cost Explorer shapes it, grouped by `tag`."""
    groups = [
        {
            "Keys": [f"{tag}${value}"],
            "Metrics": {"UnblendedCost": {"Amount": f"{amount}", "Unit": unit}},
        }
        for value, amount in spend.items()
    ]
    answer: dict[str, Any] = {
        "GroupDefinitions": [{"Type": "TAG", "Key": tag}],
        "ResultsByTime": [
            {"TimePeriod": dict(period), "Total": {}, "Groups": groups, "Estimated": True}
        ],
        "DimensionValueAttributes": [],
    }
    if token is not None:
        answer["NextPageToken"] = token
    return answer


def queue(moto_url: str, *answers: dict[str, Any]) -> None:
    """What moto's Cost Explorer answers next, one answer per new request, in order."""
    request = urllib.request.Request(
        f"{moto_url}/moto-api/static/ce/cost-and-usage-results",
        data=encoded({"results": list(answers)}),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 201


def billed_fleet(build: BuildFleet) -> Fleet:
    """prod and slot 1, their instances named as the fleet names them, with Cost Explorer
    on."""
    return build(
        spec("prod", instance_name="agentkeys-broker"),
        spec("test", instance_name="agentkeys-broker-test"),
        cost_explorer=True,
    )


def _billing_fleet(moto_url: str, build: BuildFleet) -> Fleet:
    queue(moto_url, page(SPEND))  # what one read of the month is answered
    return billed_fleet(build)


def kept_month(read_at: datetime) -> dict[str, Any]:
    """A billing state object as the source writes it: the month to AT's day, read at."""
    return kept_object(
        read_at,
        {
            "tag": "Name",
            "start": "2026-12-01",
            "end": "2026-12-04",
            "unit": "USD",
            "estimated": True,
            "complete": True,
            "amounts": dict(KEPT_AMOUNTS),
            "error": None,
        },
    )


def _no_month(result: object, state: MemoryState, said: str) -> tuple[str, int | None]:
    # Never a SourceFailure: the month figures say unknown and why, nothing else changes.
    assert isinstance(result, BillingFacts), result
    facts = result
    assert facts.items == {} and facts.error is not None
    assert facts.error.startswith(said), facts.error
    # Kept with its reason: tried again in an hour, not every pass.
    assert json.loads(state.saved["billing"])["error"] == facts.error
    return facts.error, facts.requests  # billed, so counted


BILLING = Keeper(
    BillingSource(),
    call=GET_COST_AND_USAGE,
    kept_as="Cost Explorer figures",
    requests=1,  # the month by tag: one page
    fleet=_billing_fleet,
    now=lambda: AT,
    kept=lambda world, read_at: kept_month(read_at),
    figures=items,
    fresh=lambda world: SPEND,
    kept_figures=lambda world: KEPT_AMOUNTS,
    garbled={
        **GARBLED_ENVELOPE,
        # AT's own day: were the time read as UTC, the figures would be kept, not read again.
        "read-at-without-zone": replaced(("read_at",), "2026-12-03T08:00:00"),
        "amounts-a-list": replaced(("amounts",), [1.25]),
        "amount-a-string": replaced(("amounts", "agentkeys-broker"), "1.25"),
        "amount-a-flag": replaced(("amounts", "agentkeys-broker"), True),
        "complete-a-string": replaced(("complete",), "yes"),
        "start-not-a-date": replaced(("start",), "December"),
        "error-a-number": replaced(("error",), 403),
        "oversized": lambda doc: encoded({**doc, "padding": "x" * (2 << 20)}),
    },
    faults={
        **json_call_faults(
            GET_COST_AND_USAGE,
            internal="InternalServerError",
            # A well-formed Cost Explorer answer of another call (GetDimensionValues).
            another_call=b'{"DimensionValues": [], "ReturnSize": 0, "TotalSize": 0}',
            missing="ResultsByTime",
        ),
        # Cost Explorer's own throttling code (botocore retries it as throttling).
        "limit-exceeded": Fault(
            GET_COST_AND_USAGE,
            fails(
                GET_COST_AND_USAGE,
                400,
                "LimitExceededException",
                "You have exceeded the rate limit",
            ),
            f"{GET_COST_AND_USAGE} throttled after 3 attempts (LimitExceededException): You have "
            "exceeded the rate limit",
            3,
        ),
    },
    failed=_no_month,
)
