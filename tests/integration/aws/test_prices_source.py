"""The prices source (pricing:GetProducts) against the shared moto server, whose Price List
is demo/aws_extras.py's (moto has none): by default the built-in table's prices, or those a
test sets with `set_prices`, which these tests set apart from the table's so a figure says
where it came from. The counting proxy is the witness of what was sent.

The source reads the instance types the aws source found, keeps what it read in the state
store for a day, and falls back to the built-in table when the Price List cannot be read.
These tests give it an in-memory store and a clock of their own (PassContext.now), so "a
day later" is a value, not a wait.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from contextlib import closing
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import pytest
from tests.integration.aws.fleet import CountingProxy, built_fleet, environment, inventory, spec
from tests.integration.aws.helpers import (
    EC2_LISTINGS,
    GARBLED_ENVELOPE,
    Fault,
    Garble,
    MemoryState,
    RoleAllowing,
    UnreadableState,
    a_pass,
    ids_of,
    json_call_faults,
    kept_figures,
    kept_prices,
    read_after_aws,
    read_aws,
    read_under_fault,
    replaced,
    warnings,
    without,
)
from tests.integration.fixtures import results
from tests.integration.fixtures.aws import moto_client

from fleetboard.demo.aws_extras import set_prices
from fleetboard.demo.aws_world import World, WorldSpec, build_world
from fleetboard.inventory import Inventory
from fleetboard.model import Lifecycle, Machine, PriceFacts
from fleetboard.rules.cost import machine_cost
from fleetboard.sources import Source
from fleetboard.sources.aws import DESCRIBE_ADDRESSES, AwsSource
from fleetboard.sources.awsapi import AwsClientFactory
from fleetboard.sources.metrics import GET_METRIC_DATA, MetricsSource
from fleetboard.sources.metrics import STATE_NAME as METRICS_STATE
from fleetboard.sources.prices import (
    GET_PRODUCTS,
    STATE_NAME,
    TABLE,
    TABLE_AS_OF,
    PricesSource,
)

#: GetProducts as the proxy names it (the signing name and the JSON target's operation).
CALL = "pricing:GetProducts"
#: What the board says the prices are when the built-in table stood in.
TABLE_BASIS = f"built-in list prices of {TABLE_AS_OF}"

#: The Price List's prices in these tests, each unlike the built-in table's for its type.
LISTED = {"t3.medium": 0.0512, "m5.large": 0.1234}
#: A real type neither the built-in table nor the layer's Price List lists.
UNLISTED = "c7gn.medium"


# --------------------------------------------------------------------------- helpers


#: One run of the prices source given the aws source's answer, at `now`.
read_prices = partial(read_after_aws, PricesSource())


def facts_of(result: object) -> PriceFacts:
    """The source's facts; fails the test, showing the failure, if it failed."""
    assert isinstance(result, PriceFacts), result
    return result


def asked(proxy: CountingProxy) -> list[dict[str, str]]:
    """Each GetProducts request's filters (field -> value), in order."""
    return [
        {f["Field"]: f["Value"] for f in body["Filters"]}
        for call, body in proxy.json_bodies
        if call == CALL
    ]


def resized(moto_url: str, instance_id: str, instance_type: str) -> None:
    """Stop the instance, change its type and start it again, as an operator resizes one."""
    with closing(moto_client("ec2", moto_url)) as ec2:
        ec2.stop_instances(InstanceIds=[instance_id])
        ec2.modify_instance_attribute(InstanceId=instance_id, InstanceType={"Value": instance_type})
        ec2.start_instances(InstanceIds=[instance_id])


