"""The card's errors part: how many error lines its services logged, from the snapshot's
`logs` (rules/logs.py). Words only: the lines and their times are the template's."""

from __future__ import annotations

from fleetboard.render.formats import JsonDoc
from fleetboard.text import counted


def logs_summary(logs: JsonDoc) -> str:
    """`3 error lines in 2 services in the last 60 min`, or `no error lines in the last 60
    min`; with what a read that could not take every line leaves out."""
    services = logs["services"]
    lines = sum(len(s["lines"]) for s in services)
    window = f"in the last {logs['window_minutes']} min"
    if not lines:
        if not logs["complete"]:  # CloudWatch stopped early: "none" would say too much
            return f"none found yet {window}: CloudWatch stopped before searching all of it"
        return f"no error lines {window}"
    said = f"{counted(lines, 'error line')} in {counted(len(services), 'service')} {window}"
    if not logs["complete"]:
        said += " · more matched than one read takes: the newest may be missing"
    return said
