"""The github source against answers GitHub never gives (an HTML page with 200, a trickle,
a flood, absurd rate-limit headers) and a collector that cannot reach GitHub at all: each
fails the source by its own budget with a reason that says what came back, or is read with
the unreadable part said, never taken for an empty CI."""

from __future__ import annotations

import errno
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
import urllib3.util.connection
from tests.integration.fixtures.results import failure_of
from tests.integration.github.helpers import inventory_with
from tests.integration.github.hostile import Answer, HostileHttp

from fleetboard.demo.hosts import refused_port
from fleetboard.inventory import GithubSettings
from fleetboard.model import GithubFacts, SourceFailure
from fleetboard.sources import PassContext
from fleetboard.sources.github import BODY_CAP_BYTES, GithubSource
from fleetboard.text import scrub

REPO = "litentry/agentKeys"
RUNS_CALL = f"GET /repos/{REPO}/actions/workflows/e2e-ci.yml/runs"
TOKEN = "ghp_" + "T0kenPlanted" * 3
RUNS = json.dumps({"total_count": 0, "workflow_runs": []}).encode()
BRANCH = json.dumps(
    {"commit": {"sha": "a" * 40, "commit": {"committer": {"date": "2026-12-01T10:00:00Z"}}}}
).encode()


@pytest.fixture
def server() -> Iterator[HostileHttp]:
    with HostileHttp() as s:
        yield s


def collect(
    api_url: str, *, timeout_s: float = 2.0, deadline_s: float = 30.0
) -> GithubFacts | SourceFailure:
    settings = GithubSettings(
        repo=REPO, workflows=("e2e-ci.yml",), api_url=api_url, timeout_s=timeout_s, slot_count=3
    )
    ctx = PassContext(
        deadline=time.monotonic() + deadline_s,
        secrets={},
    )
    return GithubSource(environ={"GITHUB_TOKEN": TOKEN}).collect(inventory_with(settings), ctx)


def failure(result: GithubFacts | SourceFailure) -> SourceFailure:
    return failure_of(result, "github", never_shown=[TOKEN])


# --------------------------------------------------------------------------- not GitHub's answer


def test_an_html_page_answered_200_is_a_failure_naming_what_came_back(
    server: HostileHttp,
) -> None:
    server.answer = Answer(200, "text/html; charset=utf-8", b"<html><body>Log in to WiFi</body>")

    got = failure(collect(server.url()))

    host = server.url().removeprefix("http://")
    assert got.reason == (
        f"{RUNS_CALL} answered 200 with text/html, not GitHub's JSON: \"<html><body>Log in to "
        f'WiFi</body>" — a proxy or captive portal may be answering for {host}'
    )
    assert not got.blind


def test_json_under_another_content_type_is_not_github_s(server: HostileHttp) -> None:
    server.answer = Answer(200, "text/plain", RUNS)

    got = failure(collect(server.url()))

    assert got.reason.startswith(f"{RUNS_CALL} answered 200 with text/plain, not GitHub's JSON")


def test_json_of_another_shape_is_not_an_empty_ci(server: HostileHttp) -> None:
    server.answer = Answer(200, "application/json", b'{"items": []}')

    got = failure(collect(server.url()))

    assert got.reason.startswith(f"{RUNS_CALL} answered 200 with a body unlike GitHub's")
    assert "workflow_runs" in got.reason


# --------------------------------------------------------------------------- bounded answers


def test_a_trickling_body_fails_by_the_call_s_own_budget(server: HostileHttp) -> None:
    # Every byte comes well inside the read timeout; the whole answer never does.
    server.answer = Answer(200, "application/json", RUNS + b" " * 1000, trickle_s=0.05)

    started = time.monotonic()
    got = failure(collect(server.url(), timeout_s=0.5))
    elapsed = time.monotonic() - started

    assert got.reason.startswith(f"{RUNS_CALL} answered 200, then no complete answer in time (")
    assert got.reason.endswith("bytes read) within 0.5 s")
    assert elapsed < 2.5  # the whole body would take 50 s


