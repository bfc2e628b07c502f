"""The logs source (logs:FilterLogEvents) against the shared moto server, reached through
the counting proxy, the witness of what was sent: the groups, streams and lines are put
into moto over HTTP as the CloudWatch agent would (CreateLogGroup, CreateLogStream,
PutLogEvents), the source reads them back.

A pass reads ONE group with ONE bounded request, the group read longest ago, and keeps
every group's tail in the state store; these tests give it an in-memory store and a clock
of their own (PassContext.now), so "the next pass" is a value, not a wait.

moto 5.2.5 answers FilterLogEvents with `limit`, `startTime`, `endTime` and a `nextToken`,
but reads only a single-term filter pattern (`ERROR`): an `?a ?b` pattern matches every
line there. The tests use a single term where matching matters, and check that the pattern
configured is the one sent.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import pytest
from tests.integration.aws.fleet import CountingProxy, environment, inventory
from tests.integration.aws.helpers import (
    Fault,
    MemoryState,
    a_pass,
    json_call_faults,
    read_after_aws,
)
from tests.integration.fixtures.aws import moto_client

from fleetboard.inventory import Inventory, LogSettings
from fleetboard.model import LogFacts, LogTail
from fleetboard.sources.awsapi import AwsClientFactory
from fleetboard.sources.logs import FILTER_LOG_EVENTS, LINE_CHARS, STATE_NAME, LogsSource

CALL = "logs:FilterLogEvents"
ENVS = ("prod", "test", "test-2")
KEY = "0x" + "7e" * 32
DENIAL = (
    "User: arn:aws:iam::123456789012:user/fleetboard-collector is not authorized to "
    f"perform: {CALL}"
)

read_logs = partial(read_after_aws, LogsSource())


def facts_of(result: object) -> LogFacts:
    assert isinstance(result, LogFacts), result
    return result


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def put(moto_url: str, group: str, streams: dict[str, list[tuple[datetime, str]]]) -> None:
    """The group (made if new) with these streams and lines, put into moto over HTTP."""
    with closing(moto_client("logs", moto_url)) as logs:
        if not logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]:
            logs.create_log_group(logGroupName=group)
        for stream, lines in streams.items():
            logs.create_log_stream(logGroupName=group, logStreamName=stream)
            logs.put_log_events(
                logGroupName=group,
                logStreamName=stream,
                logEvents=[
                    {"timestamp": int(at.timestamp() * 1000), "message": text}
                    for at, text in sorted(lines)
                ],
            )


def asked(proxy: CountingProxy) -> list[dict[str, Any]]:
    """Each FilterLogEvents request's body, in order."""
    return [body for call, body in proxy.json_bodies if call == CALL]


@pytest.fixture
def fleet(
    moto_url: str, proxy: CountingProxy, factories: Callable[..., AwsClientFactory]
) -> Iterator[tuple[Inventory, AwsClientFactory]]:
    """prod, slot 1 and slot 2 with [logs] (`ERROR` lines, 3 a service, the last hour),
    AWS reached through the proxy; each group holds one error line and one that is not."""
    inv = inventory(proxy.url, "Z0FLEETLOGS", [environment(n) for n in ENVS])
    inv = replace(inv, logs=LogSettings(filter="ERROR"))
    at = now() - timedelta(minutes=5)
    for name in ENVS:
        put(
            moto_url,
            f"/fleet/{name}",
            {"broker": [(at, f"ERROR {name} broker failed"), (at, "INFO all good")]},
        )
    proxy.calls.clear()
    yield inv, factories(inv)


# --------------------------------------------------------------------------- one a pass


def test_each_pass_reads_one_group_with_one_bounded_request_the_longest_unread_first(
    fleet: tuple[Inventory, AwsClientFactory], proxy: CountingProxy
) -> None:
    inv, factory = fleet
    state = MemoryState()
    start = now()
    seen: list[LogFacts] = []

    for n in range(4):
        proxy.calls.clear()
        at = start + timedelta(minutes=n)
        seen.append(facts_of(read_logs(inv, factory, None, now=at, state=state)))
        assert proxy.calls == [CALL] and seen[-1].requests == 1  # whatever the fleet size

    # Round robin: three passes cover the three groups, the fourth starts over.
    groups = [body["logGroupName"] for body in asked(proxy)]
    assert groups == ["/fleet/prod", "/fleet/test", "/fleet/test-2", "/fleet/prod"]
    # Each request is bounded: the pattern configured, a limit, the window, one page.
    first = asked(proxy)[0]
    assert first["filterPattern"] == "ERROR"
    assert first["limit"] == 500
    assert first["startTime"] == int((start - timedelta(minutes=60)).timestamp() * 1000)
    assert first["endTime"] == int(start.timestamp() * 1000)
    assert "nextToken" not in first
    # After three passes every tail is known, each as of the pass that read it.
    third = seen[2]
    assert {n: t.read_at for n, t in third.items.items()} == {
        "prod": start,
        "test": start + timedelta(minutes=1),
        "test-2": start + timedelta(minutes=2),
    }
    for name, tail in third.items.items():
        assert [(s.service, [e.text for e in s.lines]) for s in tail.services] == [
            ("broker", [f"ERROR {name} broker failed"])
        ]
    # Before its turn a group is not read, and says so (not "no errors").
    assert seen[0].items["test"] == LogTail("/fleet/test", None)


