"""The github source: the CI runs in flight, the slot evidence each shows, and main's head.

A pass asks GitHub's REST API, with urllib3 and no retries (a failure is data):

1. per workflow file in [github] workflows, its 50 newest runs (one call, filtered here);
2. the main branch, for its head sha and commit date;
3. per run in flight, its jobs (the `test-fleet slot N` marker step lives in their steps);
4. only for runs whose jobs show no marker yet, the `slot-claim` job's annotations.

That is 3 + (runs in flight) requests with two workflow files (docs/design.md#requests), plus one
the first time an unmarked run is seen. ETags are kept between passes in `ctx.state`
("github"), so an unchanged answer is a 304 that costs no rate limit when authenticated; the
annotations of a finished slot-claim job never change and are not asked for again. Below
`rate_floor` requests left, annotations and then the jobs of runs not yet started are skipped
with a note. The runs lists and the branch are essential: when they fail, the source returns
a `SourceFailure` naming the call and the answer. The token never appears in a reason, a
note, a log line or the kept state.

Every answer is read whole within the call's own budget (`timeout_s`, capped by the pass
deadline) and a size cap (`wire.read_whole`), and must be GitHub's: JSON by content type, in the
shape this source reads. An HTML page answered 200 (a proxy, a captive portal) is a failure
naming what came back, never an empty CI. When the collector cannot reach GitHub at all (the
API's name does not resolve, no route), the failure is marked `blind`.

    facts = GithubSource().collect(inventory, ctx)  # GithubFacts | SourceFailure
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import cache
from typing import Any, ClassVar
from urllib.parse import quote, urlsplit

import urllib3
from urllib3.exceptions import HTTPError

from fleetboard import __version__, jsonsafe
from fleetboard.ci import IN_FLIGHT, RUNNING, SLOT_CLAIM_JOB, marker_slot, slot_claim_job_id
from fleetboard.inventory import GithubSettings, Inventory
from fleetboard.model import CiJob, CiRun, GithubFacts, SourceFailure
from fleetboard.sources import PassContext, secret_value, wire
from fleetboard.text import scrub

log = logging.getLogger(__name__)

NAME = "github"
#: The `ctx.state` entry holding the ETags and bodies kept between passes.
STATE_NAME = "github"
STATE_VERSION = 1
#: Runs asked for per workflow file: the newest ones, where every run in flight sits.
PER_PAGE = 50
USER_AGENT = f"fleetboard/{__version__}"
API_VERSION = "2022-11-28"
#: A call needs at least this much of the pass left to be worth starting.
MIN_CALL_S = 0.05
#: Calls in flight at once (connections to the API host).
CONCURRENCY = 4
_MESSAGE_CHARS = 160
#: The largest answer read: a page of 50 runs is ~400 KB; anything far beyond is not GitHub's.
BODY_CAP_BYTES = 8 * 1024 * 1024
#: An error answer is read only for its message.
ERROR_BODY_CAP_BYTES = 64 * 1024
#: Rate-limit header values outside these bounds are not GitHub's: treated as absent.
_MAX_RATE_COUNT = 10**9
_MAX_RESET_EPOCH = 4102444800  # 2100-01-01

#: The SourceFailure reason when fleet.toml has no [github] section.
NOT_CONFIGURED = "not configured (no [github] section in fleet.toml)"


# --------------------------------------------------------------------------- answers


@dataclass(slots=True)
class _Rate:
    remaining: int | None = None
    limit: int | None = None
    reset: datetime | None = None


class _CallFailed(Exception):
    """A call that brought back nothing usable; `reason` is the one line to show."""

    def __init__(
        self,
        reason: str,
        *,
        status: int | None = None,
        rate_limited: bool = False,
        blind: bool = False,
    ):
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.rate_limited = rate_limited
        #: The cause is on the collector's side (no DNS for the API's name, no route).
        self.blind = blind


@dataclass(frozen=True, slots=True)
class _Endpoint:
    """One kind of call: the shape its answer must have, and what of it is kept."""

    shape: str  # key into _SHAPES
    slim: Callable[[Any], Any]


class _Kept:
    """ETags and slimmed bodies by URL, from the last pass: `{url: {etag, body, final}}`.

    Only what this pass used is written back, so finished runs drop out on their own.
    """

    def __init__(self, entries: Mapping[str, Mapping[str, Any]]) -> None:
        self._old = dict(entries)
        self._new: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    @classmethod
    def load(cls, ctx: PassContext) -> tuple[_Kept, str | None]:
        if ctx.state is None:
            return cls({}), None
        try:
            raw = ctx.state.load_state(STATE_NAME)
        except Exception as exc:  # a store that fails must not cost the board
            return cls({}), f"kept ETags could not be read ({type(exc).__name__}): asked afresh"
        if raw is None:
            return cls({}), None
        try:
            doc = jsonsafe.loads(raw)
            entries = doc["entries"] if doc.get("version") == STATE_VERSION else {}
            if not isinstance(entries, dict):
                raise TypeError("entries is not an object")
        except (ValueError, TypeError, KeyError, AttributeError):
            return cls({}), "kept ETags were unreadable: asked afresh"
        return cls(entries), None

    def get(self, url: str) -> Mapping[str, Any] | None:
        entry = self._old.get(url)
        if isinstance(entry, dict) and isinstance(entry.get("etag"), str) and "body" in entry:
            return entry
        return None

    def keep(self, url: str, etag: str | None, body: Any, *, final: bool = False) -> None:
        with self._lock:
            if etag or final:
                self._new[url] = {"etag": etag or "", "body": body, "final": final}

    def reuse(self, url: str) -> None:
        entry = self.get(url)
        if entry is not None:
            with self._lock:
                self._new[url] = dict(entry)

    def dump(self) -> bytes:
        doc = {"version": STATE_VERSION, "entries": dict(sorted(self._new.items()))}
        return json.dumps(doc, separators=(",", ":")).encode()

    def changed(self) -> bool:
        return self._new != self._old


class _Session:
    """One pass's connection pool, headers, request counts and rate-limit readings."""

    def __init__(
        self, settings: GithubSettings, token: str | None, ctx: PassContext, kept: _Kept
    ) -> None:
        self.settings = settings
        self.ctx = ctx
        self.kept = kept
        self._token = token
        self._headers = {
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": API_VERSION,
            "User-Agent": USER_AGENT,
        }
        if token:
            self._headers["Authorization"] = f"Bearer {token}"
        self._pool = urllib3.PoolManager(num_pools=2, maxsize=CONCURRENCY, retries=False)
        self._lock = threading.Lock()
        self.requests = 0
        self.not_modified = 0
        self.rate = _Rate()
        self.authenticated = bool(token)
        #: Set once GitHub says the rate limit is spent: later calls are not made at all.
        self.limited: str | None = None
        #: Rate-limit headers that could not be read, said once each in the notes.
        self.header_notes: list[str] = []

    def close(self) -> None:
        self._pool.clear()

    def scrub(self, text: str) -> str:
        """`text` with the token blanked out, wherever it came from."""
        return text.replace(self._token, "***") if self._token else text

    def scrub_reason(self, text: str) -> str:
        """A reason as it may be shown: no token, header, query or URL path (text.scrub)."""
        return scrub(text, [self._token] if self._token else ())

    def get(self, path: str, query: str, endpoint: _Endpoint, *, final: bool = False) -> Any:
        """GET one resource and return its slimmed body: on 304 the one kept from an earlier
        pass. Anything unusable raises _CallFailed."""
        call = f"GET {path}"
        url = f"{self.settings.api_url}{path}" + (f"?{query}" if query else "")
        kept = self.kept.get(url)
        if kept is not None and not _fits(kept["body"], endpoint.shape):
            kept = None  # kept by another version, or edited: ask afresh
        if kept is not None and kept.get("final"):
            self.kept.reuse(url)  # immutable (a finished check run's annotations): not asked
            return kept["body"]
        if self.limited is not None:
            raise _CallFailed(f"{call} was not made: {self.limited}", rate_limited=True)
        budget_s = min(self.settings.timeout_s, self.ctx.remaining_s())
        if budget_s < MIN_CALL_S:
            raise _CallFailed(f"{call} was not made: the pass deadline was reached")
        headers = dict(self._headers)
        if kept is not None and kept["etag"]:
            headers["If-None-Match"] = kept["etag"]
        with self._lock:
            self.requests += 1
        deadline = time.monotonic() + budget_s
        try:
            response = self._pool.request(
                "GET",
                url,
                headers=headers,
                timeout=urllib3.Timeout(connect=budget_s, read=budget_s),
                retries=False,
                redirect=False,
                preload_content=False,
            )
        except HTTPError as exc:
            raise self._transport(call, exc, budget_s) from None
        status = response.status
        cap = BODY_CAP_BYTES if status == 200 else ERROR_BODY_CAP_BYTES
        try:
            data = wire.read_whole(response, deadline=deadline, cap_bytes=cap, read_s=budget_s)
        except wire.AnswerOverrun as overrun:
            raise _CallFailed(
                f"{call} answered {status}, then {overrun} within {budget_s:.1f} s"
            ) from None
        except HTTPError as exc:
            raise self._transport(call, exc, budget_s) from None
        finally:
            response.release_conn()
        self._read_rate(response)
        log.debug("github: %s answered %s", call, status)
        if status == 304:
            if kept is None:
                raise _CallFailed(f"{call} answered 304 but nothing was kept to reuse")
            with self._lock:
                self.not_modified += 1
            self.kept.reuse(url)
            return kept["body"]
        if status != 200:
            refusal = self._refusal(call, response, data)
            if refusal.rate_limited:
                self.limited = refusal.reason.split(": ", 1)[-1]
            raise refusal
        media_type = wire.content_type(response.headers)
        if not wire.is_json(media_type):
            host = urlsplit(self.settings.api_url).netloc
            raise _CallFailed(
                f"{call} answered 200 with {media_type or 'no content type'}, not GitHub's "
                f"JSON: {wire.evidence(data)} — a proxy or captive portal may be answering "
                f"for {host}"
            )
        body = _decode(call, data, endpoint.shape)
        slim = endpoint.slim(body)
        self.kept.keep(url, response.headers.get("ETag"), slim, final=final)
        return slim

    def _read_rate(self, response: urllib3.BaseHTTPResponse) -> None:
        """Keep the lowest reading of the newest rate window: answers to concurrent calls
        arrive in any order, and the budget only goes down until the window resets."""
        remaining = _int_header(response, "X-RateLimit-Remaining")
        limit = _int_header(response, "X-RateLimit-Limit")
        reset, unreadable = _reset_header(response)
        with self._lock:
            if unreadable is not None and unreadable not in self.header_notes:
                self.header_notes.append(unreadable)
            rate = self.rate
            if reset is not None and rate.reset is not None and reset != rate.reset:
                if reset < rate.reset:
                    return  # a reading from the window before: stale
                rate.remaining = None  # a new window: start over
            if remaining is not None:
                rate.remaining = (
                    remaining if rate.remaining is None else min(rate.remaining, remaining)
                )
            if limit is not None:
                rate.limit = limit
            if reset is not None:
                rate.reset = reset

    def _refusal(self, call: str, response: urllib3.BaseHTTPResponse, data: bytes) -> _CallFailed:
        status = response.status
        message = _message(response, data)
        said = f"{call} answered {status}" + (f" {message}" if message else "")
        remaining = _int_header(response, "X-RateLimit-Remaining")
        if status in (403, 429) and remaining == 0:
            reset, unreadable = _reset_header(response)
            until = "" if reset is None else f" until {reset:%H:%M:%S} UTC"
            if unreadable is not None:
                until = f" ({unreadable})"
            limit = _int_header(response, "X-RateLimit-Limit")
            of = f" of {limit}" if limit is not None else ""
            hint = "" if self.authenticated else "; set a GitHub token for 5000 an hour"
            return _CallFailed(
                f"{call} answered {status}: rate limited{until} (0{of} requests left){hint}",
                status=status,
                rate_limited=True,
            )
        after = _int_header(response, "Retry-After", upper=7 * 24 * 3600)
        if status == 429 or (
            status == 403 and (after is not None or "secondary rate limit" in message.lower())
        ):
            wait = f": retry after {after} s" if after is not None else ""
            kind = "secondary rate limit" if status == 403 else "rate limited (too many requests)"
            return _CallFailed(
                f"{call} answered {status}: {kind}{wait}",
                status=status,
                rate_limited=True,
            )
        if status == 401:
            return _CallFailed(f"{said}: check the GitHub token", status=status)
        if status == 403:
            return _CallFailed(
                f"{said}: check the token's access to {self.settings.repo} "
                "(Actions, Contents and Checks: read)",
                status=status,
            )
        if status >= 500:
            return _CallFailed(
                f"{said}: GitHub is having trouble; the next pass asks again", status=status
            )
        return _CallFailed(said, status=status)

    def _transport(self, call: str, exc: HTTPError, budget_s: float) -> _CallFailed:
        host = urlsplit(self.settings.api_url).netloc
        cause = wire.collector_cause(exc, f"GitHub's API ({host})")
        if cause is not None:
            return _CallFailed(f"{call} not answered: {cause}", blind=True)
        return _CallFailed(f"{call} not answered by {host}: {wire.transport_reason(exc, budget_s)}")