def instance_of(world: World, name: str) -> str:
    instance_id = world.environments[name].instance_id
    assert instance_id is not None
    return instance_id


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def fleet(
    moto_url: str, proxy: CountingProxy, factories: Callable[..., AwsClientFactory]
) -> tuple[World, Inventory, AwsClientFactory]:
    """prod and slot 1 on t3.mediums, slot 2 on an m5.large (stopped: its type is still the
    fleet's), reached through the proxy; the Price List's prices set apart from the table."""
    set_prices(moto_url, {"us-east-1": LISTED})
    world, inv = built_fleet(
        moto_url,
        spec("prod"),
        spec("test"),
        spec("test-2", instance_type="m5.large", stopped=True),
        endpoint=proxy.url,
    )
    return world, inv, factories(inv)


# --------------------------------------------------------------------------- what is read


def test_each_type_s_price_is_read_from_the_price_list_one_request_a_type(
    fleet: tuple[World, Inventory, AwsClientFactory], proxy: CountingProxy
) -> None:
    _, inv, factory = fleet
    aws = read_aws(inv, factory)
    proxy.calls.clear()
    at = now()

    facts = facts_of(read_prices(inv, factory, aws, now=at))

    assert facts.items == LISTED  # the Price List's, not the table's
    assert facts.note is None
    assert facts.basis == f"AWS Price List, read {at:%Y-%m-%d %H:%M} UTC"
    assert facts.observed_at == at
    # Three instances, two types: one request a type, however many run it.
    assert proxy.calls == [CALL, CALL] and facts.requests == 2
    # Each asks for one type's Linux, shared-tenancy, on-demand price in the fleet's region:
    # the Price List holds a product for every other combination too.
    common = {
        "regionCode": "us-east-1",
        "operatingSystem": "Linux",
        "tenancy": "Shared",
        "preInstalledSw": "NA",
        "capacitystatus": "Used",
        "licenseModel": "No License required",
    }
    assert asked(proxy) == [
        {"instanceType": "m5.large", **common},
        {"instanceType": "t3.medium", **common},
    ]
    assert {body["ServiceCode"] for call, body in proxy.json_bodies if call == CALL} == {
        "AmazonEC2"
    }


def test_the_price_list_is_asked_in_us_east_1_for_a_fleet_in_another_region(
    moto_url: str, proxy: CountingProxy, factories: Callable[..., AwsClientFactory]
) -> None:
    # The Price List API is served from us-east-1 for every region's prices; the fleet's
    # own region is only the filter.
    set_prices(moto_url, {"eu-west-1": {"t3.medium": 0.0456}})
    world = build_world(WorldSpec(environments=(spec("prod"),), region="eu-west-1"), moto_url)
    inv = inventory(proxy.url, world.zone_id, [environment("prod")])
    inv = replace(inv, aws=replace(inv.aws, region="eu-west-1"))
    factory = factories(inv)
    signed: list[tuple[str, str]] = []

    def signed_for(request: Any = None, **_: Any) -> None:
        # The credential scope of the signature: <key>/<date>/<region>/<service>/aws4_request.
        scope = str(request.headers["Authorization"]).split("Credential=")[1].split(",")[0]
        region, service = scope.split("/")[2:4]
        signed.append((service, region))

    for service in ("ec2", "pricing"):
        factory(service).meta.events.register("before-send", signed_for)
    aws = read_aws(inv, factory)
    assert set(aws.instances) == {instance_of(world, "prod")}  # found in eu-west-1

    facts = facts_of(read_prices(inv, factory, aws, now=now()))

    assert facts.items == {"t3.medium": 0.0456}  # eu-west-1's price
    assert asked(proxy)[0]["regionCode"] == "eu-west-1"
    assert ("pricing", "us-east-1") in signed
    assert {region for service, region in signed if service == "pricing"} == {"us-east-1"}
    assert {region for service, region in signed if service == "ec2"} == {"eu-west-1"}


# --------------------------------------------------------------------------- kept for a day


