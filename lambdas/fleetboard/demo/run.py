"""`fleetboard demo`: start the simulated fleet, collect it, write the board, serve it.

Everything listens on 127.0.0.1 and nothing leaves the machine: AWS is a moto server, the
hosts are real HTTPS servers with a throwaway CA, DNS is the simulated Route 53 zone. Before
the first pass the board is given 90 days of memory (history.py replays past.py's script),
and while it is served a live incident comes and goes (incident.py). Its alerts go to a
webhook receiver of its own, which prints each message it gets (pager.py).
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from fleetboard.config import LoadedConfig, load
from fleetboard.demo import leaks, pager, procs, scenario
from fleetboard.demo.aws_world import (
    DEMO_CREDENTIALS,
    World,
    build_world,
    reset_moto,
    start_moto_server,
)
from fleetboard.demo.chain_world import CHAIN_ID, ChainWorld, build_chain_world
from fleetboard.demo.dns import ZoneResolver
from fleetboard.demo.github import GithubServer, demo_world
from fleetboard.demo.hosts import HostServer
from fleetboard.demo.incident import LiveIncident
from fleetboard.demo.pager import Pager
from fleetboard.demo.past import Past
from fleetboard.exits import EXIT_OK
from fleetboard.secrets import Secret
from fleetboard.sources import utc_now

if TYPE_CHECKING:
    from fleetboard.collect import PassResult

#: The demo's temp folder (fleet.toml, the CA): removed on any exit but SIGKILL, and then by
#: the next demo (it holds its owner's pid).
WORKDIR_PREFIX = "fleetboard-demo-"

#: What the demo's own GitHub server accepts; a real token never goes near it.
DEMO_GITHUB_TOKEN = "demo-token-for-the-simulated-github"  # noqa: S105


@dataclass(frozen=True, slots=True)
class DemoFleet:
    """A running simulated fleet and the config that describes it."""

    config_path: Path
    loaded: LoadedConfig
    world: World
    hosts: HostServer
    github: GithubServer
    chain: ChainWorld | None = None  # None: anvil or solc-js not installed
    chain_note: str | None = None  # why there is no chain
    pager: Pager | None = None  # where its alerts go; None: its fleet.toml has no [alerts]

    def before_pass(self) -> None:
        """What changes in the fleet between two passes (CI slots sending transactions)."""
        if self.chain is not None:
            self.chain.tick()

    def context_overrides(self) -> dict[str, object]:
        """What a pass needs besides the config: the demo's DNS and dummy AWS keys."""
        from fleetboard.sources.awsapi import make_aws_client_factory

        # The simulated GitHub gets a token of its own: never the operator's real one.
        secrets = {"github_token": Secret(DEMO_GITHUB_TOKEN)}
        if self.pager is not None:  # the alert channel's URL, in the pass's own context
            secrets |= self.pager.context_secrets()
        return {
            "resolver": ZoneResolver({k: [v] for k, v in self.world.a_records.items()}),
            "aws_client": make_aws_client_factory(
                self.loaded.inventory.aws, credentials=DEMO_CREDENTIALS
            ),
            "secrets": secrets,
        }


@contextlib.contextmanager
def demo_fleet(
    workdir: Path,
    *,
    alerts: Callable[[str], None] | None = None,
    board_url: str | None = None,
) -> Iterator[DemoFleet]:
    """Start moto and the HTTPS hosts, write fleet.toml and the CA into workdir; stop on exit.

    With `alerts`, fleet.toml has an [alerts] section whose one channel is a webhook
    receiver started here, and each message it gets is one line given to `alerts`
    (pager.py); `board_url` is where the board is served, for the messages' links.
    However the block ends (an exception, Ctrl-C at any point of the startup) every part
    started so far is stopped, the last started first.
    """
    procs.phase("moto")
    endpoint, stop_moto = start_moto_server()
    try:
        # moto keeps its state per process, not per server: start from an empty account even
        # if this process ran a moto server before (the test suite does).
        reset_moto(endpoint)
        now = utc_now()
        world = build_world(scenario.world_spec(now), endpoint, credentials=DEMO_CREDENTIALS)
        procs.phase("hosts")
        with contextlib.ExitStack() as parts:
            hosts = parts.enter_context(HostServer(scenario.sim_hosts(now)))
            procs.phase("github")
            gh = parts.enter_context(GithubServer(demo_world(now)))
            chain, note = parts.enter_context(_demo_chain())
            hooks = parts.enter_context(pager.start(alerts)) if alerts is not None else None
            procs.phase("config")
            # One bundle the passes trust ([probe] ca_bundle): the hosts' CA, and the
            # receiver's, which the alerts' deliveries are checked against too.
            ca = workdir / "demo-ca.pem"
            ca.write_bytes(hosts.ca_pem + (hooks.ca_pem() if hooks is not None else b""))
            config_path = workdir / "fleet.toml"
            text = scenario.fleet_toml(world, hosts.address, ca.name, gh.url)
            text += Past(now).maintenance_toml()  # slot 1's window, two days ago
            if chain is not None:
                text += "\n".join(chain.toml(tuple(e.name for e in scenario.DEMO_ENVS))) + "\n"
            if hooks is not None:
                text += hooks.toml(board_url)
            config_path.write_text(text)
            yield DemoFleet(config_path, load(config_path), world, hosts, gh, chain, note, hooks)
    finally:
        stop_moto()