def _int_header(
    response: urllib3.BaseHTTPResponse, name: str, *, upper: int = _MAX_RATE_COUNT
) -> int | None:
    """A whole-number header in 0..upper; None when absent or anything else."""
    value = (response.headers.get(name) or "").strip()
    if not value.isdigit() or len(value) > len(str(upper)):
        return None
    number = int(value)
    return number if number <= upper else None


def _reset_header(response: urllib3.BaseHTTPResponse) -> tuple[datetime | None, str | None]:
    """X-RateLimit-Reset as a time, and a note when it is there but unreadable (absent,
    out of range, not a number): then the reset time is treated as unknown."""
    value = response.headers.get("X-RateLimit-Reset")
    if value is None:
        return None, None
    epoch = _int_header(response, "X-RateLimit-Reset", upper=_MAX_RESET_EPOCH)
    if epoch is None:
        shown = scrub(value, limit=24)
        return None, f"X-RateLimit-Reset {shown!r} is not a time: reset time unknown"
    return datetime.fromtimestamp(epoch, UTC), None


def _one_line(text: str) -> str:
    """An exception's or a server's words as a reason may carry them (text.scrub)."""
    return scrub(text, limit=_MESSAGE_CHARS)


def _message(response: urllib3.BaseHTTPResponse, data: bytes) -> str:
    """GitHub's error message from the body (`{"message": ...}`), or the reason phrase."""
    try:
        doc = jsonsafe.loads(data)
    except ValueError:
        doc = None
    if isinstance(doc, dict) and isinstance(doc.get("message"), str):
        return _one_line(doc["message"]).rstrip(".")
    return response.reason or ""


