"""The github source against the fake GitHub on loopback, every answer checked against
GitHub's OpenAPI description (conftest.py): slot evidence, ETags, rate floor, failures, token."""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from tests.integration.fixtures import results
from tests.integration.github.helpers import (
    TOKEN,
    MemoryState,
    github_settings,
    inventory_with,
    pass_context,
)

from fleetboard import __version__
from fleetboard.ci import annotation_slot, marker_slot, slot_claim
from fleetboard.demo.github import (
    T0,
    Endpoint,
    Fault,
    GithubServer,
    GithubWorld,
    SimJob,
    SimRun,
    demo_world,
    marked_jobs,
    waiting_jobs,
)
from fleetboard.demo.hosts import refused_port
from fleetboard.model import CiRun, GithubFacts, SlotBasis, SourceFailure
from fleetboard.sources.github import NOT_CONFIGURED, GithubSource

REPO = "litentry/agentKeys"
RUNS_CALL = f"GET /repos/{REPO}/actions/workflows/e2e-ci.yml/runs"
BRANCH_CALL = f"GET /repos/{REPO}/branches/main"


def collect(
    gh: GithubServer,
    state: MemoryState | None = None,
    *,
    token: str | None = TOKEN,
    environ: dict[str, str] | None = None,
    deadline_s: float = 30.0,
    **settings: Any,
) -> GithubFacts | SourceFailure:
    inventory = inventory_with(github_settings(gh, **settings))
    source = GithubSource(environ={} if environ is None else environ)
    return source.collect(inventory, pass_context(state, token=token, deadline_s=deadline_s))


def facts_of(result: GithubFacts | SourceFailure) -> GithubFacts:
    return results.facts_of(result, GithubFacts)


def failure_of(result: GithubFacts | SourceFailure) -> str:
    """The failure's reason."""
    return results.failure_of(result, "github").reason


def run_by_id(facts: GithubFacts, run_id: int) -> CiRun:
    return next(r for r in facts.runs if r.id == run_id)


def world(*runs: SimRun, **fields: Any) -> GithubWorld:
    return GithubWorld(runs=runs, **fields)


def e2e(
    run_id: int,
    *,
    pr: int,
    jobs: tuple[SimJob, ...] = (),
    minutes: int = 0,
    status: str = "in_progress",
) -> SimRun:
    """A run of e2e-ci.yml for PR `pr`, created `minutes` after T0."""
    return SimRun(
        run_id, "e2e-ci.yml", status, pr=pr, created_at=T0 + timedelta(minutes=minutes), jobs=jobs
    )


def holder_and_waiter(run_id: int, *, pr: int, minutes: int = 1) -> tuple[SimRun, SimRun]:
    """Run `run_id` of PR `pr` holding slot 1 (its marker step), and the next run, of the next
    PR, created `minutes` later, waiting for slot 1's concurrency group (slot-claim has run)."""
    return (
        e2e(run_id, pr=pr, jobs=marked_jobs(1)),
        e2e(run_id + 1, pr=pr + 1, jobs=waiting_jobs(1), minutes=minutes),
    )


# --------------------------------------------------------------------------- slot evidence


def test_a_marker_step_says_which_slot_a_run_holds_without_reading_annotations(
    gh: GithubServer,
) -> None:
    gh.load(world(SimRun(101, "e2e-ci.yml", pr=277, title="slot routing", jobs=marked_jobs(2))))

    facts = facts_of(collect(gh))

    (run,) = facts.runs
    assert (run.id, run.pr, run.status, run.event, run.title) == (
        101,
        277,
        "in_progress",
        "pull_request",
        "slot routing",
    )
    assert run.url == f"https://github.com/{REPO}/actions/runs/101"
    assert run.workflow == ".github/workflows/e2e-ci.yml"
    assert run.actor == "octocat"
    assert run.created_at == T0
    assert run.started_at == T0 + timedelta(seconds=3)
    assert run.jobs is not None and run.jobs[0].name == "slot-claim"
    assert marker_slot(run) == 2
    claim = slot_claim(run, 3)
    assert claim is not None and (claim.slot, claim.basis) == (2, SlotBasis.MARKER)
    assert run.annotations == ()
    assert gh.by_endpoint().get(Endpoint.ANNOTATIONS, 0) == 0
    assert facts.main_sha == gh.world.main_sha
    assert facts.main_committed_at == gh.world.main_committed_at
    assert facts.notes == ()


