"""The billing source: what the account has cost this month so far, by the value of one
cost allocation tag, from Cost Explorer (`ce:GetCostAndUsage`); rules/billing.py gives each
environment the spend of its values. Off unless `[aws] cost_explorer = true`.

Cost Explorer bills every request, $0.01 each (a page of a paginated answer is a request),
so it is read at most once a UTC day and kept in the state store (`state/billing.json`):
a pass that keeps it sends nothing, and once a day is about $0.30 a month. A read that
failed is kept too, for an hour, so a denied or throttled call is not repeated every pass.
Its figures lag up to a day behind the spend, so the board says when they were read.

Its endpoint is us-east-1 whatever the fleet's region (awsapi._SERVICE_REGION). A failure
(denied, throttled, unreachable, an answer not AWS's) is never a SourceFailure: the facts
carry the reason, each month figure says "unknown" with it, and nothing else on the board
changes (cost is information, not health).
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from typing import Any, ClassVar

from fleetboard import stored
from fleetboard.inventory import Inventory
from fleetboard.model import BillingFacts, SourceFailure
from fleetboard.sources import PassContext
from fleetboard.sources.awsapi import Clients, expect, read, unlike_aws
from fleetboard.sources.kept import keep, when_read

#: The call, as IAM spells it (messages and the role's policy use it).
GET_COST_AND_USAGE = "ce:GetCostAndUsage"

#: What is summed: the cost as billed, before any credit or discount is shared out.
METRIC = "UnblendedCost"
#: The most pages read (each a billed request); past it the figures say they may be more.
MAX_PAGES = 5
#: How long a failed read is kept before the next pass tries again.
RETRY_AFTER = timedelta(hours=1)

STATE_NAME = "billing"
#: The most tag values kept (a tag on every resource can have many): each is at most 256
#: characters, so what is kept stays well under the 1 MiB read back (KEEPING).
MAX_VALUES = 500


class BillingSource:
    """The month's spend by the value of the cost allocation tag."""

    name: ClassVar[str] = "billing"
    needs: ClassVar[tuple[str, ...]] = ()
    wants: ClassVar[tuple[str, ...]] = ()

    def collect(self, inventory: Inventory, ctx: PassContext) -> BillingFacts | SourceFailure:
        now = ctx.now().astimezone(UTC)
        tag = inventory.aws.cost_tag
        kept = _kept(ctx, tag, now)
        if kept is not None:
            return kept
        start, end = period(now)
        got = read(
            self.name,
            GET_COST_AND_USAGE,
            inventory,
            ctx,
            lambda clients: _ask(clients, tag, start, end),
        )
        if isinstance(got, SourceFailure):
            # Said wherever a month figure is shown, so a role without the action is told;
            # kept for RETRY_AFTER, so a refused call is not sent again every pass.
            failed = BillingFacts(
                {},
                now,
                got.requests or 0,  # billed all the same
                tag=tag,
                start=start.isoformat(),
                end=end.isoformat(),
                error=got.reason,
            )
            _keep(ctx, failed)
            return failed
        (amounts, unit, estimated, complete), requests = got
        facts = BillingFacts(
            amounts,
            now,
            requests,
            complete,
            tag=tag,
            unit=unit,
            start=start.isoformat(),
            end=end.isoformat(),
            estimated=estimated,
        )
        _keep(ctx, facts)
        return facts


def period(now: datetime) -> tuple[date, date]:
    """The month so far, as Cost Explorer takes it: its first day (UTC) to tomorrow, the
    end being exclusive (today's spend, what there is of it, is in)."""
    today = now.astimezone(UTC).date()
    return today.replace(day=1), today + timedelta(days=1)