def _decode(call: str, data: bytes, shape: str) -> Any:
    """The JSON body, checked against the shape this source reads (not GitHub's whole schema)."""
    try:
        body = jsonsafe.loads(data)
    except ValueError as exc:
        detail = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
        raise _CallFailed(f"{call} answered 200 with a body that is not JSON ({detail})") from None
    import fastjsonschema

    try:
        _shape_check(shape)(body)
    except fastjsonschema.JsonSchemaValueException as exc:
        raise _CallFailed(
            f"{call} answered 200 with a body unlike GitHub's: {_one_line(exc.message)}"
        ) from None
    return body


# --------------------------------------------------------------------------- shapes
# The parts of each answer this source reads, checked at the boundary; the rest is dropped
# before it is kept between passes (a runs page is ~400 KB, its in-flight part ~1 KB).


def _obj(*required: str, nullable: bool = False, **properties: object) -> dict[str, object]:
    kind: object = ["object", "null"] if nullable else "object"
    return {"type": kind, "required": list(required), "properties": properties}


def _array(items: object, *, nullable: bool = False) -> dict[str, object]:
    return {"type": ["array", "null"] if nullable else "array", "items": items}


_STR = {"type": "string"}
_INT = {"type": "integer"}
_MAYBE_STR = {"type": ["string", "null"]}
_TIME = {"type": "string", "format": "date-time"}
_MAYBE_TIME = {"type": ["string", "null"], "format": "date-time"}
_RUN_FIELDS = ("id", "run_number", "html_url", "path", "status", "event", "head_sha", "created_at")