def test_a_run_waiting_for_its_group_is_placed_by_the_slot_claim_annotation(
    gh: GithubServer,
) -> None:
    gh.load(world(e2e(102, pr=280, jobs=waiting_jobs(3))))

    run = facts_of(collect(gh)).runs[0]

    assert marker_slot(run) is None
    assert run.annotations == ("slot-claim slot=3 group=heima-test-slot-3",)
    assert annotation_slot(run) == (3, "heima-test-slot-3")
    claim = slot_claim(run, 3)
    assert claim is not None and (claim.slot, claim.basis, claim.group) == (
        3,
        SlotBasis.ANNOTATION,
        "heima-test-slot-3",
    )
    assert gh.by_endpoint()[Endpoint.ANNOTATIONS] == 1


def test_with_no_marker_and_no_annotation_the_slot_is_computed_from_the_pr_number(
    gh: GithubServer,
) -> None:
    gh.load(world(e2e(103, pr=277, jobs=waiting_jobs(None))))

    run = facts_of(collect(gh, slot_count=2)).runs[0]

    assert marker_slot(run) is None and annotation_slot(run) is None
    claim = slot_claim(run, 2)
    assert claim is not None and (claim.slot, claim.basis) == (277 % 2 + 1, SlotBasis.COMPUTED)
    # No slot-claim job: nothing to ask annotations of.
    assert gh.by_endpoint().get(Endpoint.ANNOTATIONS, 0) == 0


def test_two_runs_claiming_one_slot_are_both_reported_with_their_evidence(
    gh: GithubServer,
) -> None:
    gh.load(
        world(
            e2e(201, pr=300, jobs=marked_jobs(2)),
            e2e(202, pr=301, jobs=marked_jobs(2), minutes=1),
        )
    )

    facts = facts_of(collect(gh))

    assert [r.id for r in facts.runs] == [201, 202]  # oldest first
    assert [marker_slot(r) for r in facts.runs] == [2, 2]


def test_a_queued_run_behind_a_running_one_keeps_its_place_and_its_evidence(
    gh: GithubServer,
) -> None:
    gh.load(
        world(
            *holder_and_waiter(301, pr=310, minutes=2),
            # Not started at all: no runner yet, every job queued.
            e2e(
                303,
                pr=312,
                jobs=(SimJob("slot-claim", "queued"), SimJob("deploy broker", "queued")),
                minutes=3,
                status="queued",
            ),
            e2e(300, pr=309, minutes=-60, status="completed"),
        )
    )

    facts = facts_of(collect(gh, slot_count=2))

    assert [(r.id, r.status) for r in facts.runs] == [
        (301, "in_progress"),
        (302, "in_progress"),
        (303, "queued"),
    ]
    running, behind, queued = facts.runs
    assert marker_slot(running) == 1
    assert (marker_slot(behind), annotation_slot(behind)) == (
        None,
        (1, "heima-test-deployer-nonce"),
    )
    assert queued.started_at is None
    assert queued.jobs is not None and all(
        j.steps == () and j.started_at is None for j in queued.jobs
    )
    claim = slot_claim(queued, 2)
    assert claim is not None and (claim.slot, claim.basis) == (312 % 2 + 1, SlotBasis.COMPUTED)
    # A queued slot-claim job has no annotations yet: not asked.
    assert gh.by_endpoint()[Endpoint.ANNOTATIONS] == 1


