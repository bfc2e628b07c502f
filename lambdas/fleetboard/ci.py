"""Which test slot a CI run holds, from what the github source read: pure, no I/O.

The fleet's CI says it three ways (docs/fleet.md#ci), best first: a no-op marker step named
`test-fleet slot N` in the slot-bound jobs, the `slot-claim` job's annotation
`slot-claim slot=N group=G`, and, when neither is there yet, the static rule PR# % N + 1.

    claim = slot_claim(run, inventory.test_slots())
    if claim is not None and claim.basis is SlotBasis.COMPUTED:
        label = f"slot {claim.slot} (computed)"
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from fleetboard.model import CiRun, SlotBasis

#: Run (and job) statuses that mean "not finished": GitHub's `status` values short of
#: `completed`. `waiting` is an environment approval, `pending` a concurrency-group wait.
IN_FLIGHT = frozenset({"queued", "in_progress", "waiting", "pending", "requested"})
#: The run status of a run that has started; every other in-flight status is waiting.
RUNNING = "in_progress"
#: The job (display name) that publishes the `slot-claim` annotation.
SLOT_CLAIM_JOB = "slot-claim"

_MARKER = re.compile(r"^\s*test-fleet\s+slot\s+(\d+)\s*$", re.IGNORECASE)
_CLAIM = re.compile(r"\bslot-claim\s+slot=(\d+)(?:\s+group=(\S+))?", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class SlotClaim:
    slot: int
    basis: SlotBasis
    group: str | None = None  # the concurrency group, when the annotation named it


def marker_slot(run: CiRun) -> int | None:
    """The N of the first step named `test-fleet slot N` in the run's jobs, if any.

    A job lists its steps once it has started, so a run whose slot-bound jobs still wait
    for their concurrency group has no marker yet.
    """
    for job in run.jobs or ():
        for step in job.steps:
            m = _MARKER.match(step)
            if m is not None:
                return int(m.group(1))
    return None


def annotation_slot(run: CiRun) -> tuple[int, str | None] | None:
    """(N, group) from the first `slot-claim slot=N group=G` annotation; group may be absent.

    `("slot-claim slot=3 group=heima-test-slot-3",)` gives `(3, "heima-test-slot-3")`.
    """
    for message in run.annotations:
        m = _CLAIM.search(message)
        if m is not None:
            return int(m.group(1)), m.group(2)
    return None


def computed_slot(pr: int, slot_count: int) -> int:
    """The static fallback the workflow uses before it claims a slot: PR# % N + 1.

    >>> [computed_slot(pr, 2) for pr in (276, 277)]
    [1, 2]
    """
    if slot_count < 1:
        raise ValueError(f"slot_count must be at least 1, not {slot_count}")
    return pr % slot_count + 1


def slot_claim(run: CiRun, slot_count: int) -> SlotClaim | None:
    """The run's slot by the best evidence there is; None when there is none (no marker, no
    annotation, and no PR number or no slots to compute from)."""
    marker = marker_slot(run)
    if marker is not None:
        return SlotClaim(marker, SlotBasis.MARKER)
    claimed = annotation_slot(run)
    if claimed is not None:
        return SlotClaim(claimed[0], SlotBasis.ANNOTATION, claimed[1])
    if run.pr is not None and slot_count >= 1:
        return SlotClaim(computed_slot(run.pr, slot_count), SlotBasis.COMPUTED)
    return None


def slot_claim_job_id(run: CiRun) -> int | None:
    """The id of the run's `slot-claim` job (its check run), once it has started: before that
    it has no annotations to read."""
    for job in run.jobs or ():
        if job.name == SLOT_CLAIM_JOB and job.status in ("in_progress", "completed"):
            return job.id
    return None