_SHAPES: dict[str, dict[str, object]] = {
    "runs": _obj(
        "total_count",
        "workflow_runs",
        total_count=_INT,
        workflow_runs=_array(
            _obj(
                *_RUN_FIELDS,
                id=_INT,
                run_number=_INT,
                html_url=_STR,
                path=_STR,
                status=_MAYBE_STR,
                event=_STR,
                head_branch=_MAYBE_STR,
                head_sha=_STR,
                display_title=_STR,
                created_at=_TIME,
                run_started_at=_MAYBE_TIME,
                actor=_obj(nullable=True, login=_STR),
                pull_requests=_array(_obj("number", number=_INT), nullable=True),
            )
        ),
    ),
    "branch": _obj(
        "commit",
        commit=_obj(
            "sha",
            sha=_STR,
            commit=_obj(committer=_obj(nullable=True, date=_MAYBE_TIME)),
        ),
    ),
    "jobs": _obj(
        "jobs",
        jobs=_array(
            _obj(
                "id",
                "name",
                "status",
                id=_INT,
                name=_STR,
                status=_STR,
                started_at=_MAYBE_TIME,
                steps=_array(_obj("name", name=_STR)),
            )
        ),
    ),
    "annotations": _array(_obj(message=_MAYBE_STR)),
}