@pytest.mark.parametrize(
    ("after", "reads"),
    [
        (timedelta(minutes=1), False),
        (timedelta(hours=23, minutes=59, seconds=59), False),
        (timedelta(days=1), True),
        (timedelta(days=3), True),
        # The clock went back: prices "from the future" are not kept.
        (timedelta(minutes=-5), True),
    ],
    ids=["next-pass", "just-under-a-day", "a-day", "days-later", "clock-behind"],
)
def test_prices_read_are_kept_for_a_day(
    fleet: tuple[World, Inventory, AwsClientFactory],
    proxy: CountingProxy,
    after: timedelta,
    reads: bool,
) -> None:
    _, inv, factory = fleet
    aws = read_aws(inv, factory)
    state = MemoryState()
    first_at = now()
    first = facts_of(read_prices(inv, factory, aws, now=first_at, state=state))
    proxy.calls.clear()

    second = facts_of(read_prices(inv, factory, aws, now=first_at + after, state=state))

    assert proxy.calls == ([CALL, CALL] if reads else [])
    assert second.requests == len(proxy.calls)
    assert second.items == first.items == LISTED
    # Kept prices keep the time they were read, and the board says it.
    read_at = first_at + after if reads else first_at
    assert second.observed_at == read_at
    assert second.basis == f"AWS Price List, read {read_at:%Y-%m-%d %H:%M} UTC"


def test_a_type_new_to_the_fleet_makes_the_next_pass_read_again(
    moto_url: str,
    fleet: tuple[World, Inventory, AwsClientFactory],
    proxy: CountingProxy,
) -> None:
    world, inv, factory = fleet
    state = MemoryState()
    first_at = now()
    first = facts_of(read_prices(inv, factory, read_aws(inv, factory), now=first_at, state=state))
    assert set(first.items) == {"t3.medium", "m5.large"}
    set_prices(moto_url, {"us-east-1": {"t3.large": 0.0999}})
    resized(moto_url, instance_of(world, "test"), "t3.large")  # slot 1 grows
    aws = read_aws(inv, factory)
    proxy.calls.clear()

    second = facts_of(
        read_prices(inv, factory, aws, now=first_at + timedelta(minutes=5), state=state)
    )

    assert second.items == {**LISTED, "t3.large": 0.0999}
    # The kept prices do not cover the new type: every type is read again.
    assert proxy.calls == [CALL] * 3 and second.requests == 3
    # And what was read is kept: the pass after asks nothing.
    proxy.calls.clear()
    third = facts_of(
        read_prices(inv, factory, aws, now=first_at + timedelta(minutes=10), state=state)
    )
    assert proxy.calls == [] and third.items == second.items


def test_a_type_no_longer_run_drops_out_of_the_kept_prices(
    moto_url: str, fleet: tuple[World, Inventory, AwsClientFactory], proxy: CountingProxy
) -> None:
    world, inv, factory = fleet
    state = MemoryState()
    first_at = now()
    facts_of(read_prices(inv, factory, read_aws(inv, factory), now=first_at, state=state))
    resized(moto_url, instance_of(world, "test-2"), "t3.medium")  # slot 2 shrinks
    aws = read_aws(inv, factory)
    proxy.calls.clear()

    second = facts_of(
        read_prices(inv, factory, aws, now=first_at + timedelta(hours=1), state=state)
    )

    assert proxy.calls == []  # what is kept still covers every type the fleet runs
    assert second.items == {"t3.medium": LISTED["t3.medium"]}


# --------------------------------------------------------------------------- unreadable state


def _price(value: object) -> Garble:
    return lambda doc: json.dumps({**doc, "hourly": {**doc["hourly"], "t3.medium": value}}).encode()


GARBLED: dict[str, Garble] = {
    **GARBLED_ENVELOPE,
    "json-not-an-object": lambda doc: b'["t3.medium", 0.0416]',
    "no-region": without("region"),
    "region-not-a-string": replaced(("region",), ["us-east-1"]),
    "hourly-a-list": replaced(("hourly",), [0.0416]),
    "price-a-string": _price("0.0416"),
    "price-a-flag": _price(True),
    "price-zero": _price(0),
    "price-negative": _price(-0.0416),
    "oversized": lambda doc: json.dumps({**doc, "padding": "x" * (300 * 1024)}).encode(),
}


