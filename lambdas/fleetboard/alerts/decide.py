"""Which messages a pass sends, as a pure function: (the alerting's state after the last
pass, this pass's board, the settings, the clock) -> (messages due, the state after).

An environment is watched at a level: "red", "amber" (only with `amber = true`) or quiet.
A level must hold `fail_passes` passes before it is said (going up) and `recover_passes`
before a recovery is (going down), so a blip is never a page. What cannot be seen says
nothing: an unknown environment keeps its watch as it was (the collector's blindness is
not the fleet's outage, and no recovery is claimed from silence). A parked environment
or one in a maintenance window is silent, and its watch starts again when it is back.
One message is about one environment, however many of its checks failed with it (a
stopped instance, a lost DNS name); a check that fails later inside an alerting
environment is one "worse" message. A flapping environment gets one message and then
quiet until it settles. Forecasts (a wallet running dry, a certificate near its line) go
out at most once a UTC day each. When more messages are due in one pass for a channel
than `digest_over`, that channel gets one message listing them.

Every message has a key unique to what it says and when. A message is due only when a
watch changes, and the state is saved with the changed watch and the outbox before
anything is sent, so a pass that runs again finds the change made and decides nothing
twice (docs/decisions/0010-alerts-sent-once.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from fleetboard.alerts.model import Alert, AlertState, Kind, Link, Outgoing, Watch
from fleetboard.inventory import AlertChannel, AlertSettings
from fleetboard.model import (
    Board,
    Check,
    CheckKind,
    EnvironmentView,
    Issue,
    Lifecycle,
    Status,
)
from fleetboard.rules.summary import environment_action
from fleetboard.text import duration

FLEET = "fleet"
#: The levels by rank: quiet below amber below red.
RANK = {"": 0, "amber": 1, "red": 2}
#: The most issues a message lists; the board has the rest.
MAX_LINES = 10
#: A message that could not be delivered is tried again each pass for this long, then
#: dropped (said in `last`): a day-old page helps nobody.
OUTBOX_AGE = timedelta(days=1)
#: How long a delivered message's key is kept to refuse it a second time.
SENT_KEEP = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Decision:
    """A pass's alerting: the messages it adds (each with the channels it is for) and the
    state to save, whose outbox holds those and any earlier ones not yet delivered."""

    due: tuple[Outgoing, ...]
    state: AlertState


def decide(
    previous: AlertState | None, board: Board, settings: AlertSettings, now: datetime
) -> Decision:
    before = previous or AlertState()
    alerts: list[Alert] = []
    watches: dict[str, Watch] = {}
    for view in board.environments:
        watch, said = _environment(before.watches.get(view.name, Watch()), view, board, settings)
        watches[view.name] = watch
        alerts += said
    fleet_watch, said = _fleet(before.watches.get(FLEET, Watch()), board, settings)
    watches[FLEET] = fleet_watch
    alerts += said
    forecasts, said = _forecasts(before.forecasts, board, settings)
    alerts += said
    # Each alert comes from a change of a watch saved with the outbox it went into, so a
    # pass that runs again (a retry, a second quick pass) finds the change already made.
    due = _routed(alerts, settings, board.generated_at)
    outbox = tuple(o for o in before.outbox if now - o.alert.at < OUTBOX_AGE)
    dropped = len(before.outbox) - len(outbox)
    last = before.last
    if dropped:
        last = f"{dropped} undelivered message(s) older than a day dropped at {_hhmm(now)}"
    state = AlertState(
        watches=watches,
        forecasts=forecasts,
        outbox=outbox + due,
        sent=before.sent,
        last=last,
    )
    return Decision(due, state)


def delivered(state: AlertState, key: str, channel: str, at: datetime, line: str) -> AlertState:
    """The state once message `key` reached `channel`: off that channel's list, its key
    kept among the sent when no channel is left, `last` saying so. Saved after each
    delivery, so a pass that dies after sending re-sends at most the one in flight."""
    outbox: list[Outgoing] = []
    sent = list(state.sent)
    for o in state.outbox:
        if o.alert.key != key:
            outbox.append(o)
            continue
        left = tuple(c for c in o.channels if c != channel)
        if left:
            outbox.append(replace(o, channels=left))
        else:
            sent.append(key)
    return replace(state, outbox=tuple(outbox), sent=tuple(sent), last=line)


def failed(state: AlertState, keys: Iterable[str]) -> AlertState:
    """The state after a pass whose delivery of `keys` failed: each counts one attempt
    more, and stays in the outbox for the next pass."""
    tried = set(keys)
    return replace(
        state,
        outbox=tuple(
            replace(o, attempts=o.attempts + 1) if o.alert.key in tried else o for o in state.outbox
        ),
    )


def forget_sent(state: AlertState, now: datetime) -> AlertState:
    """Keys sent more than SENT_KEEP ago are dropped: a key holds its pass's time, and no
    pass decides a message for a time a day old."""
    cutoff = _stamp(now - SENT_KEEP)
    return replace(state, sent=tuple(k for k in state.sent if k.rsplit("@", 1)[-1] >= cutoff))


# --------------------------------------------------------------------------- one environment


def level(view: EnvironmentView, settings: AlertSettings) -> str | None:
    """The level an environment alerts at now: "red", "amber" (with amber alerts), ""
    (quiet), or None when it cannot be told (unknown: its watch stays as it was)."""
    if view.lifecycle is Lifecycle.MISSING:
        return "red"  # meant to be up, and not there
    if view.status is Status.RED:
        return "red"
    if view.status is Status.AMBER:
        return "amber" if settings.amber else ""
    if view.status is Status.UNKNOWN or view.lifecycle is Lifecycle.UNKNOWN:
        return None
    return ""


def silent(view: EnvironmentView) -> bool:
    """Parked (stopped, retired) or in a maintenance window: nothing is said of it."""
    return view.lifecycle.parked or view.maintenance is not None


def _environment(
    watch: Watch, view: EnvironmentView, board: Board, settings: AlertSettings
) -> tuple[Watch, list[Alert]]:
    if silent(view):
        return Watch(), []
    now = level(view, settings)
    if now is None:
        return watch, []
    flapping = [c for c in view.checks if c.flapping and c.maintenance is None]
    if flapping:
        if watch.flapping:
            return watch, []
        alert = _flapping(view, board, flapping)
        return replace(watch, flapping=True, last_sent=board.generated_at), [alert]
    if watch.flapping:  # settled: count afresh from here
        watch = replace(watch, flapping=False, seen="", count=0)
    count = _counted(watch, now, settings)
    watch = replace(watch, seen=now, count=count)
    up, down = RANK[now] > RANK[watch.alerted], RANK[now] < RANK[watch.alerted]
    fail = settings.passes(view.name, now)[0]  # the level it is going to
    recover = settings.passes(view.name, watch.alerted)[1]  # the level it leaves
    if up and count >= fail:
        kind = Kind.FIRING if not watch.alerted else Kind.WORSE
        alert = _said(kind, view, board, settings, was=watch.alerted or "green")
        named = _red_keys(view.issues)
        return _sent(watch, now, named, board), [alert]
    if down and count >= recover:
        alert = _said(Kind.RECOVERED, view, board, settings, was=watch.alerted)
        return _sent(watch, now, (), board), [alert]
    if not watch.alerted or now != watch.alerted:
        return watch, []
    # The summary's issues are the environment's own with their since (the memory's).
    own = [i for i in board.summary.issues if i.env == view.name]
    fresh = [i for i in own if _key(i) not in watch.named and _held(i, board, settings)]
    fresh = [i for i in fresh if i.status is Status.RED]
    if fresh:
        alert = _said(Kind.WORSE, view, board, settings, was=watch.alerted, new=fresh)
        named = tuple(dict.fromkeys((*watch.named, *map(_key, fresh))))
        return _sent(watch, now, named, board), [alert]
    if _reminder_due(watch, board.generated_at, settings):
        alert = _said(Kind.REMINDER, view, board, settings, was=None)
        return replace(watch, last_sent=board.generated_at), [alert]
    return watch, []


def _counted(watch: Watch, level: str, settings: AlertSettings) -> int:
    """Passes in a row at `level`, counted only as far as a threshold needs: a steady
    fleet's state then stays the same from pass to pass, and is not written again."""
    if level != watch.seen:
        return 1
    return min(watch.count + 1, settings.longest())


