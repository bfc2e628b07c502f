"""Probing in worker processes: a large fleet's hosts spread over the cores the function has.

A pass is CPU-bound past a few hundred hosts (each TLS handshake is about a millisecond of
one core), and one Python process uses one core. With `[probe] workers = N` the http
source keeps one share of the hosts and hands the others to N - 1 processes, each probing
on its own event loop (net.Prober) and sending every host's probe back over a pipe as soon
as it is done.

A worker is a fresh interpreter (`python -m fleetboard.sources.workers FD`) talking over a
socket pair in multiprocessing's framing: never forked from a process whose other threads
may hold locks, never re-running the parent's main module (on Lambda, the runtime's own
loop), and nothing that needs /dev/shm, which Lambda lacks. A worker that dies (killed,
out of memory, a crash) loses only the hosts it had not sent yet, and one that has not
finished by the pass deadline (plus WORKER_GRACE_S) is killed: either way those hosts are
unknown with the reason, never red, since it is the collector that did not see them. No
worker outlives the pass.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pickle
import socket
import subprocess
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection

from fleetboard.inventory import Host, ProbeSettings
from fleetboard.model import ProbeError, Reason
from fleetboard.sources import PassContext, Resolver
from fleetboard.sources.net import HostProbe, Prober, not_probed

#: Past the pass deadline, how long a worker may still take to send what it has (its own
#: probes stop at the deadline) before it is killed.
WORKER_GRACE_S = 1.0
#: What a worker sends when it has sent every probe it will.
_DONE = "done"
#: What a worker sends, with the host's name, for a probe the parent asked it to drop.
_DROPPED = "dropped"


def shares(hosts: Sequence[Host], workers: int) -> list[list[Host]]:
    """The hosts dealt round-robin into `workers` shares (the first stays in this process):
    a slow environment's hosts do not all land on one worker."""
    return [list(hosts[i::workers]) for i in range(workers)]


def picklable(resolver: Resolver) -> bool:
    """Whether a worker can be given the pass's resolver (a spawned process gets a copy)."""
    try:
        pickle.dumps(resolver)
    except Exception:  # any object may refuse to be pickled, in any way
        return False
    return True


@dataclass
class _Worker:
    index: int
    hosts: list[Host]
    process: subprocess.Popen[bytes]
    conn: Connection
    probes: dict[str, HostProbe] = field(default_factory=dict)
    dropped: set[str] = field(default_factory=set)  # hosts whose probes it cancelled
    finished: bool = False  # it sent _DONE
    overran: bool = False  # killed for not finishing by the deadline plus the grace