@contextlib.contextmanager
def _demo_chain() -> Iterator[tuple[ChainWorld | None, str | None]]:
    """anvil with the fleet's contracts when the Node tools are installed; else no chain,
    and the board's chain part says "not configured" (the demo never fails for it)."""
    from fleetboard.demo import chain as local

    why = local.available()
    if why is not None:
        yield None, why
        return
    with contextlib.ExitStack() as stack:
        try:
            procs.phase("chain")
            node = stack.enter_context(local.LocalChain.start(chain_id=CHAIN_ID))
            procs.phase("contracts")
            world = build_chain_world(node)
        except (OSError, RuntimeError, subprocess.SubprocessError) as exc:
            stack.close()
            yield None, f"the demo chain could not start: {exc}"
            return
        yield world, None


def run_demo(*, out: Path, once: bool, port: int, every_s: int) -> int:
    """Start the fleet, collect it, and serve the board until Ctrl-C (or SIGTERM, SIGHUP).

    A stop signal at any point, startup included, stops every part (anvil, the servers) and
    removes the demo's temp folder before the command exits: with 0 when it was serving (the
    way a demo ends), else 128 + the signal number. The cleanup is bounded: past
    procs.STOP_GRACE_S, or on a second signal, the children are killed and the folder removed.
    """
    with procs.stop_on_signals():
        try:
            return _run_demo(out=out, once=once, port=port, every_s=every_s)
        except procs.Stopped as stopped:
            print(
                f"\ndemo stopped ({stopped}): its parts are stopped, its temp folder removed",
                file=sys.stderr,
            )
            return stopped.exit_code


def _run_demo(*, out: Path, once: bool, port: int, every_s: int) -> int:
    from fleetboard.report import pass_and_report

    out.mkdir(parents=True, exist_ok=True)
    leaks.remove_dead_owned(Path(tempfile.gettempdir()), WORKDIR_PREFIX)
    with contextlib.ExitStack() as stack:
        tmp = stack.enter_context(procs.temp_dir(WORKDIR_PREFIX))
        leaks.claim(tmp)
        procs.phase("workdir", str(tmp))
        # Bound before the fleet is written (served only after the first pass): its address
        # is the board_url of the alerts' links.
        server = None if once else stack.enter_context(_board_server(out, port))
        board_url = None if server is None else _url(server).rstrip("/")
        fleet = stack.enter_context(demo_fleet(tmp, alerts=print_line, board_url=board_url))
        print(
            f"demo fleet up: AWS at {fleet.world.endpoint_url}, hosts at "
            f"{fleet.hosts.address}, GitHub at {fleet.github.url}"
        )
        if fleet.chain is not None:
            node = fleet.chain.node
            print(
                f"demo chain: anvil at {node.url} (pid {node.process.pid}) "
                "with the fleet's contracts"
            )
        else:
            print(f"demo chain: none ({fleet.chain_note}); the board shows it not configured")
        if fleet.pager is not None:
            print(fleet.pager.where())
        print(f"demo config: {fleet.config_path} (validated like any fleet.toml)", flush=True)
        procs.phase("history")
        _remember(fleet, out)
        procs.phase("pass")
        code = pass_and_report(fleet.loaded, out, context_overrides=fleet.context_overrides())
        if server is None or code != EXIT_OK:
            print(f"board written to {out.resolve()}/index.html")
            return code
        return _serve(fleet, out, server, every_s)