def _fits(body: Any, shape: str) -> bool:
    import fastjsonschema

    try:
        _shape_check(shape)(body)
    except fastjsonschema.JsonSchemaValueException:
        return False
    return True


@cache
def _shape_check(shape: str) -> Callable[[Any], Any]:
    import fastjsonschema

    check: Callable[[Any], Any] = fastjsonschema.compile(_SHAPES[shape])
    return check


def _slim_runs(body: Any) -> dict[str, Any]:
    runs = body["workflow_runs"]
    keys = (*_RUN_FIELDS, "head_branch", "display_title", "run_started_at")
    in_flight = [
        {
            **{k: r.get(k) for k in keys},
            "actor": {"login": (r.get("actor") or {}).get("login")},
            "pull_requests": [{"number": p["number"]} for p in r.get("pull_requests") or ()],
        }
        for r in runs
        if r.get("status") in IN_FLIGHT
    ]
    # A full page whose oldest run is still in flight may hide older runs in flight.
    crowded = len(runs) >= PER_PAGE and runs[-1].get("status") in IN_FLIGHT
    return {"total_count": body["total_count"], "crowded": crowded, "workflow_runs": in_flight}


def _slim_branch(body: Any) -> dict[str, Any]:
    commit = body["commit"]
    committer = (commit.get("commit") or {}).get("committer") or {}
    return {
        "commit": {"sha": commit["sha"], "commit": {"committer": {"date": committer.get("date")}}}
    }


def _slim_jobs(body: Any) -> dict[str, Any]:
    return {
        "jobs": [
            {
                "id": j["id"],
                "name": j["name"],
                "status": j["status"],
                "started_at": j.get("started_at"),
                "steps": [{"name": s["name"]} for s in j.get("steps") or ()],
            }
            for j in body["jobs"]
        ]
    }


def _slim_annotations(body: Any) -> list[dict[str, Any]]:
    return [{"message": a.get("message")} for a in body if a.get("message")]


_RUNS = _Endpoint("runs", _slim_runs)
_BRANCH = _Endpoint("branch", _slim_branch)
_JOBS = _Endpoint("jobs", _slim_jobs)
_ANNOTATIONS = _Endpoint("annotations", _slim_annotations)


