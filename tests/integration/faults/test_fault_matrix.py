"""The fault matrix: every source x every way its far end can fail -> the board it must give.

Each cell breaks ONE thing of a small healthy fleet (see conftest.py) and runs a whole pass
with an 8 s deadline in a thread joined at deadline + grace + slack. Then:

  (a) the pass returned in time (an overrun fails the cell; nothing here sleeps),
  (b) the broken part says what the table says, with a reason naming the fault,
  (c) every other part is exactly what the healthy pass said,
  (d) a board was published: latest.json, its history copy and index.html, of one pass.

For aws, github and chain the broken part is the source's own: unknown, never green, never
"missing", never red for the fleet. host, agent and metrics are one AWS call each: their
cells break that call alone while every other AWS call reaches moto (conftest's SplitRelay),
and their check of the environment is unknown (for metrics, the card's figures are gone
too). The aws cells break every call at once, so there the host and agent checks are
unknown too, and the metrics check, which has no instances to ask about; a refused or
unresolvable endpoint is theirs only there (staging.py says why they have no such cell).

billing (Cost Explorer, on only in its cells) is information, not health: its endpoint is
its own (Wiring.ce_url), so every fault is its alone, and it breaks only the month figure,
which says "unknown" with the reason; every status, issue and the daily estimate stay as the
healthy pass said (a "healthy" cell shows the figure read, and the same board besides).

For http and tls the broken thing is one of the fleet's hosts (faulty.fleet.test): its
failure is the fleet's, red as the rules say, while the tls check of a host never reached
says "not observed" (unknown) and leaves the red to http.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from tests.integration.faults.conftest import (
    FAULTY,
    LOG_LINE,
    PROD_LOAD,
    SHOWN_LOG_LINE,
    Outcome,
    Rig,
    statuses,
)
from tests.integration.faults.servers import Behaviour
from tests.integration.faults.staging import HEALTHY_HOST, SPLIT_CALLS, stage

from fleetboard.publish import INDEX, LATEST

GREEN, AMBER, RED, UNKNOWN = "green", "amber", "red", "unknown"
#: Every part of the board a cell compares with the healthy pass's.
PARTS = ("aws", "http", "tls", "host", "agent", "metrics", "github", "chain")
#: The sources whose far end is a service, and whose own part is unknown when it fails.
SERVICES = ("aws", "host", "agent", "metrics", "github", "chain")
#: The sources that read the machine the aws source found, on the endpoint it uses.
MACHINE_SOURCES = tuple(SPLIT_CALLS)
#: How many of the newest CPU figures a metrics part compares. The rig's world publishes 36
#: (3 h of 5-minute points) once; as the clock moves on, the oldest leave the window read,
#: one every 5 minutes, while the newest 30 stay in it for 25 minutes or more: far longer
#: than the matrix takes, however slowly its cells run.
CPU_FIGURES_COMPARED = 30

# ------------------------------------------------------------------ what each cell must show
#
# Reasons are case-insensitive regular expressions searched for in the part's reason.
TIMEOUT = r"timed? ?out|timeout|no (complete )?answer (in time|within \d)"
REFUSED = r"refused|could not connect"
#: AWS names its 500s by code: EC2's InternalError, SSM's InternalServerError, CloudWatch's
#: InternalServiceError.
HTTP_500 = r"\b500\b|Internal(Server|Service)?Error"
WRONG = r"wrong content|not an? (\w+ )*answer|unexpected content|text/html|html"
#: JSON or XML, of the service's content type, that is not an answer to what was asked.
WRONG_SHAPE = (
    r"wrong|unexpected|shape|not an? (\w+ )*answer|not AWS's|unlike GitHub's|must contain"
    r"|malformed answer: \d+ results? for \d+ requests|answered without \w+"
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


#: A fault of a service's far end (aws, github, chain; or one AWS call, for host and agent)
#: -> what the reason must name: the service's own part is unknown, whatever the fault.
SERVICE_FAULTS = {
    "refused": REFUSED,
    "silent": TIMEOUT,
    "trickle": TIMEOUT,
    "500": HTTP_500,
    "wrong-content": WRONG,
    "wrong-shape": WRONG_SHAPE,
    "malformed": MALFORMED,
    "oversized": TOO_LARGE,
    "throttled": THROTTLED,
    "dns": DNS,
}


def service_cells(source: str) -> list[Any]:
    """A cell of `source` for each of SERVICE_FAULTS."""
    return [cell(source, fault, Want(UNKNOWN, reason)) for fault, reason in SERVICE_FAULTS.items()]


#: Faults of a whole endpoint, before any call is named: not a split call's (staging.py).
ENDPOINT_FAULTS = ("refused", "dns")


def split_cells(source: str) -> list[Any]:
    """A cell of `source`, one AWS call split off from the rest, for each fault of a call."""
    return [
        cell(source, fault, Want(UNKNOWN, reason))
        for fault, reason in SERVICE_FAULTS.items()
        if fault not in ENDPOINT_FAULTS
    ]


#: The host's tls check when its handshake went well: green, no reason.
TLS_FINE = (GREEN, r"^$")
#: Faults of a host that answers, over good TLS, badly -> its http check's (red) reason.
HTTP_ANSWERED = {
    "silent": r"^timeout",
    "trickle": r"^timeout",
    "500": r"^http 500$",
    "wrong-content": r"^body: ",
    "wrong-shape": r"^body: ",
    "malformed": r"^body: ",
    "oversized": r"^body: too large",
    "throttled": r"^http 429$",
}
#: Faults of the TLS layer that leave the host never reached: its tls check is unknown and
#: its http check red, both for this reason.
TLS_UNREACHED = {
    "refused": r"^connect",
    "silent": r"^timeout",  # no ServerHello
    "trickle": r"^timeout",  # the handshake at 1 B/s
    "malformed": r"^tls",  # not TLS at all
    "oversized": r"^tls",  # a 300 KB chain
    "dns": r"^dns",
}

MATRIX = [
    # ---- aws: its part is the machine (lifecycle, instance, EIP, drift, deploy trail)
    *service_cells("aws"),
    # ---- host, agent, metrics: one AWS call each (EC2's XML, SSM's and CloudWatch's JSON);
    # their check of prod (and for metrics, the card's figures)
    *split_cells("host"),  # ec2:DescribeInstanceStatus
    *split_cells("agent"),  # ssm:DescribeInstanceInformation
    *split_cells("metrics"),  # cloudwatch:GetMetricData
    # ---- logs: one AWS call (CloudWatch Logs' JSON), [logs] on in its cells only; its part
    # is prod's errors part, unknown with the reason, and nothing else changes: log lines
    # are information, never health
    *[c for c in split_cells("logs") if c.id != "logs-500"],  # logs:FilterLogEvents
    # CloudWatch Logs' 500 is ServiceUnavailableException: its code names no 500.
    cell("logs", "500", Want(UNKNOWN, r"ServiceUnavailable")),
    # ---- http: one host of the fleet misbehaves; its /healthz check (and its tls check)
    cell("http", "refused", Want(RED, r"^connect: .*refused", (UNKNOWN, r"^connect"))),
    *[cell("http", fault, Want(RED, reason, TLS_FINE)) for fault, reason in HTTP_ANSWERED.items()],
    cell("http", "dns", Want(RED, r"^dns", (UNKNOWN, r"^dns"))),
    cell("http", "dns-hang", Want(RED, r"^(dns|timeout)", (UNKNOWN, r"^(dns|timeout)"))),
    # ---- tls: the same host fails at the TLS layer; its tls check (and its http check)
    *[cell("tls", fault, Want(UNKNOWN, why, (RED, why))) for fault, why in TLS_UNREACHED.items()],
    cell("tls", "500", Want(*TLS_FINE, (RED, r"^http 500$"))),  # TLS itself is fine
    cell("tls", "wrong-content", Want(RED, r"^tls: .*(hostname|match)", (RED, r"^tls"))),
    cell("tls", "throttled", Want(*TLS_FINE, (RED, r"^http 429$"))),
    # ---- github: its part is the CI line ("throttled": 403, X-RateLimit-Remaining: 0)
    *service_cells("github"),
    cell("github", "throttled-429", Want(UNKNOWN, THROTTLED)),  # secondary rate limit
    # ---- chain: its part is the chain line and every wallet and deposit
    *service_cells("chain"),  # "throttled": HTTP 429, JSON-RPC -32005
    # ---- billing: ce:GetCostAndUsage at Cost Explorer's own endpoint; its part is each
    # card's month figure ("trickle": the pass abandons it at the deadline)
    *service_cells("billing"),
    cell("billing", "healthy", Want("known", r"^$")),
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
    if source == "metrics":
        run = doc["collector"]["sources"][source]
        check = next(c for c in env["checks"] if c["id"] == f"source:metrics:{env['name']}")
        figures = env.get("metrics")
        if figures is not None:  # when they were read is the pass's own; what was read is not
            cpu = [v for v in figures["cpu"] if v is not None][-CPU_FIGURES_COMPARED:]
            figures = {**figures, "cpu": cpu, "observed_at": None}
        said = (check["status"], check["reason"], check["summary"])
        return (run["ok"], run["error"], said, figures)
    if source in SPLIT_CALLS:
        run = doc["collector"]["sources"][source]
        mine = {k: v for k, v in keep.items() if k.startswith(f"source:{source}:")}
        return (run["ok"], run["error"], mine)
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
    if source in SPLIT_CALLS:
        return [(f"{source} check", *checks[f"source:{source}:{env['name']}"])]
    if source == "logs":
        tail = env["logs"]
        return [("errors part", UNKNOWN if tail["unknown"] else "known", tail["unknown"] or "")]
    if source == "github":
        ci = doc["ci"]
        return [("CI line", ci["status"], ci["error"] or "")]
    if source == "billing":
        month = env["month_cost"]
        said = "unknown" if month["amount"] is None else "known"
        return [("month figure", said, month["reason"] or "")]
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
    # The machine under prod: its status checks passed, nothing scheduled, CI can deploy.
    checks = statuses(doc)
    assert checks["source:host:prod"][0] == GREEN, checks
    assert checks["source:agent:prod"][0] == GREEN, checks
    assert "source:host:prod:events" not in checks
    # Its load as CloudWatch holds it: the card's CPU line has figures, around the average
    # published, and the latest credits, memory and disk are the ones published.
    assert checks["source:metrics:prod"][0] == GREEN, checks
    figures = _env(doc)["metrics"]
    cpu = [v for v in figures["cpu"] if v is not None]
    assert len(cpu) > CPU_FIGURES_COMPARED, figures
    assert all(0.5 * PROD_LOAD.cpu <= v <= 1.5 * PROD_LOAD.cpu for v in cpu), cpu
    published = (PROD_LOAD.credits, PROD_LOAD.memory, PROD_LOAD.disk)
    assert (figures["credits"], figures["memory"], figures["disk"]) == published, figures
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
    if source in SERVICES:
        run = doc["collector"]["sources"][source]
        assert run["ok"] is False and re.search(want.reason, run["error"] or "", re.I), run
        # A blind spot is never health, never an empty world, never the fleet's fault.
        assert doc["summary"]["status"] == UNKNOWN, doc["summary"]
        assert all(e["lifecycle"] != "missing" for e in doc["environments"])
        assert not any(i["status"] == RED for i in doc["summary"]["issues"]), doc["summary"]
    if source in ("aws", *MACHINE_SOURCES, "chain"):
        assert _env(doc)["status"] == UNKNOWN, "the environment cannot be greener than its part"
    if source == "logs":
        # prod's tail is unknown and shows no lines; its environment stays green: log lines
        # are never health. A read that failed is the tail's alone (the source answered);
        # one still trickling at the deadline fails the source, which the footer says, and
        # still makes no issue: an information source (registry) colours nothing.
        assert _env(doc)["logs"]["services"] == [] and _env(doc)["logs"]["as_of"] is None
        assert _env(doc)["status"] == GREEN
        added = [i for i in doc["summary"]["issues"] if i not in baseline["summary"]["issues"]]
        assert added == [] and doc["summary"]["status"] == GREEN, added
    if source == "metrics":  # no figures from a failed read: the card draws no CPU line
        assert _env(doc).get("metrics") is None, _env(doc)["metrics"]
    if source == "github":
        assert _env(doc)["status"] == GREEN  # CI is the fleet's line, not prod's health
    if source == "billing":
        _assert_only_the_month(doc, baseline, fault)
    if source == "aws":  # every AWS call failed: the machine's checks are blind too
        _assert_machine_blind(doc, want if fault in ENDPOINT_FAULTS else None)
    if wiring.split_call is not None:
        # That call alone went to the fault server; the aws source's (instances, the deploy
        # trail) and the other machine source's reached moto.
        assert set(rig.relay.calls("split")) == {wiring.split_call}, rig.relay.routed
        others = set(SPLIT_CALLS.values()) - {wiring.split_call}
        relayed = set(rig.relay.calls("relayed"))
        assert {"ec2:DescribeInstances", "ssm:ListCommands", *others} <= relayed, relayed

    # (c) everything else is as the healthy pass saw it; for a host, the other hosts' checks
    shared_endpoint = MACHINE_SOURCES if source == "aws" else ()
    for name in PARTS:
        if name != source and name not in shared_endpoint:
            assert part(doc, name) == part(baseline, name), f"the {name} part changed"
    if source in ("http", "tls"):
        assert part(doc, source) == part(baseline, source), "another host's check changed"
    assert rig.openapi.take_errors() == []  # the healthy fake GitHub stayed GitHub-shaped


def _assert_only_the_month(doc: dict[str, Any], baseline: dict[str, Any], fault: str) -> None:
    """Cost Explorer read or not, the board is the healthy one but for the month figure:
    the same statuses, issues and next action, the same daily estimate; its footer line
    is its own (a pass that had to abandon it says so there)."""
    for key in ("status", "suggested_next_action"):
        assert doc["summary"][key] == baseline["summary"][key], doc["summary"]
    said = [(i["env"], i["check"], i["status"]) for i in doc["summary"]["issues"]]
    assert said == [(i["env"], i["check"], i["status"]) for i in baseline["summary"]["issues"]]
    env, healthy = _env(doc), _env(baseline)
    assert healthy.get("month_cost") is None  # off in the healthy pass
    assert env["status"] == healthy["status"] == GREEN
    assert statuses(doc) == statuses(baseline)
    daily = ("per_day", "instance_hourly", "ipv4_hourly")
    assert [env["cost"][k] for k in daily] == [healthy["cost"][k] for k in daily]
    # Where the prices come from, but when they were read (each cell reads them afresh).
    read_at = re.compile(r", read \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC")
    assert read_at.sub("", env["cost"]["basis"]) == read_at.sub("", healthy["cost"]["basis"])
    run = doc["collector"]["sources"]["billing"]
    if fault == "healthy":
        assert env["month_cost"]["amount"] == 25.75  # prod's EIP and instance by Name tag
        assert env["month_cost"]["values"] == ["agentkeys-broker-eip", "agentkeys-broker"]
    # Its own failures are facts with a reason; only a read the pass abandoned fails the run.
    assert run["ok"] is (fault != "trickle"), run


def test_with_logs_a_healthy_pass_shows_prod_s_error_line_masked_and_nothing_else_changes(
    rig: Rig, baseline: dict[str, Any], tmp_path: Path
) -> None:
    """The logs cells' control: [logs] on, CloudWatch Logs answering. prod's errors part
    has the rig's line, masked; an error line makes nothing amber or red."""
    rig.tls.behave(HEALTHY_HOST)
    rig.plain.behave(Behaviour())
    outcome = rig.run(replace(rig.healthy(), logs=True), tmp_path / "board")
    assert outcome.error is None and outcome.result is not None, outcome.error
    doc = outcome.doc

    tail = _env(doc)["logs"]
    assert tail["unknown"] is None
    # Read during this pass: at or before the time the board was made, within the pass.
    as_of, made = (datetime.fromisoformat(t) for t in (tail["as_of"], doc["generated_at"]))
    assert timedelta(0) <= made - as_of <= timedelta(seconds=doc["collector"]["duration_s"] + 1)
    assert [(s["service"], [line["text"] for line in s["lines"]]) for s in tail["services"]] == [
        ("broker", [SHOWN_LOG_LINE])
    ]
    run = doc["collector"]["sources"]["logs"]
    assert run["ok"] is True and run["requests"] == 1  # one request, one group
    assert doc["summary"]["status"] == GREEN and _env(doc)["status"] == GREEN
    for name in PARTS:
        assert part(doc, name) == part(baseline, name), f"the {name} part changed"
    published = (outcome.out / LATEST).read_text() + (outcome.out / INDEX).read_text()
    assert LOG_LINE not in published and "fm-log-secret-0001" not in published