def _sent(watch: Watch, level: str, named: tuple[str, ...], board: Board) -> Watch:
    return replace(watch, alerted=level, named=named, last_sent=board.generated_at)


def _reminder_due(watch: Watch, now: datetime, settings: AlertSettings) -> bool:
    if watch.alerted != "red" or settings.remind_minutes <= 0 or watch.last_sent is None:
        return False
    return now - watch.last_sent >= timedelta(minutes=settings.remind_minutes)


def _held(issue: Issue, board: Board, settings: AlertSettings) -> bool:
    """Whether a new issue has stood for its environment's red `fail_passes` passes (by
    its since, when the board remembers one; a board without memory takes it as held)."""
    if issue.since is None:
        return True
    period = timedelta(seconds=board.collector.period_s or 60)
    fail = settings.passes(issue.env, "red")[0]
    return board.generated_at - issue.since >= period * (fail - 1)


def _key(issue: Issue) -> str:
    return f"{issue.env}/{issue.check}"


def _red_keys(issues: Sequence[Issue]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(_key(i) for i in issues if i.status is Status.RED))


# --------------------------------------------------------------------------- the fleet's own


def _fleet(watch: Watch, board: Board, settings: AlertSettings) -> tuple[Watch, list[Alert]]:
    """The issues that belong to no one environment (an EIP tagged for no declared slot, a
    run on an undeclared slot): red ones alert like an environment's. The collector's own
    blindness is unknown, never red: the CloudWatch alarm on the collector speaks for it."""
    own = [i for i in board.summary.issues if i.env == FLEET]
    now = "red" if any(i.status is Status.RED for i in own) else ""
    count = _counted(watch, now, settings)
    watch = replace(watch, seen=now, count=count)
    fail, recover = settings.passes(FLEET, now)[0], settings.passes(FLEET, watch.alerted)[1]
    if RANK[now] > RANK[watch.alerted] and count >= fail:
        red = [i for i in own if i.status is Status.RED]
        alert = _fleet_alert(Kind.FIRING, board, settings, red, was="green")
        return _sent(watch, now, _red_keys(red), board), [alert]
    if RANK[now] < RANK[watch.alerted] and count >= recover:
        alert = _fleet_alert(Kind.RECOVERED, board, settings, [], was=watch.alerted)
        return _sent(watch, now, (), board), [alert]
    if now == "red" and _reminder_due(watch, board.generated_at, settings):
        red = [i for i in own if i.status is Status.RED]
        alert = _fleet_alert(Kind.REMINDER, board, settings, red, was=None)
        return replace(watch, last_sent=board.generated_at), [alert]
    return watch, []


