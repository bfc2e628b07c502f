"""The month so far from Cost Explorer, as tables: the billing source's spend by tag value
and an environment's names in; its `MonthCost`, the card's words and the page out. And what
it must not do: make a check, an issue or a colour, change the daily estimate, or run at all
unless [aws] cost_explorer says so."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from tests.boards import demo, document
from tests.configs import GOOD
from tests.html import card, parse
from tests.observed import NOW

from fleetboard import config, registry, render, snapshot
from fleetboard.model import BillingFacts, MonthCost, PriceFacts, SourceFailure
from fleetboard.render.machine import month_text, month_title
from fleetboard.rules.billing import month_cost, tag_values

READ_AT = NOW - timedelta(hours=2)
DENIED = (
    "ce:GetCostAndUsage denied (AccessDeniedException): User: arn:aws:iam::123456789012:"
    "role/fleetboard-collector is not authorized to perform: ce:GetCostAndUsage — allow "
    "ce:GetCostAndUsage for the collector's role"
)
#: Cost Explorer's groups as the source keeps them: Name tag value -> USD this month.
SPEND = {
    "agentkeys-broker-eip": 3.6,
    "agentkeys-broker": 22.15,
    "agentkeys-broker-eip-test": 3.6,
    "agentkeys-broker-test": 11.05,
    "": 7.5,
}


def facts(items: dict[str, float] | None = None, **changes: Any) -> BillingFacts:
    base = BillingFacts(
        SPEND if items is None else items,
        READ_AT,
        1,
        tag="Name",
        start="2026-11-01",
        end="2026-11-24",
    )
    return replace(base, **changes)


# --------------------------------------------------------------------------- the rule


@pytest.mark.parametrize(
    ("tag", "env", "eip_tag", "instance", "values"),
    [
        ("Name", "prod", "agentkeys-broker-eip", "agentkeys-broker", ("prod", "agentkeys-broker-eip", "agentkeys-broker")),
        ("Name", "test", "agentkeys-broker-eip-test", None, ("test", "agentkeys-broker-eip-test")),
        # Another tag (Environment = test-2): the environment's own name only.
        ("Environment", "test-2", "agentkeys-broker-eip-test-2", "agentkeys-broker-test-2", ("test-2",)),
        # An instance named like the environment is said once.
        ("Name", "base", "agentkeys-broker-eip-base", "base", ("base", "agentkeys-broker-eip-base")),
    ],
    ids=["name-with-instance", "name-without-instance", "own-tag", "no-repeat"],
)  # fmt: skip
def test_an_environment_s_tag_values(
    tag: str, env: str, eip_tag: str, instance: str | None, values: tuple[str, ...]
) -> None:
    assert tag_values(tag, env, eip_tag, instance) == values


def _month(**changes: Any) -> MonthCost:
    base = MonthCost(None, "USD", "2026-11-01", READ_AT, "Name", (), True)
    return replace(base, **changes)


NO_SPEND = (
    "Cost Explorer has no spend tagged Name=test-3, Name=agentkeys-broker-eip-test-3 this "
    "month: is the tag on its resources and activated as a cost allocation tag in Billing?"
)

RULES = [
    # (billing answer, env, eip tag, instance name, retired) -> MonthCost
    ("off", None, "prod", "agentkeys-broker-eip", "agentkeys-broker", False, None),
    (
        "eip-and-instance",
        facts(),
        "prod",
        "agentkeys-broker-eip",
        "agentkeys-broker",
        False,
        _month(amount=25.75, values=("agentkeys-broker-eip", "agentkeys-broker")),
    ),
    # The aws source did not say its instance's name: its EIP's spend alone is found.
    (
        "eip-only",
        facts(),
        "test",
        "agentkeys-broker-eip-test",
        None,
        False,
        _month(amount=3.6, values=("agentkeys-broker-eip-test",)),
    ),
    (
        "nothing-tagged",
        facts(),
        "test-3",
        "agentkeys-broker-eip-test-3",
        None,
        False,
        _month(reason=NO_SPEND),
    ),
    ("retired-nothing-tagged", facts(), "test-3", "agentkeys-broker-eip-test-3", None, True, None),
    (
        "not-read",
        facts({}, error=DENIED, requests=0),
        "prod",
        "agentkeys-broker-eip",
        "agentkeys-broker",
        False,
        _month(reason=DENIED),
    ),
    (
        "more-pages",
        facts(complete=False),
        "prod",
        "agentkeys-broker-eip",
        None,
        False,
        _month(amount=3.6, values=("agentkeys-broker-eip",), complete=False),
    ),
    (
        "credits-net",
        facts({"agentkeys-broker-eip": 3.6, "agentkeys-broker": -1.2}),
        "prod",
        "agentkeys-broker-eip",
        "agentkeys-broker",
        False,
        _month(amount=2.4, values=("agentkeys-broker-eip", "agentkeys-broker")),
    ),
    (
        "source-failed",
        SourceFailure("billing", "no complete answer within 8 s"),
        "prod",
        "agentkeys-broker-eip",
        None,
        False,
        MonthCost(None, "USD", "", None, "", (), True, "no complete answer within 8 s"),
    ),
]


@pytest.mark.parametrize(
    ("billing", "env", "eip_tag", "instance", "retired", "want"),
    [r[1:] for r in RULES],
    ids=[r[0] for r in RULES],
)
def test_the_month_so_far(
    billing: object,
    env: str,
    eip_tag: str,
    instance: str | None,
    retired: bool,
    want: MonthCost | None,
) -> None:
    assert month_cost(billing, env, eip_tag, instance, retired=retired) == want


# --------------------------------------------------------------------------- the words


#: `environments[].month_cost` as the snapshot carries it. A case changes some of it:
#: dict(MONTH_JSON, key=value).
MONTH_JSON: dict[str, Any] = {
    "amount": 25.75,
    "unit": "USD",
    "since": "2026-11-01",
    "read_at": "2026-11-23T06:00:00Z",
    "tag": "Name",
    "values": ["agentkeys-broker-eip", "agentkeys-broker"],
    "complete": True,
    "reason": None,
}


@pytest.mark.parametrize(
    ("month", "text"),
    [
        (MONTH_JSON, "$25.75 this month (Cost Explorer, to 2026-11-23)"),
        (dict(MONTH_JSON, amount=1234.5), "$1,234.50 this month (Cost Explorer, to 2026-11-23)"),
        (dict(MONTH_JSON, unit="EUR"), "25.75 EUR this month (Cost Explorer, to 2026-11-23)"),
        (
            dict(MONTH_JSON, complete=False),
            "at least $25.75 this month (Cost Explorer, to 2026-11-23)",
        ),
        (dict(MONTH_JSON, amount=None, values=[], reason=DENIED), f"this month unknown: {DENIED}"),
    ],
    ids=["usd", "thousands", "other-currency", "more-pages", "unknown"],
)
def test_the_month_in_words(month: dict[str, Any], text: str) -> None:
    assert month_text(month) == text


def test_the_title_says_what_was_counted_and_as_of_when() -> None:
    assert month_title(MONTH_JSON) == (
        "source billing · Cost Explorer's unblended cost since 2026-11-01 · tagged "
        "Name=agentkeys-broker-eip, Name=agentkeys-broker · read 2026-11-23 06:00 UTC · "
        "Cost Explorer lags up to a day"
    )


# --------------------------------------------------------------------------- the page

PRICES = PriceFacts({"t3.medium": 0.0416}, NOW - timedelta(hours=2), 1, basis="AWS Price List")
#: The demo's environments by their own names (a tag such as Environment = prod).
BY_ENV = BillingFacts(
    {"prod": 25.75, "test": 14.65, "": 7.5},
    READ_AT,
    1,
    tag="Environment",
    start="2026-11-01",
    end="2026-11-24",
)


def board_doc(billing: object | None, prices: PriceFacts | None = PRICES) -> dict[str, Any]:
    seen = demo()
    if prices is not None:
        seen.reads("prices", prices)
    if billing is not None:
        seen.reads("billing", billing)
    return document(seen.board())


def cost_words(card_html: str) -> str | None:
    found = re.search(r"<dt>cost(.*?)</dl>", card_html, re.S)
    if found is None:
        return None
    return " ".join("".join(parse(found.group(1)).text).split())


def test_each_card_adds_the_month_so_far_to_its_cost_line() -> None:
    html = render.render_page(board_doc(BY_ENV))

    prod = cost_words(card(html, "prod"))
    assert prod is not None
    assert prod.endswith(" · $25.75 this month (Cost Explorer, to 2026-11-23)"), prod
    assert prod.startswith("about $")  # the daily estimate, as before
    assert 'title="source billing · ' in card(html, "prod")
    assert cost_words(card(html, "test")) is not None
    assert "$14.65 this month" in (cost_words(card(html, "test")) or "")


def test_the_month_shows_without_prices_and_unknown_with_its_reason() -> None:
    denied = replace(BY_ENV, items={}, error=DENIED, requests=0)
    html = render.render_page(board_doc(denied, prices=None))

    assert cost_words(card(html, "prod")) == f"this month unknown: {DENIED}"


def test_a_month_unread_changes_nothing_else_on_the_board() -> None:
    # Information, not health: statuses, issues, checks, the daily estimate and the next
    # action are what they are without it, read or refused.
    without = board_doc(None)
    for billing in (BY_ENV, replace(BY_ENV, items={}, error=DENIED, requests=0)):
        doc = board_doc(billing)
        assert doc["summary"] == without["summary"]
        for env, before in zip(doc["environments"], without["environments"], strict=True):
            assert env.pop("month_cost") is not None
            assert env == {k: v for k, v in before.items() if k != "month_cost"}


def test_the_month_figure_is_in_the_snapshot() -> None:
    doc = board_doc(BY_ENV)
    prod = next(e for e in doc["environments"] if e["name"] == "prod")
    assert prod["month_cost"] == {
        "amount": 25.75,
        "unit": "USD",
        "since": "2026-11-01",
        "read_at": snapshot.iso(READ_AT),
        "tag": "Environment",
        "values": ["prod"],
        "complete": True,
        "reason": None,
    }


# --------------------------------------------------------------------------- settings


def with_aws(lines: str) -> str:
    return GOOD + "\n[aws]\n" + lines + "\n"


def test_cost_explorer_is_off_by_default_and_builds_no_source() -> None:
    inv = config.loads(GOOD).inventory
    assert (inv.aws.cost_explorer, inv.aws.cost_tag) == (False, "Name")
    assert "billing" not in [s.name for s in registry.sources_for(inv)]
    on = config.loads(with_aws("cost_explorer = true")).inventory
    assert [s.name for s in registry.sources_for(on)].count("billing") == 1
    tagged = config.loads(with_aws('cost_explorer = true\ncost_tag = "Environment"')).inventory
    assert tagged.aws.cost_tag == "Environment"


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (
            'cost_explorer = "yes"',
            'fleet.toml: aws.cost_explorer: "yes" is a string; expected true or false',
        ),
        (
            'cost_tag = "aws:createdBy"',
            'fleet.toml: aws.cost_tag: "aws:createdBy" is not a user-defined tag key such as '
            '"Name" (letters, digits, spaces and _ . : / = + - @; not starting with aws:)',
        ),
        (
            'cost_tag = ""',
            'fleet.toml: aws.cost_tag: "" is not a user-defined tag key such as "Name" '
            "(letters, digits, spaces and _ . : / = + - @; not starting with aws:)",
        ),
        ("cost_tag = 3", "fleet.toml: aws.cost_tag: 3 is an integer; expected a string"),
    ],
    ids=["flag-a-string", "aws-prefix", "empty", "tag-a-number"],
)
def test_a_wrong_cost_setting_has_a_clear_message(lines: str, message: str) -> None:
    with pytest.raises(config.ConfigError) as caught:
        config.loads(with_aws(lines), source="fleet.toml")
    assert message in caught.value.problems, caught.value.problems
