"""What every source that keeps what it read in the state store does with it (metrics,
prices and billing: one row each in keepers.py), against the shared moto server through the
counting proxy. While what is kept is young it is used as it is; a kept object that cannot
be used, or a store that cannot be read, is logged and the far end read instead; a pass
keeps what it read; a read that fails says why, counts what it sent and keeps no figures.
How long each keeps what it read, and what else makes it read again, is its own:
test_metrics_source.py, test_prices_source.py, test_billing_source.py.

These tests give each source an in-memory store and a clock of their own (PassContext.now),
so "a minute later" is a value, not a wait.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from tests.integration.aws.fleet import BuildFleet, CountingProxy
from tests.integration.aws.helpers import (
    EC2_LISTINGS,
    Fault,
    Garble,
    MemoryState,
    RoleAllowing,
    UnreadableState,
    a_pass,
    warnings,
)
from tests.integration.aws.keepers import BILLING, KEPT_AGE, METRICS, PRICES, Keeper, Readers
from tests.integration.fixtures import results

from fleetboard.model import RegionFacts
from fleetboard.sources.aws import DESCRIBE_ADDRESSES, AwsSource

KEEPERS = {keeper.source.name: keeper for keeper in (METRICS, PRICES, BILLING)}
#: The sources that read what the aws source found (billing reads the account's bill).
AFTER_AWS = {name: keeper for name, keeper in KEEPERS.items() if "aws" in keeper.source.needs}


def each_keeper_with(cases: Callable[[Keeper], Mapping[str, object]]) -> list[object]:
    """Every keeper with each of its `cases` (a table of its), as "<source>-<case>"."""
    return [
        pytest.param(keeper, case, id=f"{name}-{how}")
        for name, keeper in KEEPERS.items()
        for how, case in cases(keeper).items()
    ]


def facts_of(result: object) -> RegionFacts[Any]:
    """The source's facts; fails the test, showing the failure, if it failed."""
    assert isinstance(result, RegionFacts), result
    return result


# --------------------------------------------------------------------------- kept objects


@pytest.mark.parametrize("keeper", KEEPERS.values(), ids=KEEPERS.keys())
def test_a_well_formed_kept_object_is_used_as_it_is(
    keeper: Keeper, reader: Readers, proxy: CountingProxy
) -> None:
    # The control for the table below: the same object, not garbled, costs no request.
    run = reader(keeper)
    at = keeper.now()

    facts = facts_of(run.read(at, keeper.holding(run.world, at)))

    assert proxy.calls == [] and facts.requests == 0
    assert keeper.figures(facts) == keeper.kept_figures(run.world)
    assert facts.observed_at == at - KEPT_AGE  # when they were read, which the board says


@pytest.mark.parametrize(("keeper", "garble"), each_keeper_with(lambda keeper: keeper.garbled))
def test_an_unreadable_kept_object_is_logged_and_the_far_end_read_instead(
    keeper: Keeper,
    garble: Garble,
    reader: Readers,
    proxy: CountingProxy,
    caplog: pytest.LogCaptureFixture,
) -> None:
    run = reader(keeper)
    at = keeper.now()
    state = keeper.holding(run.world, at, garble)

    with caplog.at_level(logging.WARNING, logger="fleetboard"):
        facts = facts_of(run.read(at, state))

    run.assert_read_afresh(facts)  # never the garbled object's figures, never a failure
    assert facts.observed_at == at
    (warning,) = warnings(caplog)
    assert warning.startswith(f"{keeper.source.name}: the kept {keeper.kept_as} are unreadable")
    # What was read replaces it, so the next pass keeps figures again.
    proxy.calls.clear()
    again = facts_of(run.read(at + timedelta(minutes=1), state))
    assert proxy.calls == [] and again.items == facts.items


@pytest.mark.parametrize("keeper", KEEPERS.values(), ids=KEEPERS.keys())
def test_a_store_that_cannot_be_read_is_logged_and_the_far_end_read_instead(
    keeper: Keeper,
    reader: Readers,
    caplog: pytest.LogCaptureFixture,
) -> None:
    run = reader(keeper)

    with caplog.at_level(logging.WARNING, logger="fleetboard"):
        facts = facts_of(run.read(keeper.now(), UnreadableState()))

    run.assert_read_afresh(facts)
    # The exception's type only, never its text (which names the store's action).
    assert warnings(caplog) == [
        f"{keeper.source.name}: the kept {keeper.kept_as} could not be read (PermissionError)"
    ]