def _fleet_alert(
    kind: Kind, board: Board, settings: AlertSettings, red: Sequence[Issue], *, was: str | None
) -> Alert:
    at = board.generated_at
    status = "red" if red else "green"
    if kind is Kind.RECOVERED:
        title = f"the fleet's own issues are clear (was {was})"
    else:
        title = f"the fleet is red: {red[0].text}" if red else "the fleet is red"
    return Alert(
        key=_alert_key(kind, FLEET, at),
        kind=kind,
        env=FLEET,
        status=status,
        was=was,
        at=at,
        since=board.summary.since,
        title=title,
        lines=tuple(i.text for i in red[:MAX_LINES]),
        next_action=board.summary.suggested_next_action if red else None,
        links=_board_link(settings, None),
    )


# --------------------------------------------------------------------------- forecasts


def _forecasts(
    sent: dict[str, str], board: Board, settings: AlertSettings
) -> tuple[dict[str, str], list[Alert]]:
    """A wallet or deposit whose runway is amber, and a certificate amber for its days
    left: each said once a UTC day. The record keeps only today's, so it stays small."""
    today = board.generated_at.date().isoformat()
    kept = {k: day for k, day in sent.items() if day == today}
    if not settings.forecasts:
        return kept, []
    out = []
    for view in board.environments:
        if silent(view):
            continue
        for key, title, links in _forecast_items(view):
            if key in kept:
                continue
            kept[key] = today
            out.append(
                Alert(
                    key=_alert_key(Kind.FORECAST, f"{view.name}/{key}", board.generated_at),
                    kind=Kind.FORECAST,
                    env=view.name,
                    status="amber",
                    was=None,
                    at=board.generated_at,
                    since=view.since,
                    title=title,
                    next_action=environment_action(view),
                    links=_board_link(settings, view.name) + links,
                )
            )
    return kept, out


def _forecast_items(view: EnvironmentView) -> list[tuple[str, str, tuple[Link, ...]]]:
    found: list[tuple[str, str, tuple[Link, ...]]] = []
    for wallet in view.chain.wallets if view.chain else ():
        if wallet.status is Status.AMBER and wallet.days_left is not None and wallet.runway:
            key = f"wallet:{wallet.role}:{wallet.address.lower()}"
            links = (Link(f"{wallet.role} on the explorer", wallet.url),) if wallet.url else ()
            found.append((key, f"{view.name} {wallet.role}: {wallet.runway}", links))
    for check in view.checks:
        cert = check.cert
        amber = check.kind is CheckKind.TLS and check.status is Status.AMBER
        dated = cert is not None and cert.days_left is not None
        if amber and dated and check.maintenance is None:
            title = f"{view.name} {check.name}: {check.summary}"
            found.append((f"cert:{check.id}", title, ()))
    return found


# --------------------------------------------------------------------------- wording


