"""The logs source: each environment's last error lines per service, from its CloudWatch
Logs group (`logs:FilterLogEvents`), for its card. Off without [logs].

The AWS requests of a pass do not grow with the fleet: a pass reads ONE group, with one
bounded request (a `limit`, a `startTime`, one page), the group whose latest read is the
oldest (never read first, then round robin), and keeps every group's tail in the state
store between passes (state/logs.json). N environments are each read once in N passes, and
a card says when its lines were read ("as of 14:05"), never that they are newer.

Every line is masked (text.mask) before it is kept or shown, made one line and capped. A
read that fails (denied, no such group, throttled, unreachable) makes that environment's
tail unknown with the reason, and no other's: the source itself still answers, with the
other groups' kept tails. Log lines are information, not health: no check reads them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from fleetboard import stored
from fleetboard.inventory import Environment, Host, Inventory, LogSettings
from fleetboard.model import LogEntry, LogFacts, LogTail, ServiceLines, SourceFailure
from fleetboard.sources import PassContext
from fleetboard.sources.awsapi import Clients, expect, read
from fleetboard.text import mask, visible

#: The call, as IAM spells it (messages and the role's policy use it).
FILTER_LOG_EVENTS = "logs:FilterLogEvents"

#: Where the tails are kept between passes, and the largest such object read back.
STATE_NAME = "logs"
_STATE_VERSION = 1
_STATE_MAX_BYTES = 2 << 20

#: A line as shown: at most this many characters (after masking, so no secret is cut in
#: two and half shown). Of a message, at most _RAW_CHARS are read: a secret that starts
#: beyond the cap would not be shown whatever the masking made of it.
LINE_CHARS = 240
_RAW_CHARS = 4096
#: Services kept per environment, the ones with the latest lines: a group whose streams
#: are not named after services (one per instance, per day) must not fill the card.
MAX_SERVICES = 8
_NAME_CHARS = 60

_EPOCH = datetime.min.replace(tzinfo=UTC)


class LogsSource:
    """The last error lines of each watched environment's services."""

    name: ClassVar[str] = "logs"
    needs: ClassVar[tuple[str, ...]] = ()
    wants: ClassVar[tuple[str, ...]] = ()

    def collect(self, inventory: Inventory, ctx: PassContext) -> LogFacts | SourceFailure:
        settings = inventory.logs
        if settings is None:
            return SourceFailure(self.name, "not configured: fleet.toml has no [logs]")
        now = ctx.now()
        watched = [e for e in inventory.environments if not e.retired]
        kept = _kept(ctx)
        tails = {
            e.name: kept.get(settings.group_of(e.name)) or LogTail(settings.group_of(e.name), None)
            for e in watched
        }
        if not watched:
            return LogFacts({}, now, 0)
        env = turn(watched, tails)
        tail = tails[env.name]
        start = _start(tail, settings, now)
        got = read(
            self.name,
            FILTER_LOG_EVENTS,
            inventory,
            ctx,
            lambda c: _ask(c, tail.group, settings, start, now),
        )
        if isinstance(got, SourceFailure):
            requests = got.requests or 0  # what the failed read sent, counted all the same
            tails[env.name] = LogTail(
                tail.group,
                tail.read_at,
                tail.services,
                tail.complete,
                error=_reason(got.reason, tail.group, inventory),
                tried_at=now,
            )
        else:
            (events, complete), requests = got
            since = now - timedelta(minutes=settings.window_minutes)
            fresh = [(service_of(stream, env), entry) for stream, entry in _lines(events)]
            tails[env.name] = LogTail(
                tail.group,
                now,
                merged(tail.services, fresh, since, settings.lines),
                complete,
                tried_at=now,
            )
        _keep(ctx, tails)
        return LogFacts(tails, now, requests)


def turn(watched: Sequence[Environment], tails: Mapping[str, LogTail]) -> Environment:
    """The environment whose group is read this pass: the one tried longest ago (never
    tried first), in the inventory's order among equals."""
    return min(
        watched,
        key=lambda e: (tails[e.name].tried_at or _EPOCH, watched.index(e)),
    )


def _start(tail: LogTail, settings: LogSettings, now: datetime) -> datetime:
    """Where a read begins: the window's start, or the newest line kept when that is later
    (its own millisecond again, since others may share it; `merged` drops what repeats), so
    a group with more lines than one read takes catches up read by read."""
    start = now - timedelta(minutes=settings.window_minutes)
    newest = max((s.lines[-1].at for s in tail.services if s.lines), default=None)
    return max(start, newest) if newest is not None and newest <= now else start


def _ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def _ask(
    clients: Clients, group: str, settings: LogSettings, start: datetime, end: datetime
) -> tuple[list[dict[str, Any]], bool]:
    """One page of the group's matching events in [start, end], and whether it was all
    (no nextToken: CloudWatch may also stop early, with a token and even no events)."""
    answer = clients("logs").filter_log_events(
        logGroupName=group,
        filterPattern=settings.filter,
        startTime=_ms(start),
        endTime=_ms(end),
        limit=settings.max_events,
    )
    expect(answer, "events")
    events = answer.get("events")
    if not isinstance(events, list):
        events = []
    return events, not answer.get("nextToken")


def _lines(events: Iterable[Any]) -> Iterable[tuple[str, LogEntry]]:
    """(stream name, line) of each event, masked, one line, capped."""
    for event in events:
        if not isinstance(event, Mapping):
            continue
        stamp, message = event.get("timestamp"), event.get("message")
        if isinstance(stamp, bool) or not isinstance(stamp, int) or not isinstance(message, str):
            continue  # not an event: nothing to show of it
        at = datetime.fromtimestamp(stamp / 1000, UTC)
        yield str(event.get("logStreamName") or ""), LogEntry(at, line_text(message))