# --------------------------------------------------------------------------- facts


def _time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _run(r: Mapping[str, Any]) -> CiRun:
    pulls = r.get("pull_requests") or ()
    status = str(r["status"])
    return CiRun(
        id=int(r["id"]),
        number=int(r["run_number"]),
        url=str(r["html_url"]),
        workflow=str(r["path"]),
        status=status,
        event=str(r["event"]),
        branch=r.get("head_branch"),
        head_sha=str(r["head_sha"]),
        title=str(r.get("display_title") or ""),
        actor=(r.get("actor") or {}).get("login"),
        pr=int(pulls[0]["number"]) if pulls else None,
        created_at=_time(r.get("created_at")),
        # GitHub fills run_started_at even for a queued run (with its creation time).
        started_at=_time(r.get("run_started_at")) if status == RUNNING else None,
    )


def _jobs(body: Mapping[str, Any]) -> tuple[CiJob, ...]:
    # GitHub gives a job that has not started its creation time as started_at.
    began = (RUNNING, "completed")
    return tuple(
        CiJob(
            id=int(j["id"]),
            name=str(j["name"]),
            status=str(j["status"]),
            started_at=_time(j.get("started_at")) if j["status"] in began else None,
            steps=tuple(str(s["name"]) for s in j.get("steps") or ()),
        )
        for j in body["jobs"]
    )


def _ids(runs: Sequence[CiRun]) -> str:
    return ", ".join(str(r.id) for r in runs)


# --------------------------------------------------------------------------- the source


class GithubSource:
    """Read CI runs in flight, their slot evidence and main's head from GitHub's REST API.

    The token comes from `ctx.secrets["github_token"]` (Lambda), else the environment
    variable `[github] token_env` (a laptop), else requests go anonymous (60 an hour).
    `environ` replaces os.environ, for tests.
    """

    name: ClassVar[str] = NAME
    needs: ClassVar[tuple[str, ...]] = ()
    wants: ClassVar[tuple[str, ...]] = ()

    def __init__(self, *, environ: Mapping[str, str] | None = None) -> None:
        self._environ = environ

    def collect(self, inventory: Inventory, ctx: PassContext) -> GithubFacts | SourceFailure:
        settings = inventory.github
        if settings is None:
            return SourceFailure(NAME, NOT_CONFIGURED)
        token = secret_value(ctx, "github_token", settings.token_env, self._environ)
        kept, kept_note = _Kept.load(ctx)
        with _session(settings, token, ctx, kept) as session:
            try:
                facts = _Pass(settings, session).run()
            except _CallFailed as failed:
                reason = session.scrub_reason(failed.reason)
                log.info("github: %s", reason)
                # 401, or a 403 that is no rate limit: the token's access, not GitHub's state.
                access = failed.status in (401, 403) and not failed.rate_limited
                return SourceFailure(NAME, reason, blind=failed.blind, access=access)
            notes = list(facts.notes) + session.header_notes
            if token is None:
                notes.insert(
                    0,
                    f"no GitHub token (secret github_token, or ${settings.token_env} on a "
                    "laptop): anonymous requests, 60 an hour, 304s counted too",
                )
            if kept_note:
                notes.append(kept_note)
            saved_note = _save(ctx, kept)
            if saved_note:
                notes.append(saved_note)
            log.debug(
                "github: %d requests, %d not modified, %s of %s left",
                session.requests,
                session.not_modified,
                session.rate.remaining,
                session.rate.limit,
            )
            return replace(facts, notes=tuple(session.scrub(n) for n in notes))


@contextmanager
def _session(
    settings: GithubSettings, token: str | None, ctx: PassContext, kept: _Kept
) -> Iterator[_Session]:
    session = _Session(settings, token, ctx, kept)
    try:
        yield session
    finally:
        session.close()


def _save(ctx: PassContext, kept: _Kept) -> str | None:
    if ctx.state is None or not kept.changed():
        return None
    try:
        ctx.state.save_state(STATE_NAME, kept.dump())
    except Exception as exc:  # the facts are good; only next pass's 304s are lost
        return f"ETags could not be kept for the next pass ({type(exc).__name__})"
    return None