def test_no_runs_in_flight_gives_an_empty_list_and_main_head(gh: GithubServer) -> None:
    gh.load(world(e2e(400, pr=1, status="completed")))

    facts = facts_of(collect(gh))

    assert facts.runs == ()
    assert facts.main_sha == gh.world.main_sha
    assert facts.requests == 2  # one workflow file, one branch
    assert gh.by_endpoint() == {Endpoint.RUNS: 1, Endpoint.BRANCH: 1}


def test_a_renamed_workflow_is_read_under_both_names_listed_in_config(gh: GithubServer) -> None:
    gh.load(
        world(
            # A PR branch not yet rebased onto the rename still runs the old file.
            SimRun(501, "harness-ci.yml", pr=350, jobs=marked_jobs(1)),
            e2e(502, pr=391, jobs=marked_jobs(2), minutes=5),
            workflows=("harness-ci.yml", "e2e-ci.yml"),
        )
    )

    facts = facts_of(collect(gh))

    assert [(r.id, r.workflow, marker_slot(r)) for r in facts.runs] == [
        (501, ".github/workflows/harness-ci.yml", 1),
        (502, ".github/workflows/e2e-ci.yml", 2),
    ]
    assert facts.requests == 3 + 2


def test_a_workflow_file_that_no_longer_exists_is_a_note_not_a_failure(gh: GithubServer) -> None:
    gh.load(world(e2e(601, pr=400, jobs=marked_jobs(2))))

    facts = facts_of(collect(gh, workflows=("harness-ci.yml", "e2e-ci.yml")))

    assert [r.id for r in facts.runs] == [601]
    assert facts.notes == (
        f"workflow harness-ci.yml not found in {REPO} (renamed or removed; its runs are read "
        "under the other names in [github] workflows)",
    )


def test_when_no_workflow_file_exists_the_source_fails_saying_what_to_check(
    gh: GithubServer,
) -> None:
    reason = failure_of(collect(gh, workflows=("harness-ci.yml",)))

    assert reason == (
        f"GET /repos/{REPO}/actions/workflows/harness-ci.yml/runs answered 404 Not Found: none "
        f"of [github] workflows (harness-ci.yml) exists in {REPO} (a private repository also "
        "answers 404 without a token)"
    )


def test_a_main_branch_github_does_not_know_is_a_note(gh: GithubServer) -> None:
    facts = facts_of(collect(gh, main_branch="develop"))

    assert (facts.main_sha, facts.main_committed_at) == (None, None)
    assert facts.notes == (
        f"branch develop not found in {REPO} (GET /repos/{REPO}/branches/develop answered 404 "
        "Branch not found): check [github] main_branch",
    )


def test_without_a_github_section_the_source_says_not_configured(gh: GithubServer) -> None:
    result = GithubSource(environ={}).collect(inventory_with(None), pass_context())

    assert result == SourceFailure("github", NOT_CONFIGURED)
    assert NOT_CONFIGURED == "not configured (no [github] section in fleet.toml)"
    assert gh.requests == []


# --------------------------------------------------------------------------- request budget


def test_requests_per_pass_stay_within_three_plus_runs_in_flight(gh: GithubServer) -> None:
    gh.load(
        world(
            SimRun(701, "harness-ci.yml", pr=10, jobs=marked_jobs(1)),
            e2e(702, pr=11, jobs=marked_jobs(2), minutes=1),
            e2e(703, pr=12, jobs=waiting_jobs(2), minutes=2),
            e2e(704, pr=9, status="completed"),
            workflows=("harness-ci.yml", "e2e-ci.yml"),
        )
    )
    state = MemoryState()

    first = facts_of(collect(gh, state))
    second = facts_of(collect(gh, state))

    in_flight = 3
    # The first sight of an unmarked run costs one annotations call; after that, a finished
    # slot-claim job's annotations are kept and never asked again.
    assert first.requests == 3 + in_flight + 1
    assert second.requests == 3 + in_flight
    assert second.not_modified == second.requests  # every one a 304
    assert len(gh.requests) == first.requests + second.requests  # the server saw the same
    assert run_by_id(second, 703).annotations == ("slot-claim slot=2 group=heima-test-slot-2",)


