"""The demo's alerts against its real parts: its webhook receiver on 127.0.0.1, the 90 days
replayed, the first live pass, then serving passes driven with an injected clock (no
sleeping) while the live incident comes and goes. The demo fleet is stopped before any test
looks, so what it left behind is a finding too."""

from __future__ import annotations

import functools
import json
import os
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from fleetboard import collect
from fleetboard.alerts.message import SCHEMA
from fleetboard.demo import history, leaks, pager, procs
from fleetboard.demo.incident import LiveIncident
from fleetboard.demo.receiver import Received
from fleetboard.demo.run import demo_fleet, serve_pass
from fleetboard.publish import LocalPublisher

#: As `fleetboard demo` serves: a pass a minute, the board on loopback http.
EVERY_S = 60
BOARD_URL = "http://127.0.0.1:8000"


@dataclass(frozen=True)
class Watched:
    """What the demo did and said, from its start to its end."""

    lines: list[str]  # every line the demo said, in order (the receiver's too)
    bodies: list[dict[str, Any]]  # every message the receiver got, as sent
    posts: tuple[Received, ...]
    after_replay: int  # messages the receiver had once the 90 days were replayed
    first_at: datetime  # the first live pass (before serving)
    times: dict[int, datetime]  # serving pass -> its clock
    live: LiveIncident
    fail_passes: int
    recover_passes: int
    out: Path
    config: str  # the demo's fleet.toml
    secret: str  # the webhook URL's secret part
    left_threads: list[str]
    left_children: list[int]
    left_temps: list[Path]


def _at(at: datetime) -> datetime:
    return at


@pytest.fixture(scope="module")
def watched(tmp_path_factory: pytest.TempPathFactory) -> Watched:
    """`fleetboard demo`'s steps: the fleet with its receiver, the replay, the first pass,
    then serving passes until prod has recovered and held it, then the end of the demo."""
    children, temps = set(procs.children()), set(leaks.temp_leftovers())
    threads = set(threading.enumerate())
    lines: list[str] = []
    out = tmp_path_factory.mktemp("board")
    workdir = tmp_path_factory.mktemp("demo")
    with demo_fleet(workdir, alerts=lines.append, board_url=BOARD_URL) as fleet:
        assert fleet.pager is not None and fleet.loaded.inventory.alerts is not None
        settings = fleet.loaded.inventory.alerts
        started = datetime.now(UTC).replace(microsecond=0)
        history.replay_into(fleet.loaded, fleet.context_overrides(), out, now=started)
        after_replay = len(fleet.pager.receiver.received)
        ctx = collect.laptop_context(fleet.loaded, **fleet.context_overrides())
        first = collect.run_pass(fleet.loaded, ctx, LocalPublisher(out))
        assert first.error is None
        live = LiveIncident.for_demo(EVERY_S, hold=settings.fail_passes)
        times = {
            n: first.board.generated_at + timedelta(seconds=EVERY_S * n)
            for n in range(1, live.ends + settings.recover_passes + 2)
        }
        for number, at in times.items():
            clock = functools.partial(_at, at)
            result = serve_pass(
                fleet, out, number, live, every_s=EVERY_S, now=clock, say=lines.append
            )
            assert result.error is None and result.alerts is not None
        posts = fleet.pager.receiver.received
        secret = fleet.pager.path
        config = fleet.config_path.read_text()
    return Watched(
        lines=lines,
        bodies=[json.loads(p.body) for p in posts],
        posts=posts,
        after_replay=after_replay,
        first_at=first.board.generated_at,
        times=times,
        live=live,
        fail_passes=settings.fail_passes,
        recover_passes=settings.recover_passes,
        out=out,
        config=config,
        secret=secret,
        left_threads=[t.name for t in set(threading.enumerate()) - threads],
        left_children=sorted(set(procs.children()) - children),
        left_temps=sorted(set(leaks.temp_leftovers()) - temps),
    )


