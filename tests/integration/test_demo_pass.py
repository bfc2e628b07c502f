"""The whole demo pass against its real parts: moto server, HTTPS hosts, the simulated zone."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from tests.integration.fixtures.aws import DUMMY_AWS_ENV
from tests.integration.fixtures.child import MarkedRun, run_fleetboard

from fleetboard import collect, render, snapshot
from fleetboard.collect import PassResult
from fleetboard.demo import leaks, pager, procs
from fleetboard.demo.run import DemoFleet, demo_fleet
from fleetboard.model import Lifecycle, Status
from fleetboard.publish import INDEX, LATEST, VERSION, LocalPublisher


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoFleet]:
    with demo_fleet(tmp_path_factory.mktemp("demo")) as running:
        yield running


@pytest.fixture(scope="module")
def first_pass(
    fleet: DemoFleet, tmp_path_factory: pytest.TempPathFactory
) -> tuple[PassResult, Path]:
    out = tmp_path_factory.mktemp("board")
    ctx = collect.laptop_context(fleet.loaded, **fleet.context_overrides())
    return collect.run_pass(fleet.loaded, ctx, LocalPublisher(out)), out


def env(result: PassResult, name: str) -> dict:
    return next(e for e in result.document["environments"] if e["name"] == name)


def test_the_pass_writes_history_then_latest_then_the_page(
    first_pass: tuple[PassResult, Path],
) -> None:
    result, out = first_pass
    assert result.error is None
    assert result.published[0].startswith("history/")
    assert result.published[1] == LATEST
    # the page, then the version object naming the pass, which the page polls
    assert result.published[-2:] == [INDEX, VERSION]
    assert (
        json.loads((out / VERSION).read_bytes())["generated_at"]
        == (result.document["generated_at"])
    )
    assert (out / result.published[0]).read_bytes() == (out / LATEST).read_bytes()
    assert {"board.css", "board.js"} <= {p.name for p in out.iterdir()}


def test_the_published_snapshot_is_valid_against_the_schema(
    first_pass: tuple[PassResult, Path],
) -> None:
    _, out = first_pass
    doc = json.loads((out / LATEST).read_text())
    assert snapshot.problems(doc) == []
    assert doc["schema_version"] == 1


def test_every_status_of_the_demo_story_is_on_the_board(
    first_pass: tuple[PassResult, Path], fleet: DemoFleet
) -> None:
    result, _ = first_pass
    assert result.document["summary"]["status"] == "red"
    # An environment's status is the worst of all that is its own, wallets included (issue
    # 11): with the chain, prod's every service is green but its paymaster deposit is red,
    # and the stopped slot's unregistered operator master makes it amber.
    prod = env(result, "prod")
    assert {c["status"] for c in prod["checks"] if c["kind"] == "http"} == {"green"}
    # Without the chain, its scheduled retirement (amber) is the worst of its own.
    assert prod["status"] == ("red" if fleet.chain else "amber")
    # Slot 1's SSM agent is lost: CI cannot deploy to it, which a test slot exists for.
    assert env(result, "test")["status"] == "red"
    assert env(result, "test-2")["status"] == "red"
    stopped = env(result, "test-3")
    assert (stopped["lifecycle"], stopped["status"]) == (
        "stopped",
        "amber" if fleet.chain else "unknown",
    )
    checks = {c["name"]: c for c in env(result, "test")["checks"]}
    assert checks["broker:readyz"]["status"] == "amber"
    weixin = checks["worker:weixin"]
    assert (weixin["status"], weixin["optional"], weixin["reason"][:13]) == (
        "unknown",
        True,
        "optional: dns",
    )
    t2 = {c["name"]: c for c in env(result, "test-2")["checks"]}
    assert (t2["worker:audit"]["status"], t2["worker:audit"]["reason"]) == ("red", "http 502")
    assert t2["tls:email"]["status"] == "red"
    assert t2["tls:email"]["cert"]["days_left"] == 5


def test_every_drift_of_the_demo_story_is_an_issue(first_pass: tuple[PassResult, Path]) -> None:
    result, _ = first_pass
    kinds = {(i["env"], i["check"]) for i in result.document["summary"]["issues"]}
    assert {
        ("test-2", "drift:worker_a_record"),
        ("test-2", "drift:issuer"),
        ("test-2", "drift:bucket"),
        ("test", "drift:eip_tag"),
        ("fleet", "drift:undeclared_slot"),
    } <= kinds
    statuses = [i["status"] for i in result.document["summary"]["issues"]]
    assert statuses[0] == "red" and "green" not in statuses


def test_the_demo_machines_story_is_on_the_board(first_pass: tuple[PassResult, Path]) -> None:
    """What EC2, SSM, CloudWatch and the Price List say of the demo's machines, read by a
    real pass: slot 2 impaired and out of credits, prod's retirement next week, slot 1's
    agent lost, test-3 stopped but its address still billed, test-4 idle with its cost."""
    result, _ = first_pass
    issues = {(i["env"], i["check"]): i for i in result.document["summary"]["issues"]}
    assert issues[("test-2", "host")]["status"] == "red"
    assert "instance status check failed" in issues[("test-2", "host")]["text"]
    assert "CPU credits 1.5" in issues[("test-2", "metrics")]["text"]
    retirement = issues[("prod", "scheduled event")]
    assert retirement["status"] == "amber" and "instance-retirement" in retirement["text"]
    assert issues[("test", "agent")]["status"] == "red"
    assert "test cannot be deployed to" in issues[("test", "agent")]["text"]
    stopped = env(result, "test-3")["cost"]
    assert (stopped["instance_hourly"], stopped["per_day"]) == (None, 0.12)  # its IPv4 only
    idle = issues[("test-4", "idle")]
    test_4 = env(result, "test-4")
    assert idle["status"] == "amber" and test_4["status"] == "amber"
    # Started 9 h 15 min before the world was built; the pass runs a little later.
    assert re.match(r"test-4 idle amber: idle for 9 h 1\d min \(", idle["text"]), idle["text"]
    per_day = test_4["cost"]["per_day"]
    assert per_day > stopped["per_day"]
    assert f"about ${per_day:.2f}/day" in idle["text"]
    instance_id = test_4["machine"]["instance_id"]
    assert idle["text"].endswith(f"--instance-ids {instance_id}`")
    # Only the idle one: every other running slot has a run on it or was deployed lately.
    assert [e for e, check in issues if check == "idle"] == ["test-4"]


def test_a_real_pass_costs_eight_aws_requests(first_pass: tuple[PassResult, Path]) -> None:
    result, _ = first_pass
    collector = result.document["collector"]
    # addresses, instances, records and the deploy trail; the instances' status checks, their
    # agents, their CloudWatch figures and the price of their one type: one request each.
    requests = {name: run["requests"] for name, run in collector["sources"].items()}
    assert {k: requests[k] for k in ("aws", "host", "agent", "metrics", "prices")} == {
        "aws": 4,
        "host": 1,
        "agent": 1,
        "metrics": 1,
        "prices": 1,
    }
    assert collector["aws_requests"] == 8
    assert all(run["ok"] for run in collector["sources"].values())
    http_checks = [
        c for e in result.document["environments"] for c in e["checks"] if c["kind"] == "http"
    ]
    # One probe per check (the NXDOMAIN one too), plus any of the stopped slot's probes that
    # ended before AWS said it was stopped: probing does not wait for AWS.
    stopped_paths = 13
    assert len(http_checks) <= collector["probes"] <= len(http_checks) + stopped_paths


def test_a_snapshot_that_fails_the_schema_is_not_published(
    fleet: DemoFleet, first_pass: tuple[PassResult, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, out = first_pass
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    real = snapshot.to_document

    def broken(board: object) -> dict:
        doc = real(board)  # type: ignore[arg-type]
        doc["summary"]["status"] = "purple"
        return doc

    monkeypatch.setattr(snapshot, "to_document", broken)
    ctx = collect.laptop_context(fleet.loaded, **fleet.context_overrides())
    result = collect.run_pass(fleet.loaded, ctx, LocalPublisher(out))
    assert result.published == []
    assert result.error is not None and "summary.status" in result.error
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


def test_a_page_that_fails_to_render_is_not_published(
    fleet: DemoFleet, first_pass: tuple[PassResult, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, out = first_pass
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}

    def broken(doc: dict) -> str:
        raise KeyError("environments")

    monkeypatch.setattr(render, "render_page", broken)
    ctx = collect.laptop_context(fleet.loaded, **fleet.context_overrides())
    result = collect.run_pass(fleet.loaded, ctx, LocalPublisher(out))
    assert result.published == [] and "KeyError" in (result.error or "")
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


def test_stopped_slot_is_not_probed(first_pass: tuple[PassResult, Path], fleet: DemoFleet) -> None:
    result, _ = first_pass
    stats = fleet.hosts.stats()
    assert not any("test-3" in name for name in stats.connections)
    assert result.board.environments[3].lifecycle is Lifecycle.STOPPED
    # Unknown health; amber with the chain: its operator master is not registered.
    assert result.board.environments[3].status is (Status.AMBER if fleet.chain else Status.UNKNOWN)


# --------------------------------------------------------------------------- the command


def loopback_config(fleet: DemoFleet, folder: Path) -> Path:
    """The demo's fleet.toml in `folder`, beside its CA, with the one host that has no address
    override skipped: `collect` would look it up in real DNS (it uses the system resolver)."""
    config = folder / "fleet.toml"
    config.write_text(
        fleet.config_path.read_text().replace(
            "# weixin-test.litentry.org: no override and no A record.", "hosts.weixin.skip = true"
        )
    )
    (folder / "demo-ca.pem").write_bytes(fleet.hosts.ca_pem)
    return config


def test_demo_once_writes_the_board_and_exits_zero(tmp_path: Path) -> None:
    done = run_fleetboard("demo", "--once", "--out", str(tmp_path / "board"))
    assert done.returncode == 0, done.stderr
    assert "fleet red:" in done.stdout
    assert "test-2 worker:audit red" in done.stdout
    assert (tmp_path / "board" / "index.html").is_file()
    doc = json.loads((tmp_path / "board" / "latest.json").read_text())
    assert snapshot.problems(doc) == []
    # The board written once already remembers the 90 days replayed before it.
    assert "demo history: 90 days replayed through the rules" in done.stdout
    began = datetime.fromisoformat(doc["collector"]["memory_from"].replace("Z", "+00:00"))
    generated = datetime.fromisoformat(doc["generated_at"].replace("Z", "+00:00"))
    assert timedelta(days=89) <= generated - began < timedelta(days=90)
    assert len(list((tmp_path / "board" / "history" / "days").glob("*.json"))) == 89
    assert {t["check"] for t in doc["recent"]} >= {"worker:audit", "worker:classify"}


def test_validate_says_ok_or_lists_problems_with_exit_two(fleet: DemoFleet, tmp_path: Path) -> None:
    ok = run_fleetboard("validate", "--config", str(fleet.config_path))
    assert ok.returncode == 0 and ": ok: 5 environments" in ok.stdout
    bad = tmp_path / "fleet.toml"
    bad.write_text(fleet.config_path.read_text().replace("zone_id", "zone_idd"))
    done = run_fleetboard("validate", "--config", str(bad))
    assert done.returncode == 2
    assert f"{bad}: fleet.zone_idd: unknown key; did you mean 'zone_id'?" in done.stderr


def test_collect_uses_the_config_endpoint_and_can_fail_on_red(
    fleet: DemoFleet, tmp_path: Path
) -> None:
    config = loopback_config(fleet, tmp_path)
    args = ("collect", "--config", str(config), "--out", str(tmp_path / "b"))
    done = run_fleetboard(*args, env=DUMMY_AWS_ENV)
    assert done.returncode == 0, done.stderr
    assert "8 AWS requests" in done.stdout
    red = run_fleetboard(*args, "--fail-on-red", env=DUMMY_AWS_ENV)
    assert red.returncode == 1


def test_collect_endpoint_url_flag_overrides_the_config(fleet: DemoFleet, tmp_path: Path) -> None:
    from fleetboard.demo.hosts import refused_port

    config = loopback_config(fleet, tmp_path)
    dead = f"http://127.0.0.1:{refused_port()}"
    done = run_fleetboard(
        "collect",
        "--config",
        str(config),
        "--out",
        str(tmp_path / "b"),
        "--endpoint-url",
        dead,
        env=DUMMY_AWS_ENV,
    )
    assert done.returncode == 0, done.stderr
    assert "failed sources: aws" in done.stdout
    doc = json.loads((tmp_path / "b" / "latest.json").read_text())
    assert doc["summary"]["status"] != "green"
    assert any(i["check"] == "source:aws" for i in doc["summary"]["issues"])


# --------------------------------------------------------------------------- stopping


@pytest.fixture
def demo_run(marked_run: Callable[..., MarkedRun], tmp_path: Path) -> Callable[..., MarkedRun]:
    """`demo_run(hold=None)`: `fleetboard demo` serving tmp_path/b on a free port, as a
    MarkedRun (fixtures/child.py), stopped with all it started at the end of the test."""

    def start(hold: str | None = None) -> MarkedRun:
        return marked_run("demo", "--out", str(tmp_path / "b"), "--port", "0", hold=hold)

    return start


def anvil_of(run: MarkedRun) -> int | None:
    """anvil's pid, from the demo's phase line; None when the demo runs without a chain."""
    from fleetboard.demo import chain as local

    if local.available() is not None:
        return None
    return int(run.until("phase: anvil").split("pid=")[1])


def test_demo_serves_the_board_on_loopback_and_stops_on_ctrl_c(
    demo_run: Callable[..., MarkedRun],
) -> None:
    import urllib.request

    run = demo_run()
    anvil = anvil_of(run)
    # Its first lines say where alerts go; the first live pass sends some (slot 1 flapping
    # on the board it starts with), and the receiver says each.
    where = run.until("demo alerts: ")
    assert "https://127.0.0.1:" in where and "/hooks/" not in where
    assert run.until(pager.ARROW).startswith(f"{pager.ARROW} ")
    # The readiness line: printed once the board is served, never a fixed sleep.
    url = run.until("board: ").split()[1]
    assert url.startswith("http://127.0.0.1:")
    with urllib.request.urlopen(url, timeout=10) as page:
        html = page.read().decode()
    assert "test-2 worker:audit red" in html
    with urllib.request.urlopen(url + "latest.json", timeout=10) as latest:
        assert json.loads(latest.read())["summary"]["status"] == "red"
    children = run.started()
    assert anvil is None or anvil in children
    code, took = run.stop_with(signal.SIGINT)
    assert code == 0, run.errors.read_text()
    run.assert_nothing_left(children)
    print(f"demo exit after SIGINT while serving: {took:.2f} s")


def test_sigterm_while_serving_stops_the_demo_like_ctrl_c(
    demo_run: Callable[..., MarkedRun],
) -> None:
    run = demo_run()
    anvil = anvil_of(run)
    run.until("board: ")
    children = run.started()
    assert anvil is None or anvil in children
    code, took = run.stop_with(signal.SIGTERM)
    assert code == 0, run.errors.read_text()
    assert "stopping the demo fleet (SIGTERM)" in run.errors.read_text()
    run.assert_nothing_left(children)
    print(f"demo exit after SIGTERM while serving: {took:.2f} s")


@pytest.mark.parametrize(
    ("phase", "hold", "signum"),
    [
        ("moto", True, signal.SIGINT),  # only moto and the temp folder exist yet
        ("anvil", True, signal.SIGINT),  # anvil started, not yet listening
        ("anvil", False, signal.SIGINT),  # at once: lands while anvil or solc-js starts
        ("contracts", True, signal.SIGTERM),  # anvil up, contracts not yet deployed
        ("config", True, signal.SIGTERM),  # every part up, the alerts' receiver too
        ("history", False, signal.SIGINT),  # lands in the replay of the 90 days
        ("pass", False, signal.SIGINT),  # lands in the first pass, web3 still importing
    ],
    ids=[
        "moto-held",
        "anvil-held",
        "anvil-racing",
        "contracts-held-sigterm",
        "config-held-sigterm",
        "history",
        "first-pass",
    ],
)
def test_a_stop_signal_during_startup_stops_every_part_and_removes_the_temp_folder(
    demo_run: Callable[..., MarkedRun], phase: str, hold: bool, signum: int
) -> None:
    from fleetboard.demo import chain as local

    if phase in {"anvil", "contracts"} and local.available() is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"the demo runs without its chain: {local.available()}")
        pytest.skip(f"the demo runs without its chain: {local.available()}")
    run = demo_run(hold=phase if hold else None)
    workdir = run.until("phase: workdir").split()[-1]
    assert Path(workdir).parent == run.tmp
    line = run.until(f"phase: {phase}")
    children = run.started()
    if phase in {"anvil", "contracts"}:
        assert int(line.split("pid=")[1]) in children if "pid=" in line else children
    code, took = run.stop_with(signum)
    assert code == 128 + signum, run.errors.read_text()
    assert "Traceback" not in run.errors.read_text()
    run.assert_nothing_left(children)
    assert not Path(workdir).exists()
    print(f"demo exit after {signal.Signals(signum).name} at {phase}: {took:.2f} s")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_a_sigkilled_demo_takes_anvil_with_it_and_the_next_demo_removes_its_folder(
    demo_run: Callable[..., MarkedRun],
) -> None:
    from fleetboard.demo import chain as local
    from fleetboard.demo.run import WORKDIR_PREFIX

    if local.available() is not None:
        pytest.skip(f"the demo runs without its chain: {local.available()}")
    run = demo_run(hold="contracts")
    workdir = Path(run.until("phase: workdir").split()[-1])
    anvil = int(run.until("phase: anvil").split("pid=")[1])
    run.until("phase: contracts")
    run.process.kill()  # nothing runs in the demo after this: only the kernel can act
    run.process.wait(timeout=10)
    assert leaks.wait_gone([anvil], 5) == [], "anvil outlived a SIGKILLed demo"
    assert workdir.is_dir()  # nobody could remove it...
    leaks.remove_dead_owned(run.tmp, WORKDIR_PREFIX)
    assert not workdir.exists()  # ...until the next demo did
    for left in leaks.temp_leftovers(run.tmp):  # the hosts' certificates, likewise orphaned
        leaks.remove([left])


def test_an_exception_during_startup_stops_what_was_started(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fleetboard.demo import run as demo_run_module

    # Other fleets of this module may be running: only what this one starts counts.
    children_before = set(procs.children())
    dirs_before = set(leaks.temp_leftovers(prefix="fleetboard-hosts-"))
    started: list[int] = []
    dirs: list[Path] = []

    def failing_load(path: Path) -> None:
        started.extend(set(procs.children()) - children_before)  # anvil, if the chain runs
        dirs.extend(set(leaks.temp_leftovers(prefix="fleetboard-hosts-")) - dirs_before)
        raise RuntimeError("a bug while loading the config")

    monkeypatch.setattr(demo_run_module, "load", failing_load)
    with pytest.raises(RuntimeError, match="a bug"), demo_fleet(tmp_path):
        pytest.fail("demo_fleet should have raised")
    assert dirs, "the hosts' certificate folder should have existed"
    assert leaks.wait_gone(started, 5) == []
    assert set(procs.children()) <= children_before
    assert [d for d in dirs if d.exists()] == []


def test_stopping_a_child_ends_its_group_even_when_a_grandchild_holds_its_pipe() -> None:
    # What a wrapper (npm's anvil launcher) does: its own child writes to the same pipe.
    # Killing the wrapper alone left the grandchild running and closing the pipe, read by
    # a drain thread, blocked for as long as it ran.
    child = procs.spawn(["sh", "-c", "sleep 60 & echo $!; wait"], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    grandchild = int(child.stdout.readline())
    drain = threading.Thread(target=child.stdout.read, daemon=True)
    drain.start()
    started = time.monotonic()
    procs.stop(child, grace_s=1)
    assert time.monotonic() - started < 5
    assert leaks.wait_gone([grandchild], 5) == []
    drain.join(5)
    assert not drain.is_alive()


#: A command whose cleanup hangs: the watchdog must end it, its child and its folder.
STUCK_CLEANUP = """
import subprocess, sys, time
from fleetboard.demo import procs
with procs.stop_on_signals(grace_s=1):
    with procs.temp_dir("fleetboard-stuck-") as tmp:
        child = procs.spawn(["sleep", "60"])
        try:
            print(child.pid, tmp, flush=True)  # in the try: the test signals on seeing it
            time.sleep(60)
        finally:
            time.sleep(60)  # a cleanup that never ends (a join, a lock, a pipe)