def test_a_well_formed_kept_object_is_used_as_it_is(
    fleet: tuple[World, Inventory, AwsClientFactory], proxy: CountingProxy
) -> None:
    # The control for the table below: the same object, not garbled, costs no request.
    _, inv, factory = fleet
    aws = read_aws(inv, factory)
    at = now()
    state = MemoryState({STATE_NAME: json.dumps(kept_prices(at - timedelta(hours=3))).encode()})
    proxy.calls.clear()

    facts = facts_of(read_prices(inv, factory, aws, now=at, state=state))

    assert proxy.calls == [] and facts.requests == 0
    assert facts.items == {"t3.medium": 0.0777, "m5.large": 0.1777}
    assert facts.observed_at == at - timedelta(hours=3)


@pytest.mark.parametrize("garble", GARBLED.values(), ids=GARBLED.keys())
def test_an_unreadable_kept_object_is_logged_and_the_price_list_read_instead(
    fleet: tuple[World, Inventory, AwsClientFactory],
    proxy: CountingProxy,
    caplog: pytest.LogCaptureFixture,
    garble: Garble,
) -> None:
    _, inv, factory = fleet
    aws = read_aws(inv, factory)
    at = now()
    state = MemoryState({STATE_NAME: garble(kept_prices(at - timedelta(hours=3)))})
    proxy.calls.clear()

    with caplog.at_level(logging.WARNING, logger="fleetboard"):
        facts = facts_of(read_prices(inv, factory, aws, now=at, state=state))

    assert facts.items == LISTED  # the Price List's, never the garbled object's
    assert proxy.calls == [CALL, CALL] and facts.requests == 2
    (warning,) = warnings(caplog)
    assert warning.startswith("prices: the kept prices are unreadable")
    # What was read replaces it, so the next pass keeps prices again.
    proxy.calls.clear()
    again = facts_of(read_prices(inv, factory, aws, now=at + timedelta(minutes=1), state=state))
    assert proxy.calls == [] and again.items == LISTED


UNFIT: dict[str, Callable[[datetime], dict[str, Any]]] = {
    # Kept for another region (the fleet moved): not this region's prices.
    "another-region": lambda read_at: {**kept_prices(read_at), "region": "eu-west-1"},
    # Kept before slot 2 ran an m5.large.
    "missing-a-type": lambda read_at: kept_prices(read_at, {"t3.medium": 0.0777}),
}


@pytest.mark.parametrize("unfit", UNFIT.values(), ids=UNFIT.keys())
def test_kept_prices_that_do_not_fit_the_fleet_are_read_again(
    fleet: tuple[World, Inventory, AwsClientFactory],
    proxy: CountingProxy,
    caplog: pytest.LogCaptureFixture,
    unfit: Callable[[datetime], dict[str, Any]],
) -> None:
    _, inv, factory = fleet
    aws = read_aws(inv, factory)
    at = now()
    state = MemoryState({STATE_NAME: json.dumps(unfit(at - timedelta(hours=1))).encode()})
    proxy.calls.clear()

    with caplog.at_level(logging.WARNING, logger="fleetboard"):
        facts = facts_of(read_prices(inv, factory, aws, now=at, state=state))

    assert facts.items == LISTED and proxy.calls == [CALL, CALL]
    assert not warnings(caplog)  # nothing wrong


def test_a_store_that_cannot_be_read_is_logged_and_the_price_list_read_instead(
    fleet: tuple[World, Inventory, AwsClientFactory],
    proxy: CountingProxy,
    caplog: pytest.LogCaptureFixture,
) -> None:
    _, inv, factory = fleet
    aws = read_aws(inv, factory)
    proxy.calls.clear()

    with caplog.at_level(logging.WARNING, logger="fleetboard"):
        facts = facts_of(read_prices(inv, factory, aws, now=now(), state=UnreadableState()))

    assert facts.items == LISTED and proxy.calls == [CALL, CALL]
    assert warnings(caplog) == ["prices: the kept prices could not be read (PermissionError)"]


