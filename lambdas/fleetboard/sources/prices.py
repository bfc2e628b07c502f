"""The prices source: what an hour of each instance type the fleet runs costs, on demand,
from the AWS Price List (`pricing:GetProducts`), read at most once a day and kept in the
state store; and the public IPv4 charge every Elastic IP pays, running or not.

The Price List is a global, read-only catalogue served from us-east-1. When it cannot be
read (denied, throttled, unreachable), the built-in table below stands in, and the board
says which it used: a price is never guessed for a type neither knows.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any, ClassVar

from fleetboard import stored
from fleetboard.inventory import Inventory
from fleetboard.model import InstanceFacts, PriceFacts, SourceFailure
from fleetboard.sources import PassContext
from fleetboard.sources.awsapi import Clients, InstancesSource, expect, read
from fleetboard.sources.kept import keep, when_read

#: The call, as IAM spells it (messages and the role's policy use it).
GET_PRODUCTS = "pricing:GetProducts"

#: How long prices read from the Price List are kept (AWS changes them a few times a year).
KEEP = timedelta(days=1)

STATE_NAME = "prices"

#: The public IPv4 charge, per address-hour, in use or idle (AWS, since February 2024).
IPV4_HOURLY_USD = 0.005

#: Built-in on-demand list prices (USD an hour, Linux, shared tenancy) by region and type,
#: for when the Price List cannot be read. As AWS listed them in February 2024 (README,
#: "What a machine costs", says how to refresh them).
TABLE_AS_OF = "2024-02"
TABLE: Mapping[str, Mapping[str, float]] = {
    "us-east-1": {
        "t2.nano": 0.0058,
        "t2.micro": 0.0116,
        "t2.small": 0.023,
        "t2.medium": 0.0464,
        "t2.large": 0.0928,
        "t3.nano": 0.0052,
        "t3.micro": 0.0104,
        "t3.small": 0.0208,
        "t3.medium": 0.0416,
        "t3.large": 0.0832,
        "t3.xlarge": 0.1664,
        "t3.2xlarge": 0.3328,
        "t3a.small": 0.0188,
        "t3a.medium": 0.0376,
        "t3a.large": 0.0752,
        "t4g.small": 0.0168,
        "t4g.medium": 0.0336,
        "t4g.large": 0.0672,
        "m5.large": 0.096,
        "m5.xlarge": 0.192,
        "m6i.large": 0.096,
        "m7i.large": 0.1008,
        "c5.large": 0.085,
        "c6i.large": 0.085,
        "r5.large": 0.126,
    },
}


class PricesSource(InstancesSource[PriceFacts]):
    """The hourly price of each instance type the aws source found."""

    name: ClassVar[str] = "prices"

    def collect_about(
        self, instances: Mapping[str, InstanceFacts], inventory: Inventory, ctx: PassContext
    ) -> PriceFacts | SourceFailure:
        region = inventory.aws.region
        types = sorted({i.instance_type for i in instances.values()})
        now = ctx.now()
        kept = _kept(ctx, region, now, types)
        if kept is not None:
            return kept
        if not types:
            return PriceFacts({}, now, 0, basis="no instances to price")
        got = read(self.name, GET_PRODUCTS, inventory, ctx, lambda c: _ask(c, region, types))
        if isinstance(got, SourceFailure):
            # The table stands in; the board says why the Price List was not used.
            table = TABLE.get(region, {})
            return PriceFacts(
                {t: table[t] for t in types if t in table},
                now,
                got.requests or 0,  # what the failed read sent, counted with the pass's
                # Said wherever the prices are shown, so a role without the action is told.
                basis=f"built-in list prices of {TABLE_AS_OF}; the Price List was not read: "
                f"{got.reason}",
                note=got.reason,
            )
        hourly, requests = got
        facts = PriceFacts(hourly, now, requests, basis=_listed(now))
        _keep(ctx, region, types, facts)
        return facts


def _listed(at: datetime) -> str:
    return f"AWS Price List, read {at:%Y-%m-%d %H:%M} UTC"


def _ask(clients: Clients, region: str, types: Iterable[str]) -> dict[str, float]:
    """The on-demand hourly price of each type in `region`, one request a type (a fleet
    runs one or two types, and this runs once a day)."""
    pricing = clients("pricing")
    hourly: dict[str, float] = {}
    for instance_type in types:
        answer = pricing.get_products(
            ServiceCode="AmazonEC2",
            Filters=[
                {"Type": "TERM_MATCH", "Field": field, "Value": value}
                for field, value in (
                    ("instanceType", instance_type),
                    ("regionCode", region),
                    ("operatingSystem", "Linux"),
                    ("tenancy", "Shared"),
                    ("preInstalledSw", "NA"),
                    ("capacitystatus", "Used"),
                    ("licenseModel", "No License required"),
                )
            ],
            MaxResults=10,
        )
        expect(answer, "PriceList")
        price = _on_demand(answer.get("PriceList", []))
        if price is not None:
            hourly[instance_type] = price
    return hourly


def _on_demand(products: Iterable[str]) -> float | None:
    """The first non-zero hourly on-demand price among the Price List's products (each a
    JSON document as a string); None when none has one."""
    for text in products:
        try:
            product = json.loads(text)
            terms = product["terms"]["OnDemand"]
            for term in terms.values():
                for dimension in term["priceDimensions"].values():
                    usd = float(dimension["pricePerUnit"]["USD"])
                    if dimension.get("unit") == "Hrs" and usd > 0:
                        return usd
        except (KeyError, TypeError, ValueError, AttributeError):
            continue  # a product not shaped like an instance's price: the next one
    return None


# --------------------------------------------------------------------------- kept prices


def _kept(ctx: PassContext, region: str, now: datetime, types: list[str]) -> PriceFacts | None:
    """The prices kept from an earlier read, when they are a day old at most, for this
    region and every type the fleet runs; None: read the Price List now."""
    found = KEEPING.load(ctx.state)
    if found is None:
        return None
    read_at, kept_region, asked, hourly = found
    fresh = timedelta(0) <= now - read_at < KEEP
    if not fresh or kept_region != region or not set(types) <= asked:
        return None
    priced = {t: hourly[t] for t in types if t in hourly}
    return PriceFacts(priced, read_at, 0, basis=_listed(read_at))


def _decode(doc: dict[str, Any]) -> tuple[datetime, str, set[str], dict[str, float]]:
    read_at = when_read(doc)
    region = stored.text(doc["region"])
    # The types asked, priced or not: one the Price List has no product for is not asked
    # again every pass.
    asked = {stored.text(t) for t in doc["asked"]}
    hourly = {str(t): _price(p) for t, p in stored.mapping(doc["hourly"]).items()}
    return read_at, region, asked, hourly


KEEPING = stored.Keeping(
    STATE_NAME, 1, 256 * 1024, _decode, what="prices", instead="reading the Price List"
)


def _price(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ValueError("not a price")
    return float(value)


def _keep(ctx: PassContext, region: str, asked: list[str], facts: PriceFacts) -> None:
    doc = {"region": region, "asked": asked, "hourly": dict(facts.items)}
    keep(KEEPING, ctx, facts.observed_at, doc)
