"""A pass run from a terminal (`fleetboard collect`, `fleetboard demo`): the board written into
a folder, what the pass says, and the exit code it ends with (exits.py)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from fleetboard import collect
from fleetboard.alerts.run import AlertReport
from fleetboard.config import LoadedConfig
from fleetboard.exits import EXIT_NOT_PUBLISHED, EXIT_OK, EXIT_PART_PUBLISHED, EXIT_RED
from fleetboard.publish import LATEST, LocalPublisher


def pass_and_report(
    loaded: LoadedConfig,
    out: Path,
    *,
    fail_on_red: bool = False,
    context_overrides: dict[str, object] | None = None,
    shards: int = 1,
) -> int:
    """Run one pass into the folder `out`, print its report; return the exit code. With
    `shards` > 1 the probing runs in that many processes, merged into one board."""
    ctx = collect.laptop_context(loaded, **(context_overrides or {}))
    try:
        if shards > 1:
            from fleetboard.shards.local import run_local

            result = run_local(loaded, out, shards, ctx)
        else:
            result = collect.run_pass(loaded, ctx, LocalPublisher(out))
    except OSError as exc:  # the folder could not even be read (e.g. --out is a file)
        print(
            f"fleetboard: cannot write the board into {out}: {exc.strerror or exc}", file=sys.stderr
        )
        return EXIT_NOT_PUBLISHED
    print(report(result))
    if result.error:
        where = f"cannot write the board into {out}: " if result.publish_failed else ""
        print(f"fleetboard: {where}{result.error}", file=sys.stderr)
        return publish_code(result.published)
    if fail_on_red and result.board.summary.status.value == "red":
        return EXIT_RED
    return EXIT_OK


def publish_code(written: Sequence[str]) -> int:
    """The exit code of a pass whose board was not published whole: 3 when latest.json is
    still the last good board's (then so is index.html, written after it), else 4."""
    return EXIT_PART_PUBLISHED if LATEST in written else EXIT_NOT_PUBLISHED


def report(result: collect.PassResult) -> str:
    """What a pass says on a terminal: status, issues, next action, where the board is."""
    s = result.board.summary
    c = result.board.collector
    lines = [f"fleet {s.status.value}: {s.message}"]
    lines += [f"  - {issue.text}" for issue in s.issues[:20]]
    if len(s.issues) > 20:
        lines.append(f"  ... and {len(s.issues) - 20} more")
    lines.append(f"next: {s.suggested_next_action}")
    failed = [f"{name} ({run.error})" for name, run in c.sources.items() if not run.ok]
    lines.append(
        f"pass: {c.duration_s:.2f} s, {c.probes} probes, {c.aws_requests} AWS requests"
        + (f"; failed sources: {', '.join(failed)}" if failed else "")
    )
    if result.published:
        lines.append(f"wrote {len(result.published)} files: {', '.join(result.published)}")
    if result.unpublished:
        lines.append(f"NOT written: {', '.join(result.unpublished)}")
    if result.alerts is not None:
        lines.append(alerts_line(result.alerts))
    return "\n".join(lines)


def alerts_line(done: AlertReport) -> str:
    """`alerts: 1 due, 1 sent` and, per channel that failed, why."""
    line = f"alerts: {done.due} due, {done.sent} sent"
    if done.failed:
        line += "; not delivered: " + ", ".join(f"{d.channel} ({d.detail})" for d in done.failed)
    if done.undelivered:
        line += f"; {done.undelivered} waiting for the next pass"
    if done.conflict:
        line += "; another pass wrote the alert state first: it sends them"
    return line