class Workers:
    """The worker processes of one pass. Start them, let this process probe its own share,
    then `collect()`: every host of every share has a probe, from its worker or saying why
    not. Use as an async context manager, so no process outlives the pass."""

    def __init__(
        self, host_shares: Sequence[list[Host]], settings: ProbeSettings, ctx: PassContext
    ) -> None:
        self._ctx = ctx
        self._settings = settings
        self._shares = [s for s in host_shares if s]
        self._workers: list[_Worker] = []
        self._readers: list[asyncio.Future[None]] = []

    async def __aenter__(self) -> Workers:
        # The child finds what this process finds (the Lambda task root, a test's modules).
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
        for index, hosts in enumerate(self._shares, start=1):
            here, there = socket.socketpair()
            try:
                process = subprocess.Popen(
                    [sys.executable, "-m", __name__, str(there.fileno())],
                    pass_fds=(there.fileno(),),
                    env=env,
                    stdin=subprocess.DEVNULL,
                )
            finally:
                there.close()
            conn = Connection(here.detach())
            conn.send((hosts, self._settings, self._ctx.deadline, self._ctx.resolver))
            worker = _Worker(index, hosts, process, conn)
            self._workers.append(worker)
            # Read from the start, while this process probes its own share: a worker whose
            # pipe filled up would stall its own probes until we read.
            self._readers.append(asyncio.ensure_future(self._read(worker)))
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        for reader in self._readers:
            reader.cancel()
        await asyncio.gather(*self._readers, return_exceptions=True)
        for worker in self._workers:
            worker.conn.close()
            if worker.process.poll() is None:
                worker.process.kill()
            worker.process.wait(timeout=5)

    def drop(self, hostnames: Iterable[str]) -> None:
        """Ask the workers to cancel these hosts' probes not yet done (a stopped slot's);
        each says which it cancelled (`dropped`), as a task of this process would."""
        names = set(hostnames)
        for worker in self._workers:
            mine = [h.hostname for h in worker.hosts if h.hostname in names]
            if mine and not worker.finished:
                with contextlib.suppress(OSError, ValueError):
                    worker.conn.send(mine)

    @property
    def dropped(self) -> set[str]:
        """The hosts whose probes a worker cancelled when asked: no probe, by design."""
        return {name for worker in self._workers for name in worker.dropped}

    async def collect(self) -> list[HostProbe]:
        """Every worker's probes, read as they come; by the pass deadline plus the grace,
        whatever a worker has not sent is unknown with the reason."""
        await asyncio.gather(*self._readers)
        for worker in self._workers:
            if not worker.finished:  # it died, or was killed: its exit code says which
                with contextlib.suppress(subprocess.TimeoutExpired):
                    worker.process.wait(timeout=WORKER_GRACE_S)
        probes: list[HostProbe] = []
        for worker in self._workers:
            why = self._why(worker)
            for host in worker.hosts:
                if host.hostname in worker.dropped:
                    continue
                found = worker.probes.get(host.hostname)
                probes.append(found if found is not None else self._unseen(host, why))
        return probes

    async def _read(self, worker: _Worker) -> None:
        loop = asyncio.get_running_loop()
        ended = loop.create_future()

        def end() -> None:
            if not ended.done():
                ended.set_result(None)

        def readable() -> None:
            try:
                while worker.conn.poll():
                    message = worker.conn.recv()
                    if message == _DONE:
                        worker.finished = True
                        end()
                        return
                    if isinstance(message, tuple) and message[0] == _DROPPED:
                        worker.dropped.add(message[1])
                    else:
                        worker.probes[message.host] = message
            except (EOFError, OSError):  # it exited (or died) without saying it was done
                end()

        fd = worker.conn.fileno()
        loop.add_reader(fd, readable)
        try:
            await asyncio.wait_for(ended, timeout=self._ctx.remaining_s() + WORKER_GRACE_S)
        except TimeoutError:
            worker.overran = True
            worker.process.kill()
        finally:
            loop.remove_reader(fd)

    def _why(self, worker: _Worker) -> str:
        code = worker.process.poll()
        if worker.overran:
            return f"probe worker {worker.index} did not answer by the pass deadline"
        if code is None:  # its end of the pipe closed, yet it has not exited
            return f"probe worker {worker.index} stopped answering before probing this host"
        if worker.finished:
            return f"probe worker {worker.index} sent no probe for this host"
        return f"probe worker {worker.index} exited (code {code}) before probing this host"

    def _unseen(self, host: Host, why: str) -> HostProbe:
        return not_probed(host, ProbeError(Reason.COLLECTOR, why), self._ctx.now())


# --------------------------------------------------------------------------- in the worker


def _work(fd: int) -> None:
    """A worker's whole life: read its share, probe it by the pass's deadline
    (time.monotonic() is the same clock in every process of the machine), send each probe
    as it is done, then _DONE."""
    conn = Connection(fd)
    try:
        hosts, settings, deadline, resolver = conn.recv()
        ctx = PassContext(deadline=deadline, resolver=resolver)
        asyncio.run(_probe_all(conn, hosts, settings, ctx))
        conn.send(_DONE)
    except (OSError, EOFError):  # the parent is gone or gave up on us: nothing to tell
        pass
    finally:
        conn.close()


async def _probe_all(
    conn: Connection, hosts: list[Host], settings: ProbeSettings, ctx: PassContext
) -> None:
    loop = asyncio.get_running_loop()
    async with Prober(settings, ctx) as prober:
        tasks = {h.hostname: asyncio.ensure_future(prober.probe(h)) for h in hosts}

        def dropped() -> None:
            try:
                names = conn.recv()
            except (EOFError, OSError):  # the parent went away: stop probing for it
                loop.remove_reader(conn.fileno())
                names = list(tasks)
            for name in names:
                task = tasks.get(name)
                if task is not None and not task.done():
                    task.cancel()

        loop.add_reader(conn.fileno(), dropped)
        names: dict[asyncio.Future[HostProbe], str] = {t: n for n, t in tasks.items()}
        pending = set(names)
        while pending:
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                conn.send((_DROPPED, names[task]) if task.cancelled() else task.result())
        loop.remove_reader(conn.fileno())


if __name__ == "__main__":
    _work(int(sys.argv[1]))