def line_text(message: str) -> str:
    """A logged message as the card shows it: masked first (so a cap never cuts a secret
    in two), then one line, control characters escaped, at most LINE_CHARS."""
    return visible(mask(message[:_RAW_CHARS].strip()), LINE_CHARS)


def service_of(stream: str, env: Environment) -> str:
    """The service a log stream's lines are of: the environment's host whose name the
    stream holds (`audit-test-2.litentry.org/app`), else the service it names as a word
    (`i-0abc/broker`, `audit-worker`), the earliest (the longer name among equals); else
    the stream's own name, masked and capped."""
    low = stream.lower()
    for host in sorted(env.hosts, key=lambda h: len(h.hostname), reverse=True):
        if host.hostname.lower() in low:
            return _service(host)
    best: tuple[int, int, str] | None = None
    for host in env.hosts:
        name = _service(host)
        found = re.search(rf"(?<![a-z0-9]){re.escape(name.lower())}(?![a-z0-9])", low)
        if found is not None:
            rank = (found.start(), -len(name), name)
            best = rank if best is None or rank < best else best
    if best is not None:
        return best[2]
    return visible(mask(stream), _NAME_CHARS) or "(no stream name)"


def _service(host: Host) -> str:
    return host.label.removeprefix("worker:")


def merged(
    old: Sequence[ServiceLines],
    fresh: Iterable[tuple[str, LogEntry]],
    since: datetime,
    per_service: int,
) -> tuple[ServiceLines, ...]:
    """The kept lines and the ones just read, each line once, none before `since`, the
    last `per_service` of each service (oldest first); the services with the latest
    lines first, at most MAX_SERVICES."""
    by_service: dict[str, set[LogEntry]] = {s.service: set(s.lines) for s in old}
    for service, entry in fresh:
        by_service.setdefault(service, set()).add(entry)
    out = []
    for service, entries in by_service.items():
        recent = sorted((e for e in entries if e.at >= since), key=lambda e: (e.at, e.text))
        if recent:
            out.append(ServiceLines(service, tuple(recent[-per_service:])))
    out.sort(key=lambda s: (s.lines[-1].at, s.service), reverse=True)
    return tuple(out[:MAX_SERVICES])


def _reason(reason: str, group: str, inventory: Inventory) -> str:
    """The failure's reason, with what to check when the group is not there."""
    if "ResourceNotFoundException" in reason:
        return (
            f"{reason} — no log group {group} in {inventory.aws.region}: check [logs] "
            f"group (or the environment's log_group) in {inventory.source}"
        )
    return reason


# --------------------------------------------------------------------------- kept tails


def _kept(ctx: PassContext) -> dict[str, LogTail]:
    """The tails kept by earlier passes, by group; none when nothing (readable) is kept."""
    return KEEPING.load(ctx.state) or {}


def _decode(doc: dict[str, Any]) -> dict[str, LogTail]:
    tails: dict[str, LogTail] = {}
    for group, raw in stored.mapping(doc["groups"]).items():
        item = stored.mapping(raw)
        services = tuple(
            ServiceLines(
                stored.text(service),
                tuple(_entry(e) for e in _list(lines)),
            )
            for service, lines in stored.mapping(item["services"]).items()
        )
        error = item.get("error")
        tails[str(group)] = LogTail(
            group=str(group),
            read_at=_time_or_none(item.get("read_at")),
            services=services,
            complete=stored.flag(item["complete"]),
            error=None if error is None else stored.text(error),
            tried_at=_time_or_none(item.get("tried_at")),
        )
    return tails


KEEPING = stored.Keeping(
    STATE_NAME,
    _STATE_VERSION,
    _STATE_MAX_BYTES,
    _decode,
    what="log tails",
    instead="reading every group afresh, one a pass",
)


def _list(value: object) -> list[Any]:
    if not isinstance(value, list):
        raise TypeError("not a list")
    return value


def _entry(value: object) -> LogEntry:
    at, text = _list(value)
    return LogEntry(stored.when(at), stored.text(text)[:LINE_CHARS])


def _time_or_none(value: object) -> datetime | None:
    return None if value is None else stored.when(value)


def _document(tails: Mapping[str, LogTail]) -> dict[str, Any]:
    return {
        "version": _STATE_VERSION,
        "groups": {
            t.group: {
                "read_at": stored.iso(t.read_at) if t.read_at else None,
                "tried_at": stored.iso(t.tried_at) if t.tried_at else None,
                "complete": t.complete,
                "error": t.error,
                "services": {
                    s.service: [[stored.iso(e.at), e.text] for e in s.lines] for s in t.services
                },
            }
            for t in tails.values()
        },
    }


def encoded(tails: Mapping[str, LogTail]) -> bytes:
    """The state object, within its size cap: past it, the lines of the groups read longest
    ago go first (those cards say "not read yet" until their next turn, never "none"); the
    turns are always kept."""
    current = dict(tails)
    data = _dumps(current)
    for name, tail in sorted(tails.items(), key=lambda kv: kv[1].read_at or _EPOCH):
        if len(data) <= _STATE_MAX_BYTES:
            break
        current[name] = replace(tail, read_at=None, services=(), complete=True)
        data = _dumps(current)
    return data


def _dumps(tails: Mapping[str, LogTail]) -> bytes:
    return stored.encode(_document(tails))


def _keep(ctx: PassContext, tails: Mapping[str, LogTail]) -> None:
    if ctx.state is not None:  # encoded only when it can be kept
        KEEPING.save_bytes(ctx.state, encoded(tails))