# --------------------------------------------------------------------------- in a pass


@pytest.mark.parametrize("keeper", KEEPERS.values(), ids=KEEPERS.keys())
def test_a_pass_reads_after_the_aws_source_and_the_next_passes_ask_nothing(
    moto_url: str, build_fleet: BuildFleet, proxy: CountingProxy, keeper: Keeper
) -> None:
    # The sources side by side as a pass runs them, the state store the publisher's.
    world, inv, factory = keeper.fleet(moto_url, build_fleet)
    state = MemoryState()
    at = keeper.now()
    name = keeper.source.name

    passes = [
        a_pass(
            inv, factory, [AwsSource(), keeper.source], now=at + timedelta(minutes=m), state=state
        )
        for m in (0, 1, 2, 14)  # within the 15 minutes metrics keeps its figures by default
    ]

    figures = [facts_of(answers[name]) for answers, _ in passes]
    assert [f.requests for f in figures] == [keeper.requests, 0, 0, 0]
    assert proxy.calls.count(keeper.call) == keeper.requests  # the first pass's, kept after
    assert keeper.figures(figures[0]) == keeper.fresh(world)
    assert all(f.items == figures[0].items for f in figures)
    assert all(runs[name].ok for _, runs in passes)


@pytest.mark.parametrize("keeper", AFTER_AWS.values(), ids=AFTER_AWS.keys())
def test_without_the_aws_source_s_instances_nothing_is_asked(
    moto_url: str, build_fleet: BuildFleet, proxy: CountingProxy, keeper: Keeper
) -> None:
    world, inv, factory = keeper.fleet(moto_url, build_fleet)
    # Young figures or prices are kept, but which instances (or types) run is not known.
    at = keeper.now()
    proxy.fail_call(DESCRIBE_ADDRESSES, 403, "UnauthorizedOperation", "not authorized")

    answers, runs = a_pass(
        inv, factory, [AwsSource(), keeper.source], now=at, state=keeper.holding(world, at)
    )

    results.failure_of(answers["aws"], "aws")
    failure = results.failure_of(answers[keeper.source.name], keeper.source.name)
    assert failure.reason == "not read: the aws source found no instances"
    assert runs[keeper.source.name].error == failure.reason
    assert keeper.call not in proxy.calls


# --------------------------------------------------------------------------- failures


@pytest.mark.parametrize(("keeper", "fault"), each_keeper_with(lambda keeper: keeper.faults))
def test_a_failed_read_says_why_counts_what_it_sent_and_keeps_no_figures(
    keeper: Keeper, fault: Fault, reader: Readers, proxy: CountingProxy, no_backoff: None
) -> None:
    run = reader(keeper)
    state = MemoryState()
    fault.inflict(proxy)

    result = run.read(keeper.now(), state)

    _, requests = keeper.failed(result, state, fault.said)
    # Retried as botocore retries (prices: the first type's failure ends the read).
    assert proxy.calls == [keeper.call] * fault.sent
    assert requests == fault.sent  # what it sent is counted in the pass's requests


@pytest.mark.parametrize(
    "keeper",
    [
        METRICS,
        pytest.param(
            PRICES,
            marks=pytest.mark.xfail(
                strict=True,
                reason="demo/aws_extras.py answers GetProducts itself: moto has no Price List, "
                "so with IAM enforced nothing refuses the call and it is answered for any caller",
            ),
        ),
        # billing: test_billing_source.py, where the denial is also kept for an hour.
    ],
    ids=["metrics", "prices"],
)
def test_a_role_without_the_source_s_call_is_told_to_allow_it(
    keeper: Keeper, reader: Readers, role_allowing: RoleAllowing
) -> None:
    # moto's own IAM refuses the call: the collector's role as it was before this source.
    run = reader(keeper)
    as_collector, collector = role_allowing(run.inv, EC2_LISTINGS)
    state = MemoryState()

    result = replace(run, factory=as_collector).read(keeper.now(), state)

    reason, _ = keeper.failed(result, state, f"{keeper.call} denied (")
    assert reason.endswith(f"allow {keeper.call} for the collector's role")
    assert collector.secret_access_key not in reason
