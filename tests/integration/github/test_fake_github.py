"""The fake GitHub itself: ETags and 304s, a rate budget that counts down, faults, and the
check that holds its bodies to GitHub's OpenAPI description (and would catch a broken one)."""

from __future__ import annotations

import json
import re
import socket
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import urllib3
from tests.integration.github.helpers import OCTOKIT_OPENAPI_VERSION, TOKEN
from tests.integration.github.openapi import OpenApiCheck

from fleetboard.demo.github import (
    T0,
    Endpoint,
    Fault,
    GithubServer,
    GithubWorld,
    SimRun,
    branch,
    job,
    marked_jobs,
    waiting_jobs,
    workflow_run,
)

REPO = "litentry/agentKeys"
ROOT = Path(__file__).resolve().parents[3]


def get(
    gh: GithubServer, path: str, *, token: str | None = TOKEN, etag: str | None = None
) -> urllib3.BaseHTTPResponse:
    headers = {"Accept": "application/vnd.github+json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    if etag is not None:
        headers["If-None-Match"] = etag
    return urllib3.request("GET", gh.url + path, headers=headers, retries=False, timeout=5.0)


def runs_world() -> GithubWorld:
    return GithubWorld(
        runs=(
            SimRun(11, "e2e-ci.yml", pr=1, jobs=marked_jobs(1)),
            SimRun(
                12, "e2e-ci.yml", pr=2, created_at=T0 + timedelta(minutes=1), jobs=waiting_jobs(2)
            ),
            SimRun(13, "e2e-ci.yml", status="completed", pr=3, created_at=T0 - timedelta(hours=1)),
        )
    )


def test_the_pinned_spec_is_the_one_setup_sh_installs(openapi: OpenApiCheck) -> None:
    setup = (ROOT / "scripts" / "lib" / "setup.sh").read_text()

    assert f'OCTOKIT_OPENAPI_VERSION="{OCTOKIT_OPENAPI_VERSION}"' in setup
    assert openapi.version == OCTOKIT_OPENAPI_VERSION


def test_an_unchanged_resource_answers_304_with_no_body_and_costs_nothing(gh: GithubServer) -> None:
    gh.load(runs_world())
    path = f"/repos/{REPO}/actions/workflows/e2e-ci.yml/runs"

    first = get(gh, path)
    etag = first.headers["ETag"]
    again = get(gh, path, etag=etag)

    assert first.status == 200 and re.fullmatch(r'W/"[0-9a-f]{40}"', etag)
    assert again.status == 304 and again.data == b"" and again.headers["ETag"] == etag
    assert first.headers["X-RateLimit-Remaining"] == "4999"
    assert again.headers["X-RateLimit-Remaining"] == "4999"
    assert [(r.conditional, r.status, r.counted) for r in gh.requests] == [
        (False, 200, True),
        (True, 304, False),
    ]


def test_anonymous_304s_are_counted_against_the_60_an_hour(gh: GithubServer) -> None:
    path = f"/repos/{REPO}/branches/main"

    etag = get(gh, path, token=None).headers["ETag"]
    again = get(gh, path, token=None, etag=etag)

    assert again.status == 304
    assert (again.headers["X-RateLimit-Limit"], again.headers["X-RateLimit-Remaining"]) == (
        "60",
        "58",
    )


def test_the_rate_budget_counts_down_to_a_403_with_its_reset_time(gh: GithubServer) -> None:
    gh.load(GithubWorld(rate_remaining=2))
    path = f"/repos/{REPO}/branches/main"

    answers = [get(gh, path) for _ in range(3)]

    assert [a.status for a in answers] == [200, 200, 403]
    assert [a.headers["X-RateLimit-Remaining"] for a in answers] == ["1", "0", "0"]
    assert answers[2].headers["X-RateLimit-Reset"] == str(int(gh.world.rate_reset.timestamp()))
    assert json.loads(answers[2].data)["message"].startswith("API rate limit exceeded")


def test_runs_are_listed_newest_first_a_page_at_a_time(gh: GithubServer) -> None:
    gh.load(runs_world())

    body = json.loads(get(gh, f"/repos/{REPO}/actions/workflows/e2e-ci.yml/runs?per_page=2").data)

    assert body["total_count"] == 3
    assert [r["id"] for r in body["workflow_runs"]] == [12, 11]


@pytest.mark.parametrize(
    ("path", "status"),
    [
        (f"/repos/{REPO}/actions/workflows/harness-ci.yml/runs", 404),
        (f"/repos/{REPO}/branches/develop", 404),
        (f"/repos/{REPO}/actions/runs/999/jobs", 404),
        (f"/repos/{REPO}/check-runs/999/annotations", 404),
        ("/repos/someone/else/branches/main", 404),
    ],
    ids=["workflow", "branch", "run", "check-run", "repo"],
)
def test_what_does_not_exist_answers_404_in_githubs_error_shape(
    gh: GithubServer, path: str, status: int
) -> None:
    gh.load(runs_world())

    answer = get(gh, path)

    assert answer.status == status
    assert set(json.loads(answer.data)) == {"message", "documentation_url", "status"}


def test_a_black_hole_reads_the_request_and_never_answers(gh: GithubServer) -> None:
    gh.load(GithubWorld(faults={Endpoint.BRANCH: Fault.BLACK_HOLE}))
    host, port = gh.url.removeprefix("http://").split(":")

    with socket.create_connection((host, int(port)), timeout=5) as conn:
        conn.sendall(f"GET /repos/{REPO}/branches/main HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        conn.settimeout(0.2)
        with pytest.raises(TimeoutError):
            conn.recv(1)

    assert [r.status for r in gh.requests] == [0]


def test_every_endpoint_and_error_answer_is_checked_against_the_spec(
    gh: GithubServer, openapi: OpenApiCheck
) -> None:
    gh.load(runs_world())
    before = openapi.checked.copy()
    claim_job = 12 * 100 + 1
    paths = [
        f"/repos/{REPO}/actions/workflows/e2e-ci.yml/runs",
        f"/repos/{REPO}/branches/main",
        f"/repos/{REPO}/actions/runs/12/jobs",
        f"/repos/{REPO}/check-runs/{claim_job}/annotations",
    ]
    for path in paths:
        assert get(gh, path).status == 200
    for fault in (Fault.UNAUTHORIZED, Fault.FORBIDDEN, Fault.SERVER_ERROR):
        gh.set_fault(Endpoint.JOBS, fault)
        get(gh, paths[2])
    gh.set_fault(Endpoint.JOBS, None)
    get(gh, f"/repos/{REPO}/actions/runs/999/jobs")

    checked = openapi.checked - before
    assert checked == {
        (Endpoint.RUNS, 200): 1,
        (Endpoint.BRANCH, 200): 1,
        (Endpoint.JOBS, 200): 1,
        (Endpoint.ANNOTATIONS, 200): 1,
        (Endpoint.JOBS, 401): 1,
        (Endpoint.JOBS, 403): 1,
        (Endpoint.JOBS, 500): 1,
        (Endpoint.JOBS, 404): 1,
    }


def _fresh(value: Any) -> Any:
    return json.loads(json.dumps(value))


def test_the_spec_check_catches_a_body_github_would_never_send(openapi: OpenApiCheck) -> None:
    world = runs_world()
    run = _fresh(workflow_run(world, world.runs[0]))
    good = {"total_count": 1, "workflow_runs": [run]}
    assert openapi.problems(Endpoint.RUNS, 200, good) == []

    del run["head_sha"]
    run["created_at"] = "yesterday"
    run["pull_requests"][0]["number"] = "1"
    problems = openapi.problems(Endpoint.RUNS, 200, good)

    assert sorted(problems) == [
        "workflow_runs/0/created_at: 'yesterday' is not a 'date-time'",
        "workflow_runs/0/pull_requests/0/number: '1' is not of type 'integer'",
        "workflow_runs/0: 'head_sha' is a required property",
    ]
    broken_branch = _fresh(branch(world))
    del broken_branch["commit"]["commit"]["tree"]
    assert openapi.problems(Endpoint.BRANCH, 200, broken_branch) == [
        "commit/commit: 'tree' is a required property"
    ]
    broken_job = _fresh(job(world, world.runs[0], 0, world.runs[0].jobs[0]))
    broken_job["status"] = "running"
    assert openapi.problems(Endpoint.JOBS, 200, {"total_count": 1, "jobs": [broken_job]}) == [
        "jobs/0/status: 'running' is not one of ['queued', 'in_progress', 'completed', "
        "'waiting', 'requested', 'pending']"
    ]


def test_a_running_jobs_null_conclusion_passes_only_through_the_one_documented_relaxation(
    openapi: OpenApiCheck,
) -> None:
    # GitHub sends "conclusion": null for a job still running; its description lists no null
    # in that enum. conftest adds null to nullable enums, and to nothing else.
    world = runs_world()
    running = _fresh(job(world, world.runs[0], 1, world.runs[0].jobs[1]))

    assert running["conclusion"] is None
    assert openapi.problems(Endpoint.JOBS, 200, {"total_count": 1, "jobs": [running]}) == []
    assert openapi.patched_enums > 0