def test_a_second_pass_answered_304_reuses_the_data_and_spends_no_rate_limit(
    gh: GithubServer,
) -> None:
    gh.load(world(*holder_and_waiter(801, pr=20)))
    state = MemoryState()

    first = facts_of(collect(gh, state))
    spent_first = gh.counted()
    left_after_first = gh.rate_remaining()
    second = facts_of(collect(gh, state))

    assert first.not_modified == 0 and spent_first == first.requests
    assert second.runs == first.runs
    assert (second.main_sha, second.main_committed_at) == (first.main_sha, first.main_committed_at)
    assert second.not_modified == second.requests > 0
    assert gh.counted() == spent_first  # no second-pass request counted at the server
    assert gh.rate_remaining() == left_after_first
    assert second.rate_remaining == left_after_first
    conditional = gh.requests[len(gh.requests) - second.requests :]
    assert all(r.conditional and r.status == 304 for r in conditional)


def test_a_change_between_passes_is_read_afresh_and_the_rest_stays_304(gh: GithubServer) -> None:
    running = e2e(901, pr=30, jobs=marked_jobs(1))
    gh.load(world(running))
    state = MemoryState()
    facts_of(collect(gh, state))

    newcomer = e2e(902, pr=31, jobs=marked_jobs(2), minutes=1)
    gh.update(replace(gh.world, runs=(running, newcomer)))
    before = len(gh.requests)
    facts = facts_of(collect(gh, state))

    assert [r.id for r in facts.runs] == [901, 902]
    statuses = {(r.endpoint, r.path.rsplit("/", 2)[-2]): r.status for r in gh.requests[before:]}
    assert statuses[(Endpoint.RUNS, "e2e-ci.yml")] == 200  # the list changed
    assert statuses[(Endpoint.BRANCH, "branches")] == 304
    assert statuses[(Endpoint.JOBS, "901")] == 304
    assert statuses[(Endpoint.JOBS, "902")] == 200
    assert facts.not_modified == 2


def test_finished_runs_drop_out_of_the_kept_state(gh: GithubServer) -> None:
    run = e2e(951, pr=40, jobs=waiting_jobs(2))
    gh.load(world(run))
    state = MemoryState()
    facts_of(collect(gh, state))
    kept = json.loads(state.saved["github"])["entries"]
    assert any("/actions/runs/951/jobs" in url for url in kept)
    assert any("/annotations" in url for url in kept)

    gh.update(replace(gh.world, runs=(replace(run, status="completed"),)))
    facts_of(collect(gh, state))

    kept = json.loads(state.saved["github"])["entries"]
    assert not any("/actions/runs/951" in url or "/annotations" in url for url in kept)
    assert len(state.saved["github"]) < 4096  # slimmed bodies, not GitHub's 400 KB pages


def test_unreadable_kept_state_is_a_note_and_the_pass_asks_afresh(gh: GithubServer) -> None:
    gh.load(world(e2e(961, pr=41, jobs=marked_jobs(1))))
    state = MemoryState()
    state.saved["github"] = b"{not json"

    facts = facts_of(collect(gh, state))

    assert facts.notes == ("kept ETags were unreadable: asked afresh",)
    assert facts.not_modified == 0
    assert json.loads(state.saved["github"])["version"] == 1


# --------------------------------------------------------------------------- rate floor


