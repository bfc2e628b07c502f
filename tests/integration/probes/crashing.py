"""A resolver that kills the process asking it for one name: a probe worker that dies in
the middle of its share, as an out-of-memory kill or a crash would. Its own module, so a
spawned worker imports it without the test module's fixtures."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterable, Mapping

from fleetboard.demo.dns import ZoneResolver

EXIT_CODE = 7


class DiesOn:
    """The zone's answers, except for `fatal`: asked for it, the process exits at once."""

    def __init__(self, fatal: str, records: Mapping[str, Iterable[str]]) -> None:
        self.fatal = fatal
        self.zone = ZoneResolver(records)

    def __call__(self, host: str, port: int) -> list[str]:
        if host == self.fatal:
            os._exit(EXIT_CODE)
        return self.zone(host, port)


class FreezesOn(DiesOn):
    """Asked for `fatal`, the process stops itself (SIGSTOP): a worker that never finishes,
    as one stuck in a system call or starved of CPU would look from outside."""

    def __call__(self, host: str, port: int) -> list[str]:
        if host == self.fatal:
            os.kill(os.getpid(), signal.SIGSTOP)
        return self.zone(host, port)
