"""A stand-in for GitHub's REST API on 127.0.0.1: the four calls the github source makes.

It serves workflow runs, their jobs, a check run's annotations and a branch from a plain
`GithubWorld`, with bodies carrying every field GitHub's OpenAPI description requires, weak
ETags with 304 answers, rate-limit headers that count down, and per-endpoint faults (401,
403 rate limit, 403, 500, a black hole, a body that is not JSON). Every request is recorded,
so tests and the benchmark can count what a pass really sent.

    world = GithubWorld(runs=(SimRun(101, "e2e-ci.yml", pr=277, jobs=marked_jobs(2)),))
    with GithubServer(world) as server:
        settings = GithubSettings(repo=world.repo, workflows=world.workflows, api_url=server.url)
        ...
        assert server.counted() == 3  # requests that spent rate limit
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

from fleetboard.demo.serving import Served

LOOPBACK = "127.0.0.1"
API_VERSION = "2022-11-28"
API_BASE = "https://api.github.com"  # what URLs inside the bodies point at, as on GitHub
WEB_BASE = "https://github.com"

#: A fixed clock for the bodies: the day the fleet's CI began marking slots.
T0 = datetime(2026, 6, 12, 10, 0, tzinfo=UTC)

_BLACK_HOLE_MAX_S = 120.0  # a black-holed request is let go when the server stops, or after this
_JSON = "application/json; charset=utf-8"


class Endpoint(StrEnum):
    RUNS = "runs"  # GET /repos/{o}/{r}/actions/workflows/{file}/runs
    BRANCH = "branch"  # GET /repos/{o}/{r}/branches/{branch}
    JOBS = "jobs"  # GET /repos/{o}/{r}/actions/runs/{id}/jobs
    ANNOTATIONS = "annotations"  # GET /repos/{o}/{r}/check-runs/{id}/annotations


#: Each endpoint's path in GitHub's OpenAPI description: the tests validate bodies against it.
OPENAPI_PATHS: Mapping[Endpoint, str] = {
    Endpoint.RUNS: "/repos/{owner}/{repo}/actions/workflows/{workflow_id}/runs",
    Endpoint.BRANCH: "/repos/{owner}/{repo}/branches/{branch}",
    Endpoint.JOBS: "/repos/{owner}/{repo}/actions/runs/{run_id}/jobs",
    Endpoint.ANNOTATIONS: "/repos/{owner}/{repo}/check-runs/{check_run_id}/annotations",
}

_ROUTES: tuple[tuple[Endpoint, re.Pattern[str]], ...] = (
    (Endpoint.RUNS, re.compile(r"^/repos/([^/]+/[^/]+)/actions/workflows/([^/]+)/runs$")),
    (Endpoint.BRANCH, re.compile(r"^/repos/([^/]+/[^/]+)/branches/(.+)$")),
    (Endpoint.JOBS, re.compile(r"^/repos/([^/]+/[^/]+)/actions/runs/(\d+)/jobs$")),
    (Endpoint.ANNOTATIONS, re.compile(r"^/repos/([^/]+/[^/]+)/check-runs/(\d+)/annotations$")),
)


class Fault(StrEnum):
    """What an endpoint answers instead of the truth."""

    UNAUTHORIZED = "unauthorized"  # 401 Bad credentials
    RATE_LIMITED = "rate-limited"  # 403 with X-RateLimit-Remaining: 0 and a reset time
    FORBIDDEN = "forbidden"  # 403 Resource not accessible by personal access token
    SERVER_ERROR = "server-error"  # 500
    BLACK_HOLE = "black-hole"  # reads the request and never answers
    MALFORMED = "malformed"  # 200 whose body is not JSON


# --------------------------------------------------------------------------- the world


@dataclass(frozen=True, slots=True)
class SimJob:
    """One job of a run. A job lists its steps once it has started (in_progress, completed);
    queued, waiting and pending jobs show none, as on GitHub."""

    name: str
    status: str = "completed"
    steps: tuple[str, ...] = ()
    annotations: tuple[str, ...] = ()  # messages of its check run's annotations
    id: int = 0  # 0: the run's id * 100 + its position


@dataclass(frozen=True, slots=True)
class SimRun:
    id: int
    workflow: str  # the workflow's file name, e.g. "e2e-ci.yml"
    status: str = "in_progress"  # queued, in_progress, waiting, pending, requested, completed
    pr: int | None = None  # None: not from a pull request in this repository (push, dispatch)
    event: str = "pull_request"
    branch: str = "feature"
    title: str = "a change"
    actor: str = "octocat"
    created_at: datetime = T0
    jobs: tuple[SimJob, ...] = ()
    number: int = 0  # 0: derived from the id


@dataclass(frozen=True, slots=True)
class GithubWorld:
    """What the fake GitHub knows. Workflow files not in `workflows` answer 404."""

    repo: str = "litentry/agentKeys"
    workflows: tuple[str, ...] = ("e2e-ci.yml",)
    runs: tuple[SimRun, ...] = ()
    main_branch: str = "main"
    main_sha: str = "6884d2c0ffee0000000000000000000000000001"
    main_committed_at: datetime = T0 - timedelta(hours=2)
    #: The token requests must carry (`Authorization: Bearer …`); None: any token is good.
    token: str | None = None
    rate_limit: int = 5000
    rate_remaining: int = 5000  # the authenticated budget when the world is loaded
    anonymous_limit: int = 60
    rate_reset: datetime = T0 + timedelta(hours=1)
    faults: Mapping[Endpoint, Fault] = field(default_factory=dict)


def marked_jobs(slot: int, *, claim: bool = True) -> tuple[SimJob, ...]:
    """The jobs of a run that holds `slot`: slot-claim done, the slot-bound job running its
    `test-fleet slot N` marker step (docs/fleet.md#ci)."""
    group = slot_group(slot)
    jobs = [
        SimJob("cargo fmt + clippy + test", "in_progress", ("Set up job", "Run cargo fmt")),
        SimJob(
            "deploy broker to test EC2 (path-conditional)",
            "in_progress",
            ("Set up job", f"test-fleet slot {slot}", "Deploy"),
        ),
    ]
    if claim:
        jobs.insert(0, claimed_job(slot, group))
    return tuple(jobs)


def waiting_jobs(slot: int | None) -> tuple[SimJob, ...]:
    """The jobs of a run whose slot-bound job waits for its concurrency group: no marker
    yet; slot-claim has run and annotated the slot when `slot` is given."""
    jobs = [
        SimJob("cargo fmt + clippy + test", "in_progress", ("Set up job", "Run cargo fmt")),
        SimJob("deploy broker to test EC2 (path-conditional)", "pending"),
    ]
    if slot is not None:
        jobs.insert(0, claimed_job(slot, slot_group(slot)))
    return tuple(jobs)


def claimed_job(slot: int, group: str) -> SimJob:
    return SimJob(
        "slot-claim",
        "completed",
        ("Set up job", "Claim a test slot", "Complete job"),
        (f"slot-claim slot={slot} group={group}",),
    )


def slot_group(slot: int) -> str:
    """The concurrency group of a slot: slot 1 kept its legacy name (docs/fleet.md#ci)."""
    return "heima-test-deployer-nonce" if slot == 1 else f"heima-test-slot-{slot}"


#: What the demo's CI shows, for the README (demo_world()).
DEMO_CI_STORY = (
    "slot 1: run of PR #362 under the old workflow name harness-ci.yml (its branch predates "
    "the rename), placed by its marker step",
    "slot 2: PR #391 deploying (marker step); PR #395 waits behind it for the slot's "
    "concurrency group, placed by its slot-claim annotation",
    "slot 3: PR #398 queued with no runner yet: slot computed as 398 % 4 + 1",
)


def demo_run_id(number: int) -> int:
    """The id of the demo's run for PR (or main-branch run) `number`: GitHub-sized, with the
    number readable in it, so the demo's deploy comments can name the runs its CI shows."""
    return 15_800_000_01 + number * 100


#: The demo's pull requests' titles, by number.
_DEMO_TITLES = {
    362: "Broker: self-identify slot from the unit's issuer",
    391: "Rename harness/ to e2e/",
    395: "Emit per-slot deploy metrics",
    398: "Bump alloy to 1.0",
    380: "a change",
}


def demo_world(now: datetime, *, repo: str = "litentry/agentKeys") -> GithubWorld:
    """The demo's CI, with times relative to `now`: see DEMO_CI_STORY."""

    def run(
        pr: int,
        workflow: str,
        minutes_ago: int,
        jobs: tuple[SimJob, ...],
        branch: str,
        actor: str,
        status: str = "in_progress",
    ) -> SimRun:
        return SimRun(
            demo_run_id(pr),
            workflow,
            status=status,
            pr=pr,
            branch=branch,
            title=_DEMO_TITLES[pr],
            actor=actor,
            created_at=now - timedelta(minutes=minutes_ago),
            jobs=jobs,
        )

    queued = (SimJob("slot-claim", "queued"), SimJob("preflight", "queued"))
    return GithubWorld(
        repo=repo,
        workflows=("harness-ci.yml", "e2e-ci.yml"),
        # PR, workflow, minutes ago, jobs, branch, author (and status when not in progress)
        runs=(
            run(362, "harness-ci.yml", 14, marked_jobs(1), "fix/oidc-issuer", "hanwen-litentry"),
            run(391, "e2e-ci.yml", 9, marked_jobs(2), "e2e-rename", "kziemianek"),
            run(395, "e2e-ci.yml", 4, waiting_jobs(2), "feat/slot-metrics", "octocat"),
            run(398, "e2e-ci.yml", 1, queued, "chore/deps", "dependabot", "queued"),
            run(380, "e2e-ci.yml", 95, marked_jobs(3), "feature", "octocat", "completed"),
        ),
        main_sha=_sha("main", repo),
        main_committed_at=now - timedelta(minutes=47),
        rate_remaining=4890,
        rate_reset=now + timedelta(minutes=38),
    )


# --------------------------------------------------------------------------- bodies


def _sha(*parts: object) -> str:
    return hashlib.sha1(":".join(map(str, parts)).encode(), usedforsecurity=False).hexdigest()


def _time(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _user_id(login: str) -> int:
    return int(_sha("user", login)[:7], 16)


def simple_user(login: str) -> dict[str, Any]:
    uid = _user_id(login)
    api = f"{API_BASE}/users/{login}"
    return {
        "login": login,
        "id": uid,
        "node_id": f"U_kgDO{uid:08d}",
        "avatar_url": f"https://avatars.githubusercontent.com/u/{uid}?v=4",
        "gravatar_id": "",
        "url": api,
        "html_url": f"{WEB_BASE}/{login}",
        "followers_url": f"{api}/followers",
        "following_url": f"{api}/following{{/other_user}}",
        "gists_url": f"{api}/gists{{/gist_id}}",
        "starred_url": f"{api}/starred{{/owner}}{{/repo}}",
        "subscriptions_url": f"{api}/subscriptions",
        "organizations_url": f"{api}/orgs",
        "repos_url": f"{api}/repos",
        "events_url": f"{api}/events{{/privacy}}",
        "received_events_url": f"{api}/received_events",
        "type": "User",
        "user_view_type": "public",
        "site_admin": False,
    }


_REPO_URLS = {
    "archive_url": "/{archive_format}{/ref}",
    "assignees_url": "/assignees{/user}",
    "blobs_url": "/git/blobs{/sha}",
    "branches_url": "/branches{/branch}",
    "collaborators_url": "/collaborators{/collaborator}",
    "comments_url": "/comments{/number}",
    "commits_url": "/commits{/sha}",
    "compare_url": "/compare/{base}...{head}",
    "contents_url": "/contents/{+path}",
    "contributors_url": "/contributors",
    "deployments_url": "/deployments",
    "downloads_url": "/downloads",
    "events_url": "/events",
    "forks_url": "/forks",
    "git_commits_url": "/git/commits{/sha}",
    "git_refs_url": "/git/refs{/sha}",
    "git_tags_url": "/git/tags{/sha}",
    "hooks_url": "/hooks",
    "issue_comment_url": "/issues/comments{/number}",
    "issue_events_url": "/issues/events{/number}",
    "issues_url": "/issues{/number}",
    "keys_url": "/keys{/key_id}",
    "labels_url": "/labels{/name}",
    "languages_url": "/languages",
    "merges_url": "/merges",
    "milestones_url": "/milestones{/number}",
    "notifications_url": "/notifications{?since,all,participating}",
    "pulls_url": "/pulls{/number}",
    "releases_url": "/releases{/id}",
    "stargazers_url": "/stargazers",
    "statuses_url": "/statuses/{sha}",
    "subscribers_url": "/subscribers",
    "subscription_url": "/subscription",
    "tags_url": "/tags",
    "teams_url": "/teams",
    "trees_url": "/git/trees{/sha}",
}


def _repo_id(repo: str) -> int:
    return int(_sha("repo", repo)[:8], 16)


def minimal_repository(repo: str) -> dict[str, Any]:
    owner, name = repo.split("/", 1)
    api = f"{API_BASE}/repos/{repo}"
    body: dict[str, Any] = {
        "id": _repo_id(repo),
        "node_id": f"R_kgDO{_repo_id(repo):08d}",
        "name": name,
        "full_name": repo,
        "private": False,
        "owner": simple_user(owner),
        "html_url": f"{WEB_BASE}/{repo}",
        "description": "fleet under test",
        "fork": False,
        "url": api,
    }
    body.update({key: api + suffix for key, suffix in _REPO_URLS.items()})
    return body


def _workflow_id(repo: str, workflow: str) -> int:
    return int(_sha("workflow", repo, workflow)[:8], 16)


def _job_id(run: SimRun, index: int, job: SimJob) -> int:
    return job.id or run.id * 100 + index + 1


def workflow_run(world: GithubWorld, run: SimRun) -> dict[str, Any]:
    repo = world.repo
    api = f"{API_BASE}/repos/{repo}"
    head_sha = _sha("head", run.id)
    workflow_id = _workflow_id(repo, run.workflow)
    check_suite_id = run.id * 7 + 1
    started = run.created_at + timedelta(seconds=3)
    done = run.status == "completed"
    pulls = []
    if run.pr is not None:
        repo_ref = {"id": _repo_id(repo), "url": api, "name": repo.split("/", 1)[1]}
        pulls.append(
            {
                "url": f"{api}/pulls/{run.pr}",
                "id": 2_000_000_000 + run.pr,
                "number": run.pr,
                "head": {"ref": run.branch, "sha": head_sha, "repo": repo_ref},
                "base": {"ref": world.main_branch, "sha": world.main_sha, "repo": repo_ref},
            }
        )
    committer = {"name": run.actor, "email": f"{run.actor}@users.noreply.github.com"}
    return {
        "id": run.id,
        "name": _workflow_name(run.workflow),
        "node_id": f"WFR_kwLO{run.id:010d}",
        "head_branch": run.branch,
        "head_sha": head_sha,
        "path": f".github/workflows/{run.workflow}",
        "display_title": run.title,
        "run_number": run.number or run.id % 10_000,
        "event": run.event,
        "status": run.status,
        "conclusion": "success" if done else None,
        "workflow_id": workflow_id,
        "check_suite_id": check_suite_id,
        "check_suite_node_id": f"CS_kwDO{check_suite_id:010d}",
        "url": f"{api}/actions/runs/{run.id}",
        "html_url": f"{WEB_BASE}/{repo}/actions/runs/{run.id}",
        "pull_requests": pulls,
        "created_at": _time(run.created_at),
        "updated_at": _time(started),
        "actor": simple_user(run.actor),
        "run_attempt": 1,
        "referenced_workflows": [],
        "run_started_at": _time(started if run.status != "queued" else run.created_at),
        "triggering_actor": simple_user(run.actor),
        "jobs_url": f"{api}/actions/runs/{run.id}/jobs",
        "logs_url": f"{api}/actions/runs/{run.id}/logs",
        "check_suite_url": f"{api}/check-suites/{check_suite_id}",
        "artifacts_url": f"{api}/actions/runs/{run.id}/artifacts",
        "cancel_url": f"{api}/actions/runs/{run.id}/cancel",
        "rerun_url": f"{api}/actions/runs/{run.id}/rerun",
        "previous_attempt_url": None,
        "workflow_url": f"{api}/actions/workflows/{workflow_id}",
        "head_commit": {
            "id": head_sha,
            "tree_id": _sha("tree", head_sha),
            "message": run.title,
            "timestamp": _time(run.created_at - timedelta(minutes=1)),
            "author": committer,
            "committer": committer,
        },
        "repository": minimal_repository(repo),
        "head_repository": minimal_repository(repo),
        "head_repository_id": _repo_id(repo),
    }


def _workflow_name(workflow: str) -> str:
    return {"harness-ci.yml": "harness CI (no LLM)", "e2e-ci.yml": "e2e CI (no LLM)"}.get(
        workflow, workflow.rsplit(".", 1)[0]
    )


def _steps(job: SimJob, started: datetime) -> list[dict[str, Any]]:
    if job.status not in ("in_progress", "completed"):
        return []
    out = []
    for number, name in enumerate(job.steps, start=1):
        running = job.status == "in_progress" and number == len(job.steps)
        at = started + timedelta(seconds=number)
        out.append(
            {
                "name": name,
                "status": "in_progress" if running else "completed",
                "conclusion": None if running else "success",
                "number": number,
                "started_at": _time(at),
                "completed_at": None if running else _time(at + timedelta(seconds=1)),
            }
        )
    return out


def job(world: GithubWorld, run: SimRun, index: int, sim: SimJob) -> dict[str, Any]:
    api = f"{API_BASE}/repos/{world.repo}"
    job_id = _job_id(run, index, sim)
    created = run.created_at + timedelta(seconds=2)
    started = created + timedelta(seconds=5)
    began = sim.status in ("in_progress", "completed")
    done = sim.status == "completed"
    return {
        "id": job_id,
        "run_id": run.id,
        "workflow_name": _workflow_name(run.workflow),
        "head_branch": run.branch,
        "run_url": f"{api}/actions/runs/{run.id}",
        "run_attempt": 1,
        "node_id": f"CR_kwDO{job_id:010d}",
        "head_sha": _sha("head", run.id),
        "url": f"{api}/actions/jobs/{job_id}",
        "html_url": f"{WEB_BASE}/{world.repo}/actions/runs/{run.id}/job/{job_id}",
        "status": sim.status,
        "conclusion": "success" if done else None,
        "created_at": _time(created),
        # GitHub gives a job that has not started its creation time here.
        "started_at": _time(started if began else created),
        "completed_at": _time(started + timedelta(minutes=1)) if done else None,
        "name": sim.name,
        "steps": _steps(sim, started),
        "check_run_url": f"{api}/check-runs/{job_id}",
        "labels": ["ubuntu-latest"],
        "runner_id": 1000 + index if began else None,
        "runner_name": f"GitHub Actions {1000 + index}" if began else None,
        "runner_group_id": 2 if began else None,
        "runner_group_name": "GitHub Actions" if began else None,
    }


def annotation(world: GithubWorld, run: SimRun, message: str) -> dict[str, Any]:
    return {
        "path": ".github",
        "start_line": 1,
        "end_line": 1,
        "start_column": None,
        "end_column": None,
        "annotation_level": "notice",
        "title": "",
        "message": message,
        "raw_details": "",
        "blob_href": f"{WEB_BASE}/{world.repo}/blob/{_sha('head', run.id)}/.github",
    }


def branch(world: GithubWorld) -> dict[str, Any]:
    api = f"{API_BASE}/repos/{world.repo}"
    sha = world.main_sha
    person = {"name": "octocat", "email": "octocat@users.noreply.github.com"}
    dated = {**person, "date": _time(world.main_committed_at)}
    return {
        "name": world.main_branch,
        "commit": {
            "sha": sha,
            "node_id": f"C_kwDO{sha[:16]}",
            "commit": {
                "author": dated,
                "committer": dated,
                "message": "Merge pull request #276 from litentry/slot-routing",
                "tree": {"sha": _sha("tree", sha), "url": f"{api}/git/trees/{_sha('tree', sha)}"},
                "url": f"{api}/git/commits/{sha}",
                "comment_count": 0,
                "verification": {
                    "verified": False,
                    "reason": "unsigned",
                    "signature": None,
                    "payload": None,
                    "verified_at": None,
                },
            },
            "url": f"{api}/commits/{sha}",
            "html_url": f"{WEB_BASE}/{world.repo}/commit/{sha}",
            "comments_url": f"{api}/commits/{sha}/comments",
            "author": simple_user("octocat"),
            "committer": simple_user("web-flow"),
            "parents": [
                {
                    "sha": _sha("parent", sha),
                    "url": f"{api}/commits/{_sha('parent', sha)}",
                    "html_url": f"{WEB_BASE}/{world.repo}/commit/{_sha('parent', sha)}",
                }
            ],
        },
        "_links": {
            "self": f"{api}/branches/{world.main_branch}",
            "html": f"{WEB_BASE}/{world.repo}/tree/{world.main_branch}",
        },
        "protected": True,
        "protection": {
            "enabled": True,
            "required_status_checks": {
                "enforcement_level": "non_admins",
                "contexts": [],
                "checks": [],
            },
        },
        "protection_url": f"{api}/branches/{world.main_branch}/protection",
    }


def error_body(status: int, message: str, docs: str = "https://docs.github.com/rest") -> bytes:
    """GitHub's error shape (`basic-error`): message, documentation_url, status as a string."""
    return _dump({"message": message, "documentation_url": docs, "status": str(status)})


def _dump(value: object) -> bytes:
    return json.dumps(value, indent=2).encode()


def _page(items: Sequence[Any], query: Mapping[str, list[str]], default: int = 30) -> list[Any]:
    per_page = min(max(_int(query, "per_page", default), 1), 100)
    page = max(_int(query, "page", 1), 1)
    return list(items[(page - 1) * per_page : page * per_page])


def _int(query: Mapping[str, list[str]], key: str, default: int) -> int:
    try:
        return int(query.get(key, [str(default)])[0])
    except ValueError:
        return default


# --------------------------------------------------------------------------- the server


@dataclass(frozen=True, slots=True)
class Recorded:
    """One request as the server saw it (never the Authorization value)."""

    method: str
    path: str
    query: str
    endpoint: Endpoint | None
    conditional: bool  # carried If-None-Match
    authorized: bool  # carried an Authorization header
    status: int  # 0: black-holed, never answered
    counted: bool  # spent rate limit
    headers: Mapping[str, str]  # Accept, User-Agent, X-GitHub-Api-Version as sent


@dataclass(frozen=True, slots=True)
class Sent:
    """A response about to go out, handed to `GithubServer.observer` (the tests validate it
    against GitHub's OpenAPI description)."""

    endpoint: Endpoint | None
    path: str
    status: int
    body: bytes
    fault: Fault | None


class _Answer(Exception):
    def __init__(self, status: int, body: bytes, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = dict(headers or {})


class GithubServer(Served):
    """The fake GitHub API on a free loopback port, served from background threads.

    `load(world)` swaps in a new world and resets the rate budget and the record; `observer`
    (if set) sees every response before it is sent.
    """

    def __init__(self, world: GithubWorld | None = None) -> None:
        self.observer: Callable[[Sent], None] | None = None
        self._lock = threading.Lock()
        self._released = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.requests: list[Recorded] = []
        self.load(world or GithubWorld())

    # ----------------------------------------------------------------------- lifecycle

    def start(self) -> Self:
        server = ThreadingHTTPServer((LOOPBACK, 0), _handler_for(self))
        server.daemon_threads = True
        self._server = server
        self._released.clear()
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},  # stop() waits at most this long
            name="fleetboard-github",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._released.set()  # let black-holed requests go
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(10)
            self._thread = None

    @property
    def url(self) -> str:
        """The API root to put in GithubSettings.api_url."""
        if self._server is None:
            raise RuntimeError("start() the server first")
        return f"http://{LOOPBACK}:{self._server.server_address[1]}"

    # ----------------------------------------------------------------------- the world

    @property
    def world(self) -> GithubWorld:
        return self._world

    def load(self, world: GithubWorld) -> None:
        """Serve `world` from now on, with a full rate budget and an empty record."""
        with self._lock:
            self._world = world
            self._remaining = {True: world.rate_remaining, False: world.anonymous_limit}
            self.requests = []

    def update(self, world: GithubWorld) -> None:
        """Serve `world` from now on, keeping the rate budget and the record (a later pass)."""
        with self._lock:
            self._world = world

    def set_fault(self, endpoint: Endpoint, fault: Fault | None) -> None:
        faults = {k: v for k, v in self._world.faults.items() if k is not endpoint}
        if fault is not None:
            faults[endpoint] = fault
        self.update(replace(self._world, faults=faults))

    def rate_remaining(self, *, authorized: bool = True) -> int:
        with self._lock:
            return self._remaining[authorized]

    def counted(self) -> int:
        """Requests that spent rate limit."""
        return sum(1 for r in self.requests if r.counted)

    def by_endpoint(self) -> dict[Endpoint | None, int]:
        out: dict[Endpoint | None, int] = {}
        for r in self.requests:
            out[r.endpoint] = out.get(r.endpoint, 0) + 1
        return out

    # ----------------------------------------------------------------------- answering

    def _rate_headers(self, authorized: bool) -> dict[str, str]:
        world = self._world
        limit = world.rate_limit if authorized else world.anonymous_limit
        remaining = self._remaining[authorized]
        return {
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset": str(int(world.rate_reset.timestamp())),
            "X-RateLimit-Used": str(limit - remaining),
            "X-RateLimit-Resource": "core",
        }

    def answer(
        self, path_qs: str, headers: Mapping[str, str]
    ) -> tuple[int, bytes, dict[str, str], Recorded, Fault | None]:
        """Decide the response to one GET; the caller sends it (or not: a black hole)."""
        split = urlsplit(path_qs)
        query = parse_qs(split.query)
        endpoint, match = _route(split.path)
        auth = headers.get("authorization", "")
        authorized = bool(auth)
        conditional = "if-none-match" in headers
        seen = {
            k: headers[k] for k in ("accept", "user-agent", "x-github-api-version") if k in headers
        }
        with self._lock:
            world = self._world
            fault = world.faults.get(endpoint) if endpoint is not None else None
            counted = False
            extra: dict[str, str] = {}
            try:
                good_token = world.token is None or auth in (
                    f"Bearer {world.token}",
                    f"token {world.token}",
                )
                if (authorized and not good_token) or fault is Fault.UNAUTHORIZED:
                    raise _Answer(401, error_body(401, "Bad credentials"))
                if fault is Fault.RATE_LIMITED:
                    self._remaining[authorized] = 0
                if self._remaining[authorized] <= 0:
                    raise _Answer(
                        403,
                        error_body(
                            403,
                            "API rate limit exceeded for user ID 1.",
                            "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api",
                        ),
                    )
                if fault is Fault.BLACK_HOLE:
                    raise _Answer(0, b"")
                if fault is Fault.FORBIDDEN:
                    raise _Answer(
                        403, error_body(403, "Resource not accessible by personal access token")
                    )
                if fault is Fault.SERVER_ERROR:
                    raise _Answer(500, error_body(500, "Server Error"))
                if fault is Fault.MALFORMED:
                    raise _Answer(200, b'{"total_count": 1, "workflow_runs": [{"id": 1,')
                if endpoint is None or match is None:
                    raise _Answer(404, error_body(404, "Not Found"))
                body = _dump(self._body(world, endpoint, match, query))
                etag = 'W/"' + hashlib.sha256(body).hexdigest()[:40] + '"'
                extra = {"ETag": etag, "Cache-Control": "private, max-age=60, s-maxage=60"}
                if _etag_matches(headers.get("if-none-match", ""), etag):
                    # Free when authorized (GitHub: a 304 to an authorized request does not
                    # count against the primary rate limit); anonymous ones are counted.
                    counted = not authorized
                    raise _Answer(304, b"", extra)
                counted = True
                status, out = 200, body
            except _Answer as answer:
                status, out = answer.status, answer.body
                extra = {**extra, **answer.headers}
                counted = (
                    counted
                    or status in (200, 404, 500)
                    or (status == 403 and fault is Fault.FORBIDDEN)
                )
            if counted:
                self._remaining[authorized] = max(0, self._remaining[authorized] - 1)
            rate = self._rate_headers(authorized)
            record = Recorded(
                "GET",
                split.path,
                split.query,
                endpoint,
                conditional,
                authorized,
                status,
                counted,
                seen,
            )
            self.requests.append(record)
        return status, out, {**rate, **extra}, record, fault

    def _body(
        self,
        world: GithubWorld,
        endpoint: Endpoint,
        match: re.Match[str],
        query: Mapping[str, list[str]],
    ) -> object:
        repo, key = match.group(1), match.group(2)
        if repo.lower() != world.repo.lower():
            raise _Answer(404, error_body(404, "Not Found"))
        if endpoint is Endpoint.RUNS:
            name = key.rsplit("/", 1)[-1]
            if name not in world.workflows and key not in {
                str(_workflow_id(world.repo, w)) for w in world.workflows
            }:
                raise _Answer(
                    404,
                    error_body(
                        404,
                        "Not Found",
                        "https://docs.github.com/rest/actions/workflow-runs#list-workflow-runs-for-a-workflow",
                    ),
                )
            runs = sorted(
                (
                    r
                    for r in world.runs
                    if name in (r.workflow, str(_workflow_id(world.repo, r.workflow)))
                ),
                key=lambda r: (r.created_at, r.id),
                reverse=True,  # newest first, as GitHub lists them
            )
            return {
                "total_count": len(runs),
                "workflow_runs": [workflow_run(world, r) for r in _page(runs, query)],
            }
        if endpoint is Endpoint.BRANCH:
            if key != world.main_branch:
                raise _Answer(404, error_body(404, "Branch not found"))
            return branch(world)
        if endpoint is Endpoint.JOBS:
            run = _find_run(world, int(key))
            jobs = [job(world, run, i, j) for i, j in enumerate(run.jobs)]
            return {"total_count": len(jobs), "jobs": _page(jobs, query)}
        for run, index, sim in _all_jobs(world):
            if _job_id(run, index, sim) == int(key):
                notes = [annotation(world, run, m) for m in sim.annotations]
                return _page(notes, query)
        raise _Answer(404, error_body(404, "Not Found"))


def _route(path: str) -> tuple[Endpoint | None, re.Match[str] | None]:
    for endpoint, pattern in _ROUTES:
        m = pattern.match(path)
        if m is not None:
            return endpoint, m
    return None, None


def _find_run(world: GithubWorld, run_id: int) -> SimRun:
    for run in world.runs:
        if run.id == run_id:
            return run
    raise _Answer(404, error_body(404, "Not Found"))


def _all_jobs(world: GithubWorld) -> Iterator[tuple[SimRun, int, SimJob]]:
    for run in world.runs:
        for index, sim in enumerate(run.jobs):
            yield run, index, sim


def _etag_matches(header: str, etag: str) -> bool:
    if not header:
        return False
    tags = [t.strip() for t in header.split(",")]
    return "*" in tags or any(t.removeprefix("W/") == etag.removeprefix("W/") for t in tags)


def _handler_for(server: GithubServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go in two writes: no 40 ms stalls
        server_version = "GitHub.com"
        sys_version = ""

        def do_GET(self) -> None:
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, body, extra, record, fault = server.answer(self.path, headers)
            if server.observer is not None:
                server.observer(Sent(record.endpoint, record.path, status, body, fault))
            if status == 0:  # black hole: hold the connection, never answer
                server._released.wait(_BLACK_HOLE_MAX_S)
                self.close_connection = True
                return
            self.send_response(status)
            for name, value in extra.items():
                self.send_header(name, value)
            if status != 304:
                self.send_header("Content-Type", _JSON)
                self.send_header("Content-Length", str(len(body)))
            self.send_header("X-GitHub-Api-Version-Selected", API_VERSION)
            self.send_header("X-GitHub-Media-Type", "github.v3; format=json")
            self.send_header("Vary", "Accept, Authorization, Cookie, X-GitHub-OTP")
            self.end_headers()
            if status != 304:
                self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # quiet: the record is in server.requests

    return Handler
