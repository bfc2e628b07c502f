"""Maintenance windows: when a window is open, what an environment or check in one shows,
and that a window never turns what the board could not see into green.

Every board here is the real rules' verdict on observations (tests/observed.py) of a
fleet.toml with [[maintenance]] tables; times of windows in other zones are worked out here
from the zone's offset on that day, said beside each.
"""

from __future__ import annotations

import re
import shutil
import tomllib
import zoneinfo
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest
from tests.boards import document
from tests.observed import NOW, SMALL_FLEET, Observed, all_running

from fleetboard import memory, render, snapshot, tomlout
from fleetboard.inventory import MaintenanceWindow, OneOff, Recurring
from fleetboard.model import Board, Check, EnvironmentView, ProbeError, Reason, Status
from fleetboard.rules.maintenance import edges, occurrence

ROOT = Path(__file__).resolve().parents[2]
AUDIT = "audit-test-2.litentry.org"
#: A one-off window over test-2 around NOW (2026-11-23 08:00:03 UTC, a Monday).
REBUILD = """
[[maintenance]]
reason = "slot 2 rebuild"
environments = ["test-2"]
start = "2026-11-23T07:00:00Z"
end = "2026-11-23T09:30:00Z"
"""
#: A check-level window over test-2's audit worker, open at NOW: Mondays 08:30 in Berlin,
#: 07:30 UTC in November (CET, UTC+1), for an hour.
AUDIT_WINDOW = """
[[maintenance]]
reason = "audit queue migration"
checks = ["test-2/worker:audit"]
every = "monday"
at = "08:30"
for_minutes = 60
timezone = "Europe/Berlin"
"""
BAD_GATEWAY = "<html><center>502 Bad Gateway</center></html>"


def env(board: Board, name: str) -> EnvironmentView:
    return next(e for e in board.environments if e.name == name)


def check(view: EnvironmentView, name: str) -> Check:
    return next(c for c in view.checks if c.name == name)


def broken_audit(windows: str = "", at: datetime = NOW) -> Observed:
    """SMALL_FLEET, all running, with audit-test-2 answering 502; and `windows`."""
    seen = all_running(SMALL_FLEET + windows, at=at)
    seen.answers(AUDIT, code=502, body=BAD_GATEWAY, ms=41)
    return seen


# --------------------------------------------------------------------------- when


def weekly(day: str, at: str, minutes: int, zone: str) -> Recurring:
    hour, minute = map(int, at.split(":"))
    return Recurring(day, time(hour, minute), minutes, zone)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_a_one_off_window_is_open_from_its_start_until_just_before_its_end() -> None:
    when = OneOff(utc(2026, 12, 5, 2), utc(2026, 12, 5, 4))
    assert occurrence(when, utc(2026, 12, 5, 1, 59, 59)) is None
    assert occurrence(when, utc(2026, 12, 5, 2)) == (when.start, when.end)
    assert occurrence(when, utc(2026, 12, 5, 3, 59, 59)) == (when.start, when.end)
    assert occurrence(when, utc(2026, 12, 5, 4)) is None


def test_a_weekly_window_follows_its_zone_through_a_clock_change() -> None:
    patching = weekly("sunday", "03:00", 60, "Europe/Berlin")
    # Sunday 1 Nov 2026, CET (UTC+1): 03:00 in Berlin is 02:00 UTC.
    assert occurrence(patching, utc(2026, 11, 1, 2, 30)) == (
        utc(2026, 11, 1, 2),
        utc(2026, 11, 1, 3),
    )
    assert occurrence(patching, utc(2026, 11, 1, 1, 30)) is None
    # Sunday 18 Oct 2026, CEST (UTC+2): the same wall-clock hour is 01:00 UTC.
    assert occurrence(patching, utc(2026, 10, 18, 1, 30)) == (
        utc(2026, 10, 18, 1),
        utc(2026, 10, 18, 2),
    )
    # Not on a Saturday.
    assert occurrence(patching, utc(2026, 10, 31, 2, 30)) is None


def test_a_start_the_clock_skips_opens_when_it_would_have_without_the_change() -> None:
    # 29 Mar 2026, Berlin: 02:00 CET jumps to 03:00 CEST, so 02:30 never shows on a clock;
    # the window opens at 01:30 UTC (02:30 CET), which the clock shows as 03:30 CEST.
    early = weekly("sunday", "02:30", 60, "Europe/Berlin")
    assert occurrence(early, utc(2026, 3, 29, 1, 45)) == (
        utc(2026, 3, 29, 1, 30),
        utc(2026, 3, 29, 2, 30),
    )