def test_below_the_rate_floor_annotations_are_skipped_with_a_note(gh: GithubServer) -> None:
    gh.load(
        world(
            *holder_and_waiter(1001, pr=50),
            # 1 list + 1 branch + 2 jobs leave 100: exactly the floor, nothing spare.
            rate_remaining=104,
        )
    )

    facts = facts_of(collect(gh, rate_floor=100))

    assert gh.by_endpoint().get(Endpoint.ANNOTATIONS, 0) == 0
    assert run_by_id(facts, 1002).jobs is not None  # running: its jobs are essential
    assert run_by_id(facts, 1002).annotations == ()
    assert facts.rate_remaining == 100 and facts.rate_limit == 5000
    assert facts.rate_reset == datetime(2026, 6, 12, 11, 0, tzinfo=UTC)
    assert facts.notes == (
        "GitHub rate limit low (100 of 5000 left, floor 100, resets 11:00:00 UTC): skipped the "
        "slot-claim annotations of runs 1002",
    )


def test_further_below_the_floor_the_jobs_of_waiting_runs_are_skipped_too(gh: GithubServer) -> None:
    gh.load(
        world(
            e2e(1101, pr=60, jobs=marked_jobs(2)),
            e2e(1102, pr=61, minutes=1, status="queued"),
            rate_remaining=50,
        )
    )

    facts = facts_of(collect(gh, rate_floor=100))

    assert run_by_id(facts, 1101).jobs is not None
    assert run_by_id(facts, 1102).jobs is None
    assert facts.notes == (
        "GitHub rate limit low (48 of 5000 left, floor 100, resets 11:00:00 UTC): skipped the "
        "jobs of waiting runs 1102",
    )
    assert gh.by_endpoint()[Endpoint.JOBS] == 1


# --------------------------------------------------------------------------- failures


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        (Fault.UNAUTHORIZED, f"{RUNS_CALL} answered 401 Bad credentials: check the GitHub token"),
        (
            Fault.RATE_LIMITED,
            f"{RUNS_CALL} answered 403: rate limited until 11:00:00 UTC (0 of 5000 requests left)",
        ),
        (
            Fault.FORBIDDEN,
            f"{RUNS_CALL} answered 403 Resource not accessible by personal access token: check "
            f"the token's access to {REPO} (Actions, Contents and Checks: read)",
        ),
        (
            Fault.SERVER_ERROR,
            f"{RUNS_CALL} answered 500 Server Error: GitHub is having trouble; the next pass "
            "asks again",
        ),
        (
            Fault.MALFORMED,
            f"{RUNS_CALL} answered 200 with a body that is not JSON (Expecting property name "
            "enclosed in double quotes)",
        ),
    ],
    ids=["401", "403-rate-limit", "403", "500", "malformed-json"],
)
def test_a_runs_list_that_fails_fails_the_source_naming_call_and_answer(
    gh: GithubServer, fault: Fault, reason: str
) -> None:
    gh.load(world(e2e(1201, pr=70, jobs=marked_jobs(1)), faults={Endpoint.RUNS: fault}))

    assert failure_of(collect(gh)) == reason


def test_a_black_holed_branch_call_times_out_within_the_configured_timeout(
    gh: GithubServer,
) -> None:
    gh.load(world(faults={Endpoint.BRANCH: Fault.BLACK_HOLE}))
    host = gh.url.removeprefix("http://")

    reason = failure_of(collect(gh, timeout_s=0.3))

    assert reason == f"{BRANCH_CALL} not answered by {host}: no answer within 0.3 s"


def test_a_refused_connection_fails_the_source(gh: GithubServer) -> None:
    port = refused_port()
    settings = replace(github_settings(gh), api_url=f"http://127.0.0.1:{port}")
    result = GithubSource(environ={}).collect(inventory_with(settings), pass_context())

    assert failure_of(result) == (
        f"{RUNS_CALL} not answered by 127.0.0.1:{port}: connection refused"
    )


