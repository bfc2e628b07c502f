"""The prices source (pricing:GetProducts) against the shared moto server, whose Price List
is demo/aws_extras.py's (moto has none): by default the built-in table's prices, or those a
test sets with `set_prices`, which these tests set apart from the table's so a figure says
where it came from. The counting proxy is the witness of what was sent.

The source reads the instance types the aws source found, keeps what it read in the state
store for a day, and falls back to the built-in table when the Price List cannot be read.
These tests give it an in-memory store and a clock of their own (PassContext.now), so "a
day later" is a value, not a wait. What it does with a kept object that cannot be used, how
a failed read shows, and a pass: as every source that keeps what it read
(test_kept_state.py).
"""

from __future__ import annotations

import logging
from contextlib import closing
from datetime import timedelta
from functools import partial

import pytest
from tests.integration.aws.fleet import BuildFleet, CountingProxy, spec
from tests.integration.aws.helpers import (
    Garble,
    MemoryState,
    read_after_aws,
    read_aws,
    replaced,
    signatures,
    warnings,
)
from tests.integration.aws.keepers import LISTED, PRICES, Readers, encoded, now
from tests.integration.fixtures.aws import moto_client

from fleetboard.demo.aws_extras import set_prices
from fleetboard.demo.aws_world import World
from fleetboard.model import Lifecycle, Machine, PriceFacts
from fleetboard.rules.cost import machine_cost
from fleetboard.sources.prices import GET_PRODUCTS, TABLE, PricesSource

#: GetProducts as the proxy names it (the signing name and the JSON target's operation).
CALL = GET_PRODUCTS
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


# --------------------------------------------------------------------------- what is read


def test_each_type_s_price_is_read_from_the_price_list_one_request_a_type(
    reader: Readers, proxy: CountingProxy
) -> None:
    fleet = reader(PRICES)
    at = now()

    facts = facts_of(fleet.read(at))

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
    moto_url: str, build_fleet: BuildFleet, proxy: CountingProxy
) -> None:
    # The Price List API is served from us-east-1 for every region's prices; the fleet's
    # own region is only the filter.
    set_prices(moto_url, {"eu-west-1": {"t3.medium": 0.0456}})
    world, inv, factory = build_fleet(spec("prod"), region="eu-west-1")
    signed = signatures(factory, "ec2", "pricing")
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
    reader: Readers,
    proxy: CountingProxy,
    after: timedelta,
    reads: bool,
) -> None:
    fleet = reader(PRICES)
    state = MemoryState()
    first_at = now()
    first = facts_of(fleet.read(first_at, state))
    proxy.calls.clear()

    second = facts_of(fleet.read(first_at + after, state))

    assert proxy.calls == ([CALL, CALL] if reads else [])
    assert second.requests == len(proxy.calls)
    assert second.items == first.items == LISTED
    # Kept prices keep the time they were read, and the board says it.
    read_at = first_at + after if reads else first_at
    assert second.observed_at == read_at
    assert second.basis == f"AWS Price List, read {read_at:%Y-%m-%d %H:%M} UTC"


@pytest.mark.parametrize(
    ("slot", "resized_to", "reads", "priced"),
    [
        # Slot 1 grows to a type the kept prices do not cover: every type is read again.
        ("test", "t3.large", 3, {**LISTED, "t3.large": 0.0999}),
        # Slot 2 shrinks to a type they cover: nothing is asked, and its old type drops out.
        ("test-2", "t3.medium", 0, {"t3.medium": LISTED["t3.medium"]}),
    ],
    ids=["a-type-new-to-the-fleet", "a-type-no-longer-run"],
)
def test_a_resized_slot_s_type_is_read_only_if_the_kept_prices_miss_it(
    moto_url: str,
    reader: Readers,
    proxy: CountingProxy,
    slot: str,
    resized_to: str,
    reads: int,
    priced: dict[str, float],
) -> None:
    fleet = reader(PRICES)
    set_prices(moto_url, {"us-east-1": {"t3.large": 0.0999}})  # the Price List's, as LISTED's
    state = MemoryState()
    first_at = now()
    first = facts_of(fleet.read(first_at, state))
    assert set(first.items) == {"t3.medium", "m5.large"}
    resized(moto_url, instance_of(fleet.world, slot), resized_to)
    after = fleet.again()
    proxy.calls.clear()

    second = facts_of(after.read(first_at + timedelta(minutes=5), state))

    assert second.items == priced
    assert proxy.calls == [CALL] * reads and second.requests == reads
    # What is kept covers the fleet again: the pass after asks nothing.
    proxy.calls.clear()
    third = facts_of(after.read(first_at + timedelta(minutes=10), state))
    assert proxy.calls == [] and third.items == second.items


# --------------------------------------------------------------------------- kept prices unfit

#: Young kept prices, as a kept object that does not fit the fleet holds them.
UNFIT: dict[str, Garble] = {
    # Kept for another region (the fleet moved): not this region's prices.
    "another-region": replaced(("region",), "eu-west-1"),
    # Kept before slot 2 ran an m5.large.
    "missing-a-type": lambda doc: encoded(
        {**doc, "asked": ["t3.medium"], "hourly": {"t3.medium": 0.0777}}
    ),
}


@pytest.mark.parametrize("unfit", UNFIT.values(), ids=UNFIT.keys())
def test_kept_prices_that_do_not_fit_the_fleet_are_read_again(
    reader: Readers,
    proxy: CountingProxy,
    caplog: pytest.LogCaptureFixture,
    unfit: Garble,
) -> None:
    fleet = reader(PRICES)
    at = now()

    with caplog.at_level(logging.WARNING, logger="fleetboard"):
        facts = facts_of(fleet.read(at, PRICES.holding(fleet.world, at, unfit)))

    assert facts.items == LISTED and proxy.calls == [CALL, CALL]
    assert not warnings(caplog)  # nothing wrong


# --------------------------------------------------------------------------- unlisted types


def test_a_type_in_neither_the_price_list_nor_the_table_has_no_price(
    build_fleet: BuildFleet, proxy: CountingProxy, no_backoff: None
) -> None:
    assert all(UNLISTED not in types for types in TABLE.values())
    world, inv, factory = build_fleet(spec("prod"), spec("test", instance_type=UNLISTED))
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


def test_a_type_the_price_list_does_not_know_is_not_asked_again_every_pass(
    build_fleet: BuildFleet, proxy: CountingProxy
) -> None:
    # The kept prices remember what was asked, priced or not: an unknown type costs one
    # request a day, not one a pass.
    _, inv, factory = build_fleet(spec("prod"), spec("test", instance_type=UNLISTED))
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