def test_a_whole_pass_counts_the_one_request_among_the_aws_requests(
    fleet: tuple[Inventory, AwsClientFactory], proxy: CountingProxy
) -> None:
    inv, factory = fleet

    results, runs = a_pass(inv, factory, [LogsSource()], state=MemoryState())

    assert proxy.calls == [CALL]
    assert runs["logs"].ok and runs["logs"].requests == 1
    assert facts_of(results["logs"]).items["prod"].read_at is not None


def test_lines_are_kept_per_service_masked_capped_and_the_last_few_only(
    moto_url: str, fleet: tuple[Inventory, AwsClientFactory], proxy: CountingProxy
) -> None:
    inv, factory = fleet
    at = now() - timedelta(minutes=30)
    put(
        moto_url,
        "/fleet/prod",
        {
            # Five in one service: the last three are kept.
            "i-0c0b739bd35643fd3/signer/stdout": [
                (at + timedelta(minutes=i), f"ERROR signer {i}") for i in range(5)
            ],
            "audit.litentry.org/app.log": [
                (at, "ERROR the oldest, not kept"),
                (at + timedelta(seconds=1), "ERROR GET https://ops:hunter2@vault.internal/v1"),
                (at + timedelta(seconds=2), "ERROR " + "x" * 2000),
                (at + timedelta(seconds=3), f"ERROR loaded key {KEY}\n  in main.go"),
            ],
            "cron-nightly": [(at, "ERROR upstream answered to Bearer abcdefghij")],
        },
    )
    state = MemoryState()

    tail = facts_of(read_logs(inv, factory, None, now=now(), state=state)).items["prod"]

    by_service = {s.service: [e.text for e in s.lines] for s in tail.services}
    assert by_service["signer"] == ["ERROR signer 2", "ERROR signer 3", "ERROR signer 4"]
    assert by_service["audit"] == [
        "ERROR GET https://***@vault.internal/v1",
        "ERROR " + "x" * (LINE_CHARS - 7) + "…",  # capped
        "ERROR loaded key 0x***\\n  in main.go",  # one line
    ]
    assert by_service["cron-nightly"] == ["ERROR upstream answered to Bearer ***"]
    assert by_service["broker"] == ["ERROR prod broker failed"]
    # The services with the latest lines first; a stream naming none is its own.
    assert [s.service for s in tail.services] == ["broker", "signer", "audit", "cron-nightly"]
    # Nothing secret was kept either.
    kept = state.saved[STATE_NAME].decode()
    assert "hunter2" not in kept and "7e7e7e" not in kept and "abcdefghij" not in kept
    assert json.loads(kept)["version"] == 1


def test_more_lines_than_one_read_takes_are_caught_up_read_by_read(
    moto_url: str, proxy: CountingProxy, factories: Callable[..., AwsClientFactory]
) -> None:
    inv = inventory(proxy.url, "Z0FLEETLOGS", [environment("prod")])
    inv = replace(inv, logs=LogSettings(filter="ERROR", max_events=10))
    factory = factories(inv)
    at = now() - timedelta(minutes=20)
    put(
        moto_url,
        "/fleet/prod",
        {"broker": [(at + timedelta(seconds=i), f"ERROR {i}") for i in range(15)]},
    )
    state = MemoryState()
    first_at = now()

    first = facts_of(read_logs(inv, factory, None, now=first_at, state=state)).items["prod"]

    # One page: the 10 oldest, said to be incomplete (the newest may be missing).
    assert not first.complete
    assert [e.text for e in first.services[0].lines] == ["ERROR 7", "ERROR 8", "ERROR 9"]
    proxy.calls.clear()

    second = facts_of(
        read_logs(inv, factory, None, now=first_at + timedelta(minutes=1), state=state)
    ).items["prod"]

    # The next read starts at the newest line kept, and so reaches the newest lines.
    assert proxy.calls == [CALL]
    assert asked(proxy)[-1]["startTime"] == int((at + timedelta(seconds=9)).timestamp() * 1000)
    assert second.complete
    assert [e.text for e in second.services[0].lines] == ["ERROR 12", "ERROR 13", "ERROR 14"]