# --------------------------------------------------------------------------- failures


def assert_table_stood_in(facts: PriceFacts, note: str) -> None:
    """The built-in table's prices, said to be, with why the Price List was not used."""
    table = TABLE["us-east-1"]
    assert facts.items == {"t3.medium": table["t3.medium"], "m5.large": table["m5.large"]}
    assert facts.items != LISTED
    # The basis, shown wherever a cost is, says the Price List was not read, and why.
    assert facts.basis.startswith(f"{TABLE_BASIS}; the Price List was not read: {note}")
    assert facts.note is not None and facts.note.startswith(note), facts.note


@pytest.mark.xfail(
    strict=True,
    reason="demo/aws_extras.py answers GetProducts itself: moto has no Price List, so with IAM "
    "enforced nothing refuses the call and it is answered for any caller",
)
def test_a_role_without_get_products_gets_the_table_and_is_told_to_allow_it(
    fleet: tuple[World, Inventory, AwsClientFactory],
    role_allowing: RoleAllowing,
) -> None:
    # moto's own IAM refuses the call: the collector's role as it was before this source.
    _, inv, factory = fleet
    aws = read_aws(inv, factory)
    as_collector, collector = role_allowing(inv, EC2_LISTINGS)
    state = MemoryState()

    facts = facts_of(read_prices(inv, as_collector, aws, now=now(), state=state))

    assert_table_stood_in(facts, f"{GET_PRODUCTS} denied (")
    assert facts.note is not None
    assert facts.note.endswith(f"allow {GET_PRODUCTS} for the collector's role")
    assert collector.secret_access_key not in facts.note
    assert state.saved == {}  # the table is not kept: the next pass asks again


FAULTS: dict[str, Fault] = json_call_faults(
    CALL,
    internal="InternalErrorException",
    throttling="ThrottlingException",
    content_type="application/x-amz-json-1.1",
    # A well-formed Price List answer of another call (DescribeServices).
    another_call=b'{"Services": []}',
    missing="PriceList",
)


@pytest.mark.parametrize("fault", FAULTS.values(), ids=FAULTS.keys())
def test_a_price_list_that_cannot_be_read_leaves_the_table_and_says_why(
    fleet: tuple[World, Inventory, AwsClientFactory],
    proxy: CountingProxy,
    no_backoff: None,
    fault: Fault,
) -> None:
    _, inv, factory = fleet

    result, state = read_under_fault(PricesSource(), inv, factory, proxy, fault, now=now())

    # Never a failure of the source: the machines' costs are still shown, at list prices.
    facts = facts_of(result)
    assert_table_stood_in(facts, fault.said)
    assert proxy.calls == [CALL] * fault.sent  # the first type's failure ends the read
    assert facts.requests == fault.sent  # counted in the pass's requests all the same
    assert state.saved == {}  # nothing read, nothing kept: the next pass asks again


def test_a_type_in_neither_the_price_list_nor_the_table_has_no_price(
    moto_url: str,
    proxy: CountingProxy,
    factories: Callable[..., AwsClientFactory],
    no_backoff: None,
) -> None:
    assert all(UNLISTED not in types for types in TABLE.values())
    world, inv = built_fleet(
        moto_url, spec("prod"), spec("test", instance_type=UNLISTED), endpoint=proxy.url
    )
    factory = factories(inv)
    aws = read_aws(inv, factory)
    slot = Machine(
        instance_id=instance_of(world, "test"),
        state="running",
        instance_type=UNLISTED,
        launched_at=None,
        eip=world.environments["test"].eip,
        eip_tag=world.environments["test"].eip_tag,
        eip_declared=None,
    )

    listed = facts_of(read_prices(inv, factory, aws, now=now()))
    proxy.fail_call(CALL, 400, "ThrottlingException", "Rate exceeded")
    tabled = facts_of(read_prices(inv, factory, aws, now=now()))

    for facts in (listed, tabled):
        assert UNLISTED not in facts.items  # absent, never a guess
        assert "t3.medium" in facts.items  # the other type is still priced
        cost = machine_cost(Lifecycle.RUNNING, slot, facts, now())
        assert cost is not None and cost.per_day is None
    assert asked(proxy)[0]["instanceType"] == UNLISTED  # it was asked for