def test_a_window_crossing_its_zones_midnight_is_open_on_both_days() -> None:
    # Every day at 23:30 in New York (EST, UTC-5 in December) for 90 minutes: 04:30 to
    # 06:00 UTC, which in New York ends at 01:00 on the next day.
    nightly = weekly("day", "23:30", 90, "America/New_York")
    assert occurrence(nightly, utc(2026, 12, 5, 5, 50)) == (
        utc(2026, 12, 5, 4, 30),
        utc(2026, 12, 5, 6),
    )
    # Only Fridays: the Friday 23:30 window is still open at 00:30 on Saturday (New York).
    fridays = weekly("friday", "23:30", 90, "America/New_York")
    friday_night = utc(2026, 12, 5, 5, 30)  # Saturday 00:30 in New York
    assert occurrence(fridays, friday_night) == (utc(2026, 12, 5, 4, 30), utc(2026, 12, 5, 6))
    assert occurrence(fridays, friday_night + timedelta(days=1)) is None


def test_edges_are_every_opening_and_closing_in_a_span() -> None:
    windows = [
        MaintenanceWindow("nightly", weekly("day", "23:30", 90, "America/New_York"), ("prod",)),
        MaintenanceWindow("once", OneOff(utc(2026, 12, 5, 12), utc(2026, 12, 5, 13)), ("prod",)),
    ]
    assert edges(windows, utc(2026, 12, 5, 5), utc(2026, 12, 6, 5)) == [
        utc(2026, 12, 5, 6),  # the night that began before the span ends in it
        utc(2026, 12, 5, 12),
        utc(2026, 12, 5, 13),
        utc(2026, 12, 6, 4, 30),
    ]


def test_time_zones_come_from_the_tzdata_package_where_the_system_has_none() -> None:
    # The Lambda image has no /usr/share/zoneinfo: with no system path at all, zoneinfo
    # falls back to the tzdata wheel the bundle ships (lambdas/requirements.lock).
    zoneinfo.reset_tzpath(to=[])
    zoneinfo.ZoneInfo.clear_cache()
    try:
        berlin = zoneinfo.ZoneInfo("Europe/Berlin")
        assert datetime(2026, 7, 1, tzinfo=berlin).utcoffset() == timedelta(hours=2)
    finally:
        zoneinfo.reset_tzpath()
        zoneinfo.ZoneInfo.clear_cache()
    lock = (ROOT / "lambdas" / "requirements.lock").read_text()
    assert re.search(r"^tzdata==\S+", lock, re.M)


# --------------------------------------------------------------------------- the board


def test_an_environment_in_a_window_shows_maintenance_not_its_colour() -> None:
    board = broken_audit(REBUILD).board()
    test2 = env(board, "test-2")
    assert test2.maintenance is not None and test2.maintenance.reason == "slot 2 rebuild"
    assert test2.maintenance.ends == utc(2026, 11, 23, 9, 30)
    # Its check still says what it saw...
    assert check(test2, "worker:audit").status is Status.RED
    # ...but neither it nor the fleet is red for it, and no issue asks anyone to act.
    assert test2.status is Status.UNKNOWN
    assert board.summary.status is Status.GREEN
    assert [i for i in board.summary.issues if i.env == "test-2"] == []
    assert board.summary.counts["maintenance"] == 1
    assert "test-2" not in board.summary.suggested_next_action
    assert board.summary.message == (
        "All 3 running environments are green. "
        "In maintenance: test-2 until 09:30 UTC (slot 2 rebuild)."
    )


def test_once_the_window_closes_the_same_failure_is_red_again() -> None:
    after = broken_audit(REBUILD, at=utc(2026, 11, 23, 9, 30)).board()
    assert env(after, "test-2").maintenance is None
    assert env(after, "test-2").status is Status.RED
    assert after.summary.status is Status.RED
    assert "maintenance" not in after.summary.counts


def test_a_check_in_a_window_keeps_its_status_but_does_not_colour_its_environment() -> None:
    board = broken_audit(AUDIT_WINDOW).board()
    test2 = env(board, "test-2")
    audit = check(test2, "worker:audit")
    assert audit.status is Status.RED
    assert audit.maintenance is not None
    assert audit.maintenance.ends == utc(2026, 11, 23, 8, 30)  # 09:30 in Berlin
    assert test2.maintenance is None and test2.status is Status.GREEN
    assert board.summary.status is Status.GREEN
    # Its other checks are not in the window: a red one of them still counts.
    seen = broken_audit(AUDIT_WINDOW)
    seen.answers("cred-test-2.litentry.org", code=503, body="")
    assert env(seen.board(), "test-2").status is Status.RED


