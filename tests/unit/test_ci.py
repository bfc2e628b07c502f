"""Which slot a CI run holds: marker step, slot-claim annotation, PR# % N + 1 (fleetboard.ci)."""

from __future__ import annotations

from typing import Any

import pytest

from fleetboard.ci import (
    SlotClaim,
    annotation_slot,
    computed_slot,
    marker_slot,
    slot_claim,
    slot_claim_job_id,
)
from fleetboard.model import CiJob, CiRun, SlotBasis


def run(*, jobs: tuple[CiJob, ...] | None = None, **fields: Any) -> CiRun:
    base: dict[str, Any] = {
        "id": 1,
        "number": 1,
        "url": "https://github.com/litentry/agentKeys/actions/runs/1",
        "workflow": ".github/workflows/e2e-ci.yml",
        "status": "in_progress",
        "event": "pull_request",
        "branch": "feature",
        "head_sha": "0" * 40,
        "title": "a change",
        "actor": "octocat",
        "pr": None,
        "created_at": None,
        "started_at": None,
    }
    return CiRun(**{**base, **fields}, jobs=jobs)


def job(name: str, *steps: str, status: str = "in_progress", job_id: int = 7) -> CiJob:
    return CiJob(job_id, name, status, None, steps)


@pytest.mark.parametrize(
    ("steps", "slot"),
    [
        (("Set up job", "test-fleet slot 2", "Deploy"), 2),
        (("test-fleet slot 12",), 12),
        (("  Test-Fleet  Slot 3 ",), 3),
        (("test-fleet slot two",), None),
        (("test-fleet slot 2 (legacy)",), None),
        (("Run test-fleet slot 2 check",), None),
        ((), None),
    ],
    ids=[
        "marker",
        "two-digits",
        "case-and-space",
        "not-a-number",
        "trailing-text",
        "inside",
        "none",
    ],
)
def test_marker_slot_reads_only_a_step_named_exactly_like_the_marker(
    steps: tuple[str, ...], slot: int | None
) -> None:
    assert marker_slot(run(jobs=(job("deploy", *steps),))) == slot


def test_marker_slot_without_jobs_read_is_none() -> None:
    assert marker_slot(run(jobs=None)) is None


@pytest.mark.parametrize(
    ("annotations", "found"),
    [
        (("slot-claim slot=2 group=heima-test-slot-2",), (2, "heima-test-slot-2")),
        (("slot-claim slot=1 group=heima-test-deployer-nonce",), (1, "heima-test-deployer-nonce")),
        (("slot-claim slot=4",), (4, None)),
        (("something else", "note: slot-claim slot=3 group=g\nmore"), (3, "g")),
        (("slot-claim slot=x group=g",), None),
        ((), None),
    ],
    ids=["slot-2", "legacy-group", "no-group", "among-others", "bad-number", "none"],
)
def test_annotation_slot_reads_the_slot_claim_message(
    annotations: tuple[str, ...], found: tuple[int, str | None] | None
) -> None:
    assert annotation_slot(run(annotations=annotations)) == found


@pytest.mark.parametrize(
    ("pr", "slots", "slot"), [(276, 2, 1), (277, 2, 2), (277, 1, 1), (300, 3, 1), (302, 3, 3)]
)
def test_computed_slot_is_pr_mod_n_plus_one(pr: int, slots: int, slot: int) -> None:
    assert computed_slot(pr, slots) == slot


def test_computed_slot_needs_at_least_one_slot() -> None:
    with pytest.raises(ValueError, match="slot_count must be at least 1, not 0"):
        computed_slot(5, 0)


def test_slot_claim_prefers_marker_then_annotation_then_computed() -> None:
    marked = job("deploy", "test-fleet slot 2")
    claim = ("slot-claim slot=3 group=heima-test-slot-3",)

    assert slot_claim(run(jobs=(marked,), annotations=claim, pr=10), 3) == SlotClaim(
        2, SlotBasis.MARKER
    )
    assert slot_claim(run(jobs=(), annotations=claim, pr=10), 3) == SlotClaim(
        3, SlotBasis.ANNOTATION, "heima-test-slot-3"
    )
    assert slot_claim(run(jobs=(), pr=10), 3) == SlotClaim(2, SlotBasis.COMPUTED)
    assert slot_claim(run(jobs=(), pr=None), 3) is None  # a push or dispatch: no PR number
    assert slot_claim(run(jobs=(), pr=10), 0) is None  # no slots to compute over


@pytest.mark.parametrize(
    ("status", "found"),
    [("completed", 9), ("in_progress", 9), ("queued", None), ("pending", None)],
)
def test_the_slot_claim_job_is_read_once_it_has_started(status: str, found: int | None) -> None:
    jobs = (job("rust-checks", job_id=8), job("slot-claim", status=status, job_id=9))
    assert slot_claim_job_id(run(jobs=jobs)) == found
