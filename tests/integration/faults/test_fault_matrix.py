"""The fault matrix: every source x every way its far end can fail -> the board it must give.

Each cell breaks ONE thing of a small healthy fleet (see conftest.py) and runs a whole pass
with a 4 s deadline in a thread joined at deadline + grace + slack. Then:

  (a) the pass returned in time (an overrun fails the cell; nothing here sleeps),
  (b) the broken part says what the table says, with a reason naming the fault,
  (c) every other part is exactly what the healthy pass said,
  (d) a board was published: latest.json, its history copy and index.html, of one pass.

For aws, github and chain the broken part is the source's own: unknown, never green, never
"missing", never red for the fleet. For http and tls the broken thing is one of the fleet's
hosts (faulty.fleet.test): its failure is the fleet's, red as the rules say, while the tls
check of a host never reached says "not observed" (unknown) and leaves the red to http.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from tests.integration.faults.conftest import FAULTY, Outcome, Rig, statuses
from tests.integration.faults.servers import Behaviour
from tests.integration.faults.staging import HEALTHY_HOST, stage

from fleetboard.publish import INDEX, LATEST

GREEN, AMBER, RED, UNKNOWN = "green", "amber", "red", "unknown"

# ------------------------------------------------------------------ what each cell must show
#
# Reasons are case-insensitive regular expressions searched for in the part's reason.
TIMEOUT = r"timed? ?out|timeout|no (complete )?answer (in time|within \d)"
REFUSED = r"refused|could not connect"
HTTP_500 = r"\b500\b|InternalError"  # AWS names its 500s by code
WRONG = r"wrong content|not an? (\w+ )*answer|unexpected content|text/html|html"
#: JSON or XML, of the service's content type, that is not an answer to what was asked.
WRONG_SHAPE = (
    r"wrong|unexpected|shape|not an? (\w+ )*answer|not AWS's|unlike GitHub's|must contain"
    r"|malformed answer: \d+ results? for \d+ requests"
)
MALFORMED = (
    r"malformed|not valid|invalid|not (JSON|XML)|could not (be )?(parsed|read)|unreadable|truncated"
)
TOO_LARGE = r"too large|over the (\d+ byte )?cap|oversized|exceeds"
THROTTLED = r"throttl|rate.?limit|\b429\b|too many requests"
DNS = r"\bdns\b|does not resolve|resolve|nxdomain"


@dataclass(frozen=True, slots=True)
class Want:
    """The broken part's status and reason; for a host, also its other check's."""

    status: str
    reason: str
    other: tuple[str, str] | None = None  # http row: its tls check; tls row: its http check


#: A cell the tree does not pass yet is marked here, temporarily (the aim is none):
#: cell(..., xfail="why"). strict: once fixed, it fails until its mark is removed.


def cell(source: str, fault: str, want: Want, *, xfail: str | None = None) -> Any:
    marks = [pytest.mark.xfail(strict=True, reason=xfail)] if xfail else []
    return pytest.param(source, fault, want, id=f"{source}-{fault}", marks=marks)


MATRIX = [
    # ---- aws: its part is the machine (lifecycle, instance, EIP, drift, deploy trail)
    cell("aws", "refused", Want(UNKNOWN, REFUSED)),
    cell("aws", "silent", Want(UNKNOWN, TIMEOUT)),
    cell("aws", "trickle", Want(UNKNOWN, TIMEOUT)),
    cell("aws", "500", Want(UNKNOWN, HTTP_500)),
    cell("aws", "wrong-content", Want(UNKNOWN, WRONG)),
    cell("aws", "wrong-shape", Want(UNKNOWN, WRONG_SHAPE)),
    cell("aws", "malformed", Want(UNKNOWN, MALFORMED)),
    cell("aws", "oversized", Want(UNKNOWN, TOO_LARGE)),
    cell("aws", "throttled", Want(UNKNOWN, THROTTLED)),
    cell("aws", "dns", Want(UNKNOWN, DNS)),
    # ---- http: one host of the fleet misbehaves; its /healthz check (and its tls check)
    cell("http", "refused", Want(RED, r"^connect: .*refused", (UNKNOWN, r"^connect"))),
    cell("http", "silent", Want(RED, r"^timeout", (GREEN, r"^$"))),
    cell("http", "trickle", Want(RED, r"^timeout", (GREEN, r"^$"))),
    cell("http", "500", Want(RED, r"^http 500$", (GREEN, r"^$"))),
    cell("http", "wrong-content", Want(RED, r"^body: ", (GREEN, r"^$"))),
    cell("http", "wrong-shape", Want(RED, r"^body: ", (GREEN, r"^$"))),
    cell("http", "malformed", Want(RED, r"^body: ", (GREEN, r"^$"))),
    cell("http", "oversized", Want(RED, r"^body: too large", (GREEN, r"^$"))),
    cell("http", "throttled", Want(RED, r"^http 429$", (GREEN, r"^$"))),
    cell("http", "dns", Want(RED, r"^dns", (UNKNOWN, r"^dns"))),
    cell("http", "dns-hang", Want(RED, r"^(dns|timeout)", (UNKNOWN, r"^(dns|timeout)"))),
    # ---- tls: the same host fails at the TLS layer; its tls check (and its http check)
    cell("tls", "refused", Want(UNKNOWN, r"^connect", (RED, r"^connect"))),
    cell("tls", "silent", Want(UNKNOWN, r"^timeout", (RED, r"^timeout"))),  # no ServerHello
    cell("tls", "trickle", Want(UNKNOWN, r"^timeout", (RED, r"^timeout"))),  # handshake 1 B/s
    cell("tls", "500", Want(GREEN, r"^$", (RED, r"^http 500$"))),  # TLS itself is fine
    cell("tls", "wrong-content", Want(RED, r"^tls: .*(hostname|match)", (RED, r"^tls"))),
    cell("tls", "malformed", Want(UNKNOWN, r"^tls", (RED, r"^tls"))),  # not TLS at all
    cell("tls", "oversized", Want(UNKNOWN, r"^tls", (RED, r"^tls"))),  # 300 KB chain
    cell("tls", "throttled", Want(GREEN, r"^$", (RED, r"^http 429$"))),
    cell("tls", "dns", Want(UNKNOWN, r"^dns", (RED, r"^dns"))),
    # ---- github: its part is the CI line
    cell("github", "refused", Want(UNKNOWN, REFUSED)),
    cell("github", "silent", Want(UNKNOWN, TIMEOUT)),
    cell("github", "trickle", Want(UNKNOWN, TIMEOUT)),
    cell("github", "500", Want(UNKNOWN, HTTP_500)),
    cell("github", "wrong-content", Want(UNKNOWN, WRONG)),
    cell("github", "wrong-shape", Want(UNKNOWN, WRONG_SHAPE)),
    cell("github", "malformed", Want(UNKNOWN, MALFORMED)),
    cell("github", "oversized", Want(UNKNOWN, TOO_LARGE)),
    cell("github", "throttled", Want(UNKNOWN, THROTTLED)),  # 403, X-RateLimit-Remaining: 0
    cell("github", "throttled-429", Want(UNKNOWN, THROTTLED)),  # secondary rate limit
    cell("github", "dns", Want(UNKNOWN, DNS)),
    # ---- chain: its part is the chain line and every wallet and deposit
    cell("chain", "refused", Want(UNKNOWN, REFUSED)),
    cell("chain", "silent", Want(UNKNOWN, TIMEOUT)),
    cell("chain", "trickle", Want(UNKNOWN, TIMEOUT)),
    cell("chain", "500", Want(UNKNOWN, HTTP_500)),
    cell("chain", "wrong-content", Want(UNKNOWN, WRONG)),
    cell("chain", "wrong-shape", Want(UNKNOWN, WRONG_SHAPE)),
    cell("chain", "malformed", Want(UNKNOWN, MALFORMED)),
    cell("chain", "oversized", Want(UNKNOWN, TOO_LARGE)),
    cell("chain", "throttled", Want(UNKNOWN, THROTTLED)),  # HTTP 429, JSON-RPC -32005
    cell("chain", "dns", Want(UNKNOWN, DNS)),
]

# ------------------------------------------------------------------ what a part is


def _env(doc: dict[str, Any]) -> dict[str, Any]:
    (env,) = doc["environments"]
    return dict(env)


def part(doc: dict[str, Any], source: str) -> Any:
    """What of the board belongs to `source`, in a form two passes can be compared by.
    Host checks of faulty.fleet.test are left out (the http and tls cells change them)."""
    env = _env(doc)
    keep = {k: v for k, v in statuses(doc).items() if FAULTY not in k}
    if source == "aws":
        machine = env["machine"]
        deploy = env.get("deploy") or {}
        return (
            env["lifecycle"],
            keep.get(f"machine:{env['name']}"),
            machine["instance_id"],
            machine["eip"],
            [(d["kind"], d["status"]) for d in env["drift"]],
            [(d["kind"], d["status"]) for d in doc["drift"]],
            (deploy.get("run_id"), deploy.get("ref")),
        )
    if source in ("http", "tls"):
        return {k: v for k, v in keep.items() if k.startswith(f"{source}:")}
    if source == "github":
        ci = doc["ci"]
        return (ci["status"], ci["error"], ci["in_progress"], ci["queued"], ci["runs"])
    if source == "chain":
        chain = env["chain"]
        wallets = [(w["role"], w["status"], w["balance_wei"]) for w in chain["wallets"]]
        line = doc["chain"]
        return (line["status"], line["error"], line["chain_id"], chain["status"], wallets)
    raise AssertionError(source)


def broken_part(doc: dict[str, Any], source: str) -> list[tuple[str, str, str | None]]:
    """(where, status, reason) of every place the broken source's failure must show."""
    env = _env(doc)
    checks = statuses(doc)
    if source == "aws":
        machine = checks[f"machine:{env['name']}"]
        reason = doc["collector"]["sources"]["aws"]["error"] or ""
        return [
            ("lifecycle", env["lifecycle"], reason),
            ("machine check", machine[0], machine[1]),
        ]
    if source == "github":
        ci = doc["ci"]
        return [("CI line", ci["status"], ci["error"] or "")]
    if source == "chain":
        line = doc["chain"]
        chain = env["chain"]
        # The environment's chain and its wallets carry no reason of their own: only their
        # status is checked there (None), the reason on the chain line.
        places: list[tuple[str, str, str | None]] = [
            ("chain line", line["status"], line["error"] or "")
        ]
        places.append(("environment chain", chain["status"], None))
        places += [(f"wallet {w['role']}", w["status"], None) for w in chain["wallets"]]
        return places
    if source == "http":
        return [("http check", *checks[f"http:{FAULTY}/healthz"])]
    return [("tls check", *checks[f"tls:{FAULTY}"])]


