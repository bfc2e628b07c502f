"""What an environment has cost this month so far, from the billing source's spend by tag
value (sources/billing.py).

Pure: the environment's names, the facts in; a `MonthCost` out. An environment's values of
the cost allocation tag are its own name (a tag such as `Environment = test-2`) and, for
the `Name` tag the fleet names its resources with, its EIP's tag and its instance's name
(as the aws source found it). The figure is information, never health: it makes no check
and no issue, so nothing it says colours a card or the fleet.
"""

from __future__ import annotations

from dataclasses import replace

from fleetboard.model import BillingFacts, MonthCost, SourceFailure

#: The tag whose values are the fleet's resource names (docs/fleet.md#month-to-date-cost).
NAME_TAG = "Name"


def tag_values(tag: str, env: str, eip_tag: str, instance_name: str | None) -> tuple[str, ...]:
    """The values of `tag` that mark an environment's spend, in the order they are said."""
    values = [env]
    if tag == NAME_TAG:
        values += [eip_tag, *([instance_name] if instance_name else [])]
    return tuple(dict.fromkeys(values))


def month_cost(
    billing: object,
    env: str,
    eip_tag: str,
    instance_name: str | None,
    *,
    retired: bool = False,
) -> MonthCost | None:
    """The environment's month so far; None when the billing source did not run (off), or
    for a retired environment Cost Explorer has no spend of."""
    if isinstance(billing, SourceFailure):  # it never returns one; a bug or the deadline did
        return MonthCost(None, "USD", "", None, "", (), True, billing.reason)
    if not isinstance(billing, BillingFacts):
        return None
    unknown = MonthCost(
        None, billing.unit, billing.start, billing.observed_at, billing.tag, (), billing.complete
    )
    if billing.error is not None:
        return replace(unknown, reason=billing.error)
    wanted = tag_values(billing.tag, env, eip_tag, instance_name)
    found = tuple(v for v in wanted if v in billing.items)
    if not found:
        if retired:
            return None
        # No spend under any of its values is far likelier a tag not activated (or not on
        # its resources) than a month that cost nothing: not a figure of $0.
        said = ", ".join(f"{billing.tag}={v}" for v in wanted)
        return replace(
            unknown,
            reason=f"Cost Explorer has no spend tagged {said} this month: is the tag on "
            "its resources and activated as a cost allocation tag in Billing?",
        )
    amount = round(sum(billing.items[v] for v in found), 2)
    return replace(unknown, amount=amount, values=found)