def print_line(line: str) -> None:
    """A line on the demo's terminal, at once (alert lines come from the receiver's thread)."""
    print(line, flush=True)


def _remember(fleet: DemoFleet, out: Path) -> None:
    """Give the board 90 days of memory before its first live pass (history.py). A history
    that cannot be written is said and skipped: the demo still shows the live board."""
    from fleetboard.demo import history
    from fleetboard.publish import PublishError
    from fleetboard.state import StateConflict

    try:
        written = history.replay_into(fleet.loaded, fleet.context_overrides(), out)
    except (OSError, PublishError, StateConflict) as exc:
        print(f"demo history: not written ({exc}); the board starts remembering now")
        return
    print(written.line(), flush=True)


def serve_pass(
    fleet: DemoFleet,
    out: Path,
    number: int,
    incident: LiveIncident | None = None,
    *,
    every_s: int = 60,
    now: Callable[[], datetime] | None = None,
    say: Callable[[str], None] = print_line,
) -> PassResult:
    """Serving pass `number` (from 1): the fleet moves on (the CI slot's transaction, the
    live incident), then one pass into `out`. `now` replaces the clock (tests). Each line
    for the terminal goes to `say` as it happens: what changed, before the pass (and
    before the alerts it brings, which the receiver says during it), then the pass."""
    from fleetboard import collect
    from fleetboard.publish import LocalPublisher

    fleet.before_pass()
    if incident is not None and (
        change := incident.apply(fleet.hosts, number, every_s, fleet.chain)
    ):
        say(change)
    overrides = fleet.context_overrides()
    if now is not None:
        overrides["now"] = now
    ctx = collect.laptop_context(fleet.loaded, **overrides)
    result = collect.run_pass(fleet.loaded, ctx, LocalPublisher(out))
    status = result.board.summary.status.value
    say(f"collected: fleet {status}, {result.board.collector.duration_s:.2f} s")
    return result


@contextlib.contextmanager
def _board_server(out: Path, port: int) -> Iterator[http.server.ThreadingHTTPServer]:
    """The board's HTTP server, bound to 127.0.0.1 (`port`, or any free one if it is
    taken) and closed on exit; it serves once _serve starts it."""
    handler = functools.partial(_QuietHandler, directory=str(out))
    try:
        server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    except OSError:  # the port is taken: any free one will do for a demo
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    try:
        yield server
    finally:
        server.server_close()


def _url(server: http.server.ThreadingHTTPServer) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}/"


def _serve(
    fleet: DemoFleet, out: Path, server: http.server.ThreadingHTTPServer, every_s: int
) -> int:
    url = _url(server)
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": 0.1},  # shutdown() waits at most this long
        name="board-http",
        daemon=True,
    )
    try:
        thread.start()
        stop = threading.Event()
        try:  # entered before the readiness line: a signal sent on seeing it lands in here
            procs.phase("serving", url)
            # The readiness line: printed once the board is served (tests wait for it).
            print(
                f"\nboard: {url}   (collected again every {every_s} s; Ctrl-C to stop)", flush=True
            )
            alerts = fleet.loaded.inventory.alerts
            # At least as many passes as an alert needs to hold: the incident always pages.
            hold = alerts.fail_passes if alerts is not None else 1
            incident = LiveIncident.for_demo(every_s, hold=hold)
            number = 0
            while not stop.wait(every_s):
                number += 1
                serve_pass(fleet, out, number, incident, every_s=every_s)
        except KeyboardInterrupt as stopped:  # Ctrl-C, or procs.Stopped for SIGTERM/SIGHUP
            print(f"\nstopping the demo fleet ({stopped or 'SIGINT'})", file=sys.stderr)
    finally:
        if thread.is_alive():
            server.shutdown()
    return EXIT_OK


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    """Serves the board folder; no request log on the terminal, no caching of the board."""

    # The folder's one XML file is the feed: served as Atom, as S3 serves it.
    extensions_map = {  # noqa: RUF012 (the base class's own mutable class attribute)
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        ".xml": "application/atom+xml",
    }

    def log_message(self, format: str, *args: object) -> None:
        pass

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-cache")
        super().end_headers()