def _assert_machine_blind(doc: dict[str, Any], want: Want | None) -> None:
    """The host, agent and metrics checks of prod are unknown, their sources' runs failed.
    With `want`, the host and agent reasons name the fault (an endpoint refused or
    unresolvable is theirs too); metrics, which asks about the instances the aws source
    found, says it was not read for want of them, and the card has no figures."""
    checks = statuses(doc)
    for source in MACHINE_SOURCES:
        status, reason = checks[f"source:{source}:{_env(doc)['name']}"]
        run = doc["collector"]["sources"][source]
        assert status == UNKNOWN and run["ok"] is False, (source, status, reason, run)
        if source == "metrics":
            assert re.search(r"not read: the aws source", reason, re.I), reason
            assert _env(doc).get("metrics") is None, _env(doc)["metrics"]
        elif want is not None:
            assert re.search(want.reason, reason, re.I), f"{source}: {reason!r}"
            assert re.search(want.reason, run["error"] or "", re.I), f"{source}: {run}"


def _assert_published(outcome: Outcome, doc: dict[str, Any]) -> None:
    out = outcome.out
    assert (out / LATEST).is_file() and (out / INDEX).is_file()
    history = sorted((out / "history").rglob("*.json"))
    assert len(history) == 1 and history[0].read_bytes() == (out / LATEST).read_bytes()
    page = (out / INDEX).read_text()
    assert f'data-generated-at="{doc["generated_at"]}"' in page
    assert not any(p.name.startswith(".") or p.suffix == ".tmp" for p in out.rglob("*"))
