"""An environment's log tail as its card shows it: the last error lines per service as of
the read that found them, or why they are unknown.

Pure, and apart from health: no status comes out of here, so a line in a log never makes a
check, an environment or the fleet amber or red (docs/fleet.md#logs).
"""

from __future__ import annotations

from fleetboard.inventory import LogSettings
from fleetboard.model import LogFacts, LogsView, SourceFailure

#: Said of a tail whose turn has not come since [logs] was set (one group is read a pass).
NOT_READ_YET = "not read yet: one log group is read a pass, the one read longest ago first"


def logs_view(env: str, settings: LogSettings | None, facts: object) -> LogsView | None:
    """`env`'s tail; None without [logs], or for an environment the source does not read
    (retired)."""
    if settings is None or facts is None:
        return None
    group = settings.group_of(env)
    window = settings.window_minutes
    if isinstance(facts, SourceFailure):  # no tail at all this pass: none is known
        return LogsView(group, None, window, (), True, f"not read: {facts.reason}", None)
    if not isinstance(facts, LogFacts):
        return None
    tail = facts.items.get(env)
    if tail is None:
        return None
    if tail.error is not None:
        return LogsView(tail.group, None, window, (), True, tail.error, tail.tried_at)
    if tail.read_at is None:
        return LogsView(tail.group, None, window, (), True, NOT_READ_YET, tail.tried_at)
    return LogsView(
        tail.group, tail.read_at, window, tail.services, tail.complete, None, tail.tried_at
    )