def when(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def about(watched: Watched, env: str) -> list[dict[str, Any]]:
    return [b for b in watched.bodies if b["env"] == env]


def test_the_staged_incident_fires_once_and_recovers_once(watched: Watched) -> None:
    live = watched.live
    prod = about(watched, "prod")
    # prod recovers to amber, not green: EC2 has scheduled its instance's retirement, which
    # is below the alerting level and was there before the incident.
    assert [(b["kind"], b["status"], b["was"]) for b in prod] == [
        ("firing", "red", "green"),
        ("recovered", "amber", "red"),
    ]
    fired, recovered = prod
    # Each once it held: the failure `fail_passes` passes from its first, the recovery
    # `recover_passes` from the first pass that saw it over.
    assert when(fired["at"]) == watched.times[live.begins + watched.fail_passes - 1]
    assert when(recovered["at"]) == watched.times[live.ends + watched.recover_passes - 1]
    assert "worker:email" in fired["title"] and fired["next_action"]
    assert when(fired["since"]) == watched.times[live.begins]
    # The links: prod's card on the served board, and the host that failed.
    urls = [link["url"] for link in fired["links"]]
    assert urls[0] == f"{BOARD_URL}/#env-prod"
    assert f"https://{live.host}{live.path}" in urls


def test_every_message_is_the_generic_json_under_its_schema(watched: Watched) -> None:
    assert watched.bodies, "the receiver got nothing"
    assert [SCHEMA.problems(doc) for doc in watched.bodies] == [[] for _ in watched.bodies]
    assert {p.header("Content-Type") for p in watched.posts} == {"application/json"}
    assert len({b["id"] for b in watched.bodies}) == len(watched.bodies)  # none sent twice


def test_only_live_passes_alert_and_a_slot_red_now_pages_once_it_held(watched: Watched) -> None:
    """The replay sends nothing (test-2's incident last week pages nobody); test-2, red
    since its redeploy three hours ago and still red, is news: one message, once it has
    held `fail_passes` live passes."""
    assert watched.after_replay == 0
    assert min(when(b["at"]) for b in watched.bodies) >= watched.first_at
    test2 = [(b["kind"], when(b["at"])) for b in about(watched, "test-2")]
    held = watched.first_at if watched.fail_passes == 1 else watched.times[watched.fail_passes - 1]
    assert test2 == [("firing", held)]


def test_the_demo_says_each_message_on_one_line_where_it_happened(watched: Watched) -> None:
    said = [line for line in watched.lines if line.startswith(pager.ARROW)]
    assert len(said) == len(watched.bodies)
    for line, body in zip(said, watched.bodies, strict=True):
        assert "\n" not in line
        assert line.startswith(f"{pager.ARROW} {body['kind']} {body['env']} {body['status']}: ")
        assert body["title"].startswith(line.split(": ", 1)[1].removesuffix("…"))

    def index(prefix: str) -> int:
        return next(i for i, line in enumerate(watched.lines) if line.startswith(prefix))

    began, ended = index("an incident begins on prod"), index("the incident on prod ends")
    fired = index(f"{pager.ARROW} firing prod red: ")
    recovered = index(f"{pager.ARROW} recovered prod amber: ")  # its retirement is amber
    assert began < fired < ended < recovered


def test_a_message_is_printed_as_plain_text_whatever_it_holds() -> None:
    hostile = {"kind": "firing", "env": "x\x1b[2J\ny", "status": "red", "title": "a\r\nb" * 200}
    line = pager.line(Received("/", (), json.dumps(hostile).encode()))
    assert line.isprintable() and len(line) < 200
    assert line.startswith(f"{pager.ARROW} firing x [2J y red: a b")
    assert (
        pager.line(Received("/", (), b"<html>")) == f"{pager.ARROW} (not the generic JSON: 6 bytes)"
    )


def test_the_webhook_url_is_in_no_line_file_or_environment(watched: Watched) -> None:
    assert all(p.path == watched.secret for p in watched.posts)
    assert [line for line in watched.lines if watched.secret in line] == []
    assert watched.secret not in watched.config and pager.URL_ENV in watched.config
    written = [p for p in watched.out.rglob("*") if p.is_file()]
    assert watched.out / "state" / "alerts.json" in written
    assert [p for p in written if watched.secret.encode() in p.read_bytes()] == []
    assert pager.URL_ENV not in os.environ  # the passes had it in their context only


def test_nothing_of_the_demo_outlives_it(watched: Watched) -> None:
    assert watched.left_threads == []  # the receiver's, its connections', the hosts'
    assert leaks.wait_gone(watched.left_children, 5) == []
    assert watched.left_temps == []  # the receiver's CA folder, the hosts' certificates