def test_a_run_holding_a_slot_in_maintenance_is_said_amber() -> None:
    seen = broken_audit(REBUILD + '\n[github]\nrepo = "a/b"\nworkflows = ["ci.yml"]\n')
    seen.reads_github(main_sha=None, main_committed_ago=None)
    seen.run(
        7,
        1287,
        pr=411,
        title="broker: rotate the OIDC signing key",
        branch="feat/x",
        created_ago=timedelta(minutes=16),
        started_ago=timedelta(minutes=15),
        job="deploy",
        marker=2,
    )
    board = seen.board()
    [issue] = [i for i in board.summary.issues if i.env == "test-2"]
    assert issue.status is Status.AMBER and issue.check == "ci"
    assert "in maintenance until 09:30 UTC (slot 2 rebuild)" in issue.detail
    assert env(board, "test-2").status is Status.AMBER  # what still matters while it rests


def test_a_retired_environment_is_not_put_in_maintenance() -> None:
    fleet = SMALL_FLEET.replace(
        'broker_host = "broker-test-2.litentry.org"',
        'broker_host = "broker-test-2.litentry.org"\nretired = true',
    )
    board = all_running(fleet + REBUILD).board()
    assert env(board, "test-2").maintenance is None
    assert env(board, "test-2").lifecycle.value == "retired"


# --------------------------------------------------------------------------- the fault rule
#
# Each fault leaves something unobserved; a window, over the environment or over one check,
# may excuse a failure but never makes what was not seen green.

FAULTS: dict[str, Callable[[Observed], None]] = {
    "aws-failed": lambda seen: seen.fails("aws", "timeout: ec2 did not answer"),
    "http-failed": lambda seen: seen.fails("http", "internal error (RuntimeError)"),
    "tls-failed": lambda seen: seen.fails("tls", "internal error (RuntimeError)"),
    "collector-blind": lambda seen: seen.nothing_resolves("Temporary failure in name resolution"),
    "out-of-time": lambda seen: seen.probes_fail(
        ProbeError(Reason.DEADLINE, "the pass ran out of time"), "test-2"
    ),
}
WINDOWS = {"environment": REBUILD, "check": AUDIT_WINDOW.replace("worker:audit", "*")}


@pytest.mark.parametrize("fault", list(FAULTS))
@pytest.mark.parametrize("kind", list(WINDOWS))
def test_a_window_never_turns_unknown_into_green(fault: str, kind: str) -> None:
    def board(windows: str) -> Board:
        seen = all_running(SMALL_FLEET + windows)
        FAULTS[fault](seen)
        return seen.board()

    without, within = board(""), board(WINDOWS[kind])
    was = env(without, "test-2")
    now = env(within, "test-2")
    assert was.status is not Status.GREEN  # the fault left test-2 not fully seen
    assert now.status is not Status.GREEN
    for before, after in zip(was.checks, now.checks, strict=True):
        assert after.status is before.status  # a window changes no check's verdict
    unseen = [c for c in now.checks if c.status is Status.UNKNOWN]
    assert unseen
    if kind == "check":  # its unknown checks are in the window, and still count
        assert all(c.maintenance is not None for c in unseen)
        assert now.status is Status.UNKNOWN


# --------------------------------------------------------------------------- memory, snapshot, page


def test_entering_and_leaving_a_window_are_changes_with_the_reason() -> None:
    times = [utc(2026, 11, 23, 6, 58), utc(2026, 11, 23, 7), utc(2026, 11, 23, 9, 30)]
    timeline = None
    for at in times:
        shown, timeline = memory.remember(timeline, broken_audit(REBUILD, at=at).board())
    lines = [
        (t.at, t.check, t.before, t.after, t.reason) for t in shown.recent if t.env == "test-2"
    ]
    assert lines[-1] == (
        times[1],
        None,
        "red",
        "maintenance",
        "test-2 in maintenance until 09:30 UTC: slot 2 rebuild",
    )
    assert lines[0][:4] == (times[2], None, "maintenance", "red")
    # The checks worked on inside the window make no lines of their own.
    assert [line for line in lines if line[1] is not None] == []


def test_a_check_entering_and_leaving_its_own_window_are_changes_too() -> None:
    """The audit worker is red all along; its window opens at 07:30 UTC and closes at 08:30.
    Going in and coming out are lines of its own (the environment's word changes with it);
    the passes inside make none, and a fleet with no window open holds no state for it."""
    times = [utc(2026, 11, 23, 7, 28), utc(2026, 11, 23, 7, 30), utc(2026, 11, 23, 8)]
    times += [utc(2026, 11, 23, 8, 30)]
    timeline = None
    holds = []
    for at in times:
        shown, timeline = memory.remember(timeline, broken_audit(AUDIT_WINDOW, at=at).board())
        holds.append(sorted(k for k in timeline.held if k.startswith("window:")))
    lines = [(t.at, t.check, t.before, t.after, t.reason) for t in reversed(shown.recent)]
    audit = [line for line in lines if line[1] == "worker:audit"]
    assert audit == [
        (
            times[1],
            "worker:audit",
            "red",
            "maintenance",
            "test-2 worker:audit in maintenance until 08:30 UTC: audit queue migration",
        ),
        (times[3], "worker:audit", "maintenance", "red", audit[1][4]),
    ]
    assert "502" in audit[1][4]  # what it shows once out: the check's own summary
    # Its environment is green inside the window (the check does not colour it), red after.
    envs = [(t.at, t.before, t.after) for t in reversed(shown.recent) if t.check is None]
    assert envs == [(times[1], "red", "green"), (times[3], "green", "red")]
    assert [bool(h) for h in holds] == [False, True, True, False]


