"""Child processes and temp folders that never outlive the demo, the bench or a test run.

Every child is started in its own process group, so the terminal's Ctrl-C reaches only its
owner, which stops it (the group, grandchildren too); on Linux it is also told to die with
its parent (PR_SET_PDEATHSIG), so even a SIGKILLed owner leaves no anvil behind. Temp
folders are recorded while they exist. `stop_on_signals` turns SIGINT, SIGTERM and SIGHUP
into an exception at any point of a command, startup included, and bounds the cleanup that
follows: past `grace_s`, or on a second signal, every recorded child is killed, every
recorded folder removed, and the process ends.

    with procs.stop_on_signals(), procs.temp_dir("fleetboard-demo-") as tmp:
        anvil = procs.spawn([anvil_bin, "--port", "0"], stdout=subprocess.PIPE)
        try:
            ...
        finally:
            procs.stop(anvil)

Caveat: Linux sends the parent-death signal when the *thread* that started the child ends,
so start long-lived children from a thread that lives as long as they should (the main
thread here, and pytest's).
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import functools
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import FrameType
from typing import Any

#: Set to "1" in a command's environment: it prints `phase: <name> ...` on stdout at each
#: step of its startup, so a test can act at a known point (tests/integration/test_demo_pass.py).
PHASES_ENV = "FLEETBOARD_PHASES"
#: Set to a phase name: the command waits there (up to HOLD_S) after printing it, so a test
#: can send a signal while exactly that much of the command is running.
HOLD_ENV = "FLEETBOARD_HOLD_AT"
HOLD_S = 60.0
#: How long a command may take to clean up after a stop signal before it is made to end.
STOP_GRACE_S = 10.0
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

_PR_SET_PDEATHSIG = 1

_lock = threading.RLock()
_children: dict[int, subprocess.Popen[Any]] = {}
_dirs: set[str] = set()
_deferring = 0  # main thread only: > 0 inside `deferred_signals`
_pending: int | None = None  # a stop signal that arrived while deferring


class Stopped(KeyboardInterrupt):
    """A stop signal (SIGINT, SIGTERM, SIGHUP) arrived; `exit_code` is 128 + its number.

    A KeyboardInterrupt, so code that already ends cleanly on Ctrl-C ends cleanly on all three.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


# --------------------------------------------------------------------------- dying with the parent


def _load_prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    prctl.restype = ctypes.c_int
    return prctl


# Resolved once here: a child between fork and exec should do as little as possible.
_PRCTL = _load_prctl()


