"""CI occupancy and the deploy trail as tables: runs and deploys in; holders, queues,
staleness, issues and the next action out."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from tests.observed import SMALL_FLEET, Observed, all_running

from fleetboard import rules
from fleetboard.model import SlotBasis, Status

GITHUB = '\n[github]\nrepo = "litentry/agentKeys"\nworkflows = ["harness-ci.yml", "e2e-ci.yml"]\n'
MAIN_SHA = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678"


def run(
    number: int,
    *,
    status: str = "in_progress",
    marker: int | None = None,
    claim: tuple[int, str | None] | None = None,
    pr: int | None = 481,
    title: str = "feat: vault rotation",
) -> dict[str, Any]:
    """Observed.run's words for run #number of PR #pr, its deploy job started 19 minutes
    ago: `marker`, the N of its `test-fleet slot N` step; `claim`, the slot (and group) of
    its slot-claim annotation."""
    return {
        "run_id": 9000 + number,
        "number": number,
        "status": status,
        "marker": marker,
        "claim": claim,
        "pr": pr,
        "title": title,
        "branch": "feat/vault",
        "actor": "hanwencheng",
        "created_ago": timedelta(minutes=20),
        "started_ago": timedelta(minutes=19),
        "job": "deploy broker to test EC2",
    }


def ci_seen(
    *runs: dict[str, Any], extra: str = "", stopped: tuple[str, ...] = (), **github: Any
) -> Observed:
    """SMALL_FLEET with [github] (`extra`: more of its keys), every machine up (or
    `stopped`); GitHub says main is at MAIN_SHA, committed 2 hours ago, and `runs` are in
    flight (`github`: what else it read)."""
    seen = all_running(SMALL_FLEET + GITHUB + extra, stopped=stopped)
    reads = {"rate_remaining": 4812, "requests": 5, "not_modified": 3, **github}
    seen.reads_github(main_sha=MAIN_SHA, main_committed_ago=timedelta(hours=2), **reads)
    for each in runs:
        seen.run(**each)
    return seen


def board(*runs: dict[str, Any], **changes: Any) -> rules.Board:
    return ci_seen(*runs, **changes).board()


def slot_of(b: rules.Board, name: str):  # type: ignore[no-untyped-def]
    return next(e for e in b.environments if e.name == name).ci


def ci_issues(b: rules.Board) -> list[tuple[str, str, str]]:
    return [
        (i.status.value, i.env, i.text) for i in b.summary.issues if i.check in ("ci", "deploy")
    ]


# --------------------------------------------------------------------------- who holds a slot


@pytest.mark.parametrize(
    ("the_run", "slot", "mapped_by"),
    [
        (run(7, marker=2), 2, SlotBasis.MARKER),
        (run(7, claim=(3, "heima-test-slot-3")), 3, SlotBasis.ANNOTATION),
        (run(7, pr=481), 481 % 3 + 1, SlotBasis.COMPUTED),  # PR# % N + 1, N = 3 declared slots
    ],
    ids=["marker step", "annotation only", "computed fallback"],
)
def test_a_running_run_holds_the_slot_its_evidence_names(
    the_run: dict[str, Any], slot: int, mapped_by: SlotBasis
) -> None:
    b = board(the_run)
    names = {1: "test", 2: "test-2", 3: "test-3"}
    holder = slot_of(b, names[slot]).holder
    assert (holder.number, holder.mapped_by) == (7, mapped_by)
    others = [slot_of(b, n) for s, n in names.items() if s != slot]
    assert all(ci.holder is None and ci.queued == () for ci in others)


def test_the_annotation_keeps_its_concurrency_group() -> None:
    b = board(run(7, claim=(1, "heima-test-deployer-nonce")))
    assert slot_of(b, "test").holder.group == "heima-test-deployer-nonce"


def test_no_runs_means_every_slot_is_free_and_ci_says_so() -> None:
    b = board()
    assert all(e.ci is not None and e.ci.holder is None for e in b.environments if e.slot)
    assert b.ci is not None and b.ci.text.startswith("0 runs in progress, 0 queued")
    assert "4,812 of 5,000" in b.ci.text
    assert ci_issues(b) == []


def test_a_queued_run_waits_behind_the_running_one() -> None:
    b = board(run(7, marker=1), run(8, status="queued", pr=480))  # 480 % 3 + 1 = 1
    ci = slot_of(b, "test")
    assert ci.holder.number == 7
    assert [r.number for r in ci.queued] == [8]
    assert ci.queued[0].mapped_by is SlotBasis.COMPUTED
    assert ci_issues(b) == []  # one waiting is the normal queue (limit 1)


def test_a_queue_deeper_than_the_limit_is_amber() -> None:
    b = board(
        run(7, marker=1),
        run(8, status="pending", marker=None, claim=(1, None)),
        extra="queue_limit = 0\n",
    )
    assert ci_issues(b) == [
        ("amber", "test", "test ci amber: 1 run waits for slot 1 (more than 0)")
    ]


def test_two_runs_holding_one_slot_is_red_with_a_next_action() -> None:
    b = board(run(7, marker=2), run(9, marker=2, pr=500))
    assert ci_issues(b)[0] == (
        "red", "test-2",
        "test-2 ci red: run #7 (PR #481) and run #9 (PR #500) both hold slot 2: they share one "
        "deployer's nonce and one stack",
    )  # fmt: skip
    assert b.summary.status is Status.RED
    assert b.summary.suggested_next_action.startswith("test-2: run #7 (PR #481) and run #9")


def test_a_computed_guess_does_not_displace_a_confirmed_holder() -> None:
    b = board(run(7, marker=2), run(9, pr=499))  # 499 % 3 + 1 = 2
    ci = slot_of(b, "test-2")
    assert [r.number for r in ci.holders] == [7]
    assert [r.number for r in ci.queued] == [9]
    assert ci_issues(b) == []


def test_a_run_holding_a_stopped_slot_is_red() -> None:
    b = board(run(7, marker=3), stopped=("test-3",))
    assert ci_issues(b) == [(
        "red", "test-3",
        "test-3 ci red: run #7 (PR #481) holds slot 3, which is stopped: its deploy and tests will fail",
    )]  # fmt: skip


def test_a_run_claiming_an_undeclared_slot_is_amber() -> None:
    b = board(run(7, marker=5))
    assert ci_issues(b) == [
        (
            "amber",
            "fleet",
            "fleet ci amber: run #7 (PR #481) claims slot 5, which fleet.toml does not declare",
        )
    ]


def test_a_run_title_is_kept_as_text() -> None:
    b = board(run(7, marker=1, title="<script>alert(1)</script>"))
    assert slot_of(b, "test").holder.title == "<script>alert(1)</script>"  # the page escapes it


def test_github_down_makes_ci_unknown_and_leaves_the_rest_of_the_board() -> None:
    seen = ci_seen()
    seen.fails("github", "GET …/runs answered 500 Internal Server Error")
    b = seen.board()
    assert b.ci is not None and b.ci.status is Status.UNKNOWN
    assert b.ci.text == "CI unknown: GET …/runs answered 500 Internal Server Error"
    assert [i.check for i in b.summary.issues] == ["source:github"]
    assert {e.status for e in b.environments} == {Status.GREEN}


def test_without_github_configured_there_is_no_ci_part_and_no_issue() -> None:
    b = all_running().board()
    assert b.ci is None
    assert all(e.ci is None for e in b.environments)
    assert b.summary.issues == ()


def test_notes_below_the_rate_floor_make_the_ci_line_amber() -> None:
    notes = ("annotations skipped: 40 requests left",)
    b = board(run(7, marker=1), rate_remaining=40, notes=notes)
    assert b.ci is not None and b.ci.status is Status.AMBER and b.ci.notes


# --------------------------------------------------------------------------- deploy trail


@pytest.mark.parametrize(
    ("ref", "hours_ago", "stale", "text"),
    [
        (MAIN_SHA[:12], 1, False, f"current: {MAIN_SHA[:7]} is main's head"),
        ("0123456789ab", 1, True, f"behind main: deployed 0123456, main is at {MAIN_SHA[:7]}"),
        ("main", 1, False, "current: deployed main after its last commit"),
        (
            "main",
            3,
            True,
            f"behind main: main has a newer commit ({MAIN_SHA[:7]}) than this deploy",
        ),
        ("feat/vault", 1, None, "unknown: deployed branch feat/vault, not comparable with main"),
    ],
    ids=["sha at head", "older sha", "main after last commit", "main before last commit", "branch"],
)
def test_a_deploy_is_compared_with_main_only_where_it_can_be(
    ref: str, hours_ago: float, stale: bool | None, text: str
) -> None:
    seen = ci_seen()
    seen.deployed("prod", ref, timedelta(hours=hours_ago), 24001)
    b = seen.board()
    deploy = next(e for e in b.environments if e.name == "prod").deploy
    assert deploy is not None
    assert (deploy.ref, deploy.run_id, deploy.stale, deploy.text) == (ref, 24001, stale, text)
    stale_issues = [i for i in ci_issues(b) if "stale binary" in i[2]]
    assert bool(stale_issues) is bool(stale)


def test_an_unreadable_deploy_trail_is_unknown_and_one_fleet_issue() -> None:
    seen = ci_seen()
    seen.deploys_unread("ssm:ListCommands denied (AccessDenied)")
    b = seen.board()
    assert {e.deploy.text for e in b.environments if e.deploy} == {
        "unknown: ssm:ListCommands denied (AccessDenied)"
    }
    assert [i.check for i in b.summary.issues] == ["source:aws:deploy-trail"]


def test_an_instance_with_no_deploy_on_record_says_so() -> None:
    b = board()  # the trail was read and names no deploy
    assert {e.deploy.text for e in b.environments if e.deploy} == {"no CI deploy on record"}


def test_an_annotated_run_waits_behind_the_run_whose_marker_holds_the_slot() -> None:
    # The slot-claim job runs first; the slot-bound jobs wait for the concurrency group.
    b = board(run(7, marker=2), run(9, pr=500, claim=(2, None)))
    ci = slot_of(b, "test-2")
    assert [r.number for r in ci.holders] == [7]
    assert [(r.number, r.mapped_by) for r in ci.queued] == [(9, SlotBasis.ANNOTATION)]
    assert ci_issues(b) == []