def other_check(doc: dict[str, Any], source: str) -> tuple[str, str]:
    checks = statuses(doc)
    return checks[f"tls:{FAULTY}"] if source == "http" else checks[f"http:{FAULTY}/healthz"]


# ------------------------------------------------------------------ the test


@pytest.fixture(scope="module")
def baseline(rig: Rig, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The healthy pass every cell is compared with: all green."""
    rig.tls.behave(HEALTHY_HOST)
    rig.plain.behave(Behaviour())
    outcome = rig.run(rig.healthy(), tmp_path_factory.mktemp("baseline"))
    assert outcome.error is None and outcome.result is not None, outcome.error
    doc = outcome.doc
    assert doc["summary"]["status"] == GREEN, doc["summary"]
    assert {s for s, _ in statuses(doc).values()} == {GREEN}, statuses(doc)
    assert doc["ci"]["status"] == GREEN and doc["chain"]["status"] == GREEN
    assert rig.openapi.take_errors() == []  # the fake GitHub spoke GitHub's published API
    return doc


@pytest.mark.parametrize(("source", "fault", "want"), MATRIX)
def test_fault_matrix(
    rig: Rig, baseline: dict[str, Any], tmp_path: Path, source: str, fault: str, want: Want
) -> None:
    wiring = stage(rig, source, fault)
    try:
        outcome = rig.run(wiring, tmp_path / "board")  # (a) fails the cell on an overrun
    finally:
        rig.hang_up()  # a source abandoned by the pass gets its EOF and ends
    assert outcome.error is None, f"the pass raised: {outcome.error!r}"
    assert outcome.result is not None
    assert outcome.result.error is None, f"nothing published: {outcome.result.error}"
    doc = outcome.doc
    other = other_check(doc, source) if want.other else None
    summary = {k: doc["summary"].get(k) for k in ("status", "message", "suggested_next_action")}
    print(f"observed in {outcome.elapsed_s:.2f} s: {broken_part(doc, source)} other: {other}")
    print(f"summary: {summary}")
    _assert_published(outcome, doc)  # (d)

    # (b) the broken part, wherever it shows
    for where, status, reason in broken_part(doc, source):
        assert status == want.status, f"{where}: {status} {reason!r}, want {want.status}"
        assert reason is None or re.search(want.reason, reason, re.IGNORECASE), (
            f"{where}: reason {reason!r} does not name the fault ({want.reason})"
        )
    if source == "chain":  # a keyless RPC URL is no secret: its scheme and host are shown
        assert not any("***" in (reason or "") for _, _, reason in broken_part(doc, source))
    if want.other is not None:
        status, reason = other_check(doc, source)
        assert (status, bool(re.search(want.other[1], reason, re.I))) == (want.other[0], True), (
            f"the host's other check: {status} {reason!r}, want {want.other}"
        )
    if source in ("aws", "github", "chain"):
        run = doc["collector"]["sources"][source]
        assert run["ok"] is False and re.search(want.reason, run["error"] or "", re.I), run
        # A blind spot is never health, never an empty world, never the fleet's fault.
        assert doc["summary"]["status"] == UNKNOWN, doc["summary"]
        assert all(e["lifecycle"] != "missing" for e in doc["environments"])
        assert not any(i["status"] == RED for i in doc["summary"]["issues"]), doc["summary"]
    if source in ("aws", "chain"):
        assert _env(doc)["status"] == UNKNOWN, "the environment cannot be greener than its part"
    if source == "github":
        assert _env(doc)["status"] == GREEN  # CI is the fleet's line, not prod's health

    # (c) everything else is as the healthy pass saw it; for a host, the other hosts' checks
    for name in ("aws", "http", "tls", "github", "chain"):
        if name != source:
            assert part(doc, name) == part(baseline, name), f"the {name} part changed"
    if source in ("http", "tls"):
        assert part(doc, source) == part(baseline, source), "another host's check changed"
    assert rig.openapi.take_errors() == []  # the healthy fake GitHub stayed GitHub-shaped


def _assert_published(outcome: Outcome, doc: dict[str, Any]) -> None:
    out = outcome.out
    assert (out / LATEST).is_file() and (out / INDEX).is_file()
    history = sorted((out / "history").rglob("*.json"))
    assert len(history) == 1 and history[0].read_bytes() == (out / LATEST).read_bytes()
    page = (out / INDEX).read_text()
    assert f'data-generated-at="{doc["generated_at"]}"' in page
    assert not any(p.name.startswith(".") or p.suffix == ".tmp" for p in out.rglob("*"))