"""


@pytest.mark.parametrize("second_signal", [False, True], ids=["watchdog", "second-signal"])
def test_a_stuck_cleanup_is_ended_with_its_children_and_folders(
    tmp_path: Path, second_signal: bool
) -> None:
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    with subprocess.Popen(
        [sys.executable, "-c", STUCK_CLEANUP], stdout=subprocess.PIPE, text=True, env=env
    ) as command:
        assert command.stdout is not None
        pid, folder = command.stdout.readline().split()
        assert Path(folder).is_dir()
        sent = time.monotonic()
        command.send_signal(signal.SIGINT)
        if second_signal:
            time.sleep(0.2)  # let the first one be handled: a person pressing Ctrl-C again
            command.send_signal(signal.SIGINT)
        try:
            code = command.wait(timeout=10)
        finally:
            command.kill()
    took = time.monotonic() - sent
    assert code == 130
    assert took < (1 if second_signal else 5)
    assert leaks.wait_gone([int(pid)], 5) == []
    assert not Path(folder).exists()


def test_collect_into_a_folder_it_cannot_write_says_so(fleet: DemoFleet, tmp_path: Path) -> None:
    config = loopback_config(fleet, tmp_path)
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the board folder should be")
    done = run_fleetboard(
        "collect", "--config", str(config), "--out", str(blocker), env=DUMMY_AWS_ENV
    )
    assert done.returncode == 3
    assert done.stderr.startswith(f"fleetboard: cannot write the board into {blocker}:")
    assert "Traceback" not in done.stderr


def test_the_demo_shows_a_held_slot_a_queued_run_and_a_free_slot(
    first_pass: tuple[PassResult, Path],
) -> None:
    result, _ = first_pass

    def ci(name: str) -> dict:
        return env(result, name)["ci"]

    assert (ci("test")["holder"]["pr"], ci("test")["holder"]["mapped_by"]) == (362, "marker")
    assert ci("test-2")["holder"]["pr"] == 391
    assert [(r["pr"], r["mapped_by"]) for r in ci("test-2")["queued"]] == [(395, "annotation")]
    assert ci("test-3")["holder"] is None  # free (and stopped), a queued run waiting for it
    assert [(r["pr"], r["mapped_by"]) for r in ci("test-3")["queued"]] == [(398, "computed")]
    line = result.document["ci"]
    assert (line["status"], line["in_progress"], line["queued"]) == ("green", 3, 1)
    assert env(result, "prod")["ci"] is None  # prod holds no CI slot


def test_the_deploy_trail_says_current_stale_or_cannot_tell(
    first_pass: tuple[PassResult, Path],
) -> None:
    result, _ = first_pass
    stale = {e["name"]: e["deploy"]["stale"] for e in result.document["environments"]}
    assert stale == {"prod": False, "test": None, "test-2": True, "test-3": None, "test-4": None}
    assert env(result, "test")["deploy"]["text"] == (
        "unknown: deployed branch fix/oidc-issuer, not comparable with main"
    )
    assert any(
        i["check"] == "deploy" and i["env"] == "test-2"
        for i in result.document["summary"]["issues"]
    )


def test_github_etags_are_kept_beside_the_board_and_answered_304_next_pass(
    fleet: DemoFleet, first_pass: tuple[PassResult, Path]
) -> None:
    _, out = first_pass
    assert (out / "state" / "github.json").is_file()
    ctx = collect.laptop_context(fleet.loaded, **fleet.context_overrides())
    again = collect.run_pass(fleet.loaded, ctx, LocalPublisher(out))
    line = again.document["ci"]
    assert line["not_modified"] == line["requests"] > 0  # nothing changed: every answer a 304
    assert "demo-token" not in (out / "state" / "github.json").read_text()


def test_the_next_pass_remembers_since_when_and_a_lost_memory_is_said(
    fleet: DemoFleet, tmp_path: Path
) -> None:
    def a_pass() -> dict:
        ctx = collect.laptop_context(fleet.loaded, **fleet.context_overrides())
        result = collect.run_pass(fleet.loaded, ctx, LocalPublisher(tmp_path))
        assert result.error is None
        return result.document

    first = a_pass()
    assert (tmp_path / "state" / "timeline.json").is_file()
    assert first["collector"]["memory_from"] == first["generated_at"]
    second = a_pass()
    # test-2 was red in the first pass and still is: red since the first pass.
    assert env_of(second, "test-2")["status"] == "red"
    assert env_of(second, "test-2")["since"] == first["generated_at"]
    assert second["summary"]["since"] == first["generated_at"]
    assert second["collector"]["memory_reset"] is None

    (tmp_path / "state" / "timeline.json").write_bytes(b'{"version": 1, "held": ')
    third = a_pass()  # a broken timeline: rebuilt from the last board, and said
    assert third["collector"]["memory_reset"].startswith("history reset at ")
    assert env_of(third, "test-2")["since"] == first["generated_at"]


def env_of(doc: dict, name: str) -> dict:
    return next(e for e in doc["environments"] if e["name"] == name)


def chain_of(fleet: DemoFleet) -> None:
    if fleet.chain is None:  # anvil or solc-js missing: scripts/test.sh installs both
        if os.environ.get("CI") == "true":
            pytest.fail(f"the demo ran without its chain: {fleet.chain_note}")
        pytest.skip(f"the demo ran without its chain: {fleet.chain_note}")


def test_the_demo_chain_shows_funding_registration_and_the_chain_line(
    fleet: DemoFleet, first_pass: tuple[PassResult, Path]
) -> None:
    chain_of(fleet)
    result, out = first_pass
    wallets = {
        (e["name"], w["role"]): (w["status"], w["balance"])
        for e in result.document["environments"]
        if e["chain"]
        for w in e["chain"]["wallets"]
    }
    assert wallets == {
        ("prod", "deployer"): ("green", "12.5 HEI"),
        ("prod", "sponsor"): ("green", "3.7 HEI"),
        ("prod", "paymaster deposit"): ("red", "0.15 HEI"),
        ("test", "deployer"): ("green", "2.4 HEI"),
        ("test-2", "deployer"): ("red", "0.4 HEI"),
        ("test-3", "deployer"): ("green", "1.1 HEI"),
        ("test-4", "deployer"): ("green", "3 HEI"),
    }
    registered = {
        e["name"]: e["chain"]["master_registered"] for e in result.document["environments"]
    }
    assert registered == {
        "prod": True,
        "test": True,
        "test-2": True,
        "test-3": False,
        "test-4": True,
    }
    line = result.document["chain"]
    assert (line["status"], line["chain_id"], line["requests"]) == ("green", 212013, 1)
    checks = {(i["env"], i["check"]) for i in result.document["summary"]["issues"]}
    assert {("prod", "wallet:paymaster-deposit"), ("test-2", "wallet:deployer")} <= checks
    assert fleet.chain.node.url not in (out / "index.html").read_text()


def test_a_slot_in_use_shows_its_nonce_moving_on_the_next_pass(
    fleet: DemoFleet, first_pass: tuple[PassResult, Path]
) -> None:
    chain_of(fleet)
    _, out = first_pass
    fleet.before_pass()  # the CI run on slot 1 sends a transaction
    ctx = collect.laptop_context(fleet.loaded, **fleet.context_overrides())
    again = collect.run_pass(fleet.loaded, ctx, LocalPublisher(out))
    moved = {
        e["name"]: e["chain"]["wallets"][0]["nonce_moved"]
        for e in again.document["environments"]
        if e["chain"]
    }
    assert moved == {
        "prod": False,
        "test": True,
        "test-2": False,
        "test-3": False,
        "test-4": False,
    }


def test_without_anvil_the_demo_runs_and_says_the_chain_is_not_configured(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fleetboard.demo import chain as local

    monkeypatch.setattr(local, "available", lambda: "anvil not installed (npm ci installs it)")
    (tmp_path / "demo").mkdir()
    with demo_fleet(tmp_path / "demo") as bare:
        assert bare.chain is None and "[chain]" not in bare.config_path.read_text()
        ctx = collect.laptop_context(bare.loaded, **bare.context_overrides())
        result = collect.run_pass(bare.loaded, ctx, LocalPublisher(tmp_path / "board"))
    assert result.error is None and result.document["chain"] is None
    page = (tmp_path / "board" / "index.html").read_text()
    assert "Chain" in page and "not configured" in page