def test_the_pass_deadline_caps_every_call(gh: GithubServer) -> None:
    gh.load(world(faults={Endpoint.RUNS: Fault.BLACK_HOLE}))

    reason = failure_of(collect(gh, timeout_s=5.0, deadline_s=0.3))

    assert reason.startswith(f"{RUNS_CALL} not answered by ")
    assert float(reason.split("no answer within ")[1].split(" s")[0]) <= 0.3


def test_a_deadline_already_past_makes_no_request(gh: GithubServer) -> None:
    reason = failure_of(collect(gh, deadline_s=0.0))

    assert reason == f"{RUNS_CALL} was not made: the pass deadline was reached"
    assert gh.requests == []


@pytest.mark.parametrize("fault", [Fault.SERVER_ERROR, Fault.MALFORMED, Fault.BLACK_HOLE], ids=str)
def test_jobs_that_cannot_be_read_are_a_note_and_the_runs_still_show(
    gh: GithubServer, fault: Fault
) -> None:
    gh.load(world(e2e(1301, pr=80, jobs=marked_jobs(1)), faults={Endpoint.JOBS: fault}))

    facts = facts_of(collect(gh, timeout_s=0.3))

    (run,) = facts.runs
    assert run.jobs is None
    assert len(facts.notes) == 1
    assert facts.notes[0].startswith(
        f"jobs of run 1301 not read: GET /repos/{REPO}/actions/runs/1301/jobs "
    )


def test_once_rate_limited_the_pass_stops_asking(gh: GithubServer) -> None:
    gh.load(
        world(
            e2e(1401, pr=90, jobs=waiting_jobs(1)),
            faults={Endpoint.ANNOTATIONS: Fault.RATE_LIMITED},
        )
    )

    facts = facts_of(collect(gh))

    assert facts.notes == (
        f"slot-claim annotations of run 1401 not read: GET /repos/{REPO}/check-runs/140101/"
        "annotations answered 403: rate limited until 11:00:00 UTC (0 of 5000 requests left)",
    )


def test_a_wrong_token_is_a_401_that_names_the_token_but_never_shows_it(gh: GithubServer) -> None:
    gh.load(world(token="ghp_the-right-one"))

    reason = failure_of(collect(gh))

    assert reason == f"{RUNS_CALL} answered 401 Bad credentials: check the GitHub token"
    assert TOKEN not in reason


# --------------------------------------------------------------------------- the token


def test_the_token_comes_from_the_secret_and_is_sent_as_a_bearer(gh: GithubServer) -> None:
    gh.load(world(token=TOKEN))

    facts_of(collect(gh))

    assert gh.requests and all(r.authorized and r.status == 200 for r in gh.requests)
    assert all(
        r.headers
        == {
            "accept": "application/vnd.github+json",
            "user-agent": f"fleetboard/{__version__}",
            "x-github-api-version": "2022-11-28",
        }
        for r in gh.requests
    )


def test_without_a_secret_the_token_comes_from_the_environment(gh: GithubServer) -> None:
    gh.load(world(token=TOKEN))

    facts = facts_of(
        collect(gh, token=None, environ={"FLEET_GH_TOKEN": TOKEN}, token_env="FLEET_GH_TOKEN")
    )

    assert facts.notes == ()
    assert all(r.authorized for r in gh.requests)


def test_without_any_token_requests_go_anonymous_and_say_so(gh: GithubServer) -> None:
    facts = facts_of(collect(gh, token=None, rate_floor=0))

    assert not any(r.authorized for r in gh.requests)
    assert facts.rate_limit == 60 and facts.rate_remaining == 58
    assert facts.notes == (
        "no GitHub token (secret github_token, or $GITHUB_TOKEN on a laptop): anonymous "
        "requests, 60 an hour, 304s counted too",
    )


def _strings(value: object) -> Iterator[str]:
    """Every string inside a dataclass/tuple/dict/list tree, keys included."""
    if isinstance(value, str):
        yield value
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            yield from _strings(getattr(value, f.name))
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _strings(k)
            yield from _strings(v)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from _strings(v)
    elif value is not None and not isinstance(value, int | float | datetime):
        yield repr(value)


