"""The billing source (ce:GetCostAndUsage) against the shared moto server, through the
counting proxy, the witness of what was sent (moto's Cost Explorer answers labelled as
AWS labels them by the demo layer in front of moto, demo/aws_extras.py).

moto keeps no bill: what Cost Explorer answers is queued through moto's own API
(`POST /moto-api/static/ce/cost-and-usage-results`), one answer per distinct request, in
order; the same request asked again gets the same answer, so a page's token and a new day's
time period each take the next one queued. Each request is billed $0.01, so the source reads
at most once a UTC day and keeps what it read (or why it could not) in the state store; these
tests give it an in-memory store and a clock of their own, so "the next day" is a value.
What it does with a kept object that cannot be used, how a failed read shows, and a pass:
as every source that keeps what it read (test_kept_state.py).
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import pytest
from tests.integration.aws.fleet import BuildFleet, CountingProxy, Fleet, spec
from tests.integration.aws.helpers import (
    EC2_LISTINGS,
    MemoryState,
    RoleAllowing,
    read_after_aws,
    read_aws,
    signatures,
)
from tests.integration.aws.keepers import AT, MONTH, SPEND, billed_fleet, page, queue
from tests.integration.fixtures.aws import moto_client

from fleetboard.model import BillingFacts
from fleetboard.rules import Observations, environment_view
from fleetboard.sources.billing import (
    GET_COST_AND_USAGE,
    MAX_PAGES,
    RETRY_AFTER,
    STATE_NAME,
    BillingSource,
)

#: GetCostAndUsage as the proxy names it (the signing name and the JSON target's operation).
CALL = GET_COST_AND_USAGE
read_billing = partial(read_after_aws, BillingSource())


# --------------------------------------------------------------------------- helpers


def facts_of(result: object) -> BillingFacts:
    assert isinstance(result, BillingFacts), result
    return result


def asked(proxy: CountingProxy) -> list[dict[str, Any]]:
    return [body for call, body in proxy.json_bodies if call == CALL]


def kept(state: MemoryState) -> dict[str, Any]:
    return dict(json.loads(state.saved[STATE_NAME]))


@pytest.fixture
def fleet(build_fleet: BuildFleet) -> Fleet:
    return billed_fleet(build_fleet)


def read(fleet: Fleet, at: datetime, state: MemoryState | None = None) -> BillingFacts:
    _, inv, factory = fleet
    return facts_of(read_billing(inv, factory, None, now=at, state=state))


# --------------------------------------------------------------------------- what is read


def test_the_month_so_far_is_read_by_tag_in_one_request(
    moto_url: str, fleet: Fleet, proxy: CountingProxy
) -> None:
    queue(moto_url, page(SPEND))

    facts = read(fleet, AT)

    assert facts.error is None and facts.items == SPEND
    assert (facts.tag, facts.unit, facts.start, facts.end) == ("Name", "USD", *MONTH.values())
    assert facts.observed_at == AT and facts.estimated and facts.complete
    assert proxy.calls == [CALL] and facts.requests == 1
    # The first of the month (UTC) to tomorrow, a month's one figure, the cost as billed,
    # grouped by the tag: the same request every pass of a day, none other.
    assert asked(proxy) == [
        {
            "TimePeriod": MONTH,
            "Granularity": "MONTHLY",
            "Metrics": ["UnblendedCost"],
            "GroupBy": [{"Type": "TAG", "Key": "Name"}],
        }
    ]


def test_the_first_day_of_a_month_asks_for_that_day_alone(
    moto_url: str, fleet: Fleet, proxy: CountingProxy
) -> None:
    day_one = {"Start": "2027-01-01", "End": "2027-01-02"}
    queue(moto_url, page({"agentkeys-broker": 0.8}, period=day_one))

    # 23:30 on 31 December in UTC-5 is already 1 January in UTC: the month is UTC's.
    facts = read(fleet, datetime(2027, 1, 1, 4, 30, tzinfo=UTC))

    assert asked(proxy)[0]["TimePeriod"] == day_one
    assert facts.items == {"agentkeys-broker": 0.8} and facts.start == "2027-01-01"


def test_cost_explorer_is_asked_in_us_east_1_for_a_fleet_in_another_region(
    moto_url: str, build_fleet: BuildFleet
) -> None:
    # Cost Explorer's one endpoint is us-east-1's, for the whole account.
    _, inv, factory = build_fleet(spec("prod"), region="eu-west-1", cost_explorer=True)
    signed = signatures(factory, "ce")
    queue(moto_url, page({"prod": 1.0}))

    facts = facts_of(read_billing(inv, factory, None, now=AT))

    assert facts.items == {"prod": 1.0} and signed == [("ce", "us-east-1")]


def test_every_page_is_read_and_added_up(moto_url: str, fleet: Fleet, proxy: CountingProxy) -> None:
    queue(
        moto_url,
        page({"agentkeys-broker": 20.0, "": 5.0}, token="page-2"),
        page({"agentkeys-broker-test": 11.05}, token="page-3"),
        # A value can come again on a later page (another time period's group): added.
        page({"agentkeys-broker": 2.15, "": 2.5}),
    )

    facts = read(fleet, AT)

    assert facts.items == {"agentkeys-broker": 22.15, "": 7.5, "agentkeys-broker-test": 11.05}
    assert facts.complete and facts.requests == 3 and proxy.calls == [CALL] * 3
    assert [body.get("NextPageToken") for body in asked(proxy)] == [None, "page-2", "page-3"]


def test_pages_past_the_cap_are_not_asked_and_the_figures_say_they_may_be_more(
    moto_url: str, fleet: Fleet, proxy: CountingProxy
) -> None:
    queue(
        moto_url,
        *(page({f"value-{n}": 1.0}, token=f"page-{n + 1}") for n in range(MAX_PAGES + 2)),
    )

    facts = read(fleet, AT)

    assert proxy.calls == [CALL] * MAX_PAGES and facts.requests == MAX_PAGES
    assert not facts.complete and len(facts.items) == MAX_PAGES


def test_a_dedicated_tag_is_grouped_by_and_keyed_by_its_own_name(
    moto_url: str, fleet: Fleet, proxy: CountingProxy
) -> None:
    _, inv, factory = fleet
    inv = replace(inv, aws=replace(inv.aws, cost_tag="Environment"))
    queue(moto_url, page({"prod": 25.75, "test": 14.65, "": 7.92}, tag="Environment"))

    facts = facts_of(read_billing(inv, factory, None, now=AT))

    assert asked(proxy)[0]["GroupBy"] == [{"Type": "TAG", "Key": "Environment"}]
    assert facts.tag == "Environment" and facts.items == {"prod": 25.75, "test": 14.65, "": 7.92}


# --------------------------------------------------------------------------- once a day


@pytest.mark.parametrize(
    ("later", "reads"),
    [
        (timedelta(minutes=1), False),
        # 23:59:59 the same UTC day: still the day's read.
        (timedelta(hours=14, minutes=29, seconds=59), False),
        # 00:00 the next UTC day: a new day reads again (Cost Explorer has a new day in).
        (timedelta(hours=14, minutes=30), True),
        (timedelta(days=3), True),
        # The clock went back: figures "from the future" are not kept.
        (timedelta(minutes=-5), True),
    ],
    ids=["next-pass", "end-of-the-day", "next-day", "days-later", "clock-behind"],
)
def test_the_month_is_read_at_most_once_a_day(
    moto_url: str,
    fleet: Fleet,
    proxy: CountingProxy,
    later: timedelta,
    reads: bool,
) -> None:
    queue(moto_url, page(SPEND))
    state = MemoryState()
    first = read(fleet, AT, state)
    proxy.calls.clear()
    # A later day asks for a longer month: moto answers it with the next one queued.
    grown = {**SPEND, "agentkeys-broker": 30.0}
    then = AT + later
    queue(
        moto_url,
        page(grown, period={"Start": "2026-12-01", "End": f"{then.date() + timedelta(days=1)}"}),
    )

    second = read(fleet, then, state)

    if reads:
        assert proxy.calls == [CALL] and second.requests == 1
        # moto answers the same request (the same day's) as it did before.
        assert second.items == (SPEND if then.date() == AT.date() else grown)
        assert second.observed_at == then
        assert kept(state)["read_at"] == then.isoformat().replace("+00:00", "Z")
    else:
        assert proxy.calls == [] and second.requests == 0  # no request: no charge
        assert second.items == first.items == SPEND
        assert second.observed_at == AT  # as of the read, which the board says


def test_another_tag_in_the_config_is_read_afresh(
    moto_url: str, fleet: Fleet, proxy: CountingProxy
) -> None:
    _, inv, factory = fleet
    queue(moto_url, page(SPEND), page({"prod": 25.75}, tag="Environment"))
    state = MemoryState()
    read(fleet, AT, state)
    retagged = replace(inv, aws=replace(inv.aws, cost_tag="Environment"))

    facts = facts_of(
        read_billing(retagged, factory, None, now=AT + timedelta(minutes=1), state=state)
    )

    assert proxy.calls == [CALL, CALL] and facts.items == {"prod": 25.75}


# --------------------------------------------------------------------------- failures


def test_a_role_without_the_action_is_told_to_allow_it_and_not_asked_again_for_an_hour(
    moto_url: str,
    fleet: Fleet,
    proxy: CountingProxy,
    role_allowing: RoleAllowing,
) -> None:
    # moto's own IAM refuses the call: the collector's role as it is by default.
    _, inv, _ = fleet
    queue(moto_url, page(SPEND))
    factory, collector = role_allowing(inv, EC2_LISTINGS)
    state = MemoryState()

    facts = facts_of(read_billing(inv, factory, None, now=AT, state=state))

    assert facts.items == {} and facts.error is not None
    assert facts.error.startswith(f"{GET_COST_AND_USAGE} denied (AccessDenied")
    assert facts.error.endswith(f"allow {GET_COST_AND_USAGE} for the collector's role")
    assert collector.secret_access_key not in facts.error
    assert proxy.calls == [CALL]
    # Kept with its reason: the passes of the next hour say it again and ask nothing.
    proxy.calls.clear()
    again = facts_of(read_billing(inv, factory, None, now=AT + timedelta(minutes=59), state=state))
    assert again.error == facts.error and proxy.calls == []
    after = facts_of(read_billing(inv, factory, None, now=AT + RETRY_AFTER, state=state))
    assert after.error is not None and proxy.calls == [CALL]


def test_an_answer_grouped_by_another_key_is_not_taken_for_the_tag_s(
    moto_url: str, fleet: Fleet, proxy: CountingProxy
) -> None:
    queue(moto_url, page({"Amazon Elastic Compute Cloud - Compute": 40.0}, tag="Service"))

    facts = read(fleet, AT)

    assert facts.items == {} and facts.error is not None
    assert facts.error.startswith(
        f"{CALL} answered a group keyed 'Service$Amazon Elastic Compute Cloud - Compute', "
        "not by the tag Name"
    )


# --------------------------------------------------------------------------- tag -> environment


def test_each_environment_gets_the_spend_of_its_eip_and_its_instance(
    moto_url: str, fleet: Fleet
) -> None:
    # The aws source found each environment's instance and its Name; Cost Explorer's
    # groups are the tag's values: each card adds up its own, and nothing else.
    _, inv, factory = fleet
    queue(moto_url, page(SPEND))
    aws = read_aws(inv, factory)
    obs = Observations(facts={"aws": aws, "billing": read(fleet, AT)})

    months = {e.name: environment_view(e, inv, obs, AT).month_cost for e in inv.environments}

    prod, slot = months["prod"], months["test"]
    assert prod is not None and slot is not None
    assert (prod.amount, prod.values) == (25.75, ("agentkeys-broker-eip", "agentkeys-broker"))
    assert (slot.amount, slot.values) == (
        14.65,
        ("agentkeys-broker-eip-test", "agentkeys-broker-test"),
    )
    assert prod.read_at == AT and prod.since == "2026-12-01" and prod.reason is None
    # The bucket's and the untagged spend are no environment's.
    assert prod.amount + slot.amount < sum(SPEND.values())


def test_moto_s_ce_answer_is_labelled_as_aws_labels_it(moto_url: str) -> None:
    # moto answers the call (its body as queued) but labels it text/html, which the source
    # refuses as a portal's page; the demo layer in front of moto labels it as AWS does.
    queue(moto_url, page({"prod": 1.0}))
    ce = moto_client("ce", moto_url)
    answer = ce.get_cost_and_usage(
        TimePeriod=MONTH,
        Granularity="MONTHLY",
        Metrics=["UnblendedCost"],
        GroupBy=[{"Type": "TAG", "Key": "Name"}],
    )
    assert answer["ResultsByTime"][0]["Groups"][0]["Keys"] == ["Name$prod"]
    assert answer["ResponseMetadata"]["HTTPHeaders"]["content-type"] == (
        "application/x-amz-json-1.1"
    )