def test_the_snapshot_carries_the_window_and_old_snapshots_still_validate() -> None:
    doc = document(memory.remember(None, broken_audit(REBUILD + AUDIT_WINDOW).board())[0])
    test2 = next(e for e in doc["environments"] if e["name"] == "test-2")
    assert test2["maintenance"] == {
        "reason": "slot 2 rebuild",
        "starts": "2026-11-23T07:00:00Z",
        "ends": "2026-11-23T09:30:00Z",
    }
    assert all("maintenance_s" in u for u in test2["uptime"])
    # A snapshot written before windows existed has none of the new keys.
    for e in doc["environments"]:
        del e["maintenance"]
        for c in e["checks"]:
            del c["maintenance"]
        for u in e["uptime"]:
            del u["maintenance_s"]
    del doc["summary"]["counts"]["maintenance"]
    assert snapshot.problems(doc) == []


def test_the_page_says_maintenance_with_the_reason_and_its_end_escaped() -> None:
    hostile = REBUILD.replace("slot 2 rebuild", "<script>alert(1)</script>") + AUDIT_WINDOW
    html = render.render_page(document(broken_audit(hostile).board()))
    assert "<script>alert(1)</script>" not in html
    card = re.search(r'<article class="card maintenance" id="env-test-2">.*?</header>', html, re.S)
    assert card is not None
    header = card.group(0)
    assert '<span class="pill maintenance"' in header and ">maintenance</span>" in header
    assert "&lt;script&gt;alert(1)&lt;/script&gt; · until 09:30 UTC" in header
    summary = re.search(r'<span class="message".*?</span>', html, re.S)
    assert summary is not None
    assert "In maintenance: test-2 until 09:30 UTC (&lt;script&gt;" in summary.group(0)
    assert re.search(r'class="count maintenance">1 maintenance<', html)


def test_the_page_marks_a_check_in_a_window_beside_its_status() -> None:
    html = render.render_page(document(broken_audit(AUDIT_WINDOW).board()))
    line = re.search(
        r"<li[^>]*><span class=\"pill red\">red</span>.*?worker:audit.*?</li>", html, re.S
    )
    assert line is not None
    assert "maintenance until 08:30 UTC: audit queue migration" in line.group(0)


# --------------------------------------------------------------------------- fleet.toml kept


@pytest.fixture
def scripts(tmp_path: Path) -> Iterator[Path]:
    yield Path(shutil.copytree(ROOT / "tests" / "fixtures" / "fleet-scripts", tmp_path / "s"))


def test_inventory_import_merge_keeps_the_windows(scripts: Path, tmp_path: Path) -> None:
    from fleetboard import config
    from fleetboard.cli import main

    out = tmp_path / "fleet.toml"
    assert main(["inventory", "import", str(scripts), "--out", str(out)]) == 0
    hand = REBUILD + AUDIT_WINDOW.replace("08:30", "03:00")
    out.write_text(out.read_text() + hand)
    before = config.load(out).inventory.maintenance
    assert main(["inventory", "import", str(scripts), "--out", str(out), "--merge"]) == 0
    assert config.load(out).inventory.maintenance == before
    assert len(before) == 2


def test_tomlout_writes_arrays_of_tables_as_toml_reads_them() -> None:
    doc = tomllib.loads(SMALL_FLEET + REBUILD + AUDIT_WINDOW)
    assert tomllib.loads(tomlout.dumps(doc, {})) == doc


def test_a_timeline_rebuilt_from_a_board_in_maintenance_keeps_its_word() -> None:
    from fleetboard.memory import saved

    first, _ = memory.remember(None, broken_audit(REBUILD).board())
    held = saved.from_snapshot(snapshot.dumps(document(first)))
    assert held is not None and held["env:test-2"].word == "maintenance"
    # So the next pass, still in the window, lists no change for it.
    rebuilt = memory.Timeline(began=NOW, held=held, seen_at=NOW)
    later = broken_audit(REBUILD, at=NOW + timedelta(minutes=1)).board()
    shown, _ = memory.remember(rebuilt, later)
    assert [t for t in shown.recent if t.env == "test-2"] == []
    assert env(shown, "test-2").since == NOW