def test_the_token_appears_in_no_fact_note_state_reason_or_log_line(
    gh: GithubServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    state = MemoryState()
    runs = (
        e2e(1501, pr=100, jobs=marked_jobs(1)),
        e2e(1502, pr=101, jobs=waiting_jobs(2), minutes=1),
    )
    results: list[object] = []
    gh.load(world(*runs, token=TOKEN))
    results.append(collect(gh, state, workflows=("harness-ci.yml", "e2e-ci.yml")))
    results.append(collect(gh, state))
    gh.update(replace(gh.world, rate_remaining=120))
    results.append(collect(gh, state, rate_floor=5000))
    for endpoint in Endpoint:
        for fault in (
            Fault.UNAUTHORIZED,
            Fault.RATE_LIMITED,
            Fault.FORBIDDEN,
            Fault.SERVER_ERROR,
            Fault.MALFORMED,
        ):
            gh.load(world(*runs, token=TOKEN, faults={endpoint: fault}))
            results.append(collect(gh, state))
    gh.load(world(*runs, token="ghp_another"))
    results.append(collect(gh, state))

    assert any(isinstance(r, SourceFailure) for r in results)
    assert any(isinstance(r, GithubFacts) and r.notes for r in results)
    seen = [*_strings(results), state.saved["github"].decode()]
    seen += [record.getMessage() for record in caplog.records]
    seen += [repr(record.args) for record in caplog.records]
    assert caplog.records  # the source and urllib3 did log
    assert [s for s in seen if TOKEN in s] == []
    assert [s for s in seen if TOKEN[4:20] in s] == []


def test_the_demo_world_tells_its_story_through_the_source(gh: GithubServer) -> None:
    now = datetime(2026, 7, 10, 9, 30, tzinfo=UTC)
    gh.load(demo_world(now))

    facts = facts_of(collect(gh, slot_count=3))

    claims = [(r.pr, slot_claim(r, 3)) for r in facts.runs]
    assert [(pr, c.slot, c.basis) for pr, c in claims if c is not None] == [
        (362, 1, SlotBasis.MARKER),
        (391, 2, SlotBasis.MARKER),
        (395, 2, SlotBasis.ANNOTATION),
        (398, 3, SlotBasis.COMPUTED),
    ]
    assert facts.runs[0].workflow == ".github/workflows/harness-ci.yml"
    assert facts.requests == 3 + 4 + 1
    assert facts.rate_reset == now + timedelta(minutes=38)


def test_a_page_full_of_runs_in_flight_says_older_ones_may_be_missing(gh: GithubServer) -> None:
    runs = tuple(
        SimRun(5000 + i, "e2e-ci.yml", status="queued", pr=i, created_at=T0 + timedelta(seconds=i))
        for i in range(51)
    )
    gh.load(world(*runs))

    facts = facts_of(collect(gh, rate_floor=5000))  # no jobs read: the list is the point

    assert len(facts.runs) == 50
    assert facts.runs[0].id == 5001  # the oldest one did not fit on the page
    assert facts.notes[0] == (
        "workflow e2e-ci.yml: all 50 newest runs include runs in flight to the last; older "
        "runs in flight, if any, are not shown"
    )


class BrokenStore(MemoryState):
    def save_state(self, name: str, data: bytes) -> None:
        raise PermissionError("s3:PutObject denied")


def test_a_store_that_cannot_keep_the_etags_costs_only_the_next_304s(gh: GithubServer) -> None:
    gh.load(world(e2e(5101, pr=1, jobs=marked_jobs(1))))

    facts = facts_of(collect(gh, BrokenStore()))

    assert [r.id for r in facts.runs] == [5101]
    assert facts.notes == ("ETags could not be kept for the next pass (PermissionError)",)