def test_a_group_with_no_error_lines_is_known_to_have_none(
    moto_url: str, proxy: CountingProxy, factories: Callable[..., AwsClientFactory]
) -> None:
    inv = inventory(proxy.url, "Z0FLEETLOGS", [environment("prod")])
    inv = replace(inv, logs=LogSettings(filter="ERROR"))
    put(moto_url, "/fleet/prod", {"broker": [(now() - timedelta(minutes=1), "INFO ready")]})
    at = now()

    tail = facts_of(read_logs(inv, factory := factories(inv), None, now=at)).items["prod"]

    assert (tail.read_at, tail.services, tail.complete, tail.error) == (at, (), True, None)
    assert factory.requests == 1


# --------------------------------------------------------------------------- faults

#: A fault of the one call -> how the tail's reason begins, and the requests sent.
FAULTS = {
    **json_call_faults(
        CALL,
        internal="ServiceUnavailableException",
        # A well-formed CloudWatch Logs answer of another call (DescribeLogGroups).
        another_call=json.dumps({"logGroups": []}).encode(),
        missing="events",
    ),
}


@pytest.mark.parametrize("fault", FAULTS.values(), ids=FAULTS.keys())
def test_a_failed_read_makes_that_environment_s_tail_unknown_and_no_other(
    fleet: tuple[Inventory, AwsClientFactory],
    proxy: CountingProxy,
    no_backoff: None,
    fault: Fault,
) -> None:
    inv, factory = fleet
    state = MemoryState()
    start = now()
    # Three good passes: every tail known.
    for n in range(3):
        facts_of(read_logs(inv, factory, None, now=start + timedelta(minutes=n), state=state))
    fault.inflict(proxy)
    proxy.calls.clear()
    at = start + timedelta(minutes=3)

    facts = facts_of(read_logs(inv, factory, None, now=at, state=state))

    assert proxy.calls == [CALL] * fault.sent  # retried as botocore retries, never another group
    assert facts.requests == fault.sent  # and counted, though nothing came of them
    prod = facts.items["prod"]
    assert prod.error is not None and prod.error.startswith(fault.said), prod.error
    assert prod.tried_at == at
    # The other groups keep their tails and the times they were read.
    assert facts.items["test"].error is None and facts.items["test"].read_at == start + timedelta(
        minutes=1
    )
    assert facts.items["test-2"].read_at == start + timedelta(minutes=2)
    # The turn moves on: the next pass reads the next group, not the failed one again.
    proxy.clear()
    later = facts_of(read_logs(inv, factory, None, now=at + timedelta(minutes=1), state=state))
    assert [b["logGroupName"] for b in asked(proxy)] == ["/fleet/test"]
    assert later.items["prod"].error == prod.error  # still unknown until its next turn


def test_a_denial_names_the_action_to_allow(
    fleet: tuple[Inventory, AwsClientFactory], proxy: CountingProxy
) -> None:
    inv, factory = fleet
    proxy.fail_call(CALL, 400, "AccessDeniedException", DENIAL)

    tail = facts_of(read_logs(inv, factory, None, now=now())).items["prod"]

    assert tail.error == (
        f"{FILTER_LOG_EVENTS} denied (AccessDeniedException): {DENIAL} — allow "
        f"{FILTER_LOG_EVENTS} for the collector's role"
    )


def test_a_group_that_is_not_there_says_which_and_where_to_fix_it(
    proxy: CountingProxy, factories: Callable[..., AwsClientFactory]
) -> None:
    inv = inventory(proxy.url, "Z0FLEETLOGS", [environment("test-3")])
    inv = replace(inv, logs=LogSettings())
    factory = factories(inv)

    tail = facts_of(read_logs(inv, factory, None, now=now())).items["test-3"]

    assert tail.error == (
        "logs:FilterLogEvents failed after 1 attempt (ResourceNotFoundException): The "
        "specified log group does not exist. — no log group /fleet/test-3 in us-east-1: check "
        f"[logs] group (or the environment's log_group) in {inv.source}"
    )
    assert tail.read_at is None and tail.services == ()


def test_unreadable_kept_tails_are_logged_and_the_groups_read_afresh(
    fleet: tuple[Inventory, AwsClientFactory],
    proxy: CountingProxy,
    caplog: pytest.LogCaptureFixture,
) -> None:
    inv, factory = fleet
    state = MemoryState({STATE_NAME: b'{"version": 1, "groups": {"/fleet/prod": {"complete": 3'})

    with caplog.at_level(logging.WARNING):
        facts = facts_of(read_logs(inv, factory, None, now=now(), state=state))

    assert "logs: the kept log tails are unreadable" in caplog.text
    assert [b["logGroupName"] for b in asked(proxy)] == ["/fleet/prod"]
    assert facts.items["prod"].read_at is not None
    assert json.loads(state.saved[STATE_NAME])["version"] == 1  # written again, whole
