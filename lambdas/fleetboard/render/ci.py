"""CI and deploys on the page: run links, how a run was tied to its slot, slot states."""

from __future__ import annotations

import re
from collections.abc import Sequence

from fleetboard.model import SlotBasis
from fleetboard.render.formats import JsonDoc

#: The one kind of external URL the page carries: a GitHub Actions run page, as a plain link
#: the operator clicks (never a resource the page loads).
RUN_URL = re.compile(r"https://github\.com/[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+/actions/runs/(\d+)")

#: How a run was tied to its slot (docs/fleet.md#ci), for the label's title.
MAPPED_BY: dict[str, str] = {
    SlotBasis.MARKER: "slot read from the run's marker step (test-fleet slot N)",
    SlotBasis.ANNOTATION: "slot read from the run's slot-claim annotation",
    SlotBasis.COMPUTED: (
        "slot computed as PR number % slot count + 1, a guess: its jobs were not read"
    ),
}


def run_url(run: JsonDoc) -> str | None:
    """The run's GitHub page when its URL is exactly one (and of this run), else None: the
    page shows the run number as plain text rather than link anything else."""
    url: str = run["url"]
    found = RUN_URL.fullmatch(url)
    return url if found and int(found.group(1)) == run["run_id"] else None


def mapping(run: JsonDoc) -> str:
    """Why the board puts a run on its slot."""
    by: str | None = run["mapped_by"]
    return MAPPED_BY.get(by or "", "not tied to a slot yet")


def workflow_name(path: str) -> str:
    """`.github/workflows/harness-ci.yml` -> `harness-ci.yml`."""
    return path.rsplit("/", 1)[-1]


def run_state(status: str) -> str:
    """GitHub's `in_progress` -> `in progress`."""
    return status.replace("_", " ")


def deploy_badge(deploy: JsonDoc) -> str:
    """`stale` (behind main), `unknown` (cannot tell, the text says why) or `` (current, or
    nothing to compare: "no CI deploy on record")."""
    if deploy["stale"]:
        return "stale"
    if deploy["stale"] is None and (deploy["ref"] is not None or deploy["text"].startswith(UNK)):
        return "unknown"
    return ""


def deploy_reason(deploy: JsonDoc) -> str:
    """The deploy's text beside its badge, without the leading `unknown: ` the badge says."""
    text: str = deploy["text"]
    return text.removeprefix(UNK) if deploy_badge(deploy) == "unknown" else text


UNK = "unknown: "


def ci_state(ci: JsonDoc | None) -> str:
    """The fleet's CI part: `off` (no [github]), `unknown` (not read this pass) or `ok`."""
    if ci is None or not ci["configured"]:
        return "off"
    return "unknown" if ci["status"] == "unknown" else "ok"


def slot_state(env: JsonDoc, ci: JsonDoc | None) -> str:
    """What a card says about CI: `` (nothing: not a test slot, or CI off), `unknown`,
    `free`, `held`, or `clash` (more than one run holds the slot)."""
    state = ci_state(ci)
    if env["kind"] != "test-slot" or state == "off":
        return ""
    slot: JsonDoc | None = env["ci"]
    if state == "unknown" or slot is None:
        return "unknown"
    holders = len(slot["holders"])
    return "free" if holders == 0 else "held" if holders == 1 else "clash"


def runs_by_id(ci: JsonDoc | None) -> dict[int, JsonDoc]:
    """The runs in flight by id, so a deploy by one of them names it by number, linked."""
    return {r["run_id"]: r for r in ci["runs"]} if ci else {}


def clashing(envs: Sequence[JsonDoc]) -> dict[int, int]:
    """Run id -> how many runs hold its slot, for the runs that hold one with another run."""
    return {
        r["run_id"]: len(env["ci"]["holders"])
        for env in envs
        if env["ci"] and len(env["ci"]["holders"]) > 1
        for r in env["ci"]["holders"]
    }


# --------------------------------------------------------------------------- chain identity
