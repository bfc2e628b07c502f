"""What a run of the demo, the bench or the tests left behind: processes and temp folders.

A test session marks every process it starts: it puts MARKER_ENV in its own environment,
which children inherit (grandchildren too, and orphans adopted by init keep it), so
`marked(token)` finds them all in /proc, whoever their parent is now. Without a token (the
command below, after any run), processes are found by what they are: anvil, a moto server,
`fleetboard demo` or `bench`, or anything whose command line or environment names a
`fleetboard-*` temp folder (a Chromium profile, a demo host).

    python -m fleetboard.demo.leaks          # lists what is left; exit 1 if anything is
    python -m fleetboard.demo.leaks --kill   # and ends those processes, removes the folders

The command sees the whole machine: a demo or a test run still going shows up too (with its
live parent; a leak's parent is usually gone, "orphaned"), and --kill ends it as well.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

#: The environment variable a test session marks its processes with (tests/conftest.py).
MARKER_ENV = "FLEETBOARD_RUN_MARKER"
#: Temp folders the project makes: the demo, its hosts, the bench, the tests' servers.
TEMP_PREFIX = "fleetboard-"
#: Processes that are not leaks although a run started them: the stdlib's helpers end by
#: themselves when the process that started them does.
_HELPERS = ("multiprocessing.resource_tracker", "multiprocessing.forkserver")
_BY_NAME = ("anvil", "moto.server", "moto_server", "fleetboard demo", "fleetboard bench")


@dataclass(frozen=True, slots=True)
class Proc:
    pid: int
    ppid: int
    command: str  # the command line, NULs as spaces, capped

    def __str__(self) -> str:
        # Adopted by init (or a subreaper): its owner is gone, so it is a leak for sure.
        parent = "orphaned" if self.ppid == 1 else f"parent {self.ppid}"
        return f"pid {self.pid} ({parent}): {self.command}"


def _read(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError:  # gone, a kernel thread, or not ours to read
        return b""


def _proc(pid: int) -> Proc | None:
    stat = _read(f"/proc/{pid}/stat")
    if not stat:
        return None
    # "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split at the last ')'.
    fields = stat[stat.rfind(b")") + 2 :].split()
    if not fields or fields[0] == b"Z":  # a zombie holds nothing but its pid
        return None
    command = _read(f"/proc/{pid}/cmdline").replace(b"\0", b" ").decode(errors="replace")
    return Proc(pid, int(fields[1]), command.strip()[:300])


def processes(match: Callable[[int, bytes, str], bool]) -> list[Proc]:
    """Every live process (not this one) for which match(pid, environ, command) holds."""
    found = []
    me = os.getpid()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        pid = int(entry.name)
        proc = _proc(pid)
        if proc is None or any(h in proc.command for h in _HELPERS):
            continue
        if match(pid, _read(f"/proc/{pid}/environ"), proc.command):
            found.append(proc)
    return found


def marked(token: str, *also: str) -> list[Proc]:
    """Processes whose environment holds MARKER_ENV=token, or names any path in `also`
    (a session's temp folders: a child given an environment of its own still points there)."""
    needles = [f"{MARKER_ENV}={token}".encode()] + [a.encode() for a in also if a]
    return processes(lambda _pid, env, _cmd: any(n in env for n in needles))


def by_name() -> list[Proc]:
    """The project's kinds of processes, found without a marker (see the module doc)."""
    needle = str(Path(tempfile.gettempdir()) / TEMP_PREFIX).encode()

    def match(_pid: int, env: bytes, command: str) -> bool:
        if any(name in command for name in _BY_NAME) or "-m fleetboard" in command:
            return "leaks" not in command
        return needle in env or needle.decode() in command

    return processes(match)


def descends_from(pid: int, ancestor: int) -> bool:
    """Whether `pid` is `ancestor`'s child, grandchild, ... (an orphan adopted by init is not)."""
    seen = set()
    while pid > 1 and pid not in seen:
        seen.add(pid)
        proc = _proc(pid)
        if proc is None:
            return False
        if proc.ppid == ancestor:
            return True
        pid = proc.ppid
    return False


def alive(pids: Iterable[int]) -> list[int]:
    return [pid for pid in pids if _proc(pid) is not None]


def wait_gone(pids: Iterable[int], timeout_s: float) -> list[int]:
    """Poll /proc until none of `pids` is alive or `timeout_s` passed; return those left."""
    left = alive(pids)
    deadline = time.monotonic() + timeout_s
    while left and time.monotonic() < deadline:
        time.sleep(0.05)
        left = alive(left)
    return left


def temp_leftovers(root: Path | None = None, prefix: str = TEMP_PREFIX) -> list[Path]:
    """Folders and files named `prefix*` in `root` (the temp folder by default)."""
    base = root if root is not None else Path(tempfile.gettempdir())
    try:
        return sorted(p for p in base.iterdir() if p.name.startswith(prefix))
    except OSError:
        return []


#: In a temp folder: the pid of the process that owns it, so a later run can tell a folder
#: whose owner was killed outright (SIGKILL: nothing can clean up then) from a live one.
OWNER_FILE = ".owner"


def claim(folder: Path) -> None:
    """Mark `folder` as this process's (see remove_dead_owned)."""
    (folder / OWNER_FILE).write_text(str(os.getpid()))


def remove_dead_owned(root: Path, prefix: str) -> None:
    """Remove the `prefix*` folders in `root` whose owner is dead; a folder whose owner
    still runs, or that has no owner file, stays."""
    for path in root.glob(f"{prefix}*"):
        try:
            owner = int((path / OWNER_FILE).read_text())
        except (OSError, ValueError):
            continue
        if owner != os.getpid() and not alive([owner]):
            shutil.rmtree(path, ignore_errors=True)


def kill(procs: Iterable[Proc]) -> None:
    for proc in procs:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(proc.pid, signal.SIGKILL)


def remove(paths: Iterable[Path]) -> None:
    for path in paths:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m fleetboard.demo.leaks",
        description="List processes and temp folders a fleetboard run left behind.",
    )
    parser.add_argument("--kill", action="store_true", help="end them and remove the folders")
    args = parser.parse_args(argv)
    left = by_name()
    folders = temp_leftovers()
    for proc in left:
        sys.stdout.write(f"process left: {proc}\n")
    for path in folders:
        sys.stdout.write(f"temp left: {path}\n")
    if args.kill:
        kill(left)
        remove(folders)
    if not left and not folders:
        sys.stdout.write("nothing left behind\n")
        return 0
    return 1


if __name__ == "__main__":
    sys.exit(main())