def test_a_flood_fails_at_the_size_cap(server: HostileHttp) -> None:
    server.answer = Answer(200, "application/json", b" ", flood_bytes=BODY_CAP_BYTES + 2**20)

    got = failure(collect(server.url(), timeout_s=10.0))

    assert got.reason == (
        f"{RUNS_CALL} answered 200, then an answer over the {BODY_CAP_BYTES} byte cap within 10.0 s"
    )


def test_a_declared_oversized_body_is_refused_before_it_is_read(server: HostileHttp) -> None:
    server.answer = Answer(200, "application/json", RUNS, declared_length=10**12)

    got = failure(collect(server.url()))

    assert got.reason.startswith(
        f"{RUNS_CALL} answered 200, then an answer of 1000000000000 bytes, over the "
    )


# --------------------------------------------------------------------------- rate limits


@pytest.mark.parametrize(
    "reset",
    ["99999999999999999999", "-5", "soon", "1e12"],
    ids=["huge", "negative", "word", "float"],
)
def test_an_unreadable_rate_limit_reset_is_treated_as_absent_and_said(
    server: HostileHttp, reset: str
) -> None:
    headers = {"X-RateLimit-Remaining": "4000", "X-RateLimit-Limit": "5000"}
    headers["X-RateLimit-Reset"] = reset
    server.answer = Answer(200, "application/json", RUNS, headers=headers)
    server.by_path[f"/repos/{REPO}/branches/"] = Answer(
        200, "application/json", BRANCH, headers=headers
    )

    facts = collect(server.url())

    assert isinstance(facts, GithubFacts), facts
    assert facts.rate_reset is None
    assert (facts.rate_remaining, facts.rate_limit) == (4000, 5000)
    shown = scrub(reset, limit=24)
    assert f"X-RateLimit-Reset {shown!r} is not a time: reset time unknown" in facts.notes


def test_rate_limited_with_an_oversized_reset_still_says_rate_limited(
    server: HostileHttp,
) -> None:
    server.answer = Answer(
        403,
        "application/json",
        b'{"message": "API rate limit exceeded"}',
        headers={
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Limit": "5000",
            "X-RateLimit-Reset": "99999999999999999999",
        },
    )

    got = failure(collect(server.url()))

    assert got.reason == (
        f"{RUNS_CALL} answered 403: rate limited (X-RateLimit-Reset '99999999999999999999' is "
        "not a time: reset time unknown) (0 of 5000 requests left)"
    )


def test_a_429_is_rate_limited_with_its_retry_after(server: HostileHttp) -> None:
    server.answer = Answer(
        429, "application/json", b'{"message": "slow down"}', headers={"Retry-After": "30"}
    )

    got = failure(collect(server.url()))

    assert (
        got.reason
        == f"{RUNS_CALL} answered 429: rate limited (too many requests): retry after 30 s"
    )


# --------------------------------------------------------------------------- the collector blind


def test_an_api_name_that_does_not_resolve_is_blind(unresolvable: str) -> None:
    got = failure(collect(f"https://{unresolvable}"))

    assert got.blind
    assert got.reason == (
        f"{RUNS_CALL} not answered: the collector cannot resolve GitHub's API ({unresolvable}) "
        "(no DNS on this machine?): check its network and resolver"
    )


def test_no_route_to_the_api_is_blind(monkeypatch: pytest.MonkeyPatch) -> None:
    real = urllib3.util.connection.create_connection

    def create_connection(address: tuple[str, int], *args: Any, **kwargs: Any) -> Any:
        if address[0] == "192.0.2.20":
            raise OSError(errno.EHOSTUNREACH, "No route to host")
        return real(address, *args, **kwargs)

    monkeypatch.setattr(urllib3.util.connection, "create_connection", create_connection)

    got = failure(collect("http://192.0.2.20:8080"))

    assert got.blind
    assert got.reason == (
        f"{RUNS_CALL} not answered: no route from the collector to GitHub's API "
        "(192.0.2.20:8080): check its network"
    )


def test_a_refused_connection_is_not_blind() -> None:
    got = failure(collect(f"http://127.0.0.1:{refused_port()}"))
    assert not got.blind
    assert "connection refused" in got.reason