def _said(
    kind: Kind,
    view: EnvironmentView,
    board: Board,
    settings: AlertSettings,
    *,
    was: str | None,
    new: Sequence[Issue] = (),
) -> Alert:
    at = board.generated_at
    status = view.lifecycle.value if view.lifecycle is Lifecycle.MISSING else view.status.value
    issues = [i for i in view.issues if i.status in (Status.RED, Status.AMBER)]
    named = list(new) or issues
    what = f": {named[0].check} {named[0].detail}" if named else ""
    lasted = f" (for {duration(at - view.since)})" if view.since else ""
    if kind is Kind.RECOVERED:
        title = f"{view.name} is {status} again (was {was})"
    elif kind is Kind.REMINDER:
        title = f"{view.name} is still {status}{lasted}{what}"
    elif kind is Kind.WORSE and new:
        title = f"{view.name} is {status}, now also{what}"
    else:
        title = f"{view.name} is {status}{what}"
    return Alert(
        key=_alert_key(kind, view.name, at),
        kind=kind,
        env=view.name,
        status=status,
        was=was,
        at=at,
        since=view.since,
        title=title,
        lines=tuple(i.text for i in issues[:MAX_LINES]),
        next_action=None if kind is Kind.RECOVERED else environment_action(view),
        links=_board_link(settings, view.name) + _links(view),
    )


def _flapping(view: EnvironmentView, board: Board, checks: Sequence[Check]) -> Alert:
    at = board.generated_at
    passes = board.collector.flap_passes
    within = f" in {passes} passes" if passes else ""
    lines = tuple(f"{c.name}: {c.flapping} changes{within}, {c.status.value} now" for c in checks)
    return Alert(
        key=_alert_key(Kind.FLAPPING, view.name, at),
        kind=Kind.FLAPPING,
        env=view.name,
        status=view.status.value,
        was=None,
        at=at,
        since=view.since,
        title=f"{view.name} is flapping: {lines[0]}",
        lines=lines[:MAX_LINES],
        next_action=(
            "Quiet until it settles: look at what changes under it (a restart loop, a health "
            "check on the edge of its timeout)."
        ),
    )


def _links(view: EnvironmentView) -> tuple[Link, ...]:
    """The run holding the slot, and the hosts that fail: what the on-call opens next."""
    links = []
    for run in view.ci.holders if view.ci else ():
        links.append(Link(f"run #{run.number}", run.url))
    for check in view.checks:
        if check.status is Status.RED and check.kind is CheckKind.HTTP and check.host:
            path = check.id.split(check.host, 1)[-1] or "/"
            links.append(Link(f"{check.host}{path}", f"https://{check.host}{path}"))
    return tuple(links[:5])


def _board_link(settings: AlertSettings, env: str | None) -> tuple[Link, ...]:
    if not settings.board_url:
        return ()
    base = settings.board_url.rstrip("/") + "/"
    return (Link("board", base + (f"#env-{env}" if env else "")),)


def _alert_key(kind: Kind, subject: str, at: datetime) -> str:
    return f"{kind.value}/{subject}@{_stamp(at)}"


def _stamp(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def _hhmm(at: datetime) -> str:
    return at.strftime("%H:%M UTC")


# --------------------------------------------------------------------------- routing


def _routed(alerts: Sequence[Alert], settings: AlertSettings, at: datetime) -> tuple[Outgoing, ...]:
    """Each alert with the channels that hear it; a channel with more than `digest_over`
    due gets one digest of them instead."""
    per_channel: dict[str, list[Alert]] = {}
    for alert in alerts:
        for channel in settings.channels:
            if channel.hears(alert.env, heard_at(alert)):
                per_channel.setdefault(channel.name, []).append(alert)
    out: dict[str, list[str]] = {}
    order: dict[str, Alert] = {}
    for channel in settings.channels:
        mine = per_channel.get(channel.name, [])
        if len(mine) > settings.digest_over:
            mine = [_digest(mine, channel, at)]
        for alert in mine:
            order.setdefault(alert.key, alert)
            out.setdefault(alert.key, []).append(channel.name)
    return tuple(Outgoing(order[key], tuple(names)) for key, names in out.items())


def heard_at(alert: Alert) -> str:
    """The level a channel must hear for `alert`: a recovery follows the level it recovers
    from, a forecast is amber, a flapping environment is said where red is heard."""
    if alert.kind is Kind.RECOVERED:
        return alert.was or "red"
    if alert.kind is Kind.FORECAST:
        return "amber"
    if alert.kind is Kind.FLAPPING:
        return "red"
    return alert.status if alert.status in RANK and alert.status else "red"


def _digest(alerts: Sequence[Alert], channel: AlertChannel, at: datetime) -> Alert:
    red = sum(1 for a in alerts if a.status == "red" and a.kind is not Kind.RECOVERED)
    envs = sorted({a.env for a in alerts})
    return Alert(
        key=_alert_key(Kind.DIGEST, channel.name, at),
        kind=Kind.DIGEST,
        env=FLEET,
        status="red" if red else "amber",
        was=None,
        at=at,
        since=None,
        title=(
            f"{len(alerts)} alerts at once across {len(envs)} environments "
            f"({red} red): {', '.join(envs[:8])}{'…' if len(envs) > 8 else ''}"
        ),
        lines=tuple(a.title for a in alerts[:MAX_LINES]),
        items=tuple(alerts),
    )