class _Pass:
    """The calls of one pass, in three rounds: lists and branch, jobs, annotations."""

    def __init__(self, settings: GithubSettings, session: _Session) -> None:
        self.settings = settings
        self.session = session
        self.repo_path = f"/repos/{settings.repo}"
        self.notes: list[str] = []

    def run(self) -> GithubFacts:
        s = self.settings
        with ThreadPoolExecutor(CONCURRENCY, thread_name_prefix="fleetboard-github") as pool:
            lists = [pool.submit(self._runs_of, wf) for wf in s.workflows]
            main = pool.submit(self._main)
            runs = self._in_flight([f.result() for f in lists])
            main_sha, main_at, main_note = main.result()
            if main_note is not None:
                self.notes.append(main_note)
            runs = self._with_jobs(pool, runs)
            runs = self._with_annotations(pool, runs)
        rate = self.session.rate
        return GithubFacts(
            runs=tuple(runs),
            main_sha=main_sha,
            main_committed_at=main_at,
            rate_remaining=rate.remaining,
            rate_limit=rate.limit,
            rate_reset=rate.reset,
            requests=self.session.requests,
            not_modified=self.session.not_modified,
            notes=tuple(self.notes),
        )

    # ----------------------------------------------------------------------- round 1

    def _runs_of(self, workflow: str) -> Any:
        path = f"{self.repo_path}/actions/workflows/{quote(workflow, safe='')}/runs"
        try:
            return self.session.get(path, f"per_page={PER_PAGE}", _RUNS)
        except _CallFailed as failed:
            return failed

    def _in_flight(self, answers: Sequence[Any]) -> list[CiRun]:
        """The runs in flight of every workflow file, oldest first; a file GitHub does not
        know is a note, unless none is known."""
        missing = [a for a in answers if isinstance(a, _CallFailed) and a.status == 404]
        for failed in answers:
            if isinstance(failed, _CallFailed) and failed.status != 404:
                raise failed
        if missing and len(missing) == len(answers):
            raise _CallFailed(
                f"{missing[0].reason}: none of [github] workflows "
                f"({', '.join(self.settings.workflows)}) exists in {self.settings.repo} "
                "(a private repository also answers 404 without a token)",
                status=404,
            )
        runs: dict[int, CiRun] = {}
        for workflow, body in zip(self.settings.workflows, answers, strict=True):
            if isinstance(body, _CallFailed):
                self.notes.append(
                    f"workflow {workflow} not found in {self.settings.repo} (renamed or "
                    "removed; its runs are read under the other names in [github] workflows)"
                )
                continue
            if body.get("crowded"):
                self.notes.append(
                    f"workflow {workflow}: all {PER_PAGE} newest runs include runs in flight "
                    "to the last; older runs in flight, if any, are not shown"
                )
            for r in body["workflow_runs"]:
                run = _run(r)
                runs[run.id] = run
        return sorted(
            runs.values(), key=lambda r: (r.created_at or datetime.min.replace(tzinfo=UTC), r.id)
        )

    def _main(self) -> tuple[str | None, datetime | None, str | None]:
        """Main's head sha and commit date; a branch GitHub does not know is a note."""
        branch = self.settings.main_branch
        path = f"{self.repo_path}/branches/{quote(branch, safe='')}"
        try:
            body = self.session.get(path, "", _BRANCH)
        except _CallFailed as failed:
            if failed.status not in (404, 301):
                raise
            note = (
                f"branch {branch} not found in {self.settings.repo} ({failed.reason}): "
                "check [github] main_branch"
            )
            return None, None, note
        commit = body["commit"]
        return commit["sha"], _time(commit["commit"]["committer"]["date"]), None

    # ----------------------------------------------------------------------- round 2

    def _with_jobs(self, pool: ThreadPoolExecutor, runs: list[CiRun]) -> list[CiRun]:
        running = [r for r in runs if r.status == RUNNING]
        waiting = [r for r in runs if r.status != RUNNING]
        spare = self._spare() - len(running)
        asked, skipped = waiting[: max(spare, 0)], waiting[max(spare, 0) :]
        if skipped:
            self.notes.append(self._low_rate(f"skipped the jobs of waiting runs {_ids(skipped)}"))
        chosen = running + asked
        futures = {r.id: pool.submit(self._jobs_of, r) for r in chosen}
        return self._gathered(runs, futures, "jobs", lambda run, jobs: replace(run, jobs=jobs))

    def _jobs_of(self, run: CiRun) -> tuple[CiJob, ...] | _CallFailed:
        path = f"{self.repo_path}/actions/runs/{run.id}/jobs"
        try:
            return _jobs(self.session.get(path, "per_page=100", _JOBS))
        except _CallFailed as failed:
            return failed

    # ----------------------------------------------------------------------- round 3

    def _with_annotations(self, pool: ThreadPoolExecutor, runs: list[CiRun]) -> list[CiRun]:
        unmarked = [
            (r, job_id)
            for r in runs
            if r.jobs is not None
            and marker_slot(r) is None
            and (job_id := slot_claim_job_id(r)) is not None
        ]
        free = [(r, j) for r, j in unmarked if self._final(j)]
        paid = [(r, j) for r, j in unmarked if not self._final(j)]
        spare = max(self._spare(), 0)
        asked, skipped = paid[:spare], paid[spare:]
        if skipped:
            which = _ids([r for r, _ in skipped])
            self.notes.append(
                self._low_rate(f"skipped the {SLOT_CLAIM_JOB} annotations of runs {which}")
            )
        futures = {r.id: pool.submit(self._annotations_of, r, j) for r, j in free + asked}
        return self._gathered(
            runs,
            futures,
            f"{SLOT_CLAIM_JOB} annotations",
            lambda run, messages: replace(run, annotations=messages),
        )

    def _gathered(
        self,
        runs: list[CiRun],
        futures: Mapping[int, Future[Any]],
        what: str,
        apply: Callable[[CiRun, Any], CiRun],
    ) -> list[CiRun]:
        """The runs, in order, with what their futures read applied; one that was not asked
        stays as it is, one whose call failed too, with a note naming `what` and the run."""
        out = []
        for run in runs:
            future = futures.get(run.id)
            got = future.result() if future is not None else None
            if isinstance(got, _CallFailed):
                self.notes.append(f"{what} of run {run.id} not read: {got.reason}")
            out.append(run if got is None or isinstance(got, _CallFailed) else apply(run, got))
        return out

    def _annotations_url(self, job_id: int) -> tuple[str, str]:
        return f"{self.repo_path}/check-runs/{job_id}/annotations", "per_page=100"

    def _final(self, job_id: int) -> bool:
        path, query = self._annotations_url(job_id)
        entry = self.session.kept.get(f"{self.settings.api_url}{path}?{query}")
        return bool(entry and entry.get("final"))

    def _annotations_of(self, run: CiRun, job_id: int) -> tuple[str, ...] | _CallFailed:
        path, query = self._annotations_url(job_id)
        # A finished check run's annotations never change: kept, they are not asked again.
        done = any(j.id == job_id and j.status == "completed" for j in run.jobs or ())
        try:
            body = self.session.get(path, query, _ANNOTATIONS, final=done)
        except _CallFailed as failed:
            return failed
        return tuple(str(a["message"]) for a in body)

    # ----------------------------------------------------------------------- rate floor

    def _spare(self) -> int:
        """Requests that may still be spent before the rate floor; a lot when unknown."""
        remaining = self.session.rate.remaining
        if remaining is None:
            return 1 << 30
        return remaining - self.settings.rate_floor

    def _low_rate(self, what: str) -> str:
        rate = self.session.rate
        resets = f", resets {rate.reset:%H:%M:%S} UTC" if rate.reset is not None else ""
        return (
            f"GitHub rate limit low ({rate.remaining} of {rate.limit} left, floor "
            f"{self.settings.rate_floor}{resets}): {what}"
        )
