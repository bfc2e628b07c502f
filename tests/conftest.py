"""The whole test session: nothing a test starts may outlive the run.

At the start, the session marks its environment (fleetboard.demo.leaks.MARKER_ENV), which
every process a test starts inherits, and points the temp folder (TMPDIR and tempfile) at a
folder of its own. At the end, after every fixture has stopped, it lists any process still
carrying the mark or pointing into the session's temp folders (anvil, moto, Chromium, a
demo, a host server: orphans adopted by init included) and any `fleetboard-*` temp folder
left, prints them loudly, ends and removes them, and fails the run. A direct child of the
test process is given until the process's own exit (a library may stop its helper in an
atexit hook, as jsii does its node runtime); one alive even then fails the run too (exit 1).

FLEETBOARD_LEAKCHECK=0 turns the check off (the temp folder stays the system's).
"""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
import uuid
from pathlib import Path

import pytest

from fleetboard.demo import leaks

#: Processes may still be exiting when the session ends (a SIGTERM just sent): wait this long.
_SETTLE_S = 5.0

_state: dict[str, str] = {}
_pending: list[leaks.Proc] = []


def pytest_configure(config: pytest.Config) -> None:
    if os.environ.get("FLEETBOARD_LEAKCHECK") == "0" or hasattr(config, "workerinput"):
        return
    system_tmp = tempfile.gettempdir()
    leaks.remove_dead_owned(Path(system_tmp), "fleetboard-tests-")
    session_tmp = tempfile.mkdtemp(prefix="fleetboard-tests-")
    leaks.claim(Path(session_tmp))
    token = f"{os.getpid()}-{uuid.uuid4().hex[:12]}"
    _state.update(token=token, tmp=session_tmp, system_tmp=system_tmp)
    os.environ[leaks.MARKER_ENV] = token
    # pytest's own tmp_path folders stay where they always are (kept for a look after a failure).
    os.environ.setdefault("PYTEST_DEBUG_TEMPROOT", system_tmp)
    os.environ["TMPDIR"] = session_tmp
    tempfile.tempdir = session_tmp
    # Registered before any library a test imports registers its own: runs after them all.
    atexit.register(_at_exit)


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if "token" not in _state:
        return
    session_tmp = Path(_state["tmp"])
    procs = leaks.marked(_state["token"], str(session_tmp), _basetemp(session.config))
    # A child of this process may be a helper it stops only at its own exit (jsii's node
    # runtime, stopped by an atexit hook): it, and what it started, are looked at again then
    # (_at_exit). An orphan (adopted by init) has lost its owner: a leak, once it has had a
    # moment to finish exiting.
    pending = [p for p in procs if leaks.descends_from(p.pid, os.getpid())]
    orphans = [p for p in procs if p not in pending]
    left = set(leaks.wait_gone([p.pid for p in orphans], _SETTLE_S))
    leaked = [p for p in orphans if p.pid in left]
    folders = [p for p in leaks.temp_leftovers(session_tmp) if p.name != leaks.OWNER_FILE]
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")

    def say(line: str) -> None:
        if reporter is not None:
            reporter.write_line(line, red=True)

    if leaked or folders:
        say("")
        say("LEAK CHECK FAILED: the tests left these behind (now ended and removed):")
        for proc in leaked:
            say(f"  process {proc}")
        for path in folders:
            say(f"  temp folder {path}")
        leaks.kill(leaked)
        leaks.remove(folders)
        if session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
    elif not pending and reporter is not None and reporter.verbosity >= 0:
        reporter.write_line("leak check: no process or temp folder of the tests outlived them")
    _pending[:] = pending


def _at_exit() -> None:
    """The last word, after every atexit hook of the libraries: children of this process
    still alive now outlive the run; then the session's temp folder goes."""
    if "token" not in _state:
        return
    left = set(leaks.wait_gone([p.pid for p in _pending], _SETTLE_S))
    survivors = [p for p in _pending if p.pid in left]
    session_tmp = Path(_state["tmp"])
    shutil.rmtree(session_tmp, ignore_errors=True)
    if survivors:
        sys.stdout.flush()
        sys.stderr.write("\nLEAK CHECK FAILED: still running when the test process ends (ended):\n")
        for proc in survivors:
            sys.stderr.write(f"  process {proc}\n")
        sys.stderr.flush()
        leaks.kill(survivors)
        os._exit(1)


def _basetemp(config: pytest.Config) -> str:
    """pytest's tmp_path root of this session, if it made one (Chromium's HOME is in it)."""
    factory = getattr(config, "_tmp_path_factory", None)
    given = getattr(factory, "_basetemp", None) or getattr(factory, "_given_basetemp", None)
    return str(given) if given else ""