def die_with_parent(parent_pid: int | None = None) -> None:
    """Have Linux SIGKILL this process when its parent ends (PR_SET_PDEATHSIG); elsewhere a
    no-op. With `parent_pid`, a parent already gone before the call ends this process too."""
    if _PRCTL is None:
        return
    _PRCTL(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if parent_pid is not None and os.getppid() != parent_pid:
        os.kill(os.getpid(), signal.SIGKILL)


# --------------------------------------------------------------------------- children


def spawn(argv: Sequence[str], **popen: Any) -> subprocess.Popen[Any]:
    """Start a child in a process group of its own, dying with this process; record it.

    Takes `subprocess.Popen`'s keyword arguments. Stop it with `stop`.
    """
    popen.setdefault("process_group", 0)
    if _PRCTL is not None and "preexec_fn" not in popen:
        popen["preexec_fn"] = functools.partial(die_with_parent, os.getpid())
    with deferred_signals():  # never a child started and not yet recorded
        process: subprocess.Popen[Any] = subprocess.Popen(argv, **popen)
        with _lock:
            _children[process.pid] = process
    return process


def children() -> list[int]:
    """The pids of the recorded children still running (for logs and tests)."""
    with _lock:
        return [pid for pid, p in _children.items() if p.returncode is None]


def stop(process: subprocess.Popen[Any], grace_s: float = 5.0) -> None:
    """SIGTERM the child's process group, SIGKILL what is left of it after `grace_s` (the
    child, or anything it started), and reap the child. Interrupted, the child stays
    recorded, so `kill_all` still finds it."""
    if process.returncode is None:
        _signal_group(process, signal.SIGTERM)
        _exited(process, grace_s)
        # Exited or not, the leader is unreaped, so the group id is still this child's.
        _signal_group(process, signal.SIGKILL)
        process.wait()
    with _lock:
        _children.pop(process.pid, None)
    for stream in (process.stdin, process.stdout, process.stderr):
        if stream is not None:
            _close(stream)


def _close(stream: Any) -> None:
    """Close a child's pipe, waiting at most a moment: closing a pipe another thread is
    reading blocks until every writer has closed it, and a writer that left the child's
    process group (setsid) may never do so. The close then finishes in the background."""
    closer = threading.Thread(target=_close_quietly, args=(stream,), daemon=True)
    closer.start()
    closer.join(1.0)


def _close_quietly(stream: Any) -> None:
    with contextlib.suppress(OSError, ValueError):
        stream.close()


def run(
    argv: Sequence[str], *, input: str | None = None, timeout: float
) -> subprocess.CompletedProcess[str]:
    """`subprocess.run(..., capture_output=True, text=True)` through `spawn`: the child and its
    group are stopped however this call ends (a timeout, Ctrl-C, an exception)."""
    process = spawn(
        argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        out, err = process.communicate(input, timeout=timeout)
    finally:
        stop(process, grace_s=0.5)
    return subprocess.CompletedProcess(list(argv), process.returncode, out, err)


def kill_group(process: subprocess.Popen[Any]) -> None:
    """SIGKILL the child and everything in its process group, at once (not reaped)."""
    if process.returncode is None:
        _signal_group(process, signal.SIGKILL)


def _signal_group(process: subprocess.Popen[Any], signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signum)


def _exited(process: subprocess.Popen[Any], timeout_s: float) -> bool:
    """Wait until the child has exited, WITHOUT reaping it (its pid, and so its process group
    id, stays taken until `wait()`); True if it did within `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            done = os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:  # already reaped elsewhere
            return True
        if done is not None:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.01)


# --------------------------------------------------------------------------- temp folders


def make_temp_dir(prefix: str) -> Path:
    """`tempfile.mkdtemp`, recorded so a forced stop removes it too; see `remove_temp_dir`."""
    with deferred_signals():
        path = tempfile.mkdtemp(prefix=prefix)
        with _lock:
            _dirs.add(path)
    return Path(path)


def remove_temp_dir(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
    with _lock:
        _dirs.discard(str(path))


@contextlib.contextmanager
def temp_dir(prefix: str) -> Iterator[Path]:
    """A temp folder removed however the block ends (forced stops included)."""
    path = make_temp_dir(prefix)
    try:
        yield path
    finally:
        remove_temp_dir(path)


def kill_all() -> None:
    """SIGKILL every recorded child's group and remove every recorded temp folder: the last
    resort of a forced stop, and of the interpreter's exit (atexit)."""
    with _lock:
        running = [p for p in _children.values() if p.returncode is None]
        dirs = list(_dirs)
    for process in running:
        _signal_group(process, signal.SIGKILL)
    for path in dirs:
        shutil.rmtree(path, ignore_errors=True)


atexit.register(kill_all)


# --------------------------------------------------------------------------- signals


@contextlib.contextmanager
def deferred_signals() -> Iterator[None]:
    """Hold a stop signal that arrives inside the block until its end (main thread only)."""
    global _deferring, _pending
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _deferring += 1
    try:
        yield
    finally:
        _deferring -= 1
        if _deferring == 0 and _pending is not None:
            signum, _pending = _pending, None
            raise Stopped(signum)


@contextlib.contextmanager
def stop_on_signals(grace_s: float = STOP_GRACE_S) -> Iterator[None]:
    """Within the block, SIGINT, SIGTERM and SIGHUP raise `Stopped` in the main thread.

    The first signal starts a watchdog: if the block has not ended `grace_s` later (a
    cleanup stuck in a join, a thread holding a lock), or a second signal arrives, every
    recorded child is killed, every recorded temp folder removed, and the process exits with
    128 + the signal number. Outside the main thread the block runs unchanged.
    """
    global _pending
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    watchdog: list[threading.Timer] = []

    def on_signal(signum: int, frame: FrameType | None) -> None:
        global _pending
        if watchdog:  # the second one: stop now
            _force_exit(signum, "a second stop signal")
        timer = threading.Timer(grace_s, _force_exit, (signum, f"cleanup past {grace_s:g} s"))
        timer.daemon = True
        timer.start()
        watchdog.append(timer)
        if _deferring:
            _pending = signum
            return
        raise Stopped(signum)

    previous = {s: signal.signal(s, on_signal) for s in STOP_SIGNALS}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            # None: a handler not set from Python; the default is the closest we can restore.
            signal.signal(signum, signal.SIG_DFL if handler is None else handler)
        for timer in watchdog:
            timer.cancel()
        _pending = None


def _force_exit(signum: int, why: str) -> None:
    kill_all()
    with contextlib.suppress(OSError):
        os.write(
            2, f"fleetboard: {why}: killed its children and removed its temp folders\n".encode()
        )
    os._exit(128 + signum)


# --------------------------------------------------------------------------- phases


def phase(name: str, detail: str = "") -> None:
    """Say on stdout that the command reached `name` (with PHASES_ENV=1), and wait there if
    HOLD_ENV names it: deterministic points for a test to send a signal at."""
    if os.environ.get(PHASES_ENV) == "1":
        sys.stdout.write(f"phase: {name} {detail}".rstrip() + "\n")
        sys.stdout.flush()
    if os.environ.get(HOLD_ENV) == name:
        deadline = time.monotonic() + HOLD_S
        while time.monotonic() < deadline:
            time.sleep(0.05)