def _ask(
    clients: Clients, tag: str, start: date, end: date
) -> tuple[dict[str, float], str, bool, bool]:
    """The month's cost by the tag's value ("" for spend without it), its unit, whether
    Cost Explorer calls it estimated, and whether every page was read."""
    ce = clients("ce")
    arguments: dict[str, Any] = {
        "TimePeriod": {"Start": start.isoformat(), "End": end.isoformat()},
        "Granularity": "MONTHLY",
        "Metrics": [METRIC],
        "GroupBy": [{"Type": "TAG", "Key": tag}],
    }
    amounts: dict[str, float] = {}
    units: set[str] = set()
    estimated = False
    token: str | None = None
    for _ in range(MAX_PAGES):
        page = ce.get_cost_and_usage(**arguments, **({"NextPageToken": token} if token else {}))
        expect(page, "ResultsByTime")
        for result in page["ResultsByTime"]:
            estimated = estimated or bool(result.get("Estimated"))
            for group in result.get("Groups") or []:
                value, amount, unit = _group(group, tag)
                units.add(unit)
                if value in amounts or len(amounts) < MAX_VALUES:
                    amounts[value] = round(amounts.get(value, 0.0) + amount, 6)
        token = page.get("NextPageToken") or None
        if token is None:
            break
    if len(units) > 1:
        raise unlike_aws(f"answered amounts in more than one unit ({', '.join(sorted(units))})")
    return amounts, next(iter(units), "USD"), estimated, token is None


def _group(group: Any, tag: str) -> tuple[str, float, str]:
    """One group's tag value, amount and unit. Cost Explorer keys a group by "<key>$<value>"
    ("Name$agentkeys-broker-eip"; "Name$" is spend without the tag)."""
    try:
        (key,) = group["Keys"]
        cost = group["Metrics"][METRIC]
        amount, unit = float(cost["Amount"]), str(cost["Unit"])
    except (KeyError, TypeError, ValueError) as exc:
        raise unlike_aws(f"answered a group without one key and its {METRIC}") from exc
    prefix = f"{tag}$"
    if not isinstance(key, str) or not key.startswith(prefix):
        raise unlike_aws(f"answered a group keyed {str(key)[:80]!r}, not by the tag {tag}")
    if not math.isfinite(amount):
        raise unlike_aws(f"answered an amount that is not a number ({cost['Amount']!r})")
    return key.removeprefix(prefix), amount, unit


# --------------------------------------------------------------------------- kept figures


def _kept(ctx: PassContext, tag: str, now: datetime) -> BillingFacts | None:
    """What an earlier pass read (or failed to read), while it stands: figures read today
    (UTC) for this tag, or a failure younger than RETRY_AFTER; None: ask Cost Explorer."""
    found = KEEPING.load(ctx.state)
    if found is None or found.tag != tag or found.observed_at > now:
        return None  # another tag's, or from the future: the clock went back
    if found.error is not None:
        return found if now - found.observed_at < RETRY_AFTER else None
    return found if found.observed_at.date() == now.date() else None


def _decode(doc: dict[str, Any]) -> BillingFacts:
    read_at = when_read(doc).astimezone(UTC)
    error = doc["error"]
    amounts = {str(v): _amount(a) for v, a in stored.mapping(doc["amounts"]).items()}
    return BillingFacts(
        amounts,
        read_at,
        0,  # kept: no request this pass
        stored.flag(doc["complete"]),
        tag=stored.text(doc["tag"]),
        unit=stored.text(doc["unit"]),
        start=date.fromisoformat(stored.text(doc["start"])).isoformat(),
        end=date.fromisoformat(stored.text(doc["end"])).isoformat(),
        estimated=stored.flag(doc["estimated"]),
        error=None if error is None else stored.text(error),
    )


KEEPING = stored.Keeping(
    STATE_NAME, 1, 1 << 20, _decode, what="Cost Explorer figures", instead="reading Cost Explorer"
)


def _amount(value: object) -> float:
    # Credits and refunds can make a tag's month negative: any finite number.
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError("not an amount")
    return float(value)


def _keep(ctx: PassContext, facts: BillingFacts) -> None:
    keep(
        KEEPING,
        ctx,
        facts.observed_at,
        {
            "tag": facts.tag,
            "start": facts.start,
            "end": facts.end,
            "unit": facts.unit,
            "estimated": facts.estimated,
            "complete": facts.complete,
            "amounts": dict(facts.items),
            "error": facts.error,
        },
    )