# --------------------------------------------------------------------------- in a pass


def kept_for(source: Source, world: World, at: datetime) -> MemoryState:
    """A store holding what `source` (metrics or prices) keeps, fresh at `at`, for `world`."""
    if isinstance(source, MetricsSource):
        figures = kept_figures(sorted(ids_of(world).values()), at - timedelta(minutes=1))
        return MemoryState({METRICS_STATE: json.dumps(figures).encode()})
    return MemoryState({STATE_NAME: json.dumps(kept_prices(at - timedelta(hours=1))).encode()})


@pytest.mark.parametrize(
    ("source", "call"),
    [(MetricsSource(), GET_METRIC_DATA), (PricesSource(), CALL)],
    ids=["metrics", "prices"],
)
def test_without_the_aws_source_s_instances_nothing_is_asked(
    moto_url: str,
    proxy: CountingProxy,
    factories: Callable[..., AwsClientFactory],
    source: Source,
    call: str,
) -> None:
    world, inv = built_fleet(moto_url, spec("prod"), spec("test"), endpoint=proxy.url)
    # Fresh figures or prices are kept, but which instances (or types) run is not known.
    at = now()
    state = kept_for(source, world, at)
    proxy.fail_call(DESCRIBE_ADDRESSES, 403, "UnauthorizedOperation", "not authorized")

    answers, runs = a_pass(inv, factories(inv), [AwsSource(), source], now=at, state=state)

    results.failure_of(answers["aws"], "aws")
    failure = results.failure_of(answers[source.name], source.name)
    assert failure.reason == "not read: the aws source found no instances"
    assert runs[source.name].error == failure.reason
    assert call not in proxy.calls


def test_a_pass_reads_the_prices_after_the_aws_source_and_keeps_them(
    fleet: tuple[World, Inventory, AwsClientFactory], proxy: CountingProxy
) -> None:
    # The two sources side by side as a pass runs them, the state store the publisher's.
    _, inv, factory = fleet
    state = MemoryState()
    sources: list[Source] = [AwsSource(), PricesSource()]
    first_at = now()

    first = facts_of(a_pass(inv, factory, sources, now=first_at, state=state)[0]["prices"])
    later = first_at + timedelta(minutes=1)
    second = facts_of(a_pass(inv, factory, sources, now=later, state=state)[0]["prices"])

    assert first.items == second.items == LISTED
    assert proxy.calls.count(CALL) == 2  # the second pass kept the first's prices
    assert (first.requests, second.requests) == (2, 0)


def test_a_type_the_price_list_does_not_know_is_not_asked_again_every_pass(
    moto_url: str, proxy: CountingProxy, factories: Callable[..., AwsClientFactory]
) -> None:
    # The kept prices remember what was asked, priced or not: an unknown type costs one
    # request a day, not one a pass.
    _, inv = built_fleet(
        moto_url, spec("prod"), spec("test", instance_type=UNLISTED), endpoint=proxy.url
    )
    factory = factories(inv)
    aws = read_aws(inv, factory)
    state = MemoryState({})
    at = now()
    proxy.calls.clear()

    first = facts_of(read_prices(inv, factory, aws, now=at, state=state))
    asked = len(proxy.calls)
    later = facts_of(read_prices(inv, factory, aws, now=at + timedelta(hours=1), state=state))

    assert asked == 2 and first.requests == 2
    assert later.requests == 0 and len(proxy.calls) == asked
    assert UNLISTED not in later.items and later.items == first.items
